"""Archive and replay: every HTTP response a run receives written to WARC (warcio), and a Fetcher that
serves a run again from WARC files with no network at all."""

from __future__ import annotations

import io
import os
import threading
import uuid
from collections.abc import Iterator

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from connectors import files
from connectors.http import Exchange, FetchError, Kind, Response, follow_redirects
from connectors.urls import url_key

PARTS_SUFFIX = ".parts"
# Bodies are archived as decoded (what the pipeline read), so these would describe the wire, not the record.
_WIRE_HEADERS = {"content-encoding", "transfer-encoding", "content-length", "connection", "keep-alive"}


def parts_folder(archive: str) -> str:
    """Where the workers of a run write their WARC parts before the launcher joins them into `archive`."""
    return archive + PARTS_SUFFIX


class WarcRecorder:
    """Writes exchanges as WARC response records (one gzip member each) into part files of a folder, one
    part per bundle of each fetching DoFn: Beam workers share nothing but storage, so they never share a file."""

    def __init__(self, folder: str, run_id: str) -> None:
        self.folder = folder
        self.run_id = run_id
        self._lock = threading.Lock()
        self._buffer = io.BytesIO()
        self._writer = WARCWriter(self._buffer, gzip=True)
        self.count = 0

    def __call__(self, exchange: Exchange) -> None:
        headers = [(k, v) for k, v in exchange.headers.items() if k not in _WIRE_HEADERS]
        http_headers = StatusAndHeaders(f"{exchange.status} -", headers, protocol="HTTP/1.1")
        with self._lock:
            record = self._writer.create_warc_record(
                exchange.url, "response", payload=io.BytesIO(exchange.body), http_headers=http_headers,
                warc_headers_dict={"WARC-Date": exchange.fetched_at},
            )
            self._writer.write_record(record)
            self.count += 1

    def close(self) -> None:
        """Write the part (once, at the end: object stores such as GCS have no append)."""
        with self._lock:
            if not self.count:
                return
            data = self._buffer.getvalue()
            self._buffer = io.BytesIO()
            self._writer = WARCWriter(self._buffer, gzip=True)
            self.count = 0
        if "://" not in self.folder:
            os.makedirs(self.folder, exist_ok=True)
        # A fresh name per part: a DoFn instance closes one part per bundle.
        files.write_bytes(files.join(self.folder, f"{self.run_id}-{uuid.uuid4().hex}.warc.gz"), data)


def join_parts(archive: str) -> int:
    """Concatenate a run's WARC parts into one archive file (a .warc.gz is a series of gzip members, so
    concatenation is a valid WARC) and delete the parts. Returns the number of parts joined."""
    paths = files.matching(files.join(parts_folder(archive), "*.warc.gz"))
    with files.create(archive) as out:
        for path in paths:
            out.write(files.read_bytes(path))
    if paths:
        files.delete(paths)
    return len(paths)


def _archive_files(source: str) -> list[str]:
    if source.endswith((".warc", ".warc.gz")):
        return [source]
    return files.matching(files.join(source, "*.warc*"))


def read_archive(source: str) -> Iterator[Exchange]:
    """Every response record of a WARC file (or of every WARC in a folder)."""
    for path in _archive_files(source):
        with files.open_read(path) as handle:
            for record in ArchiveIterator(handle):
                if record.rec_type != "response" or record.http_headers is None:
                    continue
                status = int(record.http_headers.get_statuscode() or 0)
                headers = {k.lower(): v for k, v in record.http_headers.headers}
                yield Exchange(
                    url=record.rec_headers.get_header("WARC-Target-URI"),
                    status=status,
                    headers=headers,
                    body=record.content_stream().read(),
                    fetched_at=record.rec_headers.get_header("WARC-Date") or "",
                )


class WarcReplayFetcher:
    """A Fetcher over WARC archives: the recorded response for each URL (the last one recorded wins),
    redirects followed as recorded, the same content checks as a live fetch; unrecorded URLs are a 404."""

    def __init__(self, source: str, max_redirects: int = 5) -> None:
        self.max_redirects = max_redirects
        self._exact: dict[str, Exchange] = {}
        self._by_key: dict[str, Exchange] = {}
        for exchange in read_archive(source):
            self._exact[exchange.url] = exchange
            self._by_key[url_key(exchange.url)] = exchange
        if not self._exact:
            raise ValueError(f"{source}: no WARC response records found")

    def close(self) -> None:
        """Nothing to release: the archive was read at construction."""

    def get(self, url: str, kind: Kind, headers: dict[str, str] | None = None) -> Response:
        return follow_redirects(url, kind, self.max_redirects, self._recorded)

    def _recorded(self, url: str) -> Exchange:
        exchange = self._exact.get(url) or self._by_key.get(url_key(url))
        if exchange is None:
            raise FetchError("HTTP 404 (not in the replay archive)", url, 404)
        return exchange
