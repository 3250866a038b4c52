"""Thin Beam wrappers around the stages: each DoFn calls one plain function; failures leave as dead letters."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.pvalue import TaggedOutput

from connectors.feeds import FeedError, FeedPoller
from connectors.http import FetchError, FetchPolicy
from connectors.pages import fetch_page, make_fetcher
from pipelines.dedup import DedupResult, article_key, content_fingerprint, merge_groups, singleton
from pipelines.events import InvalidEventError, Provenance, build_event, validate_event
from pipelines.extract import ArticleExtractor, ExtractionError, article_from_text
from pipelines.inputs import InputRecordError, TextRecord, parse_input_line
from pipelines.tagging import ConflictTagger
from schemas.records import Article, DeadLetter, FeedConfig, FeedEntry, FetchedPage, entry_to_json

NAMESPACE = "sitrep"
DEAD = "dead"


def counter(name: str) -> Any:
    return Metrics.counter(NAMESPACE, name)


class _FetchingDoFn(beam.DoFn):
    """A DoFn that owns one fetcher for its lifetime (created in setup, closed in teardown)."""

    def __init__(self, policy: FetchPolicy, replay: str | None) -> None:
        self.policy = policy
        self.replay = replay
        self.fetcher = None

    def setup(self) -> None:
        self.fetcher = make_fetcher(self.policy, self.replay)

    def teardown(self) -> None:
        if self.fetcher is not None:
            self.fetcher.close()


class PollFeedDoFn(_FetchingDoFn):
    """FeedConfig -> FeedEntry for each usable entry; unreadable feeds and link-less entries to dead letters."""

    def __init__(self, policy: FetchPolicy, replay: str | None) -> None:
        super().__init__(policy, replay)
        self.polled = counter("feeds_polled")
        self.failed = counter("feeds_failed")
        self.seen = counter("entries_seen")
        self.skipped = counter("entries_skipped")

    def process(self, feed: FeedConfig) -> Iterator[Any]:
        self.polled.inc()
        try:
            result = FeedPoller(self.fetcher).poll(feed)
        except FeedError as exc:
            self.failed.inc()
            yield TaggedOutput(DEAD, DeadLetter("poll", str(exc), feed.url, {"feed": vars(feed)}))
            return
        self.seen.inc(len(result.entries) + len(result.skipped))
        for ref, reason in result.skipped:
            self.skipped.inc()
            yield TaggedOutput(DEAD, DeadLetter("poll", reason, feed.url, {"feed": vars(feed), "entry": ref}))
        yield from result.entries


class FetchPageDoFn(_FetchingDoFn):
    """FeedEntry -> FetchedPage; failed fetches to dead letters with the entry, so they can be retried."""

    def __init__(self, policy: FetchPolicy, replay: str | None) -> None:
        super().__init__(policy, replay)
        self.fetched = counter("articles_fetched")
        self.failed = counter("fetch_failed")

    def process(self, entry: FeedEntry) -> Iterator[Any]:
        try:
            page = fetch_page(self.fetcher, entry)
        except FetchError as exc:
            self.failed.inc()
            yield TaggedOutput(DEAD, DeadLetter("fetch", exc.reason, entry.link, {"entry": entry_to_json(entry)}))
            return
        self.fetched.inc()
        yield page


class ParseInputDoFn(beam.DoFn):
    """A line of an --input file -> FetchedPage (html) or Article (text); bad lines to dead letters."""

    def __init__(self) -> None:
        self.records = counter("input_records")
        self.invalid = counter("input_invalid")
        self.texts = counter("text_records")

    def process(self, line: str) -> Iterator[Any]:
        if not line.strip():
            return
        self.records.inc()
        try:
            parsed = parse_input_line(line)
            if isinstance(parsed, TextRecord):
                article = article_from_text(parsed.entry, parsed.text, parsed.fetched_at)
                self.texts.inc()
                yield TaggedOutput("articles", article)
            else:
                yield parsed
        except (InputRecordError, ExtractionError) as exc:
            self.invalid.inc()
            yield TaggedOutput(DEAD, DeadLetter("input", str(exc), line[:200], {"line": line}))


class ExtractDoFn(beam.DoFn):
    """FetchedPage -> Article; pages with no usable body to dead letters."""

    def __init__(self) -> None:
        self.extracted = counter("articles_extracted")
        self.failed = counter("extract_failed")
        self.extractor: ArticleExtractor | None = None

    def setup(self) -> None:
        self.extractor = ArticleExtractor()

    def process(self, page: FetchedPage) -> Iterator[Any]:
        try:
            article = self.extractor.extract(page)
        except ExtractionError as exc:
            self.failed.inc()
            letter = DeadLetter("extract", str(exc), page.final_url, {"entry": entry_to_json(page.entry)})
            yield TaggedOutput(DEAD, letter)
            return
        self.extracted.inc()
        yield article


class DedupBy(beam.PTransform):
    """Groups of copies that share a key are merged into one group with one representative."""

    def __init__(self, key: Callable[[DedupResult], str], label: str) -> None:
        super().__init__(label)
        self.key = key

    def expand(self, groups: beam.PCollection) -> beam.PCollection:
        return (
            groups
            | "Key" >> beam.Map(lambda g, key=self.key: (key(g), g))
            | "Group" >> beam.GroupByKey()
            | "Merge" >> beam.MapTuple(lambda _key, gs: merge_groups(gs))
        )


class ExactDedup(beam.PTransform):
    """Articles -> one DedupResult per story: copies by canonical URL key, then by content fingerprint."""

    def expand(self, articles: beam.PCollection) -> beam.PCollection:
        return (
            articles
            | "AsGroups" >> beam.Map(singleton)
            | "ByUrl" >> DedupBy(lambda g: article_key(g.representative), "ByUrl")
            | "ByContent" >> DedupBy(lambda g: content_fingerprint(g.representative.text), "ByContent")
            | "CountDuplicates" >> beam.Map(_count_duplicates)
        )


_duplicates = counter("duplicates")


def _count_duplicates(group: DedupResult) -> DedupResult:
    _duplicates.inc(group.copies)
    return group


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

    def setup(self) -> None:
        self.tagger = ConflictTagger()
        self.provenance = Provenance(run_id=self.run_id, taxonomy_version=self.tagger.version)

    def process(self, group: DedupResult) -> Iterator[Any]:
        article: Article = group.representative
        tags = self.tagger.tag(article.title, article.text, article.language)
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
        yield event


def dead_letter_json(letter: DeadLetter) -> str:
    Metrics.counter(NAMESPACE, "dead_letters").inc()
    return json.dumps(letter.to_json(), ensure_ascii=False, sort_keys=True, default=str)


def event_json(event: dict[str, Any]) -> str:
    return json.dumps(event, ensure_ascii=False, sort_keys=True)
