"""The numbers the report draws, counted from a run's events and dead letters: plain functions, no drawing."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pycountry

from pipelines.report.worldmap import Dot

NO_COUNTRY = ""
OTHER = "other"  # conflict news whose topics are only cross-cutting tags
NOT_CONFLICT = "not_conflict"


def is_conflict(event: dict[str, Any]) -> bool:
    return bool((event.get("conflict") or {}).get("is_conflict"))


def when(event: dict[str, Any]) -> datetime | None:
    """The event's time: its publication, or when it was fetched when the article states none."""
    for key in ("published_at", "fetched_at"):
        value = event.get(key)
        if isinstance(value, str) and value:
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                continue
            return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


def event_type(event: dict[str, Any]) -> str:
    """The event's kind for the timeline: the top-level taxonomy code (ACLED's event type) of its
    highest-scoring topic that has one; OTHER for conflict news with only tags; NOT_CONFLICT otherwise."""
    for topic in event.get("topics") or ():
        top = str(topic.get("code") or "").split(".")[0]
        if top and top != "tags":
            return top
    return OTHER if is_conflict(event) else NOT_CONFLICT


@dataclass(frozen=True)
class Timeline:
    """Events per time bucket and type; `unit` is "day", "week" (starting Monday), "month" or "year"."""

    unit: str
    buckets: list[str]
    counts: dict[str, Counter[str]]
    undated: int = 0


# The units a timeline may count in, with about how many days each holds, finest first.
UNITS = (("day", 1), ("week", 7), ("month", 30.44), ("year", 365.25))


def _bucket_start(moment: date, unit: str) -> date:
    if unit == "week":
        return moment - timedelta(days=moment.weekday())
    if unit == "month":
        return moment.replace(day=1)
    if unit == "year":
        return moment.replace(month=1, day=1)
    return moment


def _next_bucket(start: date, unit: str) -> date:
    if unit == "day":
        return start + timedelta(days=1)
    if unit == "week":
        return start + timedelta(days=7)
    if unit == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start.replace(year=start.year + 1)


def _bucket_name(start: date, unit: str) -> str:
    return start.isoformat()[:{"month": 7, "year": 4}.get(unit, 10)]


def timeline(events: list[dict[str, Any]], most_buckets: int = 62) -> Timeline:
    """Events by type per day; per week, month or year when days would make more than `most_buckets` bars.
    Every bucket between the first and the last is listed, empty ones too, so gaps show as gaps."""
    dated = [(moment.date(), event_type(event)) for event in events if (moment := when(event)) is not None]
    undated = len(events) - len(dated)
    if not dated:
        return Timeline("day", [], {}, undated)
    first, last = min(d for d, _ in dated), max(d for d, _ in dated)
    unit = next((u for u, days in UNITS if (last - first).days / days < most_buckets - 1), "year")
    counts: dict[str, Counter[str]] = {}
    cursor, end = _bucket_start(first, unit), _bucket_start(last, unit)
    while cursor <= end:
        counts[_bucket_name(cursor, unit)] = Counter()
        cursor = _next_bucket(cursor, unit)
    for day, kind in dated:
        counts[_bucket_name(_bucket_start(day, unit), unit)][kind] += 1
    return Timeline(unit, list(counts), counts, undated)


def countries_of(event: dict[str, Any]) -> list[str]:
    """The alpha-2 codes of the event's places, each once, in the order the event lists them."""
    codes = [str(place.get("country_code")).upper() for place in event.get("locations") or ()
             if place.get("country_code")]
    return list(dict.fromkeys(codes))


def country_counts(events: list[dict[str, Any]]) -> Counter[str]:
    """Events per country (an event about two countries counts once for each)."""
    return Counter(code for event in events for code in countries_of(event))


def country_name(code: str) -> str:
    """A country's common name from its alpha-2 code (the code itself when pycountry does not know it)."""
    if code == NO_COUNTRY:
        return "no country"
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    return getattr(country, "common_name", None) or country.name


def numeric_code(code: str) -> str | None:
    """ISO 3166-1 numeric code (world-atlas's country id) of an alpha-2 code."""
    country = pycountry.countries.get(alpha_2=code) if code else None
    return None if country is None else country.numeric


