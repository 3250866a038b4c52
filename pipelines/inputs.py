"""Backfill input: one JSON object a line with `url` and `html` or `text`, fetched elsewhere."""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from pipelines.dates import choose_published_at
from schemas.records import FeedEntry, FetchedPage, utc_now

# The longest --input line read: twice the fetcher's default page cap (--max-bytes 5 MB), so a page the
# fetcher would accept still fits once JSON-escaped. A longer line is a dead letter with its size.
MAX_INPUT_LINE_BYTES = 10_000_000
# The bytes an over-long line is read as in its place (no JSON line starts with a NUL byte): the marker, the
# line's size and its first bytes, NUL-separated.
_OVERSIZED = b"\x00sitrep:oversized-line\x00"
OVERSIZED_HEAD_BYTES = 200


def oversized_line(size: int, head: bytes) -> bytes:
    """What the reader yields instead of a line over MAX_INPUT_LINE_BYTES: its size and its first bytes."""
    return _OVERSIZED + str(size).encode("ascii") + b"\x00" + head[:OVERSIZED_HEAD_BYTES]


def read_oversized(line: bytes) -> tuple[int, bytes] | None:
    """(size, first bytes) of a line the reader refused as too long (oversized_line), else None."""
    if not line.startswith(_OVERSIZED):
        return None
    size, _, head = line[len(_OVERSIZED):].partition(b"\x00")
    return int(size), head


class InputRecordError(ValueError):
    """A line of an --input file that cannot be used, with the reason."""


@dataclass(frozen=True)
class TextRecord:
    """A backfill record that already has clean text: it skips extraction."""

    entry: FeedEntry
    text: str
    fetched_at: str


def parse_input_line(line: bytes | str) -> FetchedPage | TextRecord:
    """Parse one line of an --input file (its UTF-8 bytes, or text) into a page to extract or a text to tag.

    orjson reads the line: faster than the json module on lines of whole pages, and strict where
    that matters here, refusing bytes that are not UTF-8 and lone surrogate escapes ("\\ud800"), which no
    page can be encoded from."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise InputRecordError(f"not JSON: {exc}") from exc
    if not isinstance(record, dict):
        raise InputRecordError("a line must be a JSON object")
    url = record.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise InputRecordError("needs an http(s) 'url'")
    html, text = record.get("html"), record.get("text")
    if not (isinstance(html, str) and html.strip()) and not (isinstance(text, str) and text.strip()):
        raise InputRecordError("needs a non-empty 'html' or 'text'")
    source = record.get("source")
    published = record.get("published_at")
    if published is not None and (not isinstance(published, str) or choose_published_at(published, None) is None):
        raise InputRecordError(f"'published_at' {published!r} is not an RFC 3339 time in the past")
    entry = FeedEntry(
        link=url,
        feed_url=None,
        feed_name=source if isinstance(source, str) else None,
        title=record.get("title") if isinstance(record.get("title"), str) else None,
        published_at=published,
        guid=record.get("id") if isinstance(record.get("id"), str) else None,
        connector="input",
    )
    fetched_at = record.get("fetched_at") if isinstance(record.get("fetched_at"), str) else utc_now()
    if isinstance(html, str) and html.strip():
        html = html.removeprefix("\ufeff")  # a byte-order mark means nothing in text
        return FetchedPage(entry=entry, final_url=url, status=200, content_type="text/html; charset=utf-8",
                           body=html.encode("utf-8"), fetched_at=fetched_at)
    return TextRecord(entry=entry, text=text, fetched_at=fetched_at)
