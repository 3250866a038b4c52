"""Pub/Sub messages of events: the event's JSON as data, filterable attributes, and fitting the size limits."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from schemas.records import DeadLetter

# Pub/Sub's limits (https://cloud.google.com/pubsub/quotas#resource_limits). A publish request carries the
# data, the attributes and the ordering key under 10 MB; data is kept well under it so attributes and
# protobuf framing always fit.
MAX_MESSAGE_BYTES = 10_000_000
MAX_DATA_BYTES = 9_000_000
MAX_ATTRIBUTES = 100
MAX_ATTRIBUTE_VALUE_BYTES = 1024
MAX_ORDERING_KEY_BYTES = 1024
# Per-country flag attributes (country_SY) beyond this many are left out; `countries` still lists them
# as far as its 1024 bytes reach. Keeps every message under the 100-attribute limit.
MAX_COUNTRY_FLAGS = 60
TRIMMED_FLAG = "text_trimmed"

TOPIC_PATH = re.compile(r"^projects/([a-z][-a-z0-9:.]{4,61}[a-z0-9])/topics/([A-Za-z][-A-Za-z0-9_.~+%]{2,254})$")
SUBSCRIPTION_PATH = re.compile(
    r"^projects/([a-z][-a-z0-9:.]{4,61}[a-z0-9])/subscriptions/([A-Za-z][-A-Za-z0-9_.~+%]{2,254})$"
)


class EventTooLargeError(ValueError):
    """An event that does not fit in a Pub/Sub message even with its body text removed."""


@dataclass(frozen=True)
class EventMessage:
    """What is published for one event: data (UTF-8 JSON), attributes, ordering key."""

    event_id: str
    data: bytes
    attributes: dict[str, str]
    ordering_key: str = ""
    trimmed: bool = False


def check_topic_path(path: str, flag: str = "--pubsub-topic") -> str:
    """Return the topic path, or raise ValueError saying what a topic path looks like."""
    if not TOPIC_PATH.match(path or ""):
        raise ValueError(f"{flag} {path!r} is not projects/PROJECT/topics/TOPIC "
                         "(project id 6-63 characters, topic id at least 3)")
    return path


def check_subscription_path(path: str) -> str:
    """Return the subscription path, or raise ValueError saying what a subscription path looks like."""
    if not SUBSCRIPTION_PATH.match(path or ""):
        raise ValueError(f"--subscription {path!r} is not projects/PROJECT/subscriptions/SUBSCRIPTION "
                         "(project id 6-63 characters, subscription id at least 3)")
    return path


def event_data(event: dict[str, Any]) -> bytes:
    """The event as compact UTF-8 JSON with sorted keys, byte for byte the line the files sink writes (orjson,
    for speed: it encodes an event faster than the json module)."""
    return orjson.dumps(event, option=orjson.OPT_SORT_KEYS)


def _joined(values: list[str], limit: int = MAX_ATTRIBUTE_VALUE_BYTES) -> str:
    """Comma-joined values, cut at a whole value so the attribute stays under Pub/Sub's 1024 bytes."""
    out = ""
    for value in values:
        candidate = f"{out},{value}" if out else value
        if len(candidate.encode("utf-8")) > limit:
            break
        out = candidate
    return out


def event_countries(event: dict[str, Any]) -> list[str]:
    """ISO country codes of the event's locations, most-mentioned first (ties by first mention)."""
    counts: dict[str, int] = {}
    for location in event.get("locations") or []:
        code = location.get("country_code")
        if code:
            counts[code] = counts.get(code, 0) + 1
    order = list(counts)
    return sorted(order, key=lambda code: (-counts[code], order.index(code)))


def event_attributes(event: dict[str, Any]) -> dict[str, str]:
    """Attributes a subscription filter reads without parsing the data.

    Lists are comma-separated with the strongest value first, so `hasPrefix(attributes.countries, "SY")`
    selects events mainly about Syria and `hasPrefix(attributes.topics, "battles")` those whose top topic
    is a battle; each country is also its own attribute (`country_SY`), because Pub/Sub filters have no
    "contains": `attributes:country_SY` selects every event that mentions Syria at all.
    """
    countries = event_countries(event)
    topics = [t["code"] for t in sorted(event.get("topics") or [], key=lambda t: -float(t.get("score") or 0))]
    source = event.get("source") or {}
    attributes = {
        "event_id": event["event_id"],
        "schema_version": str(event["schema_version"]),
        "is_conflict": "true" if (event.get("conflict") or {}).get("is_conflict") else "false",
        "topics": _joined(topics),
        "countries": _joined(countries),
        "language": str(event.get("language") or "und"),
        "source_domain": _joined([str(source.get("domain") or "unknown")]),
    }
    for code in countries[:MAX_COUNTRY_FLAGS]:
        attributes[f"country_{code}"] = "true"
    return attributes


