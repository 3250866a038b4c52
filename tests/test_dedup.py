"""Exact-duplicate rules: keys, fingerprints and the deterministic choice of representative."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from pipelines import sample_path
from pipelines.dedup import article_key, content_fingerprint, merge_groups, normalize_text, singleton
from schemas.records import Article


def article(url: str, text: str = "Fighting continued in Hasaka.", published: str | None = None,
            fetched: str = "2022-01-23T12:00:00Z") -> Article:
    return Article(url=url, canonical_url=url, title="t", text=text, language="en", fetched_at=fetched,
                   published_at=published)


def test_fingerprint_ignores_case_punctuation_and_spacing():
    a = content_fingerprint("At least 39 Kurdish security forces — and 77 ISIS members — were killed.")
    b = content_fingerprint("at least 39 kurdish security forces and 77 ISIS members were killed")
    assert a == b
    assert a != content_fingerprint("At least 38 Kurdish security forces and 77 ISIS members were killed.")
    assert normalize_text("ＩＳＩＳ’s attack") == "isis s attack"


def regex_normalized(text: str) -> str:
    """normalize_text as it was first written, with a regular expression: fingerprints in events and in the
    state depend on it never changing."""
    return re.sub(r"[\W_]+", " ", unicodedata.normalize("NFKC", text).casefold()).strip()


@pytest.mark.parametrize("text", [
    "", "   ", " — ", "_", "snake_case__name", "  Hello, World!  ", "...Hasaka...", "ß Straße", "ﬁnance ｆｕｌｌ",
    "e\u0301te\u0301", "½ ² ③ ٣", "tab\tnew\nline\r\n\u2028end", "😀 rocket 😀", "𝐁𝐨𝐥𝐝 math", "𠀋 CJK Ext-B",
    "a lone \ud800 surrogate", "الحسكة، سوريا — «هجوم»", "Гвейран: 39 погибших",
])
def test_normalized_text_is_its_words_joined_by_single_spaces(text):
    assert normalize_text(text) == regex_normalized(text)


def test_normalization_is_unchanged_on_real_pages():
    fixtures = Path(__file__).parent / "fixtures" / "pages"
    pages = [*Path(sample_path(), "pages").glob("*.html"), *fixtures.glob("*.html")]
    assert len(pages) >= 10
    for page in pages:  # whole HTML sources: markup, scripts, entities, Arabic, cp1252 bytes as replacement chars
        text = page.read_text(encoding="utf-8", errors="replace")
        assert normalize_text(text) == regex_normalized(text), page.name


def test_url_key_folds_tracking_and_scheme():
    assert article_key(article("http://www.news.example/a/?utm_source=rss")) == article_key(
        article("https://news.example/a"))


def test_representative_is_earliest_published_then_fetched():
    early = article("https://b.example/x", published="2022-01-23T08:00:00Z")
    late = article("https://a.example/x", published="2022-01-23T09:00:00Z")
    undated = article("https://c.example/x", fetched="2022-01-23T07:00:00Z")
    merged = merge_groups([singleton(late), singleton(undated), singleton(early)])
    assert merged.representative is early
    assert merged.copies == 2
    assert merged.duplicate_urls == ["https://a.example/x", "https://c.example/x"]
    # any input order gives the same answer
    assert merge_groups([singleton(early), singleton(undated), singleton(late)]).representative is early


def test_merging_groups_keeps_every_copy():
    a, b, c = (article(f"https://{h}.example/x", published="2022-01-23T08:00:00Z") for h in "abc")
    first = merge_groups([singleton(a), singleton(b)])
    both = merge_groups([first, singleton(c)])
    assert both.copies == 2
    assert {both.representative, *both.duplicates} == {a, b, c}
