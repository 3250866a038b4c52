"""Thin Beam wrappers around the stages: each DoFn calls one plain function; failures leave as dead letters."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam import coders
from apache_beam.io import textio
from apache_beam.metrics import Metrics
from apache_beam.pvalue import TaggedOutput
from apache_beam.utils import shared
from apache_beam.utils.windowed_value import WindowedValue

from connectors.archive import WarcRecorder
from connectors.feeds import FeedError, FeedPoller
from connectors.feedstate import ENTRY_RETRY_LIMIT, EntryStatus, FeedState, entry_keys
from connectors.http import FetchPolicy
from connectors.pages import ArticleFetcher, make_fetcher
from connectors.state import parse_time
from pipelines.dedup import DedupResult
from pipelines.events import InvalidEventError, Provenance, build_event, validate_event
from pipelines.extract import ArticleExtractor, ExtractionError, article_from_text
from pipelines.inputs import (
    MAX_INPUT_LINE_BYTES,
    OVERSIZED_HEAD_BYTES,
    InputRecordError,
    TextRecord,
    oversized_line,
    parse_input_line,
    read_oversized,
)
from pipelines.tagging import ConflictTagger
from schemas.records import Article, DeadLetter, FeedConfig, FeedEntry, FetchedPage, entry_to_json

NAMESPACE = "sitrep"
DEAD = "dead"
FEED_STATE = "feed_state"
FETCH_OUTCOME = "fetch_outcome"


def counter(name: str) -> Any:
    return Metrics.counter(NAMESPACE, name)


def _windowed(outputs: Iterable[Any], window: Any, timestamp: Any) -> Iterator[Any]:
    """One element's outputs (TaggedOutput for a tagged one) in its window and with its timestamp: how a DoFn
    hands on what it worked out for an element it held back (from finish_bundle, or a later process call)."""
    for output in outputs:
        if isinstance(output, TaggedOutput):
            yield TaggedOutput(output.tag, WindowedValue(output.value, timestamp, (window,)))
        else:
            yield WindowedValue(output, timestamp, (window,))


class BatchingDoFn(beam.DoFn):
    """A DoFn that does its work BATCH elements at a time (process_one on each, in a row), then hands their
    outputs on, each in its own element's window and with its timestamp. Beam's BatchElements would batch
    too, but it re-stamps a batch at the end of its window and sizes batches by wall time."""

    BATCH = 16

    def start_bundle(self) -> None:
        self._held: list[tuple[Any, Any, Any]] = []

    def process(self, element: Any, window: Any = beam.DoFn.WindowParam,
                timestamp: Any = beam.DoFn.TimestampParam) -> Iterator[Any]:
        self._held.append((element, window, timestamp))
        if len(self._held) >= self.BATCH:
            yield from self._flush()

    def finish_bundle(self) -> Iterator[Any]:
        yield from self._flush()

    def process_one(self, element: Any) -> Iterable[Any]:
        """What process would yield for one element (TaggedOutput for a tagged output)."""
        raise NotImplementedError

    def _flush(self) -> Iterator[Any]:
        held, self._held = self._held, []
        done = [(list(self.process_one(element)), window, timestamp) for element, window, timestamp in held]
        for outputs, window, timestamp in done:
            yield from _windowed(outputs, window, timestamp)


@dataclass(frozen=True)
class FetchSettings:
    """What a fetching DoFn needs to build its fetcher on a worker: the bounds, a replay source (no
    network), or a folder for this run's WARC parts."""

    replay: str | None = None
    archive_parts: str | None = None
    run_id: str = ""


Work = tuple[list[Any], dict[str, int]]


