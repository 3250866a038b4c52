"""Events: an article, its dedup result and its tags become one schema-v1 event, validated against the schema file."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator, FormatChecker

from connectors.urls import domain_of, event_id_for
from pipelines import __version__
from pipelines.dedup import fingerprint
from schemas import EVENT_SCHEMA_FILE, SCHEMA_VERSION, data_path
from schemas.records import Article, DedupResult, TagResult


@dataclass(frozen=True)
class Provenance:
    """What produced an event: the same for every event of a run."""

    run_id: str
    taxonomy_version: str
    pipeline_version: str = __version__


class InvalidEventError(ValueError):
    """An event that does not match the schema: a programming error upstream, kept as a dead letter."""


@lru_cache(maxsize=1)
def event_schema() -> dict[str, Any]:
    """The event schema file, parsed."""
    with open(data_path(EVENT_SCHEMA_FILE), encoding="utf-8") as handle:
        return json.load(handle)


@lru_cache(maxsize=1)
def event_validator() -> Draft202012Validator:
    """The validator of the event schema file (compiled once per process)."""
    schema = event_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


@lru_cache(maxsize=1)
def _compiled_check() -> Callable[[dict[str, Any]], bool]:
    # jsonschema-rs, for speed: it checks an event faster than fastjsonschema's generated Python
    # (see bench/README.md). Every format is jsonschema's checker, so that "date-time" means the same to
    # both (jsonschema-rs's own takes a leap second).
    checker = event_validator().format_checker
    formats = {name: partial(checker.conforms, format=name) for name in checker.checkers}
    return jsonschema_rs.validator_for(event_schema(), formats=formats, validate_formats=True).is_valid


def _has_tuple(value: Any) -> bool:
    if isinstance(value, dict):
        return any(map(_has_tuple, value.values()))
    if isinstance(value, list):
        return any(map(_has_tuple, value))
    return isinstance(value, tuple)


def passes_compiled_check(event: dict[str, Any]) -> bool:
    """True only for an event that the schema's validator accepts too; False leaves the verdict to it. (The
    compiled check is stricter in places, e.g. its patterns' "$" does not match before a final newline, but
    never more lenient: where it takes a tuple for an array, and jsonschema does not, a tuple fails here.)"""
    try:
        if not _compiled_check()(event):
            return False
    except ValueError:  # a value JSON has no type for (a datetime, bytes, a set): the validator names it
        return False
    return not _has_tuple(event)


def validate_event(event: dict[str, Any]) -> None:
    """Raise InvalidEventError naming every place where the event breaks the schema."""
    if passes_compiled_check(event):
        return
    errors = sorted(event_validator().iter_errors(event), key=lambda e: list(e.path))
    if errors:
        detail = "; ".join(f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in errors[:5])
        raise InvalidEventError(f"event does not match schema v{SCHEMA_VERSION}: {detail}")


def build_event(
    group: DedupResult,
    tags: TagResult,
    provenance: Provenance,
    duplicate_of: str | None = None,
) -> dict[str, Any]:
    """The schema-v1 event of a group's representative (or, with duplicate_of, of one of its copies)."""
    article: Article = group.representative
    event_id = group.event_id or event_id_for(article.canonical_url)
    duplicate_of = duplicate_of or group.duplicate_of
    return {
        "event_id": event_id,
        "schema_version": SCHEMA_VERSION,
        "revision": group.revision,
        "changes": list(group.changes),
        "source": {
            "feed_url": article.feed_url,
            "domain": domain_of(article.url) or "unknown",
            "name": article.source_name,
        },
        "url": article.url,
        "canonical_url": article.canonical_url,
        "title": article.title,
        "summary": article.summary,
        "text": article.text,
        "language": article.language,
        "authors": list(article.authors),
        "published_at": article.published_at,
        "fetched_at": article.fetched_at,
        "content_fingerprint": fingerprint(article),
        "dedup": {
            "duplicate_of": duplicate_of,
            "cluster_id": duplicate_of or group.cluster_id or event_id,
            "copies": group.copies,
            "duplicate_urls": group.duplicate_urls,
        },
        **tags.to_json(),
        "flags": sorted(set(article.flags)),
        "provenance": {
            "pipeline_version": provenance.pipeline_version,
            "taxonomy_version": provenance.taxonomy_version,
            "run_id": provenance.run_id,
            "connector": article.connector,
        },
    }
