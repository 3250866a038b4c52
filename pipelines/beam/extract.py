"""Reading --input files and extracting articles in Beam: lines -> pages or text records -> Articles."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam import coders
from apache_beam.io import textio
from apache_beam.pvalue import TaggedOutput

from pipelines.beam import DEAD, BatchingDoFn, counter
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
from schemas.records import DeadLetter, FetchedPage, entry_to_json

INPUT_READ_BUFFER = 1 << 20


class _InputLinesSource(textio._TextSource):
    """Beam's text source with a 1 MiB read buffer: with its 8 KiB default, a line grows by 8 KiB reads,
    each copying the whole buffer so far, which for --input lines of whole pages (hundreds of KB) costs
    more than reading them (bench/bench_tweaks.py measures it). It also caps a line's size."""

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


TEXTS = "texts"


class ParseInputDoFn(BatchingDoFn):
    """A line of an --input file (bytes) -> FetchedPage (html, the main output) or Article (a record that came
    with its text, on TEXTS); bad lines to dead letters, with the line (bytes that are not UTF-8 as \\x escapes).

    Lines are parsed BATCH at a time, then extracted one by one: less of the pipeline's own work than parsing
    each line right before its extraction (bench/bench_scale.py measures that work against extraction alone)."""

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
                yield TaggedOutput(TEXTS, article)
            else:
                yield parsed
        except (InputRecordError, ExtractionError) as exc:
            self.invalid.inc()
            text = line.decode("utf-8", "backslashreplace")
            yield TaggedOutput(DEAD, DeadLetter("input", str(exc), text[:200], {"line": text}))


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


class Extract(beam.PTransform):
    """Pages -> articles (`articles`) and dead letters (DEAD): the extract stage."""

    def expand(self, pages: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return pages | "Extract" >> beam.ParDo(ExtractDoFn()).with_outputs(DEAD, main="articles")
