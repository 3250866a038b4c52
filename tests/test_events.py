"""Events against the schema file: what the code builds validates; what breaks the contract is caught."""

from __future__ import annotations

import json

import pytest

from pipelines.dedup import merge_groups, singleton
from pipelines.events import InvalidEventError, Provenance, build_event, event_validator, validate_event
from pipelines.tagging import ConflictTagger
from schemas import EVENT_SCHEMA_FILE, data_path
from schemas.records import Article


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
