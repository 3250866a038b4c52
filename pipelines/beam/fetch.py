"""Fetching article pages in Beam: FeedEntry -> FetchedPage, dead letters, and how each fetch ended."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import apache_beam as beam
from apache_beam.pvalue import TaggedOutput

from connectors.feedstate import ENTRY_RETRY_LIMIT, FetchOutcome, entry_keys
from connectors.http import FetchPolicy
from connectors.pages import ArticleFetcher
from pipelines.beam import DEAD, FETCH_OUTCOME, ConcurrentFetchDoFn, FetchSettings, Work
from schemas.records import DeadLetter, FeedEntry, entry_to_json


class FetchPageDoFn(ConcurrentFetchDoFn):
    """FeedEntry -> FetchedPage, robots.txt permitting (unless the entry's feed is in `ignore_robots`).
    With `retries` (failed attempts so far of pending entries, by feed URL and entry key; None where no
    state carries a retry to a later run), a transient failure before the ENTRY_RETRY_LIMIT-th attempt is
    not a dead letter: the entry stays pending. Other failures go to dead letters with the entry. How each
    entry's fetch ended leaves on FETCH_OUTCOME as (feed URL, FetchOutcome) for the feed state."""

    def __init__(self, policy: FetchPolicy, settings: FetchSettings | str | None = None,
                 ignore_robots: frozenset[str] = frozenset(),
                 retries: dict[str, dict[str, int]] | None = None) -> None:
        super().__init__(policy, settings)
        self.ignore_robots = ignore_robots
        self.retries = retries
        self.articles: ArticleFetcher | None = None

    def setup(self) -> None:
        super().setup()
        self.articles = ArticleFetcher(self.fetcher, self.policy.user_agent, self.policy.max_crawl_delay)

    def work(self, entry: FeedEntry) -> Work:
        outcome = self.articles.fetch(entry, honour_robots=entry.feed_url not in self.ignore_robots)
        keys = tuple(entry_keys(entry.link, entry.guid))
        report = FetchOutcome(keys, entry.updated_at)
        if outcome.page is not None:
            return [outcome.page, TaggedOutput(FETCH_OUTCOME, (entry.feed_url, report))], {"articles_fetched": 1}
        error = outcome.error
        failed_before = (self.retries or {}).get(entry.feed_url or "", {}).get(keys[0], 0)
        if self.retries is not None and error.transient and failed_before + 1 < ENTRY_RETRY_LIMIT:
            report = replace(report, retry=True, error=error.reason, retry_after=error.retry_after,
                             entry=entry_to_json(entry))
            return [TaggedOutput(FETCH_OUTCOME, (entry.feed_url, report))], {"fetch_retry_pending": 1}
        counts = {"fetch_failed": 1, **({"robots_disallowed": 1} if outcome.robots_refused else {})}
        details: dict[str, Any] = {"entry": entry_to_json(entry)}
        reason = error.reason
        if failed_before:
            counts["fetch_retries_exhausted"] = 1
            details["attempts"] = failed_before + 1
            reason = f"{reason} (gave up after {failed_before + 1} attempts)"
        letter = DeadLetter("fetch", reason, entry.link, details)
        return [TaggedOutput(DEAD, letter), TaggedOutput(FETCH_OUTCOME, (entry.feed_url, report))], counts


class FetchPages(beam.PTransform):
    """Entries -> their pages (`pages`), dead letters (DEAD) and how each fetch ended (FETCH_OUTCOME), by
    FetchPageDoFn: the fetch stage of both jobs."""

    def __init__(self, policy: FetchPolicy, settings: FetchSettings | str | None = None,
                 ignore_robots: frozenset[str] = frozenset(),
                 retries: dict[str, dict[str, int]] | None = None) -> None:
        super().__init__()
        self.dofn = FetchPageDoFn(policy, settings, ignore_robots, retries)

    def expand(self, entries: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return entries | "Fetch" >> beam.ParDo(self.dofn).with_outputs(DEAD, FETCH_OUTCOME, main="pages")
