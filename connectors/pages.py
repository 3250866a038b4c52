"""Article fetching: a feed entry in, the page's bytes and headers out; and the choice of fetcher for a run."""

from __future__ import annotations

from connectors.http import Fetcher, FetchPolicy, HttpFetcher
from connectors.replay import ReplayFetcher
from schemas.records import FeedEntry, FetchedPage


def make_fetcher(policy: FetchPolicy, replay: str | None = None) -> Fetcher:
    """The fetcher a run uses: a recorded archive when replaying, else HTTP within the policy."""
    if replay:
        return ReplayFetcher(replay)
    return HttpFetcher(policy)


def fetch_page(fetcher: Fetcher, entry: FeedEntry) -> FetchedPage:
    """Fetch the article an entry points at. Raises FetchError with the reason when it cannot."""
    response = fetcher.get(entry.link, "html")
    return FetchedPage(
        entry=entry,
        final_url=response.final_url,
        status=response.status,
        content_type=response.content_type,
        body=response.body,
        fetched_at=response.fetched_at,
    )
