"""The dashboard's memory of the events it has seen: every revision of each event, bounded, and the messages
that were not events, counted."""

from __future__ import annotations

import json
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any

MAX_EVENTS = 5000
MAX_REVISIONS = 20  # an event revised more often than this keeps its latest revisions
# The article's text is the bulk of an event and the page does not show it: kept, it would multiply the
# memory of every revision held by the size of an article.
DROPPED_FIELDS = ("text",)
BAD_KEPT = 20  # the latest bad messages shown on the page, with their reason
EXCERPT = 200


@dataclass(frozen=True)
class StoredRevision:
    """One revision of an event as the store took it: `seq` orders everything the store took, so a page that
    reconnects asks for what came after the last one it saw."""

    seq: int
    event_id: str
    revision: int
    event: dict[str, Any]


@dataclass(frozen=True)
class BadMessage:
    """A message that was not an event: why, when, and the start of what it said (as text, for a person)."""

    reason: str
    at: float
    excerpt: str


def parse_event(data: bytes | str) -> tuple[dict[str, Any] | None, str | None]:
    """(event, None) for a message holding an event, (None, reason) for anything else.

    An event here is what the dashboard needs to show and merge it: a JSON object with a non-empty string
    `event_id` and, when present, a positive integer `revision` (absent reads as 1). The full schema is the
    pipeline's to enforce; a consumer that refused an event for a field it does not show would hide news."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            return None, "not UTF-8"
    try:
        event = json.loads(data)
    except ValueError:
        return None, "not JSON"
    if not isinstance(event, dict):
        return None, f"not an event (a JSON {type(event).__name__}, not an object)"
    event_id = event.get("event_id")
    if not isinstance(event_id, str) or not event_id:
        return None, "not an event (no event_id)"
    revision = event.get("revision", 1)
    if isinstance(revision, bool) or not isinstance(revision, int) or revision < 1:
        return None, f"not an event (revision {revision!r} is not a positive integer)"
    return event, None


def _excerpt(data: bytes | str) -> str:
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    return text[:EXCERPT] + ("…" if len(text) > EXCERPT else "")


class EventStore:
    """The latest `max_events` events (the least recently revised are forgotten first), each with up to
    `max_revisions` revisions in revision order, every field but the article's `text`. A revision delivered
    twice (Pub/Sub delivers at least once, a folder can be read again) is kept once."""

    def __init__(self, max_events: int = MAX_EVENTS, max_revisions: int = MAX_REVISIONS) -> None:
        if max_events < 1 or max_revisions < 1:
            raise ValueError("an event store keeps at least one event and one revision")
        self.max_events = max_events
        self.max_revisions = max_revisions
        self._events: OrderedDict[str, list[StoredRevision]] = OrderedDict()
        self._seq = 0
        self.bad = 0
        self.duplicates = 0
        self.forgotten = 0
        self.recent_bad: deque[BadMessage] = deque(maxlen=BAD_KEPT)

    def add(self, data: bytes | str) -> StoredRevision | BadMessage | None:
        """Take one message: the revision stored, the bad message counted, or None for a revision already held."""
        event, reason = parse_event(data)
        if event is None:
            bad = BadMessage(reason, time.time(), _excerpt(data))
            self.bad += 1
            self.recent_bad.append(bad)
            return bad
        event_id, revision = event["event_id"], event.get("revision", 1)
        held = self._events.get(event_id, [])
        if any(r.revision == revision for r in held) or (
                len(held) >= self.max_revisions and revision < held[0].revision):
            self.duplicates += 1  # held already, or older than every revision an event keeps
            return None
        self._seq += 1
        kept = {name: value for name, value in event.items() if name not in DROPPED_FIELDS}
        stored = StoredRevision(self._seq, event_id, revision, kept)
        held = sorted([*held, stored], key=lambda r: r.revision)[-self.max_revisions:]
        self._events[event_id] = held
        self._events.move_to_end(event_id)
        while len(self._events) > self.max_events:
            self._events.popitem(last=False)
            self.forgotten += 1
        return stored

    def since(self, seq: int = 0) -> list[StoredRevision]:
        """Every revision held that the store took after `seq`, in the order it took them."""
        return sorted((r for held in self._events.values() for r in held if r.seq > seq), key=lambda r: r.seq)

    def revisions(self, event_id: str) -> list[dict[str, Any]]:
        """The revisions held of one event, oldest first (none for an event not held)."""
        return [r.event for r in self._events.get(event_id, [])]

    def latest(self) -> list[dict[str, Any]]:
        """Each event held, at its latest revision, the most recently revised last."""
        return [held[-1].event for held in self._events.values()]

    def __len__(self) -> int:
        return len(self._events)

    def status(self) -> dict[str, Any]:
        """What the page's status line shows: counts, and the latest bad messages with their reason."""
        return {
            "events": len(self._events),
            "revisions": sum(len(held) for held in self._events.values()),
            "max_events": self.max_events,
            "forgotten": self.forgotten,
            "duplicates": self.duplicates,
            "bad": self.bad,
            "recent_bad": [{"reason": b.reason, "at": b.at, "excerpt": b.excerpt} for b in self.recent_bad],
        }
