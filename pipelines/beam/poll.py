"""Polling feeds in Beam: FeedConfig -> entries, dead letters, and each feed's poll outcome for its state."""

from __future__ import annotations

from typing import Any

import apache_beam as beam
from apache_beam.pvalue import TaggedOutput

from connectors.feeds import FeedPoller, poll_feed
from connectors.feedstate import FeedState
from connectors.http import FetchPolicy
from connectors.state import parse_time
from pipelines.beam import DEAD, FEED_STATE, ConcurrentFetchDoFn, FetchSettings, Work
from schemas.records import FeedConfig


class PollFeedDoFn(ConcurrentFetchDoFn):
    """FeedConfig -> FeedEntry for each new usable entry; unreadable feeds and link-less entries to dead
    letters. With feed state (`prior`, by feed URL): polls are conditional, a 304 is not parsed, entries seen
    by earlier runs are not handed on unless their feed says they were updated since (FeedState.wants), a
    feed backing off is skipped; pending entries whose retry is due are handed on whatever the poll's outcome;
    each feed's poll outcome leaves on the FEED_STATE output as (feed URL, PollOutcome) for the state written
    after the run."""

    def __init__(self, policy: FetchPolicy, settings: FetchSettings | str | None = None,
                 prior: dict[str, FeedState] | None = None, now: str | None = None) -> None:
        super().__init__(policy, settings)
        self.prior = prior
        self.now = now

    def work(self, feed: FeedConfig) -> Work:
        state = None if self.prior is None else self.prior.get(feed.url) or FeedState()
        polled = poll_feed(FeedPoller(self.fetcher), feed, state, None if self.now is None else parse_time(self.now))
        outputs: list[Any] = [*polled.entries, *(TaggedOutput(DEAD, letter) for letter in polled.dead_letters),
                              TaggedOutput(FEED_STATE, (feed.url, polled.outcome))]
        return outputs, polled.counts


class PollFeeds(beam.PTransform):
    """Feeds -> their new entries (`entries`), dead letters (DEAD) and each feed's poll outcome (FEED_STATE),
    by PollFeedDoFn: the poll stage of both jobs."""

    def __init__(self, policy: FetchPolicy, settings: FetchSettings | str | None = None,
                 prior: dict[str, FeedState] | None = None, now: str | None = None) -> None:
        super().__init__()
        self.dofn = PollFeedDoFn(policy, settings, prior, now)

    def expand(self, feeds: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return feeds | "Poll" >> beam.ParDo(self.dofn).with_outputs(DEAD, FEED_STATE, main="entries")
