"""Feed polling and the feeds file: RSS and Atom as real feeds write them, broken feeds, bad config."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from connectors.feeds import FeedError, FeedPoller, FeedsFileError, load_feeds, parse_feed, poll_feed
from connectors.feedstate import FeedState, PollKind
from connectors.http import FetchPolicy, HttpFetcher
from connectors.urls import url_key
from schemas.records import FeedConfig, FeedEntry, entry_to_json
from tests.conftest import shared_data


def read(sample: Path, name: str) -> bytes:
    return (sample / "feeds" / name).read_bytes()


def test_rss_entries_carry_link_title_date_author(sample):
    feed = FeedConfig(url="https://www.frontline-daily.example/rss/world.xml", name="Frontline Daily")
    result = parse_feed(feed, read(sample, "frontline-world.xml"), {"content-type": "application/rss+xml"}, feed.url)
    first = result.entries[0]
    assert first.link.startswith("https://www.frontline-daily.example/world/middle-east/clashes-continue")
    assert first.title == "Clashes continue as a result of ISIS attack on prison in Syria"
    assert first.published_at == "2022-01-23T09:41:00Z"
    assert first.authors == ("Frontline Daily staff",)
    assert first.feed_name == "Frontline Daily"
    assert first.feed_language == "en-gb"
    # the podcast item has no link: skipped with a reason, not lost
    assert [reason for _ref, reason in result.skipped] == ["entry has no usable http(s) link"]
    assert len(result.entries) == 5


def test_atom_entries(sample):
    feed = FeedConfig(url="https://news.meridian-wire.example/feeds/top.atom")
    result = parse_feed(feed, read(sample, "wire-top.atom"), {"content-type": "application/atom+xml"}, feed.url)
    assert len(result.entries) == 4
    assert result.entries[0].feed_name == "Meridian Wire: Top News"
    assert result.entries[0].guid.startswith("tag:meridian-wire.example")
    assert result.entries[0].summary == "<p>Fighting around Ghwayran prison in Hasaka continues.</p>"


def test_html_page_is_not_a_feed():
    feed = FeedConfig(url="https://example.org/")
    with pytest.raises(FeedError, match="not a readable feed"):
        parse_feed(feed, b"<html><body><p>Welcome</p></body></html>", {"content-type": "text/xml"}, feed.url)


def test_truncated_rss_keeps_readable_entries(sample):
    body = read(sample, "frontline-world.xml")
    cut = body[: body.index(b"<item>", body.index(b"<item>", body.index(b"<item>") + 1) + 1) + 40]
    feed = FeedConfig(url="https://www.frontline-daily.example/rss/world.xml")
    result = parse_feed(feed, cut, {"content-type": "application/rss+xml"}, feed.url)
    assert result.bozo_reason
    assert len(result.entries) >= 2


def test_poller_over_http(server, sample):
    server.route("/world.xml", read(sample, "frontline-world.xml"), content_type="application/rss+xml")
    poller = FeedPoller(HttpFetcher(FetchPolicy(allow_hosts=("127.0.0.0/8",))))
    result = poller.poll(FeedConfig(url=server.url("/world.xml")))
    assert len(result.entries) == 5
    with pytest.raises(FeedError, match="HTTP 404"):
        poller.poll(FeedConfig(url=server.url("/nope.xml")))


NOW = dt.datetime(2022, 1, 24, 12, 0, tzinfo=dt.UTC)


def test_poll_feed_without_state_hands_on_every_entry_and_dead_letters_the_linkless(server, sample):
    server.route("/world.xml", read(sample, "frontline-world.xml"), content_type="application/rss+xml")
    poller = FeedPoller(HttpFetcher(FetchPolicy(allow_hosts=("127.0.0.0/8",))))
    polled = poll_feed(poller, FeedConfig(url=server.url("/world.xml")))
    assert len(polled.entries) == 5
    assert [letter.reason for letter in polled.dead_letters] == ["entry has no usable http(s) link"]
    assert polled.outcome.kind is PollKind.OK and polled.outcome.entries == 5
    assert polled.counts == {"feeds_polled": 1, "entries_seen": 6, "entries_skipped": 1}


def test_poll_feed_with_state_skips_seen_entries_hands_on_due_retries_and_respects_backoff(server, sample):
    server.route("/world.xml", read(sample, "frontline-world.xml"), content_type="application/rss+xml")
    poller = FeedPoller(HttpFetcher(FetchPolicy(allow_hosts=("127.0.0.0/8",))))
    feed = FeedConfig(url=server.url("/world.xml"))
    links = [entry.link for entry in poll_feed(poller, feed).entries]
    # (the first two entries are one story under two tracking links: links[2] onwards are each their own)
    retry = {"entry": entry_to_json(FeedEntry(link=links[3], feed_url=feed.url)), "keys": [url_key(links[3])],
             "attempts": 1, "first_failed": "2022-01-24T10:00:00Z", "last_error": "HTTP 503"}
    state = FeedState(seen={url_key(links[2]): "2022-01-24T10:00:00Z"}, pending={url_key(links[3]): retry})
    polled = poll_feed(poller, feed, state, NOW)
    # The seen entry is left out; the pending one comes once, from the state, first.
    assert [entry.link for entry in polled.entries] == [links[3], links[0], links[1], links[4]]
    assert polled.counts["entries_already_seen"] == 1 and polled.counts["fetch_retries"] == 1
    hits = server.routes["/world.xml"].hits
    backing_off = FeedState(next_attempt_at="2022-01-24T13:00:00Z", pending={url_key(links[3]): retry})
    polled = poll_feed(poller, feed, backing_off, NOW)
    assert polled.outcome.kind is PollKind.BACKED_OFF and server.routes["/world.xml"].hits == hits
    assert [entry.link for entry in polled.entries] == [links[3]]  # a due retry goes on while its feed backs off


def test_poll_feed_that_fails_is_a_dead_letter_and_a_failed_outcome(server):
    server.route("/down.xml", b"busy", status=503)
    poller = FeedPoller(HttpFetcher(FetchPolicy(allow_hosts=("127.0.0.0/8",), retries=0)))
    polled = poll_feed(poller, FeedConfig(url=server.url("/down.xml")), FeedState(), NOW)
    assert polled.entries == [] and polled.outcome.kind is PollKind.FAILED
    [letter] = polled.dead_letters
    assert letter.stage == "poll" and "503" in letter.reason and polled.outcome.error == letter.reason
    assert polled.counts == {"feeds_polled": 1, "feeds_failed": 1}


def test_feeds_file(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - url: https://a.example/rss\n    name: A\n    language: ar\n  - https://b.example/atom\n")
    assert load_feeds(path) == [
        FeedConfig(url="https://a.example/rss", name="A", language="ar"),
        FeedConfig(url="https://b.example/atom"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("feeds:\n  - url: https://a.example/rss\n  - name: no url\n", "feeds.yaml:3: feed 2 needs a 'url'"),
        ("feeds:\n  - url: ftp://a.example/rss\n", "feeds.yaml:2: feed url 'ftp://a.example/rss' is not http"),
        ("feeds:\n  - url: https://a.example/rss\n    lang: en\n", "unknown keys ['lang']"),
        ("sources: []\n", "expected a mapping with a 'feeds:' list"),
        ("feeds: [\n", "not valid YAML"),
    ],
)
def test_feeds_file_errors_name_file_and_line(tmp_path, text, message):
    path = tmp_path / "feeds.yaml"
    path.write_text(text)
    with pytest.raises(FeedsFileError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_feeds(path)


def test_feedparser_corpus_never_crashes():
    """Every file of feedparser's own test corpus is either parsed into entries or refused with a reason."""
    root = shared_data("feedparser-tests")
    files = sorted(p for p in root.rglob("*.xml"))
    assert len(files) > 500
    outcomes = {"entries": 0, "empty": 0, "refused": 0}
    for path in files:
        feed = FeedConfig(url="https://feeds.example/" + path.name)
        try:
            result = parse_feed(feed, path.read_bytes(), {}, feed.url)
        except FeedError as exc:
            assert str(exc).startswith("not a readable feed")
            outcomes["refused"] += 1
            continue
        outcomes["entries" if result.entries or result.skipped else "empty"] += 1
    assert sum(outcomes.values()) == len(files)
    assert outcomes["entries"] > 300


