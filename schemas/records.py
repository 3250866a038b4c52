"""Record types that cross stage boundaries: feed config, feed entry, fetched page, article, dead letter, the
tagging of an article (TagResult) and a resolved group of copies (DedupResult)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any


def utc_now() -> str:
    """The current time as RFC 3339 UTC with a Z suffix, second precision."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class FeedConfig:
    """One feed of a feeds file."""

    url: str
    name: str | None = None
    language: str | None = None
    robots: bool = True  # honour robots.txt for this feed's articles


@dataclass(frozen=True)
class FeedEntry:
    """One entry read from a feed (or one record of an --input file): what points at an article."""

    link: str
    feed_url: str | None = None
    feed_name: str | None = None
    feed_language: str | None = None
    guid: str | None = None
    title: str | None = None
    summary: str | None = None
    published_at: str | None = None
    authors: tuple[str, ...] = ()
    connector: str = "feed"
    # The feed's own last-updated time for the entry (Atom <updated>, RSS <atom:updated>/<dcterms:modified>), when
    # it gives one: a later one than the fetched version's is what tells a story updated in place.
    updated_at: str | None = None


@dataclass(frozen=True)
class FetchedPage:
    """An article page as fetched: the bytes and what the server said about them."""

    entry: FeedEntry
    final_url: str
    status: int
    content_type: str
    body: bytes
    fetched_at: str


@dataclass(frozen=True)
class Article:
    """An article after extraction: clean text and metadata, ready for dedup and tagging."""

    url: str
    canonical_url: str
    title: str
    text: str
    language: str
    fetched_at: str
    summary: str | None = None
    authors: tuple[str, ...] = ()
    published_at: str | None = None
    feed_url: str | None = None
    source_name: str | None = None
    guid: str | None = None
    connector: str = "feed"
    flags: tuple[str, ...] = ()
    # The feed entry's own time, kept apart from published_at (where the page's date wins): it orders
    # two entries of one article, such as a story and its live-blog teaser, the same way in every run.
    feed_published_at: str | None = None


@dataclass(frozen=True)
class DeadLetter:
    """An item a stage could not process: which stage, why, and enough of the input to retry it."""

    stage: str
    reason: str
    ref: str
    input: dict[str, Any] = field(default_factory=dict)
    at: str = field(default_factory=utc_now)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def entry_to_json(entry: FeedEntry) -> dict[str, Any]:
    """A feed entry as a JSON-ready dict (dead letters carry it so the item can be retried)."""
    data = dataclasses.asdict(entry)
    data["authors"] = list(entry.authors)
    return data


def _empty_casualties() -> dict[str, Any]:
    return {"killed": None, "injured": None, "abducted": None}


@dataclass
class TagResult:
    """The tagging block of an event."""

    is_conflict: bool
    score: float
    topics: list[dict[str, Any]] = field(default_factory=list)
    locations: list[dict[str, Any]] = field(default_factory=list)
    actors: list[dict[str, Any]] = field(default_factory=list)
    casualties: dict[str, Any] = field(default_factory=_empty_casualties)

    def to_json(self) -> dict[str, Any]:
        return {
            "conflict": {"is_conflict": self.is_conflict, "score": self.score},
            "topics": self.topics,
            "locations": self.locations,
            "actors": self.actors,
            "casualties": self.casualties,
        }


@dataclass(frozen=True)
class DedupResult:
    """A group of copies resolved: the representative and its duplicates. `duplicate_of` is set when this
    article is itself a copy emitted with --duplicates flag; `revision` rises when the text at its URL changed
    since an earlier run, or a copy of a story an earlier run emitted states other facts: then `event_id` is
    the event it revises (None: its own URL's), `changes` says what differs, and `tags` holds the tagging that
    told it (reused when the event is built)."""

    representative: Article
    duplicates: tuple[Article, ...]
    revision: int = 1
    duplicate_of: str | None = None
    cluster_id: str | None = None
    event_id: str | None = None
    changes: tuple[str, ...] = ()
    tags: Any = field(default=None, compare=False)

    @property
    def duplicate_urls(self) -> list[str]:
        return sorted({d.url for d in self.duplicates} - {self.representative.url})

    @property
    def copies(self) -> int:
        return len(self.duplicates)
