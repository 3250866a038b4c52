"""Article fetching: a feed entry in, the page's bytes and headers out (robots.txt permitting); and the
choice of fetcher for a run (HTTP, optionally archiving to WARC, or a replayed archive)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from connectors.archive import WarcReplayFetcher
from connectors.http import Exchange, Fetcher, FetchError, FetchPolicy, HttpFetcher
from connectors.replay import ReplayFetcher
from connectors.robots import RobotsCache
from schemas.records import FeedEntry, FetchedPage


def make_fetcher(policy: FetchPolicy, replay: str | None = None,
                 recorder: Callable[[Exchange], None] | None = None) -> Fetcher:
    """The fetcher a run uses: a recorded archive when replaying (a WARC file or folder of WARCs, or a
    folder with a manifest.json), else HTTP within the policy, recording each response when asked."""
    if replay:
        if os.path.isdir(replay) and os.path.exists(os.path.join(replay, "manifest.json")):
            return ReplayFetcher(replay)
        return WarcReplayFetcher(replay, policy.max_redirects)
    return HttpFetcher(policy, recorder)


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


@dataclass(frozen=True)
class PageOutcome:
    """How fetching one entry ended: a page, or the error (robots refusals included)."""

    entry: FeedEntry
    page: FetchedPage | None = None
    error: FetchError | None = None
    robots_refused: bool = False


class ArticleFetcher:
    """Fetches articles for entries, asking robots.txt first for feeds that honour it; thread-safe, so
    many entries can be fetched at once within the fetcher's per-host and global caps."""

    def __init__(self, fetcher: Fetcher, user_agent: str, max_crawl_delay: float = 30.0) -> None:
        self.fetcher = fetcher
        self.robots = RobotsCache(fetcher, user_agent)
        self.max_crawl_delay = max_crawl_delay

    def fetch(self, entry: FeedEntry, honour_robots: bool = True) -> PageOutcome:
        if honour_robots:
            refusal = self.robots.check(entry.link)
            if refusal:
                return PageOutcome(entry, error=refusal, robots_refused=True)
            delay = self.robots.crawl_delay(entry.link)
            gate = getattr(self.fetcher, "gate", None)
            if delay and gate is not None:
                gate.set_delay(urlsplit(entry.link).netloc.lower(), min(delay, self.max_crawl_delay))
        try:
            return PageOutcome(entry, page=fetch_page(self.fetcher, entry))
        except FetchError as exc:
            return PageOutcome(entry, error=exc)
