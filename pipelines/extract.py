"""Extraction: a fetched page (or a text record) in, a clean Article out, with trafilatura as the engine."""

from __future__ import annotations

import datetime as dt
import re

import py3langid
import trafilatura
from w3lib.html import remove_tags, replace_entities

from connectors.urls import canonical_url
from schemas.records import Article, FeedEntry, FetchedPage

MIN_TEXT_CHARS = 200
# htmldate: the original publication date (not the last modification), with its time where the page states one.
DATE_PARAMS = {"original_date": True, "extensive_search": True, "outputformat": "%Y-%m-%dT%H:%M:%S%z"}
_WS = re.compile(r"[ \t\u00a0]+")


class ExtractionError(Exception):
    """A page that yielded no usable article, with the reason."""


def plain_text(html_or_text: str | None) -> str | None:
    """Feed summaries are often HTML fragments: strip tags and entities, collapse spaces."""
    if not html_or_text:
        return None
    text = _WS.sub(" ", replace_entities(remove_tags(html_or_text))).strip()
    return text or None


def detect_language(text: str, hint: str | None = None) -> str:
    """ISO 639-1 code of the text's language ('und' when the text is too short to tell)."""
    sample = text[:3000]
    if len(sample.strip()) < 20:
        return (hint or "und").split("-")[0].lower()[:2] if hint else "und"
    lang, _score = py3langid.classify(sample)
    return lang


def _utc_date(value: str) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def choose_published_at(feed_value: str | None, page_value: str | None) -> str | None:
    """The page's stated date wins over the feed's; the feed's timestamp is kept when it falls on the
    page's day, since pages often state only the day."""
    feed_dt = _utc_date(feed_value) if feed_value else None
    page_dt = _utc_date(page_value) if page_value else None
    now = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    feed_dt = feed_dt if feed_dt and feed_dt <= now else None
    page_dt = page_dt if page_dt and page_dt <= now else None
    chosen = page_dt
    if feed_dt and (page_dt is None or feed_dt.date() == page_dt.date()):
        chosen = feed_dt
    if chosen is None:
        return None
    return chosen.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _clean_body(text: str, title: str) -> str:
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    if lines and title and lines[0].casefold() == title.strip().casefold():
        lines = lines[1:]
    return "\n".join(lines)


class ArticleExtractor:
    """Turns a FetchedPage into an Article with trafilatura, using what the feed entry already gives."""

    def __init__(self, min_text_chars: int = MIN_TEXT_CHARS) -> None:
        self.min_text_chars = min_text_chars

    def extract(self, page: FetchedPage) -> Article:
        entry = page.entry
        doc = trafilatura.bare_extraction(
            page.body,
            url=page.final_url,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            date_extraction_params=DATE_PARAMS,
        )
        if doc is None or not doc.text:
            raise ExtractionError("no article body found in the page")
        title = (entry.title or doc.title or "").strip()
        text = _clean_body(doc.text, title)
        if len(text) < self.min_text_chars:
            raise ExtractionError(f"article body too short ({len(text)} characters, minimum {self.min_text_chars})")
        page_url = doc.url if doc.url and doc.url.startswith(("http://", "https://")) else page.final_url
        authors = entry.authors or tuple(a.strip() for a in (doc.author or "").split(";") if a.strip())
        return Article(
            url=page.final_url,
            canonical_url=canonical_url(page_url),
            title=title,
            text=text,
            language=detect_language(text, entry.feed_language),
            fetched_at=page.fetched_at,
            summary=plain_text(entry.summary) or plain_text(doc.description),
            authors=authors,
            published_at=choose_published_at(entry.published_at, doc.date),
            feed_url=entry.feed_url,
            source_name=entry.feed_name or doc.sitename,
            guid=entry.guid,
            connector=entry.connector,
            flags=() if (entry.published_at or doc.date) else ("no_date",),
        )


def article_from_text(entry: FeedEntry, text: str, fetched_at: str) -> Article:
    """An Article from a record that already carries clean text (a backfill's `text` field)."""
    body = _clean_body(text, entry.title or "")
    if not body:
        raise ExtractionError("record has an empty 'text'")
    return Article(
        url=entry.link,
        canonical_url=canonical_url(entry.link),
        title=(entry.title or body.split("\n", 1)[0][:200]).strip(),
        text=body,
        language=detect_language(body, entry.feed_language),
        fetched_at=fetched_at,
        summary=plain_text(entry.summary),
        authors=entry.authors,
        published_at=choose_published_at(entry.published_at, None),
        feed_url=entry.feed_url,
        source_name=entry.feed_name,
        guid=entry.guid,
        connector=entry.connector,
        flags=() if entry.published_at else ("no_date",),
    )
