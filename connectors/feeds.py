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
from connectors.feedstate import EntryStatus, FeedState, PollKind, PollOutcome, entry_keys
from connectors.http import Fetcher, FetchError
from schemas.records import DeadLetter, FeedConfig, FeedEntry


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


@dataclass
class PolledFeed:
    """What one poll of a feed hands on: the entries to fetch, the dead letters (the feed unreadable, an entry
    without a usable link), the outcome its state records, and the counts of the run summary."""

    entries: list[FeedEntry]
    dead_letters: list[DeadLetter]
    outcome: PollOutcome
    counts: dict[str, int]


def poll_feed(poller: FeedPoller, feed: FeedConfig, state: FeedState | None = None,
              now: dt.datetime | None = None) -> PolledFeed:
    """The poll stage for one feed. With its state from earlier runs (`state`, and the run's clock `now`): the
    poll is conditional, a feed backing off is not polled, a 304 is not parsed, entries seen before are not
    handed on unless the feed says they were updated since (FeedState.wants), and pending entries whose retry
    is due are handed on whatever the poll's outcome. Without state every entry is new."""
    polled = _poll(poller, feed, state, now)
    if state is None or not state.pending or now is None:
        return polled
    retries = [FeedEntry(**{**f.entry, "authors": tuple(f.entry.get("authors", ()))}) for f in state.due_retries(now)]
    polled.counts["fetch_retries"] = len(retries)
    polled.counts["entries_retry_waiting"] = len(state.pending) - len(retries)
    polled.entries[:0] = retries
    return polled


def _poll(poller: FeedPoller, feed: FeedConfig, state: FeedState | None, now: dt.datetime | None) -> PolledFeed:
    if state is not None and now is not None and not state.due(now):
        return PolledFeed([], [], PollOutcome(PollKind.BACKED_OFF), {"feeds_backed_off": 1})
    counts = {"feeds_polled": 1}
    try:
        result = poller.poll(feed, state.conditional_headers() if state is not None else None)
    except FeedError as exc:
        counts["feeds_failed"] = 1
        letter = DeadLetter("poll", str(exc), feed.url, {"feed": vars(feed)})
        return PolledFeed([], [letter], PollOutcome(PollKind.FAILED, error=str(exc)), counts)
    if result.not_modified:
        counts["feeds_not_modified"] = 1
        outcome = PollOutcome(PollKind.NOT_MODIFIED, etag=result.etag, last_modified=result.last_modified)
        return PolledFeed([], [], outcome, counts)
    counts["entries_seen"] = len(result.entries) + len(result.skipped)
    counts["entries_skipped"] = len(result.skipped)
    # The ref names the refused link where there is one (the feed is in the input either way).
    letters = [DeadLetter("poll", reason, ref.get("link") or feed.url, {"feed": vars(feed), "entry": ref})
               for ref, reason in result.skipped]
    known = state or FeedState()
    entries: list[FeedEntry] = []
    listed: list[str] = []
    for entry in result.entries:
        listed += entry_keys(entry.link, entry.guid)
        status = known.wants(entry.link, entry.guid, entry.updated_at, entry.published_at)
        if status is EntryStatus.SEEN:
            counts["entries_already_seen"] = counts.get("entries_already_seen", 0) + 1
            continue
        if state is not None and state.is_pending(entry.link):
            continue  # handed on (and counted) from the state when its retry is due: see poll_feed
        if status is EntryStatus.UPDATED:
            counts["entries_updated"] = counts.get("entries_updated", 0) + 1
        entries.append(entry)
    outcome = PollOutcome(PollKind.OK, etag=result.etag, last_modified=result.last_modified,
                          entries=len(result.entries), listed=tuple(listed))
    return PolledFeed(entries, letters, outcome, counts)