def test_shipped_world_feed_list_is_valid():
    from importlib import resources

    feeds = load_feeds(str(resources.files("connectors").joinpath("sources", "world.yaml")))
    assert len(feeds) >= 10
    assert all(f.url.startswith("https://") and f.name and f.language for f in feeds)
    assert {"en", "ar", "fr", "ru", "uk", "tr", "es"} <= {f.language for f in feeds}


def test_feed_declared_utf8_but_windows_1252_stays_readable():
    body = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title><item>'
            "<title>Clashes near Bouaké, Côte d’Ivoire</title><link>https://a.example/x</link></item></channel></rss>")
    feed = FeedConfig(url="https://a.example/rss")
    result = parse_feed(feed, body.encode("cp1252"), {"content-type": "application/rss+xml; charset=utf-8"}, feed.url)
    assert [e.title for e in result.entries] == ["Clashes near Bouaké, Côte d’Ivoire"]


def test_billion_laughs_feed_served_locally_does_not_expand(server):
    """Entity definitions nested ten deep would expand to 10^9 'lol's; the entry still comes out, small."""
    import resource

    entities = "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    body = (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol0 "lol">{entities}]><rss version="2.0"><channel>'
            "<title>&lol9;</title><item><title>Real entry &lol9;</title><link>https://a.example/x</link></item>"
            "</channel></rss>")
    server.route("/lol.xml", body, content_type="application/rss+xml")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = FeedPoller(HttpFetcher(FetchPolicy(allow_hosts=("127.0.0.0/8",)))).poll(FeedConfig(server.url("/lol.xml")))
    assert [e.link for e in result.entries] == ["https://a.example/x"]
    assert len(result.entries[0].title) < 100
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 500_000  # KiB; expanded, it would be gigabytes


