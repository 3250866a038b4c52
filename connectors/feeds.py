"""Feed polling: the feeds file, and turning an RSS/Atom document into feed entries with feedparser."""

from __future__ import annotations

import calendar
import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path

import feedparser
import yaml

from connectors import files
from connectors.http import Fetcher, FetchError
from schemas.records import FeedConfig, FeedEntry


class FeedsFileError(ValueError):
    """A feeds file that cannot be used, with the file and line that say why."""


def load_feeds(path: str | Path) -> list[FeedConfig]:
    """Read a feeds file: `feeds:` followed by a list of `{url, name, language, robots}` (all but url optional;
    `robots: false` stops honouring robots.txt for that feed's articles)."""
    try:
        if "://" in str(path):
            # gs://... and other Beam filesystems, for a scheduled job whose feeds file lives in a bucket.
            text = files.read_bytes(str(path)).decode("utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise FeedsFileError(f"{path}: cannot read feeds file ({getattr(exc, 'strerror', None) or exc})") from exc
    try:
        doc = yaml.compose(text)
    except yaml.YAMLError as exc:
        raise FeedsFileError(f"{path}: not valid YAML: {exc}") from exc
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or not isinstance(data.get("feeds"), list):
        raise FeedsFileError(f"{path}:1: expected a mapping with a 'feeds:' list")
    nodes = next((v.value for k, v in doc.value if k.value == "feeds"), [])
    feeds = []
    for i, item in enumerate(data["feeds"]):
        line = nodes[i].start_mark.line + 1 if i < len(nodes) else 0
        if isinstance(item, str):
            item = {"url": item}
        if not isinstance(item, dict) or not isinstance(item.get("url"), str) or not item["url"].strip():
            raise FeedsFileError(f"{path}:{line}: feed {i + 1} needs a 'url'")
        unknown = set(item) - {"url", "name", "language", "robots"}
        if unknown:
            raise FeedsFileError(f"{path}:{line}: feed {i + 1} has unknown keys {sorted(unknown)}")
        url = item["url"].strip()
        if not url.startswith(("http://", "https://")):
            raise FeedsFileError(f"{path}:{line}: feed url {url!r} is not http(s)")
        robots = item.get("robots", True)
        if not isinstance(robots, bool):
            raise FeedsFileError(f"{path}:{line}: feed {i + 1}: 'robots' must be true or false")
        feeds.append(FeedConfig(url=url, name=item.get("name"), language=item.get("language"), robots=robots))
    if not feeds:
        raise FeedsFileError(f"{path}: the 'feeds:' list is empty")
    return feeds


def _utc(value: time.struct_time) -> str:
    """A feedparser time (a UTC struct_time) as RFC 3339 UTC with a Z suffix."""
    return dt.datetime.fromtimestamp(calendar.timegm(value), dt.UTC).isoformat().replace("+00:00", "Z")


def _entry_time(entry: dict) -> str | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            return _utc(value)
    return None


def _entry_updated(entry: dict) -> str | None:
    """When the feed says the entry was last updated (Atom <updated>, RSS <atom:updated> or <dcterms:modified>),
    None when it says nothing. Read past FeedParserDict's lookup, which answers updated_parsed with the
    published time when there is no update: a published time is not an update."""
    value = dict.get(entry, "updated_parsed")
    return _utc(value) if value else None


def _entry_link(entry: dict) -> str | None:
    link = entry.get("link")
    if link:
        return link
    for candidate in entry.get("links", []):
        if candidate.get("rel", "alternate") == "alternate" and candidate.get("href"):
            return candidate["href"]
    guid = entry.get("id")
    if guid and guid.startswith(("http://", "https://")) and entry.get("guidislink", True):
        return guid
    return None


@dataclass
class PollResult:
    """What one poll of one feed gave: its entries, and entries that were skipped with the reason.
    A feed the server says is unchanged (304) has `not_modified` and no entries: it was not parsed."""

    feed: FeedConfig
    entries: list[FeedEntry] = field(default_factory=list)
    skipped: list[tuple[dict, str]] = field(default_factory=list)
    bozo_reason: str | None = None
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None


class FeedError(Exception):
    """A feed that yielded nothing usable: unreachable, not a feed, or unreadable."""


class FeedPoller:
    """Polls one feed with a Fetcher and parses it with feedparser."""

    def __init__(self, fetcher: Fetcher) -> None:
        self.fetcher = fetcher

    def poll(self, feed: FeedConfig, conditional: dict[str, str] | None = None) -> PollResult:
        """Fetch and parse a feed; with `conditional` validators, a 304 answer skips the parse."""
        try:
            response = self.fetcher.get(feed.url, "feed", conditional)
        except FetchError as exc:
            raise FeedError(f"fetch failed: {exc.reason}") from exc
        etag, modified = response.headers.get("etag"), response.headers.get("last-modified")
        if response.status == 304:
            # Some servers omit the validators on a 304: keep the ones we sent.
            conditional = conditional or {}
            return PollResult(feed=feed, not_modified=True, etag=etag or conditional.get("If-None-Match"),
                              last_modified=modified or conditional.get("If-Modified-Since"))
        result = parse_feed(feed, response.body, response.headers, response.final_url)
        result.etag, result.last_modified = etag, modified
        return result


def parse_feed(feed: FeedConfig, body: bytes, headers: dict[str, str], base_url: str) -> PollResult:
    """Parse a feed document. An ill-formed feed still yields its readable entries; one with none fails."""
    parsed = feedparser.parse(
        body,
        response_headers={**headers, "content-location": base_url},
        sanitize_html=True,
        resolve_relative_uris=True,
    )
    bozo = str(parsed.get("bozo_exception")) if parsed.get("bozo") else None
    if not parsed.entries:
        if bozo or not parsed.get("version"):
            raise FeedError(f"not a readable feed: {bozo or 'no RSS/Atom document found'}")
        return PollResult(feed=feed, bozo_reason=bozo)
    result = PollResult(feed=feed, bozo_reason=bozo)
    feed_title = parsed.feed.get("title")
    for raw in parsed.entries:
        link = _entry_link(raw)
        if not link or not link.startswith(("http://", "https://")):
            ref = {"title": raw.get("title"), "id": raw.get("id"), "link": link or raw.get("link")}
            # A link that is there but refused is named, so whoever reads the dead letter sees what was refused.
            reason = f"link {link!r} refused: not http(s)" if link else "entry has no usable http(s) link"
            result.skipped.append((ref, reason))
            continue
        authors = tuple(a["name"] for a in raw.get("authors", []) if a.get("name"))
        result.entries.append(
            FeedEntry(
                link=link,
                feed_url=feed.url,
                feed_name=feed.name or feed_title,
                feed_language=feed.language or parsed.feed.get("language"),
                guid=raw.get("id"),
                title=raw.get("title"),
                summary=raw.get("summary"),
                published_at=_entry_time(raw),
                authors=authors,
                updated_at=_entry_updated(raw),
            )
        )
    return result
