"""Events against the schema file: what the code builds validates; what breaks the contract is caught."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pytest

from pipelines import sample_path
from pipelines.dedup import merge_groups, singleton
from pipelines.events import (
    InvalidEventError,
    Provenance,
    build_event,
    event_validator,
    passes_compiled_check,
    validate_event,
)
from pipelines.extract import ArticleExtractor
from pipelines.tagging import ConflictTagger
from schemas import EVENT_SCHEMA_FILE, data_path
from schemas.records import Article, FeedEntry, FetchedPage


def make_article(url: str, published: str | None = "2022-01-23T09:41:00Z") -> Article:
    return Article(url=url, canonical_url=url, title="Clashes continue in Hasaka",
                   text="Kurdish-led forces, supported by US airstrikes, have been clashing with IS militants.",
                   language="en", fetched_at="2022-01-23T12:00:00Z", published_at=published,
                   feed_url="https://feeds.example/rss", source_name="Example News", authors=("Staff",))


def event_for(*urls: str) -> dict:
    """The event of the first URL's article, the others being later copies of it."""
    hours = range(10, 10 + len(urls))
    articles = [make_article(u, f"2022-01-23T{h}:00:00Z") for u, h in zip(urls, hours, strict=True)]
    group = merge_groups([singleton(a) for a in articles])
    tags = ConflictTagger().tag(group.representative.title, group.representative.text)
    return build_event(group, tags, Provenance(run_id="test-run", taxonomy_version="1.0.0"))


def test_built_event_validates_and_is_stable():
    event = event_for("https://www.news.example/a?utm_source=rss", "https://other.example/copy")
    validate_event(event)
    assert event["event_id"] == event_for("https://www.news.example/a?utm_source=rss")["event_id"]
    assert event["dedup"]["copies"] == 1
    assert event["source"]["domain"] == "news.example"
    assert event["conflict"]["is_conflict"] is True


def test_every_schema_property_is_documented():
    schema = json.load(open(data_path(EVENT_SCHEMA_FILE)))

    def walk(node, path):
        for name, prop in node.get("properties", {}).items():
            if "$ref" not in prop:
                assert prop.get("description"), f"{path}{name} has no description"
            walk(prop, f"{path}{name}.")
        if isinstance(node.get("items"), dict):
            walk(node["items"], path + "[]")

    walk(schema, "")
    event_validator()  # the schema itself is a valid 2020-12 schema


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: e.update(event_id="not-a-uuid"), "event_id"),
        (lambda e: e["conflict"].update(score=1.5), "conflict/score"),
        (lambda e: e.update(published_at="23 January 2022"), "published_at"),
        (lambda e: e.update(extra=1), "Additional properties"),
        (lambda e: e.pop("text"), "'text' is a required property"),
    ],
)
def test_broken_events_are_refused(change, message):
    event = event_for("https://news.example/a")
    change(event)
    with pytest.raises(InvalidEventError, match=message):
        validate_event(event)


@pytest.fixture(scope="module")
def sample_events() -> list[dict]:
    """The events of the shipped sample's pages, as the pipeline builds them."""
    manifest = json.loads(Path(sample_path(), "manifest.json").read_text())
    extractor, tagger = ArticleExtractor(), ConflictTagger()
    provenance = Provenance(run_id="20220124T080000Z-sample", taxonomy_version=tagger.version)
    events = []
    for response in manifest["responses"]:
        if response["status"] != 200 or not response["file"].startswith("pages/"):
            continue
        body = Path(sample_path(), response["file"]).read_bytes()
        page = FetchedPage(FeedEntry(link=response["url"]), response["url"], 200, response["content_type"], body,
                           "2022-01-24T08:00:00Z")
        article = extractor.extract(page)
        events.append(build_event(singleton(article), tagger.tag(article.title, article.text, article.language),
                                  provenance))
    return events


def test_sample_events_pass_the_compiled_check_and_the_validator(sample_events):
    assert len(sample_events) >= 6 and any(e["locations"] and e["actors"] for e in sample_events)
    for event in sample_events:
        assert passes_compiled_check(event) and event_validator().is_valid(event), event["url"]
        validate_event(event)


def _casualty(event: dict) -> dict:
    """The event's figure of killed (stated, if the article stated none)."""
    if event["casualties"]["killed"] is None:
        event["casualties"]["killed"] = {"count": 39, "evidence": ["At least 39 were killed."]}
    return event["casualties"]["killed"]


