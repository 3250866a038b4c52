"""Streaming deduplication with Beam keyed state and expiry timers: the same text once, and changed text at a
URL already emitted as the next revision of its event."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.coders import FloatCoder, StrUtf8Coder
from apache_beam.transforms import userstate
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.utils.timestamp import Duration

from pipelines.dedup import DedupResult, article_key, fingerprint
from pipelines.dedup.revisions import fact_changes, facts_of
from pipelines.transforms import counter, shared_tagger
from schemas.records import Article

DEFAULT_EXPIRY = 30 * 24 * 3600.0


class FirstSeenDoFn(beam.DoFn):
    """(key, item) -> item the first time its key is seen, and again only once `expiry` seconds have passed.

    Keyed state remembers when a key was first seen; an event-time timer forgets it after the expiry so state
    stays bounded. Not Beam's DeduplicatePerKey: its processing-time timer spec makes the DirectRunner fail
    on a streaming pipeline with PeriodicImpulse ("... was not replaced as expected", Beam 2.77), and there the
    watermark jumps ahead between ticks, firing expiry timers at once; so state is only cleared once the
    expiry has also passed on the clock (event times of polls are clock times).
    """

    FIRST_SEEN = userstate.ReadModifyWriteStateSpec("first_seen", FloatCoder())
    EXPIRY = userstate.TimerSpec("expiry", TimeDomain.WATERMARK)

    def __init__(self, expiry: float) -> None:
        self.expiry = expiry

    def process(self, keyed: tuple[str, Any], timestamp: Any = beam.DoFn.TimestampParam,
                first_seen: Any = beam.DoFn.StateParam(FIRST_SEEN),  # noqa: B008 - Beam's parameter idiom
                expiry: Any = beam.DoFn.TimerParam(EXPIRY)) -> Iterator[Any]:  # noqa: B008
        seen = first_seen.read()
        if seen is not None and float(timestamp) < seen + self.expiry:
            return
        first_seen.write(float(timestamp))
        expiry.set(timestamp + Duration(seconds=self.expiry))
        yield keyed[1]

    @userstate.on_timer(EXPIRY)
    def forget(self, first_seen: Any = beam.DoFn.StateParam(FIRST_SEEN)) -> None:  # noqa: B008
        seen = first_seen.read()
        if seen is not None and time.time() >= seen + self.expiry:
            first_seen.clear()


class FirstSeen(beam.PTransform):
    """Elements whose key has not been seen within `expiry` seconds, so an article still in a feed an hour
    later is not emitted again."""

    def __init__(self, key: Any, expiry: float, label: str) -> None:
        super().__init__(label)
        self.key = key
        self.expiry = expiry

    def expand(self, items: beam.PCollection) -> beam.PCollection:
        return (
            items
            | "Key" >> beam.Map(lambda item, key=self.key: (key(item), item)).with_output_types(tuple[str, Any])
            | "FirstSeen" >> beam.ParDo(FirstSeenDoFn(self.expiry))
        )


@dataclass(frozen=True)
class UrlVersion:
    """What the stream keeps of the version last emitted at a URL: when, its text's fingerprint, its
    revision and its tagged facts (revisions.facts_of). No text."""

    at: float
    fingerprint: str
    revision: int
    facts: dict[str, Any] | None

    def to_json(self) -> str:
        return json.dumps({"at": self.at, "fp": self.fingerprint, "rev": self.revision, "facts": self.facts})

    @staticmethod
    def from_json(text: str) -> UrlVersion:
        value = json.loads(text)
        return UrlVersion(value["at"], value["fp"], value["rev"], value["facts"])


def next_version(prior: UrlVersion | None, article: Article, at: float, expiry: float,
                 tag: Callable[[Article], Any]) -> tuple[DedupResult | None, UrlVersion | None]:
    """An article at a URL against the version last emitted there: (the group to emit or None, the version to
    keep or None to keep the prior). A URL not seen within `expiry` is a first version; the same text is
    nothing new; other text is the next revision of the URL's event, with what changed (its facts, or 'text')."""
    if prior is not None and at < prior.at + expiry:
        if prior.fingerprint == fingerprint(article):
            return None, None
        tags = tag(article)
        facts = facts_of(tags)
        changes = tuple(fact_changes(prior.facts, facts) or ["text"])
        revision = prior.revision + 1
        return (DedupResult(article, (), revision=revision, changes=changes, tags=tags),
                UrlVersion(at, fingerprint(article), revision, facts))
    tags = tag(article)
    return DedupResult(article, (), tags=tags), UrlVersion(at, fingerprint(article), 1, facts_of(tags))


class UrlVersionsDoFn(beam.DoFn):
    """(URL key, article) -> DedupResult by next_version, tagged (the events' step reuses the tags); the kept
    version is forgotten after the expiry, as FirstSeenDoFn's keys are."""

    VERSION = userstate.ReadModifyWriteStateSpec("version", StrUtf8Coder())
    EXPIRY = userstate.TimerSpec("expiry", TimeDomain.WATERMARK)

    def __init__(self, expiry: float) -> None:
        self.expiry = expiry
        self.tagger: Any = None

    def setup(self) -> None:
        self.tagger = shared_tagger()
        self.revisions = counter("revisions")

    def _tag(self, article: Article) -> Any:
        return self.tagger.tag(article.title, article.text, article.language)

    def process(self, keyed: tuple[str, Article], timestamp: Any = beam.DoFn.TimestampParam,
                version: Any = beam.DoFn.StateParam(VERSION),  # noqa: B008 - Beam's parameter idiom
                expiry: Any = beam.DoFn.TimerParam(EXPIRY)) -> Iterator[DedupResult]:  # noqa: B008
        kept = version.read()
        group, now_kept = next_version(UrlVersion.from_json(kept) if kept else None, keyed[1], float(timestamp),
                                       self.expiry, self._tag)
        if group is None:
            return
        if group.revision > 1:
            self.revisions.inc()
        version.write(now_kept.to_json())
        expiry.set(timestamp + Duration(seconds=self.expiry))
        yield group

    @userstate.on_timer(EXPIRY)
    def forget(self, version: Any = beam.DoFn.StateParam(VERSION)) -> None:  # noqa: B008
        kept = version.read()
        if kept and time.time() >= UrlVersion.from_json(kept).at + self.expiry:
            version.clear()


class StreamingDedup(beam.PTransform):
    """Articles -> groups to emit: by text fingerprint, the same text once within `expiry` seconds (polled
    again, or at another URL); then by canonical URL key, changed text at a URL already emitted as the next
    revision of its event. Near-duplicates need the batch stage's band grouping and are not caught here: a
    rewritten story at another URL is its own event."""

    def __init__(self, expiry: float = DEFAULT_EXPIRY) -> None:
        super().__init__()
        self.expiry = expiry

    def expand(self, articles: beam.PCollection) -> beam.PCollection:
        return (
            articles
            | "ByContent" >> FirstSeen(fingerprint, self.expiry, "ByContent")
            | "KeyByUrl" >> beam.Map(lambda a: (article_key(a), a)).with_output_types(tuple[str, Any])
            | "ByUrl" >> beam.ParDo(UrlVersionsDoFn(self.expiry))
        )
