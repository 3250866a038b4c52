"""Polling feeds in Beam: FeedConfig -> entries, dead letters, and each feed's poll outcome for its state."""

from __future__ import annotations

from typing import Any

import apache_beam as beam
from apache_beam.pvalue import TaggedOutput

from connectors.feeds import FeedError, FeedPoller
from connectors.feedstate import EntryStatus, FeedState, PollKind, PollOutcome, entry_keys
from connectors.http import FetchPolicy
from connectors.state import parse_time
from pipelines.beam import DEAD, FEED_STATE, ConcurrentFetchDoFn, FetchSettings, Work
from schemas.records import DeadLetter, FeedConfig, FeedEntry


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
        outputs, counts = self.poll(feed)
        state = (self.prior or {}).get(feed.url) or FeedState()
        if self.prior is None or not state.pending:
            return outputs, counts
        retries = [FeedEntry(**{**f.entry, "authors": tuple(f.entry.get("authors", ()))})
                   for f in state.due_retries(parse_time(self.now))]
        counts["fetch_retries"] = len(retries)
        counts["entries_retry_waiting"] = len(state.pending) - len(retries)
        return [*retries, *outputs], counts

    def poll(self, feed: FeedConfig) -> Work:
        stateful = self.prior is not None
        state = (self.prior or {}).get(feed.url) or FeedState()
        if stateful and not state.due(parse_time(self.now)):
            return [TaggedOutput(FEED_STATE, (feed.url, PollOutcome(PollKind.BACKED_OFF)))], {"feeds_backed_off": 1}
        counts = {"feeds_polled": 1}
        try:
            result = FeedPoller(self.fetcher).poll(feed, state.conditional_headers() if stateful else None)
        except FeedError as exc:
            counts["feeds_failed"] = 1
            return [TaggedOutput(DEAD, DeadLetter("poll", str(exc), feed.url, {"feed": vars(feed)})),
                    TaggedOutput(FEED_STATE, (feed.url, PollOutcome(PollKind.FAILED, error=str(exc))))], counts
        if result.not_modified:
            counts["feeds_not_modified"] = 1
            outcome = PollOutcome(PollKind.NOT_MODIFIED, etag=result.etag, last_modified=result.last_modified)
            return [TaggedOutput(FEED_STATE, (feed.url, outcome))], counts
        outputs: list[Any] = []
        counts["entries_seen"] = len(result.entries) + len(result.skipped)
        counts["entries_skipped"] = len(result.skipped)
        for ref, reason in result.skipped:
            # The ref names the refused link where there is one (the feed is in the input either way).
            letter = DeadLetter("poll", reason, ref.get("link") or feed.url, {"feed": vars(feed), "entry": ref})
            outputs.append(TaggedOutput(DEAD, letter))
        listed: list[str] = []
        for entry in result.entries:
            listed += entry_keys(entry.link, entry.guid)
            # Without feed state, `state` is empty and every entry is new.
            status = state.wants(entry.link, entry.guid, entry.updated_at, entry.published_at)
            if status is EntryStatus.SEEN:
                counts["entries_already_seen"] = counts.get("entries_already_seen", 0) + 1
                continue
            if stateful and state.is_pending(entry.link):
                continue  # handed on (and counted) from the state when its retry is due: see work
            if status is EntryStatus.UPDATED:
                counts["entries_updated"] = counts.get("entries_updated", 0) + 1
            outputs.append(entry)
        outcome = PollOutcome(PollKind.OK, etag=result.etag, last_modified=result.last_modified,
                              entries=len(result.entries), listed=tuple(listed))
        outputs.append(TaggedOutput(FEED_STATE, (feed.url, outcome)))
        return outputs, counts


class PollFeeds(beam.PTransform):
    """Feeds -> their new entries (`entries`), dead letters (DEAD) and each feed's poll outcome (FEED_STATE),
    by PollFeedDoFn: the poll stage of both jobs."""

    def __init__(self, policy: FetchPolicy, settings: FetchSettings | str | None = None,
                 prior: dict[str, FeedState] | None = None, now: str | None = None) -> None:
        super().__init__()
        self.dofn = PollFeedDoFn(policy, settings, prior, now)

    def expand(self, feeds: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return feeds | "Poll" >> beam.ParDo(self.dofn).with_outputs(DEAD, FEED_STATE, main="entries")
