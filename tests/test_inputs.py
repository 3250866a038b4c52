"""Backfill records: html or text, and clear reasons for lines that cannot be used."""

from __future__ import annotations

import json

import pytest

from pipelines.extract import ArticleExtractor
from pipelines.inputs import InputRecordError, TextRecord, parse_input_line
from schemas.records import FetchedPage
from tests.conftest import SEED_PAGE, SEED_URL, sample_page


def test_html_record_becomes_page():
    parsed = parse_input_line(json.dumps({"url": "https://n.example/a", "html": "<html>x</html>", "source": "N"}))
    assert isinstance(parsed, FetchedPage)
    assert parsed.entry.feed_name == "N"
    assert parsed.entry.connector == "input"


def test_html_record_page_is_its_utf8_and_extracts_as_fetched():
    # The line's html becomes the page's UTF-8 body: the article is the one the same page gives when fetched.
    page = sample_page(SEED_PAGE)
    parsed = parse_input_line(json.dumps({"url": SEED_URL, "html": page.decode("utf-8")}))
    assert isinstance(parsed, FetchedPage)
    assert parsed.body == page
    article = ArticleExtractor().extract(parsed)
    assert article.url == SEED_URL and "Ghwayran" in article.text


def test_html_record_byte_order_mark_dropped():
    parsed = parse_input_line(json.dumps({"url": "https://n.example/a", "html": "\ufeff<html><p>Łódź</p></html>"}))
    assert parsed.body == "<html><p>Łódź</p></html>".encode()


def test_text_record_skips_extraction():
    parsed = parse_input_line(json.dumps({"url": "https://n.example/a", "text": "Body.", "title": "T",
                                          "published_at": "2022-01-23T09:41:00+01:00"}))
    assert isinstance(parsed, TextRecord)
    assert parsed.entry.title == "T"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"html": "<p>x</p>"}', "needs an http\\(s\\) 'url'"),
        ('{"url": "https://n.example/a"}', "needs a non-empty 'html' or 'text'"),
        ('{"url": "https://n.example/a", "text": "x", "published_at": "soon"}', "is not an RFC 3339 time"),
    ],
)
def test_bad_lines_say_why(line, message):
    with pytest.raises(InputRecordError, match=message):
        parse_input_line(line)
    with pytest.raises(InputRecordError, match=message):  # as the pipeline reads it: the line's bytes
        parse_input_line(line.encode())


def test_bytes_line_parses_as_its_text():
    record = {"url": "https://n.example/a", "html": "<html><p>Łódź — «Харків»</p></html>", "title": "Ünïcode"}
    from_text = parse_input_line(json.dumps(record, ensure_ascii=False))
    from_bytes = parse_input_line(json.dumps(record, ensure_ascii=False).encode())
    assert from_bytes.body == from_text.body == record["html"].encode()
    assert from_bytes.entry.title == "Ünïcode"


@pytest.mark.parametrize(
    "line",
    [
        # A lone surrogate escape: valid JSON syntax, but no text any page can be made of.
        b'{"url": "https://n.example/a", "html": "<p>bad \\ud800 half</p>"}',
        b'{"url": "https://n.example/a", "text": "bad \\udc80 half of a pair"}',
        # Bytes that are not UTF-8 (a Latin-1 file, a cut multi-byte character).
        b'{"url": "https://n.example/a", "text": "caf\xe9 on the corner"}',
        b'{"url": "https://n.example/a", "text": "cut \xe2\x82"}',
    ],
)
def test_lines_that_are_not_text_say_why(line):
    with pytest.raises(InputRecordError, match="not JSON"):
        parse_input_line(line)


def test_blank_lines_are_skipped_not_dead_letters():
    from pipelines.beam.extract import ParseInputDoFn

    parse = ParseInputDoFn()
    for blank in (b"", b" \t", b"\r", b"   \r"):
        assert list(parse.process_one(blank)) == []
    good = json.dumps({"url": "https://n.example/a", "text": "Body of the story."}).encode()
    [text] = parse.process_one(b"  " + good + b"\r")
    assert (text.tag, text.value.url) == ("texts", "https://n.example/a")
    [letter] = parse.process_one(b" x ")
    assert letter.tag == "dead" and letter.value.reason.startswith("not JSON")