class _ConcurrentFetchDoFn(beam.DoFn):
    """A DoFn whose elements are I/O bound: each is handed to a thread pool (as wide as the global cap) so a
    bundle's fetches overlap instead of running one by one; outputs leave as their work completes, and
    finish_bundle waits for the rest. Beam counters are bound to the bundle's thread, so the work returns
    its counts and they are added here, never from the pool's threads."""

    def __init__(self, policy: FetchPolicy, settings: FetchSettings | str | None = None) -> None:
        self.policy = policy
        # A bare string is a replay source, as in FetchPageDoFn(policy, replay).
        self.settings = settings if isinstance(settings, FetchSettings) else FetchSettings(replay=settings)
        self.fetcher: Any = None
        self.recorder: WarcRecorder | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._pending: list[tuple[Future, Any, Any]] = []

    def setup(self) -> None:
        s = self.settings
        self.recorder = WarcRecorder(s.archive_parts, s.run_id) if s.archive_parts and not s.replay else None
        self.fetcher = make_fetcher(self.policy, s.replay, self.recorder)
        self._pool = ThreadPoolExecutor(max_workers=max(1, self.policy.global_concurrency))

    def teardown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        if self.fetcher is not None:
            self.fetcher.close()

    def start_bundle(self) -> None:
        self._pending = []

    def work(self, element: Any) -> Work:
        raise NotImplementedError

    def process(self, element: Any, window: Any = beam.DoFn.WindowParam,
                timestamp: Any = beam.DoFn.TimestampParam) -> Iterator[Any]:
        self._pending.append((self._pool.submit(self.work, element), window, timestamp))
        # Bound what a bundle holds in memory: wait for some work once enough is queued behind the pool.
        block = len(self._pending) >= 4 * self.policy.global_concurrency
        yield from self._drain(block)

    def finish_bundle(self) -> Iterator[Any]:
        wait([future for future, _w, _t in self._pending])
        yield from self._drain(False)
        if self.recorder is not None:
            self.recorder.close()

    def _drain(self, block: bool) -> Iterator[Any]:
        if block:
            wait([future for future, _w, _t in self._pending], return_when=FIRST_COMPLETED)
        still = []
        for future, window, timestamp in self._pending:
            if not future.done():
                still.append((future, window, timestamp))
                continue
            outputs, counts = future.result()
            for name, value in counts.items():
                counter(name).inc(value)
            yield from _windowed(outputs, window, timestamp)
        self._pending = still


