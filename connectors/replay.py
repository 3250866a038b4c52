"""Replay: serve recorded responses by URL from a folder with a manifest, so a run needs no network."""

from __future__ import annotations

import json
from pathlib import Path

from connectors.http import REDIRECT_STATUSES, Exchange, FetchError, Kind, Response, follow_redirects
from connectors.urls import url_key
from schemas.records import utc_now

# As many redirects as a live fetch follows by default (FetchPolicy.max_redirects).
MAX_REDIRECTS = 5


class ReplayFetcher:
    """A Fetcher over a recorded folder: `manifest.json` lists responses
    (`url`, `status`, `content_type`, `file` relative to the folder, optional `location` for redirects,
    resolved against the URL it redirects from). An entry whose file is missing fails that fetch alone."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        manifest = self.folder / "manifest.json"
        try:
            records = json.loads(manifest.read_text(encoding="utf-8"))["responses"]
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(f"{manifest}: not a replay manifest ({exc})") from exc
        self._by_key = {url_key(r["url"]): r for r in records}

    def close(self) -> None:
        """Nothing to release: files are read per request."""

    def get(self, url: str, kind: Kind, headers: dict[str, str] | None = None) -> Response:
        return follow_redirects(url, kind, MAX_REDIRECTS, self._recorded)

    def _recorded(self, url: str) -> Exchange:
        record = self._by_key.get(url_key(url))
        if record is None:
            raise FetchError("HTTP 404 (not in the replay archive)", url, 404)
        status = int(record.get("status", 200))
        headers = {"content-type": record.get("content_type", "")}
        if record.get("location"):
            headers["location"] = record["location"]
        body = b"" if status in REDIRECT_STATUSES or status >= 400 else self._body(record, url)
        return Exchange(record["url"], status, headers, body, utc_now())

    def _body(self, record: dict, url: str) -> bytes:
        """The recorded body of a manifest entry; a FetchError (for this URL only) when its file is not there."""
        name = record.get("file")
        if not name:
            raise FetchError(f"replay manifest entry for {record['url']} names no file", url)
        try:
            return (self.folder / name).read_bytes()
        except OSError as exc:
            raise FetchError(f"replay file {name!r} unreadable ({exc.strerror or type(exc).__name__})",
                             url) from exc