def top_actors(events: list[dict[str, Any]], limit: int = 12) -> list[tuple[str, int]]:
    """The actors named in most events, with how many."""
    counted = Counter(name for event in events
                      for name in dict.fromkeys(str(a.get("name")) for a in event.get("actors") or () if a.get("name")))
    return counted.most_common(limit)


def _count(casualties: dict[str, Any] | None, kind: str) -> int:
    figure = (casualties or {}).get(kind) or {}
    count = figure.get("count") if isinstance(figure, dict) else None
    return count if isinstance(count, int) and count > 0 else 0


def casualties_by_country(events: list[dict[str, Any]]) -> list[tuple[str, int, int]]:
    """(alpha-2, killed, injured) per country, most killed first. An event's figures go to the first country it
    names, so a figure is never counted twice; events without a place go to NO_COUNTRY."""
    killed: Counter[str] = Counter()
    injured: Counter[str] = Counter()
    for event in events:
        dead, hurt = _count(event.get("casualties"), "killed"), _count(event.get("casualties"), "injured")
        if dead or hurt:
            code = next(iter(countries_of(event)), NO_COUNTRY)
            killed[code] += dead
            injured[code] += hurt
    rows = [(code, killed[code], injured[code]) for code in killed | injured]
    return sorted(rows, key=lambda row: (-row[1], -row[2], row[0]))


def dots(events: list[dict[str, Any]]) -> list[Dot]:
    """A dot for each place with coordinates, its tooltip naming the place and the headline; conflict events'
    dots come last, so they are drawn over the others."""
    found = []
    for event in sorted(events, key=is_conflict):
        conflict = is_conflict(event)
        for place in event.get("locations") or ():
            lat, lon = place.get("lat"), place.get("lon")
            if isinstance(lat, int | float) and isinstance(lon, int | float):
                where = ", ".join(str(p) for p in (place.get("name"), place.get("country_code")) if p)
                note = "" if conflict else " (not conflict)"
                found.append(Dot(float(lon), float(lat), f"{where}: {event.get('title') or ''}{note}", conflict))
    return found


@dataclass
class FeedHealth:
    """One feed in the run: events it gave, and what failed on its way (reasons with how often)."""

    url: str
    name: str
    events: int = 0
    conflict_events: int = 0
    feed_failures: Counter[str] = field(default_factory=Counter)  # the feed itself could not be read
    entries_skipped: Counter[str] = field(default_factory=Counter)  # poll: an entry that could not be used
    fetch_failures: Counter[str] = field(default_factory=Counter)
    other_failures: Counter[str] = field(default_factory=Counter)  # extract, event, publish: "stage: reason"


def _letter_feed(letter: dict[str, Any]) -> tuple[str, str]:
    given = letter.get("input") or {}
    feed, entry = given.get("feed") or {}, given.get("entry") or {}
    event = given.get("event") or {}
    url = feed.get("url") or entry.get("feed_url") or (event.get("source") or {}).get("feed_url") or ""
    name = feed.get("name") or entry.get("feed_name") or (event.get("source") or {}).get("name") or ""
    return str(url), str(name)


def feed_health(events: list[dict[str, Any]], dead_letters: list[dict[str, Any]]) -> list[FeedHealth]:
    """Per feed (by its URL; "" for articles given with --input), sorted by name."""
    feeds: dict[str, FeedHealth] = {}

    def feed(url: str, name: str) -> FeedHealth:
        if url not in feeds:
            feeds[url] = FeedHealth(url=url, name=name)
        elif name and not feeds[url].name:
            feeds[url].name = name
        return feeds[url]

    for event in events:
        source = event.get("source") or {}
        health = feed(str(source.get("feed_url") or ""), str(source.get("name") or ""))
        health.events += 1
        health.conflict_events += is_conflict(event)
    for letter in dead_letters:
        health = feed(*_letter_feed(letter))
        stage, reason = str(letter.get("stage") or "?"), str(letter.get("reason") or "")
        given = letter.get("input") or {}
        if stage == "poll":
            (health.entries_skipped if given.get("entry") else health.feed_failures)[reason] += 1
        elif stage == "fetch":
            health.fetch_failures[reason] += 1
        else:
            health.other_failures[f"{stage}: {reason}"] += 1
    return sorted(feeds.values(), key=lambda h: (h.name.casefold() or "~", h.url))
