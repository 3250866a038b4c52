"""Backfill records: html or text, and clear reasons for lines that cannot be used."""

from __future__ import annotations

import json

import pytest

from pipelines.inputs import InputRecordError, TextRecord, parse_input_line
from schemas.records import FetchedPage


def test_html_record_becomes_page():
    parsed = parse_input_line(json.dumps({"url": "https://n.example/a", "html": "<html>x</html>", "source": "N"}))
    assert isinstance(parsed, FetchedPage)
    assert parsed.entry.feed_name == "N"
    assert parsed.entry.connector == "input"


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