def test_feeds_file_robots_switch(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - url: https://a.example/rss\n    robots: false\n  - url: https://b.example/rss\n")
    assert [f.robots for f in load_feeds(path)] == [False, True]
    path.write_text("feeds:\n  - url: https://a.example/rss\n    robots: sometimes\n")
    with pytest.raises(FeedsFileError, match=r"feeds\.yaml:2: feed 1: 'robots' must be true or false"):
        load_feeds(path)


UPDATED_RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dcterms="http://purl.org/dc/terms/">
<channel><title>Updates</title><link>https://news.example/</link>
<item><title>Revised</title><link>https://news.example/a</link><guid>https://news.example/a</guid>
  <pubDate>Mon, 06 Jan 2025 06:00:00 GMT</pubDate><atom:updated>2025-01-07T09:30:00+01:00</atom:updated></item>
<item><title>Modified</title><link>https://news.example/b</link>
  <pubDate>Mon, 06 Jan 2025 06:00:00 GMT</pubDate><dcterms:modified>2025-01-07T08:00:00Z</dcterms:modified></item>
<item><title>Plain</title><link>https://news.example/c</link><pubDate>Mon, 06 Jan 2025 06:00:00 GMT</pubDate></item>
</channel></rss>"""

UPDATED_ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Wire</title><id>urn:wire</id><updated>2025-01-07T10:00:00Z</updated>
<entry><title>Market attack</title><id>urn:wire:market</id><link href="https://wire.example/market"/>
  <published>2025-01-06T06:00:00Z</published><updated>2025-01-07T10:00:00Z</updated></entry>
<entry><title>Only updated</title><id>urn:wire:other</id><link href="https://wire.example/other"/>
  <updated>2025-01-05T12:00:00Z</updated></entry>
</feed>"""


def test_entries_carry_the_feeds_updated_time_and_none_without_one():
    feed = FeedConfig(url="https://news.example/feed.xml")
    rss = parse_feed(feed, UPDATED_RSS, {"content-type": "application/rss+xml"}, feed.url).entries
    assert [(e.published_at, e.updated_at) for e in rss] == [
        ("2025-01-06T06:00:00Z", "2025-01-07T08:30:00Z"),  # <atom:updated>, in UTC
        ("2025-01-06T06:00:00Z", "2025-01-07T08:00:00Z"),  # <dcterms:modified>
        ("2025-01-06T06:00:00Z", None),  # a pubDate alone is no update
    ]
    atom = parse_feed(feed, UPDATED_ATOM, {"content-type": "application/atom+xml"}, feed.url).entries
    assert [(e.published_at, e.updated_at) for e in atom] == [
        ("2025-01-06T06:00:00Z", "2025-01-07T10:00:00Z"),
        ("2025-01-05T12:00:00Z", "2025-01-05T12:00:00Z"),  # no <published>: the entry's time is its update
    ]


def test_entry_json_round_trips_the_updated_time():
    feed = FeedConfig(url="https://news.example/feed.xml")
    entry = parse_feed(feed, UPDATED_ATOM, {"content-type": "application/atom+xml"}, feed.url).entries[0]
    data = entry_to_json(entry)
    assert data["updated_at"] == "2025-01-07T10:00:00Z"
    assert FeedEntry(**{**data, "authors": tuple(data["authors"])}) == entry
