"""Per-feed state between runs: validators for conditional GET, entries already seen, entries whose fetch
is to be retried, health and backoff.

The retry rule: an entry whose article fetch failed for a transient reason (connection failed, timeout, HTTP
408, 429 or 5xx, robots.txt unreachable for one of those) is pending, not seen: the next run fetches it again,
later failures wait ENTRY_RETRY_BASE, doubling each time (and at least a 429's Retry-After), and the
ENTRY_RETRY_LIMIT-th failed attempt dead-letters it once, with its reason. A permanent failure (404, 410,
not http(s), too large, wrong type, disallowed by robots.txt) is dead-lettered at once and never retried.
A pending entry is kept with the entry itself, so it is retried even after its feed stops listing it.

The update rule: news sites update stories in place and say so in the feed (Atom <updated>, RSS <atom:updated>).
The state remembers the updated time of the version last fetched, and a seen entry whose feed now gives a later
one is fetched again; dedup turns its changed text into the event's next revision."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from enum import Enum
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
# Attempts at an entry's fetch before it is dead-lettered: with ENTRY_RETRY_BASE doubling, a host that is down
# for most of a day still has its entries fetched; one down longer is a case for a person, not a retry.
ENTRY_RETRY_LIMIT = 6
ENTRY_RETRY_BASE = dt.timedelta(hours=1)
ENTRY_RETRY_MAX = dt.timedelta(hours=12)


class EntryStatus(Enum):
    """What a poll does with a listed entry: fetch it (new, or updated since its last fetch) or leave it (seen)."""

    NEW = "new"
    UPDATED = "updated"
    SEEN = "seen"


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
    # entry key (its link's url_key) -> a PendingFetch's value: entries whose fetch is to be retried
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)
    # entry key (its link's url_key) -> the feed's updated time of the version last fetched (update rule)
    updated: dict[str, str] = field(default_factory=dict)

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

    def wants(self, link: str, guid: str | None, updated_at: str | None,
              published_at: str | None = None) -> EntryStatus:
        """Whether a listed entry is to be fetched: NEW when no earlier run settled it; UPDATED when it was, but
        the feed's updated time is later than the one of the version fetched (or, with none remembered, later
        than the entry's published time); else SEEN. Times are RFC 3339 UTC, so they compare as strings."""
        if not self.already_seen(link, guid):
            return EntryStatus.NEW
        if not updated_at:
            return EntryStatus.SEEN
        before = self.updated.get(url_key(link)) or published_at
        return EntryStatus.UPDATED if before and updated_at > before else EntryStatus.SEEN

    def is_pending(self, link: str) -> bool:
        return url_key(link) in self.pending

    def due_retries(self, now: dt.datetime) -> list[PendingFetch]:
        """The pending entries this run should fetch again (their backoff over)."""
        fetches = [PendingFetch.from_value(value) for value in self.pending.values()]
        return [f for f in fetches if not f.next_attempt_at or parse_time(f.next_attempt_at) <= now]


@dataclass(frozen=True)
class PendingFetch:
    """An entry whose fetch failed transiently and is to be tried again (a value of FeedState.pending)."""

    entry: dict[str, Any]  # the FeedEntry as entry_to_json made it
    keys: list[str]
    attempts: int
    first_failed: str
    last_error: str
    next_attempt_at: str | None = None

    @staticmethod
    def from_value(value: dict[str, Any]) -> PendingFetch:
        return PendingFetch(**{k: v for k, v in value.items() if k in PendingFetch.__dataclass_fields__})

    def to_value(self) -> dict[str, Any]:
        return asdict(self)


class PollKind(Enum):
    """How a feed's poll ended: parsed (OK), unchanged since the last poll (a 304), unreadable, or not tried
    because the feed is backing off after repeated failures."""

    OK = "ok"
    NOT_MODIFIED = "not_modified"
    FAILED = "failed"
    BACKED_OFF = "backed_off"


@dataclass(frozen=True)
class PollOutcome:
    """What PollFeedDoFn reports of one feed's poll, for its state: how it ended, the validators the server
    sent (OK, NOT_MODIFIED), the error (FAILED), and, for OK, the number of usable entries and the keys of the
    entries listed now."""

    kind: PollKind
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    entries: int = 0
    listed: tuple[str, ...] = ()


