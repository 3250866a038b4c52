"""Tagging and building events in Beam: DedupResult -> validated schema-v1 event, or a dead letter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.pvalue import TaggedOutput
from apache_beam.utils import shared

from pipelines.beam import COUNTRIES_NAMESPACE, DEAD, TOPICS_NAMESPACE, counter
from pipelines.events import InvalidEventError, Provenance, build_event, validate_event
from pipelines.tagging import ConflictTagger
from schemas.records import Article, DeadLetter, DedupResult

# The tagger's handle, one per process, however many threads run TagToEventDoFn (a tagger holds its gazetteer
# and lexicons in memory), and for the process's life: Beam keeps the object it last handed out alive, so a tagger
# loaded by one pipeline is still there for the next (tests, a notebook, a benchmark), which pays no second load.
TAGGER = shared.Shared()


def shared_tagger() -> ConflictTagger:
    """This process's one tagger (loaded on first use)."""
    return TAGGER.acquire(ConflictTagger)


class TagToEventDoFn(beam.DoFn):
    """DedupResult -> schema-v1 event dict (tagged and validated); events that break the schema to dead letters."""

    def __init__(self, provenance_run_id: str, only_conflict: bool) -> None:
        self.run_id = provenance_run_id
        self.only_conflict = only_conflict
        self.events = counter("events_written")
        self.conflict = counter("conflict_events")
        self.filtered = counter("filtered_not_conflict")
        self.invalid = counter("events_invalid")
        self.tagger: ConflictTagger | None = None
        self.provenance: Provenance | None = None
        self.by_code: dict[tuple[str, str], Any] = {}  # the counter of each topic and country code, made once

    def setup(self) -> None:
        self.tagger = shared_tagger()
        self.provenance = Provenance(run_id=self.run_id, taxonomy_version=self.tagger.version)

    def process(self, group: DedupResult) -> Iterator[Any]:
        article: Article = group.representative
        tags = group.tags or self.tagger.tag(article.title, article.text, article.language)
        event = build_event(group, tags, self.provenance)
        try:
            validate_event(event)
        except InvalidEventError as exc:
            self.invalid.inc()
            yield TaggedOutput(DEAD, DeadLetter("event", str(exc), article.url, {"url": article.url}))
            return
        if tags.is_conflict:
            self.conflict.inc()
        elif self.only_conflict:
            self.filtered.inc()
            return
        self.events.inc()
        for code in {topic["code"] for topic in event["topics"]}:
            self._code_counter(TOPICS_NAMESPACE, code).inc()
        for code in {place["country_code"] for place in event["locations"] if place.get("country_code")}:
            self._code_counter(COUNTRIES_NAMESPACE, code).inc()
        yield event

    def _code_counter(self, namespace: str, code: str) -> Any:
        key = (namespace, code)
        if key not in self.by_code:
            self.by_code[key] = Metrics.counter(namespace, code)
        return self.by_code[key]


class TagToEvent(beam.PTransform):
    """Groups of copies -> validated events (`events`) and dead letters (DEAD): the tag and event stage."""

    def __init__(self, provenance_run_id: str, only_conflict: bool) -> None:
        super().__init__()
        self.dofn = TagToEventDoFn(provenance_run_id, only_conflict)

    def expand(self, groups: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return groups | "Tag" >> beam.ParDo(self.dofn).with_outputs(DEAD, main="events")
