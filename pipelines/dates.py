"""Published times: a stated date parsed, checked for plausibility, and the page's or the feed's chosen."""

from __future__ import annotations

import datetime as dt

# No news site in our feeds predates the web; anything earlier is a birth date, a founding year or a parse error.
EARLIEST_DATE = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)


def parse_date(value: str) -> tuple[dt.datetime, bool] | None:
    """A stated date as UTC, and whether it carried a time of day (a bare day is only a day)."""
    value = value.strip()
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    has_time = len(value) > 10
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC), has_time


def plausible(value: dt.datetime) -> bool:
    """Whether a date can be a news item's: not before EARLIEST_DATE, not later than a day from now."""
    # A day of slack for time zones ahead of UTC and for clocks; before 1990 no news site existed.
    return EARLIEST_DATE <= value <= dt.datetime.now(dt.UTC) + dt.timedelta(days=1)


def rfc3339(value: dt.datetime) -> str:
    """UTC to the second, 'Z' for the zone, as the event schema writes times."""
    return value.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def choose_published_at(feed_value: str | None, page_value: str | None) -> str | None:
    """The page's stated date wins over the feed's guess. A page that states only the day keeps the feed's time
    when the feed falls on that day. Future and pre-1990 dates are rejected; the result is RFC 3339 UTC."""
    feed = parse_date(feed_value) if feed_value else None
    page = parse_date(page_value) if page_value else None
    feed = feed if feed and plausible(feed[0]) else None
    page = page if page and plausible(page[0]) else None
    if page and page[1]:
        return rfc3339(page[0])
    if feed and (page is None or feed[0].date() == page[0].date()):
        return rfc3339(feed[0])
    return rfc3339(page[0]) if page else None