@dataclass(frozen=True)
class FetchOutcome:
    """What FetchPageDoFn reports of one entry's fetch, for its feed's state: the entry's keys (entry_keys) and
    the feed's updated time of the version fetched; for a fetch to retry (`retry`), the error, the 429's
    Retry-After and the entry itself (as entry_to_json made it), kept in the state as a PendingFetch."""

    keys: tuple[str, ...]
    updated_at: str | None = None
    retry: bool = False
    error: str | None = None
    retry_after: float | None = None
    entry: dict[str, Any] | None = None


def retry_at(attempts: int, now: dt.datetime, retry_after: float | None = None) -> str | None:
    """When an entry whose fetch failed `attempts` times may be tried again: the next run after the first
    failure, then ENTRY_RETRY_BASE doubling up to ENTRY_RETRY_MAX, and never before a 429's Retry-After."""
    delay = dt.timedelta(0) if attempts < 2 else min(ENTRY_RETRY_BASE * (2 ** (attempts - 2)), ENTRY_RETRY_MAX)
    delay = max(delay, dt.timedelta(seconds=retry_after or 0))
    return format_time(now + delay) if delay else None


def retry_attempts(states: dict[str, FeedState]) -> dict[str, dict[str, int]]:
    """Failed attempts so far of each pending entry, by feed URL and entry key: what the fetch step needs to
    tell a retry from the last attempt."""
    return {url: {key: int(value.get("attempts", 0)) for key, value in state.pending.items()}
            for url, state in states.items() if state.pending}


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


def next_state(prior: FeedState, poll: PollOutcome, fetches: list[FetchOutcome], now: dt.datetime,
               retention: dt.timedelta) -> FeedState:
    """The feed's state after this run, from the poll's outcome and how each entry's fetch ended.

    An entry is remembered as seen, with the feed's updated time of the version fetched, once its fetch is
    settled (fetched, or failed for good); one to retry becomes (or stays) pending."""
    state = FeedState.from_value(prior.to_value())
    stamp = format_time(now)
    state.pending = dict(state.pending)
    state.updated = dict(state.updated)
    done: set[str] = set()
    for fetch in fetches:
        key = fetch.keys[0]
        if not fetch.retry:
            done.update(fetch.keys)
            state.pending.pop(key, None)
            _remember_updated(state, key, fetch.updated_at)
            continue
        before = state.pending.get(key)
        attempts = int(before["attempts"]) + 1 if before else 1
        state.pending[key] = PendingFetch(
            entry=fetch.entry or {}, keys=list(fetch.keys), attempts=attempts,
            first_failed=before["first_failed"] if before else stamp, last_error=fetch.error or "",
            next_attempt_at=retry_at(attempts, now, fetch.retry_after)).to_value()
    for key in done:
        state.seen[key] = stamp
    if poll.kind is PollKind.BACKED_OFF:
        state.skipped_runs += 1
        return state
    state.last_attempt = stamp
    if poll.kind is PollKind.FAILED:
        state.consecutive_failures += 1
        state.last_error = poll.error
        state.next_attempt_at = backoff_until(state.consecutive_failures, now)
        state.entries_last_run = 0
        return state
    state.consecutive_failures = 0
    state.next_attempt_at = None
    state.last_success = stamp
    state.skipped_runs = 0
    if poll.kind is PollKind.NOT_MODIFIED:
        state.entries_last_run = 0
        return state
    state.entries_last_run = poll.entries
    for key in poll.listed:
        if key in state.seen:
            state.seen[key] = stamp
    # Pending entries are retried from the state, not from the listing, so the next poll can stay conditional.
    state.etag, state.last_modified = poll.etag, poll.last_modified
    cutoff = format_time(now - retention)
    kept = sorted(((t, k) for k, t in state.seen.items() if t >= cutoff), reverse=True)[:MAX_SEEN]
    state.seen = {k: t for t, k in kept}
    state.updated = {k: t for k, t in state.updated.items() if k in state.seen}
    return state


def _remember_updated(state: FeedState, key: str, updated_at: str | None) -> None:
    """Keep the feed's updated time of the version just settled under the entry's key (none: forget it)."""
    if updated_at:
        state.updated[key] = updated_at
    else:
        state.updated.pop(key, None)
