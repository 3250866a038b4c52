"""Extraction on the sample's real page shapes (written by the project) and on text records."""

from __future__ import annotations

import pytest

from pipelines.extract import ArticleExtractor, ExtractionError, article_from_text, choose_published_at, plain_text
from schemas.records import FeedEntry, FetchedPage
from tests.conftest import SEED_PAGE, sample_page

SEED_URL = "https://www.frontline-daily.example/world/middle-east/clashes-continue-isis-attack-prison-syria"


def page(body: bytes, url: str = SEED_URL, **entry: object) -> FetchedPage:
    return FetchedPage(entry=FeedEntry(link=url, **entry), final_url=url, status=200,  # type: ignore[arg-type]
                       content_type="text/html", body=body, fetched_at="2022-01-23T12:00:00Z")


def test_seed_page_body_without_boilerplate():
    article = ArticleExtractor().extract(page(sample_page(SEED_PAGE) , url=SEED_URL + "?utm_source=rss"))
    assert article.text.startswith("Intense fighting continues in the region")
    assert "At least 39 Kurdish security forces and at least 77 ISIS members have been killed" in article.text
    for boilerplate in ("We use cookies", "Get the morning briefing", "All rights reserved", "More on this story"):
        assert boilerplate not in article.text
    assert article.title == "Clashes continue as a result of ISIS attack on prison in Syria"
    assert article.canonical_url == SEED_URL
    assert article.language == "en"
    assert article.authors == ("Frontline Daily staff",)
    assert article.published_at == "2022-01-23T09:41:00Z"


def test_feed_metadata_preferred_where_it_agrees():
    article = ArticleExtractor().extract(
        page(sample_page(SEED_PAGE), title="Feed headline", published_at="2022-01-23T09:41:00Z", authors=("A. B.",))
    )
    assert article.title == "Feed headline"
    assert article.published_at == "2022-01-23T09:41:00Z"
    assert article.authors == ("A. B.",)


def test_page_without_body_is_an_error():
    with pytest.raises(ExtractionError):
        ArticleExtractor().extract(page(b"<html><body><nav><a href='/'>Home</a></nav></body></html>"))


def test_short_body_is_an_error():
    with pytest.raises(ExtractionError, match="too short"):
        ArticleExtractor().extract(page(b"<html><body><article><p>Shelling resumed.</p></article></body></html>"))
    with pytest.raises(ExtractionError, match="paywall stub"):
        ArticleExtractor().extract(page(b"<html><body><article><p>Subscribe to read.</p></article></body></html>"))


def test_dates():
    assert choose_published_at("2022-01-23T09:41:00+03:00", None) == "2022-01-23T06:41:00Z"
    assert choose_published_at("2022-01-23T09:41:00Z", "2022-01-22") == "2022-01-22T00:00:00Z"
    assert choose_published_at("2999-01-01T00:00:00Z", None) is None
    assert choose_published_at("yesterday", None) is None


def test_text_record_becomes_article():
    entry = FeedEntry(link="https://news.example/a?utm_source=x", title="Clashes", connector="input")
    article = article_from_text(entry, "Clashes\n\nFighting continued in the city on Monday.", "2022-01-23T12:00:00Z")
    assert article.text == "Fighting continued in the city on Monday."
    assert article.canonical_url == "https://news.example/a"
    assert article.flags == ("no_date",)


def test_plain_text_strips_summary_html():
    assert plain_text("<p>Fighting &amp; shelling</p>") == "Fighting & shelling"
    assert plain_text("") is None