def _with_text(event: dict[str, Any], text: str) -> dict[str, Any]:
    flags = sorted({*event.get("flags", []), TRIMMED_FLAG})
    return {**event, "text": text, "flags": flags}


def _cut_utf8(text: str, max_bytes: int) -> str:
    return text.encode("utf-8")[: max(max_bytes, 0)].decode("utf-8", errors="ignore")


def fit_event(event: dict[str, Any], max_data_bytes: int = MAX_DATA_BYTES) -> tuple[dict[str, Any], bytes, bool]:
    """The event and its data, with the body text trimmed (and flagged `text_trimmed`) when the JSON is
    larger than max_data_bytes. Raises EventTooLargeError when even an empty text does not fit."""
    data = event_data(event)
    if len(data) <= max_data_bytes:
        return event, data, False
    if len(event_data(_with_text(event, ""))) > max_data_bytes:
        raise EventTooLargeError(f"event is {len(data)} bytes and over {max_data_bytes} even without its text")
    text = event.get("text") or ""
    budget = max_data_bytes - len(event_data(_with_text(event, "")))
    # JSON escaping (newlines, quotes) makes the encoded text longer than its UTF-8 bytes: shrink until it fits.
    while True:
        text = _cut_utf8(text, budget)
        trimmed = _with_text(event, text)
        data = event_data(trimmed)
        excess = len(data) - max_data_bytes
        if excess <= 0:
            return trimmed, data, True
        budget = len(text.encode("utf-8")) - excess


def event_message(event: dict[str, Any], ordering_attribute: str | None = None,
                  max_data_bytes: int = MAX_DATA_BYTES) -> EventMessage:
    """The Pub/Sub message of an event. `ordering_attribute` names the attribute whose value becomes the
    ordering key (for example `event_id`, so revisions of an article arrive in order)."""
    fitted, data, trimmed = fit_event(event, max_data_bytes)
    attributes = event_attributes(fitted)
    key = attributes.get(ordering_attribute, "") if ordering_attribute else ""
    return EventMessage(event["event_id"], data, attributes, _cut_utf8(key, MAX_ORDERING_KEY_BYTES), trimmed)


def encode_event(event: dict[str, Any], ordering_attribute: str | None = None,
                 max_data_bytes: int = MAX_DATA_BYTES) -> EventMessage | DeadLetter:
    """The event's message, or a dead letter (stage publish) when it is too large even without its text."""
    try:
        return event_message(event, ordering_attribute, max_data_bytes)
    except EventTooLargeError as exc:
        return DeadLetter("publish", str(exc), event["event_id"], {"event": event})


def dead_letter_data(letter: dict[str, Any]) -> bytes:
    """A dead letter (DeadLetter.to_json()) as compact UTF-8 JSON with sorted keys: the line the files sink
    writes and the data of its Pub/Sub message. What JSON cannot hold of its input is written as text."""
    return orjson.dumps(letter, option=orjson.OPT_SORT_KEYS, default=str)


def dead_letter_message(letter: dict[str, Any], max_data_bytes: int = MAX_DATA_BYTES) -> tuple[bytes, dict[str, str]]:
    """A dead letter (DeadLetter.to_json()) as a Pub/Sub message: its JSON as data, stage and ref as attributes.
    An input too large for a message is replaced by a note saying so (stage, reason and ref always stay)."""
    data = dead_letter_data(letter)
    if len(data) > max_data_bytes:
        note = {"omitted": f"input of {len(data)} bytes is over Pub/Sub's message limit"}
        data = dead_letter_data({**letter, "input": note})
    attributes = {"stage": _cut_utf8(str(letter.get("stage") or ""), MAX_ATTRIBUTE_VALUE_BYTES),
                  "ref": _cut_utf8(str(letter.get("ref") or ""), MAX_ATTRIBUTE_VALUE_BYTES)}
    return data, attributes