BREAKAGES = {
    "wrong type: revision a string": lambda e: e.update(revision="1"),
    "wrong type: revision a bool": lambda e: e.update(revision=True),
    "wrong type: revision fractional": lambda e: e.update(revision=1.5),
    "wrong type: score a bool": lambda e: e["conflict"].update(score=True),
    "wrong type: score a string": lambda e: e["conflict"].update(score="0.9"),
    "wrong type: is_conflict a number": lambda e: e["conflict"].update(is_conflict=1),
    "wrong type: title null": lambda e: e.update(title=None),
    "wrong type: authors a string": lambda e: e.update(authors="Staff"),
    "wrong type: authors a tuple": lambda e: e.update(authors=("Staff",)),
    "wrong type: topics an object": lambda e: e.update(topics={}),
    "wrong type: a flag a number": lambda e: e.update(flags=[1]),
    "wrong type: casualties.killed a list": lambda e: e["casualties"].update(killed=[39]),
    "wrong type: casualty count a string": lambda e: _casualty(e).update(count="39"),
    "wrong type: casualty evidence a tuple": lambda e: _casualty(e).update(evidence=("At least 39",)),
    # no JSON type at all: the compiled check refuses it (rather than raising) and the validator names it
    "wrong type: published_at a datetime": lambda e: e.update(published_at=dt.datetime(2022, 1, 23, 9, 41)),
    "wrong type: authors a set": lambda e: e.update(authors={"Staff"}),
    "missing: text": lambda e: e.pop("text"),
    "missing: provenance.run_id": lambda e: e["provenance"].pop("run_id"),
    "missing: source.domain": lambda e: e["source"].pop("domain"),
    "missing: casualty evidence": lambda e: _casualty(e).pop("evidence"),
    "missing: location lat": lambda e: e["locations"][0].pop("lat"),
    "additional: at the root": lambda e: e.update(extra=1),
    "additional: in dedup": lambda e: e["dedup"].update(score=0.9),
    "additional: in an actor": lambda e: e["actors"][0].update(alias="IS"),
    "additional: in a casualty": lambda e: _casualty(e).update(unit="people"),
    "date-time: a day February lacks": lambda e: e.update(published_at="2022-02-30T09:41:00Z"),
    "date-time: a space for T": lambda e: e.update(published_at="2022-01-23 09:41:00Z"),
    "date-time: offset without a colon": lambda e: e.update(published_at="2022-01-23T09:41:00+0100"),
    "date-time: a leap second": lambda e: e.update(fetched_at="2016-12-31T23:59:60Z"),
    "date-time: hour 24": lambda e: e.update(fetched_at="2022-01-23T24:00:00Z"),
    "date-time: no zone": lambda e: e.update(fetched_at="2022-01-23T09:41:00"),
    "date-time: a date only": lambda e: e.update(published_at="2022-01-23"),
    "date-time: prose": lambda e: e.update(published_at="23 January 2022"),
    "enum: actor kind": lambda e: e["actors"][0].update(kind="militia"),
    "enum: connector": lambda e: e["provenance"].update(connector="rss"),
    "range: score above 1": lambda e: e["conflict"].update(score=1.5),
    "range: score below 0": lambda e: e["conflict"].update(score=-0.1),
    "range: topic score above 1": lambda e: e["topics"].append(
        {"code": "battles.armed_clash", "label": "Armed clash", "score": 1.01, "evidence": []}),
    "range: latitude 91": lambda e: e["locations"][0].update(lat=91.0),
    "range: longitude -181": lambda e: e["locations"][0].update(lon=-181),
    "range: revision 0": lambda e: e.update(revision=0),
    "range: copies -1": lambda e: e["dedup"].update(copies=-1),
    "range: casualty count -1": lambda e: _casualty(e).update(count=-1),
    "range: empty domain": lambda e: e["source"].update(domain=""),
    "pattern: event_id upper case": lambda e: e.update(event_id=e["event_id"].upper()),
    "pattern: fingerprint": lambda e: e.update(content_fingerprint="sha1:" + "0" * 40),
    "pattern: language of three letters": lambda e: e.update(language="eng"),
    "pattern: country code lower case": lambda e: e["locations"][0].update(country_code="sy"),
    "pattern: flag with a capital": lambda e: e.update(flags=["Paywalled"]),
    "pattern: schema version 2": lambda e: e.update(schema_version="2.0"),
}


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_broken_events_fail_both_the_compiled_check_and_the_validator(sample_events, breakage):
    event = copy.deepcopy(next(e for e in sample_events if e["locations"] and e["actors"]))
    BREAKAGES[breakage](event)
    assert not event_validator().is_valid(event)
    assert not passes_compiled_check(event)
    with pytest.raises(InvalidEventError, match="event does not match schema v1"):
        validate_event(event)


@pytest.mark.parametrize(("field", "value"), [
    ("published_at", "2022-01-23t09:41:00.5+05:30"),  # RFC 3339 allows a lower-case t and z
    ("fetched_at", "2024-02-29T00:00:00z"),
    ("revision", 2.0),  # a float without a fraction is an integer since draft 6
    ("language", "en\n"),  # the schema's "$" matches before a final newline; the compiled check is stricter
])
def test_where_the_schema_allows_it_the_validator_decides(sample_events, field, value):
    event = {**sample_events[0], field: value}
    assert event_validator().is_valid(event)
    validate_event(event)


def test_wire_brief_becomes_an_event_flagged_short_body():
    # The first report of an event is often a brief: it is tagged and validated like any other article.
    html = (b"<html><head><title>Air strike kills 7</title></head><body><article><h1>Air strike kills 7</h1><p>An air "
            b"strike on a village killed 7 people, a monitoring group said.</p></article></body></html>")
    url = "https://wire.example/2022/01/23/air-strike-kills-7"
    page = FetchedPage(FeedEntry(link=url, title="Air strike kills 7", published_at="2022-01-23T09:41:00Z"), url, 200,
                       "text/html; charset=utf-8", html, "2022-01-23T10:00:00Z")
    article = ArticleExtractor().extract(page)
    tagger = ConflictTagger()
    event = build_event(singleton(article), tagger.tag(article.title, article.text, article.language),
                        Provenance(run_id="test-run", taxonomy_version=tagger.version))
    validate_event(event)
    assert event["flags"] == ["short_body"]
    assert event["text"] == "An air strike on a village killed 7 people, a monitoring group said."
    assert event["conflict"]["is_conflict"]