class PollFeedDoFn(_ConcurrentFetchDoFn):
    """FeedConfig -> FeedEntry for each new usable entry; unreadable feeds and link-less entries to dead
    letters. With feed state (`prior`, by feed URL): polls are conditional, a 304 is not parsed, entries seen
    by earlier runs are not handed on unless their feed says they were updated since (FeedState.wants), a
    feed backing off is skipped; pending entries whose retry is due are handed on whatever the poll's outcome;
    each feed's poll outcome leaves on the FEED_STATE output as (feed URL, outcome) for the state written
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
            return [TaggedOutput(FEED_STATE, (feed.url, {"outcome": "backed_off"}))], {"feeds_backed_off": 1}
        counts = {"feeds_polled": 1}
        try:
            result = FeedPoller(self.fetcher).poll(feed, state.conditional_headers() if stateful else None)
        except FeedError as exc:
            counts["feeds_failed"] = 1
            return [TaggedOutput(DEAD, DeadLetter("poll", str(exc), feed.url, {"feed": vars(feed)})),
                    TaggedOutput(FEED_STATE, (feed.url, {"outcome": "failed", "error": str(exc)}))], counts
        validators = {"etag": result.etag, "last_modified": result.last_modified}
        if result.not_modified:
            counts["feeds_not_modified"] = 1
            return [TaggedOutput(FEED_STATE, (feed.url, {"outcome": "not_modified", **validators}))], counts
        outputs: list[Any] = []
        counts["entries_seen"] = len(result.entries) + len(result.skipped)
        counts["entries_skipped"] = len(result.skipped)
        for ref, reason in result.skipped:
            # The ref names the refused link where there is one (the feed is in the input either way).
            letter = DeadLetter("poll", reason, ref.get("link") or feed.url, {"feed": vars(feed), "entry": ref})
            outputs.append(TaggedOutput(DEAD, letter))
        listed = []
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
        outcome = {"outcome": "ok", "entries": len(result.entries), "listed": listed, **validators}
        outputs.append(TaggedOutput(FEED_STATE, (feed.url, outcome)))
        return outputs, counts


class FetchPageDoFn(_ConcurrentFetchDoFn):
    """FeedEntry -> FetchedPage, robots.txt permitting (unless the entry's feed is in `ignore_robots`).
    With `retries` (failed attempts so far of pending entries, by feed URL and entry key; None where no
    state carries a retry to a later run), a transient failure before the ENTRY_RETRY_LIMIT-th attempt is
    not a dead letter: the entry stays pending. Other failures go to dead letters with the entry. How each
    entry's fetch ended leaves on FETCH_OUTCOME as (feed URL, outcome) for the feed state."""

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
        keys = entry_keys(entry.link, entry.guid)
        report: dict[str, Any] = {"keys": keys, "updated_at": entry.updated_at}
        if outcome.page is not None:
            return [outcome.page, TaggedOutput(FETCH_OUTCOME, (entry.feed_url, report))], {"articles_fetched": 1}
        error = outcome.error
        failed_before = (self.retries or {}).get(entry.feed_url or "", {}).get(keys[0], 0)
        if self.retries is not None and error.transient and failed_before + 1 < ENTRY_RETRY_LIMIT:
            report.update(retry=True, error=error.reason, retry_after=error.retry_after, entry=entry_to_json(entry))
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


INPUT_READ_BUFFER = 1 << 20


class _InputLinesSource(textio._TextSource):
    """Beam's text source with a 1 MiB read buffer: with its 8 KiB default, a line grows by 8 KiB reads,
    each copying the whole buffer so far, which for --input lines of whole pages (100-500 KB) cost more
    than reading them (about 0.1 ms a line of 160 KB)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, buffer_size=INPUT_READ_BUFFER, **kwargs)

    def _read_record(self, file_to_read: Any, read_buffer: Any) -> tuple[bytes, int]:
        """The next line (without its \\n or \\r\\n) and the bytes to the next one (-1 at the end of the file), as
        Beam's own, but a line longer than MAX_INPUT_LINE_BYTES is not held: the rest of it is read and dropped
        a buffer at a time, and it is read as oversized_line(size, first bytes)."""
        if read_buffer.position > self._buffer_size:
            read_buffer.data = read_buffer.data[read_buffer.position:]
            read_buffer.position = 0
        start = searched = read_buffer.position
        while (end := read_buffer.data.find(b"\n", searched)) < 0:
            searched = len(read_buffer.data)
            if searched - start > MAX_INPUT_LINE_BYTES:
                return self._drop_line(file_to_read, read_buffer, start)
            chunk = file_to_read.read(self._buffer_size)
            if not chunk:  # the last line, with no newline after it
                read_buffer.position = searched
                if searched - start > MAX_INPUT_LINE_BYTES:
                    return self._oversized(read_buffer, start, searched - start), -1
                return read_buffer.data[start:], -1
            read_buffer.data += chunk
        read_buffer.position = end + 1
        if end - start > MAX_INPUT_LINE_BYTES:
            return self._oversized(read_buffer, start, end - start), end + 1 - start
        stop = end - 1 if end > start and read_buffer.data[end - 1:end] == b"\r" else end
        return read_buffer.data[start:stop], end + 1 - start

    @staticmethod
    def _oversized(read_buffer: Any, start: int, size: int) -> bytes:
        return oversized_line(size, read_buffer.data[start:start + OVERSIZED_HEAD_BYTES])

    def _drop_line(self, file_to_read: Any, read_buffer: Any, start: int) -> tuple[bytes, int]:
        """The rest of an over-long line read and dropped; the buffer left at the next line."""
        size, head = len(read_buffer.data) - start, read_buffer.data[start:start + OVERSIZED_HEAD_BYTES]
        read_buffer.data, read_buffer.position = b"", 0
        while chunk := file_to_read.read(self._buffer_size):
            end = chunk.find(b"\n")
            if end >= 0:
                size += end
                read_buffer.data = chunk[end + 1:]
                return oversized_line(size, head), size + 1
            size += len(chunk)
        return oversized_line(size, head), -1


class ReadInputLines(beam.io.ReadFromText):
    """ReadFromText (splittable, any file system) for files of long lines, each line as its bytes: a line that
    is not UTF-8 becomes a dead letter in ParseInputDoFn instead of an error that stops the read."""

    _source_class = _InputLinesSource

    def __init__(self, file_pattern: str, **kwargs: Any) -> None:
        super().__init__(file_pattern, coder=coders.BytesCoder(), **kwargs)


class ParseInputDoFn(BatchingDoFn):
    """A line of an --input file (bytes) -> FetchedPage (html) or Article (text: ExtractDoFn passes it on as it
    is); bad lines to dead letters, with the line (bytes that are not UTF-8 as \\x escapes).

    Lines are parsed BATCH at a time, then extracted one by one: in alternated runs of 2,000 pages this cut
    the pipeline's own work by about a fifth (end to end 0.81-0.84 of extraction alone, against 0.76-0.81
    parsing each line right before its extraction). Parsing itself got about an eighth cheaper; where the
    rest comes from (the allocator reusing what is freed in bursts is a guess) is not pinned down."""

    def __init__(self) -> None:
        self.records = counter("input_records")
        self.invalid = counter("input_invalid")
        self.texts = counter("text_records")

    def process_one(self, line: bytes) -> Iterator[Any]:
        if not line or line.isspace():  # (strip() would copy a line of a whole page only to test it)
            return
        self.records.inc()
        oversized = read_oversized(line)
        if oversized is not None:
            self.invalid.inc()
            size, head = oversized
            text = head.decode("utf-8", "backslashreplace")
            reason = f"line of {size} bytes is longer than the {MAX_INPUT_LINE_BYTES}-byte cap"
            yield TaggedOutput(DEAD, DeadLetter("input", reason, text, {"bytes": size, "line_start": text}))
            return
        try:
            parsed = parse_input_line(line)
            if isinstance(parsed, TextRecord):
                article = article_from_text(parsed.entry, parsed.text, parsed.fetched_at)
                self.texts.inc()
                yield article
            else:
                yield parsed
        except (InputRecordError, ExtractionError) as exc:
            self.invalid.inc()
            text = line.decode("utf-8", "backslashreplace")
            yield TaggedOutput(DEAD, DeadLetter("input", str(exc), text[:200], {"line": text}))


class ExtractDoFn(beam.DoFn):
    """FetchedPage -> Article; pages with no usable body to dead letters. An Article (a backfill record
    that came with its text) passes as it is: one stream of articles, and no Flatten, which the
    DirectRunner would pay for by writing every article out and reading it back."""

    def __init__(self) -> None:
        self.extracted = counter("articles_extracted")
        self.failed = counter("extract_failed")
        self.extractor: ArticleExtractor | None = None

    def setup(self) -> None:
        self.extractor = ArticleExtractor()

    def process(self, page: FetchedPage | Article) -> Iterator[Any]:
        if isinstance(page, Article):
            yield page
            return
        try:
            article = self.extractor.extract(page)
        except ExtractionError as exc:
            self.failed.inc()
            letter = DeadLetter("extract", str(exc), page.final_url, {"entry": entry_to_json(page.entry)})
            yield TaggedOutput(DEAD, letter)
            return
        self.extracted.inc()
        yield article


# The tagger's handle, one per process, however many threads run TagToEventDoFn (a tagger holds about 135 MB),
# and for the process's life: Beam keeps the object it last handed out alive, so a tagger loaded by one pipeline
# is still there for the next (tests, a notebook, a benchmark; a load cost 0.1 to 0.4 s of CPU, and 0.2 to 0.3 s
# more in the collector before the gazetteer was frozen).
_TAGGER = shared.Shared()


def shared_tagger() -> ConflictTagger:
    """This process's one tagger (loaded on first use)."""
    return _TAGGER.acquire(ConflictTagger)


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
        yield event
