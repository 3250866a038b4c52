"""Replay: serve recorded responses by URL from a folder with a manifest, so a run needs no network."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urljoin

from connectors.http import FetchError, Kind, Response, body_matches_kind
from connectors.urls import url_key


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
        current = url
        for _hop in range(6):
            record = self._by_key.get(url_key(current))
            if record is None:
                raise FetchError("HTTP 404 (not in the replay archive)", url, 404)
            status = int(record.get("status", 200))
            if status in (301, 302, 303, 307, 308) and record.get("location"):
                current = urljoin(current, record["location"])
                continue
            if status >= 400:
                raise FetchError(f"HTTP {status}", url, status)
            body = self._body(record, url)
            headers = {"content-type": record.get("content_type", "")}
            if not body_matches_kind(kind, headers["content-type"], body[:512]):
                raise FetchError(f"content type {headers['content-type']!r} is not what was asked for", url, status)
            return Response(url=url, final_url=record["url"] if current == url else current, status=status,
                            headers=headers, body=body)
        raise FetchError("too many redirects in the replay archive", url)

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
