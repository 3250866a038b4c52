"""Per-feed state between runs: validators for conditional GET, entries already seen, health and backoff."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from connectors.state import StateLog, format_time, parse_time
from connectors.urls import url_key

NAMESPACE = "feeds"
# A feed that failed this many runs in a row waits before the next try, doubling each time up to a day.
BACKOFF_AFTER = 2
BACKOFF_BASE = dt.timedelta(minutes=30)
BACKOFF_MAX = dt.timedelta(hours=24)
# Seen-entry keys kept per feed: enough for feeds that list their last few hundred items.
MAX_SEEN = 2000


@dataclass
class FeedState:
    """What earlier runs learned about one feed (the value of its record in the 'feeds' state log)."""

    etag: str | None = None
    last_modified: str | None = None
    last_attempt: str | None = None
    last_success: str | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    next_attempt_at: str | None = None
    entries_last_run: int = 0
    skipped_runs: int = 0
    # entry key (a link's url_key or a GUID) -> when it was last listed in the feed
    seen: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def from_value(value: dict[str, Any] | None) -> FeedState:
        known = set(FeedState.__dataclass_fields__)
        return FeedState(**{k: v for k, v in (value or {}).items() if k in known})

    def to_value(self) -> dict[str, Any]:
        return asdict(self)

    def conditional_headers(self) -> dict[str, str]:
        """If-None-Match / If-Modified-Since for the next poll, from what the server sent last time."""
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers

    def due(self, now: dt.datetime) -> bool:
        """Whether this run should poll the feed (false while it is backing off after repeated failures)."""
        return not self.next_attempt_at or parse_time(self.next_attempt_at) <= now

    def already_seen(self, link: str, guid: str | None) -> bool:
        return url_key(link) in self.seen or (guid is not None and ("guid:" + guid) in self.seen)


def entry_keys(link: str, guid: str | None) -> list[str]:
    """The keys under which an entry is remembered: its link's key and its GUID, either one matching."""
    return [url_key(link)] + (["guid:" + guid] if guid else [])


def backoff_until(failures: int, now: dt.datetime) -> str | None:
    """When a feed that failed `failures` runs in a row may be tried again (None: next run)."""
    if failures < BACKOFF_AFTER:
        return None
    delay = min(BACKOFF_BASE * (2 ** (failures - BACKOFF_AFTER)), BACKOFF_MAX)
    return format_time(now + delay)


def load_feed_states(state_root: str, now: dt.datetime, retention: dt.timedelta) -> dict[str, FeedState]:
    """Every feed's state, by feed URL (one small record per feed, read once when the pipeline is built)."""
    records = StateLog(state_root, NAMESPACE).read(now, retention)
    return {key: FeedState.from_value(record.value) for key, record in records.items()}


def next_state(prior: FeedState, poll: dict[str, Any], done_keys: list[str], now: dt.datetime,
               retention: dt.timedelta) -> FeedState:
    """The feed's state after this run, from the poll outcome and the entries whose fetch is settled.

    `poll` is what PollFeedDoFn reported: outcome (ok, not_modified, failed, backed_off), validators,
    error, the keys of entries listed now and of entries handed on to fetching. An entry is remembered as
    seen only once its fetch is settled (fetched, or failed for good): one that failed transiently is
    fetched again next run, and so the feed's validators are dropped to make the next poll unconditional."""
    state = FeedState.from_value(prior.to_value())
    stamp = format_time(now)
    outcome = poll["outcome"]
    if outcome == "backed_off":
        state.skipped_runs += 1
        return state
    state.last_attempt = stamp
    if outcome == "failed":
        state.consecutive_failures += 1
        state.last_error = poll.get("error")
        state.next_attempt_at = backoff_until(state.consecutive_failures, now)
        state.entries_last_run = 0
        return state
    state.consecutive_failures = 0
    state.next_attempt_at = None
    state.last_success = stamp
    state.skipped_runs = 0
    if outcome == "not_modified":
        state.entries_last_run = 0
        return state
    state.entries_last_run = int(poll.get("entries", 0))
    done = set(done_keys)
    for key in poll.get("listed", []):
        if key in state.seen or key in done:
            state.seen[key] = stamp
    unsettled = [keys for keys in poll.get("handed_on", []) if not any(k in done for k in keys)]
    state.etag, state.last_modified = (None, None) if unsettled else (poll.get("etag"), poll.get("last_modified"))
    cutoff = format_time(now - retention)
    kept = sorted(((t, k) for k, t in state.seen.items() if t >= cutoff), reverse=True)[:MAX_SEEN]
    state.seen = {k: t for t, k in kept}
    return state
