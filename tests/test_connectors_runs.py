"""Whole `sitrep run`s against a real loopback server: faults, state across runs, backoff, archive and replay."""

from __future__ import annotations

import datetime as dt
import glob
import json
import sys
from pathlib import Path

import pytest

from connectors.feedstate import ENTRY_RETRY_LIMIT, ENTRY_RETRY_MAX
from pipelines.beam import batch
from pipelines.cli import ExitStatus, main, nothing_worked
from pipelines.testing.localserver import LocalServer
from tests.conftest import SEED_PAGE, sample_page

# Every socket connect this process makes, so a test can prove an address was never contacted.
CONNECTS: list[str] = []


def _audit(event: str, args: tuple) -> None:
    if event == "socket.connect" and isinstance(args[1], tuple):
        CONNECTS.append(str(args[1][0]))


sys.addaudithook(_audit)

ARTICLES = ("frontline-gunmen-kill-villagers-central-mali.html", "wire-thousands-protest-fuel-prices-capital.html")
LOOPBACK = ["--allow-hosts", "127.0.0.0/8", "--host-delay", "0"]


def item(title: str, link: str) -> str:
    return f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid></item>"


def rss(items: list[str], title: str = "Faults") -> str:
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
            f"<link>https://faults.example/</link>{''.join(items)}</channel></rss>")


def read_jsonl(pattern: str) -> list[dict]:
    return [json.loads(line) for f in glob.glob(pattern) for line in open(f, encoding="utf-8") if line.strip()]


def run(feeds: Path, out: Path, *extra: str) -> tuple[list[dict], list[dict], dict]:
    status = main(["run", "--feeds", str(feeds), "--out", str(out), *extra])
    summary = json.loads((out / "run-summary.json").read_text())
    # A run fails at its job exactly when nothing came through (every feed, or every fetch, failed).
    assert status == (ExitStatus.FAILED if nothing_worked(summary["counts"]) else ExitStatus.OK)
    run_id = summary["run_id"]
    return (read_jsonl(str(out / f"events-{run_id}-*.jsonl")), read_jsonl(str(out / f"dead-letters-{run_id}-*.jsonl")),
            summary["counts"])


def test_faults_end_as_events_retries_or_dead_letters_and_replay_gives_the_same_events(server, tmp_path):
    s = server
    s.route("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    s.route("/flaky", sample_page(SEED_PAGE), fail_first=1, fail_status=500)
    s.route("/limited", sample_page(ARTICLES[0]), fail_first=1, fail_status=429, fail_headers={"Retry-After": "1"})
    s.route("/good", sample_page(ARTICLES[1]))
    s.route("/slow", sample_page(ARTICLES[1]), delay=2.0)
    s.route("/loop", status=302, headers={"Location": "/loop"})
    s.route("/cut", sample_page(ARTICLES[1]), truncate_to=300)
    s.route("/huge", endless=True)
    s.route("/bomb", b"<html>" + b" " * 20_000_000, gzip=True)
    s.route("/report.pdf", b"%PDF-1.7\n" + b"0" * 4000, content_type="application/pdf")
    s.route("/private/memo", sample_page(ARTICLES[1]))
    links = {
        "Clashes near Bouaké, Côte d’Ivoire": s.url("/flaky"), "Rate limited": s.url("/limited"),
        "Good": s.url("/good"), "Slow": s.url("/slow"), "Loop": s.url("/loop"), "Cut": s.url("/cut"),
        "Huge": s.url("/huge"), "Bomb": s.url("/bomb"), "PDF": s.url("/report.pdf"),
        "Private address": "http://10.0.0.1/secret", "Local file": "file:///etc/passwd",
        "Robots say no": s.url("/private/memo"),
    }
    # Declared UTF-8 but written in windows-1252, as some CMSes do.
    feed_body = rss([item(t, u) for t, u in links.items()]).encode("cp1252")
    s.route("/feed.xml", feed_body, content_type="application/rss+xml; charset=utf-8")
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - url: {s.url('/feed.xml')}\n    name: Faults\n")
    archive = tmp_path / "run.warc.gz"
    out = tmp_path / "out"

    CONNECTS.clear()
    events, dead, counts = run(feeds, out, *LOOPBACK, "--timeout", "1", "--max-bytes", "300000",
                               "--state", str(tmp_path / "state"), "--archive", str(archive))

    assert "10.0.0.1" not in CONNECTS  # refused by the guard before any connect
    assert sorted(e["url"] for e in events) == sorted([s.url("/flaky"), s.url("/limited"), s.url("/good")])
    titles = {e["url"]: e["title"] for e in events}
    assert titles[s.url("/flaky")] == "Clashes near Bouaké, Côte d’Ivoire"  # the wrong declaration survived
    reasons = {d["ref"]: d["reason"] for d in dead}
    # A timeout and a dropped body are transient: pending for the next run, not dead letters.
    assert s.url("/slow") not in reasons and s.url("/cut") not in reasons
    assert reasons[s.url("/loop")] == "more than 5 redirects"
    assert reasons[s.url("/huge")] == "body larger than 300000 bytes"
    assert reasons[s.url("/bomb")] == "body larger than 300000 bytes"
    assert reasons[s.url("/report.pdf")] == "content type 'application/pdf' is not an HTML page"
    assert "non-public address 10.0.0.1" in reasons["http://10.0.0.1/secret"]
    assert reasons[s.url("/private/memo")] == "disallowed by robots.txt"
    # the local file's entry: its dead letter names the refused link (as feedparser normalised it) and why
    assert [(d["ref"], d["reason"]) for d in dead if d["stage"] == "poll"] == [
        ("file://etc/passwd", "link 'file://etc/passwd' refused: not http(s)")]
    assert s.routes["/flaky"].hits == 2 and s.routes["/limited"].hits == 2  # retried once each
    assert s.routes["/private/memo"].hits == 0
    assert s.paths_requested().count("/robots.txt") == 1  # cached per host
    assert all("sitrep" in headers["User-Agent"] for _path, headers in s.requests)
    assert counts["entries_seen"] == 12 and counts["entries_skipped"] == 1
    assert counts["articles_fetched"] == 3 and counts["fetch_failed"] == 6 and counts["robots_disallowed"] == 1
    assert counts["fetch_retry_pending"] == 2
    assert counts["entries_seen"] == (counts["articles_fetched"] + counts["fetch_failed"]
                                      + counts["fetch_retry_pending"] + counts["entries_skipped"])

    # The archive replays the run with no network: the same events, byte for byte.
    requests_before = len(s.requests)
    replayed, _dead, replay_counts = run(feeds, tmp_path / "replay", "--replay", str(archive))
    assert len(s.requests) == requests_before
    assert sorted(json.dumps({k: v for k, v in e.items() if k != "provenance"}, sort_keys=True) for e in replayed) == \
        sorted(json.dumps({k: v for k, v in e.items() if k != "provenance"}, sort_keys=True) for e in events)
    assert replay_counts["articles_fetched"] == 3


@pytest.fixture
def two_feeds(server, sample, tmp_path) -> Path:
    """One feed whose server answers conditional GETs (ETag), one whose server does not, one that is gone."""
    server.route("/a/1", sample_page(SEED_PAGE))
    server.route("/a/2", sample_page(ARTICLES[0]))
    server.route("/b/1", sample_page(ARTICLES[1]))
    server.route("/etag.xml", rss([item("One", server.url("/a/1")), item("Two", server.url("/a/2"))]),
                 content_type="application/rss+xml", etag='"v1"')
    server.route("/plain.xml", rss([item("Three", server.url("/b/1"))]), content_type="application/rss+xml")
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds:\n" + "".join(f"  - url: {server.url(p)}\n" for p in ("/etag.xml", "/plain.xml",
                                                                                 "/gone.xml")))
    return feeds


def test_second_run_over_unchanged_feeds_fetches_and_parses_nothing(server, two_feeds, tmp_path, capsys):
    state = ["--state", str(tmp_path / "state")]
    events, _dead, first = run(two_feeds, tmp_path / "out", *LOOPBACK, *state)
    assert len(events) == 3 and first["articles_fetched"] == 3 and first["feeds_failed"] == 1

    events, _dead, second = run(two_feeds, tmp_path / "out", *LOOPBACK, *state)
    assert events == []
    assert second["feeds_not_modified"] == 1  # the ETag feed answered 304: not parsed
    assert second["entries_seen"] == 1 and second["entries_already_seen"] == 1  # the other: parsed, nothing new
    assert second["articles_fetched"] == 0 and second["articles_extracted"] == 0
    assert server.routes["/a/1"].hits == 1 and server.routes["/b/1"].hits == 1
    etag_polls = [h for p, h in server.requests if p == "/etag.xml"]
    assert etag_polls[1]["If-None-Match"] == '"v1"'

    # The gone feed failed twice in a row: the third run does not try it, and says so.
    gone_hits = server.paths_requested().count("/gone.xml")
    _events, _dead, third = run(two_feeds, tmp_path / "out", *LOOPBACK, *state)
    assert third["feeds_backed_off"] == 1 and third["feeds_polled"] == 2
    assert server.paths_requested().count("/gone.xml") == gone_hits
    capsys.readouterr()

    assert main(["feeds", "status", *state]) == 1  # a feed is backing off
    table = capsys.readouterr().out
    gone = next(line for line in table.splitlines() if "/gone.xml" in line)
    assert " 2 " in gone and "HTTP 404" in gone and "next run" not in gone
    assert main(["feeds", "status", "--json", *state]) == 1
    rows = {r["feed"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert rows[server.url("/etag.xml")]["last_success"] and rows[server.url("/etag.xml")]["consecutive_failures"] == 0
    assert rows[server.url("/plain.xml")]["entries_last_run"] == 1
    assert rows[server.url("/gone.xml")]["skipped_runs"] == 1


def test_transient_failure_is_fetched_again_next_run(server, tmp_path):
    route = server.route("/a/1", sample_page(SEED_PAGE), fail_first=3, fail_status=503)
    server.route("/etag.xml", rss([item("One", server.url("/a/1"))]), content_type="application/rss+xml",
                 etag='"v1"')
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - url: {server.url('/etag.xml')}\n")
    state = ["--state", str(tmp_path / "state")]
    _events, dead, first = run(feeds, tmp_path / "out", *LOOPBACK, *state)
    assert first["fetch_retry_pending"] == 1 and first["fetch_failed"] == 0 and dead == []
    events, _dead, second = run(feeds, tmp_path / "out", *LOOPBACK, *state)
    # the feed answers 304 (its validators kept), and the pending entry is tried again from the state
    assert second["feeds_not_modified"] == 1 and second["fetch_retries"] == 1
    assert second["articles_fetched"] == 1 and len(events) == 1
    assert route.hits == 4


def test_robots_can_be_switched_off_per_feed(server, tmp_path):
    server.route("/robots.txt", "User-agent: *\nDisallow: /\n", content_type="text/plain")
    server.route("/a/1", sample_page(SEED_PAGE))
    server.route("/feed.xml", rss([item("One", server.url("/a/1"))]), content_type="application/rss+xml")
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - url: {server.url('/feed.xml')}\n    robots: false\n")
    events, _dead, counts = run(feeds, tmp_path / "out", *LOOPBACK, "--state", str(tmp_path / "state"))
    assert len(events) == 1 and counts["robots_disallowed"] == 0
    assert "/robots.txt" not in server.paths_requested()


def _down_host() -> tuple[LocalServer, int]:
    """A host that is down: a server started for its port and stopped, so connects are refused."""
    host = LocalServer().start()
    port = host.port
    host.stop()
    return host, port


def _articles_feed(server, tmp_path, base: str, paths: tuple[str, ...]) -> Path:
    server.route("/feed.xml", rss([item(p, base + p) for p in paths]), content_type="application/rss+xml",
                 etag='"v1"')
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - url: {server.url('/feed.xml')}\n")
    return feeds


def _status(capsys, state: list[str]) -> dict[str, dict]:
    capsys.readouterr()
    main(["feeds", "status", "--json", *state])
    return {r["feed"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}


def test_entries_of_a_host_that_is_down_are_fetched_when_it_is_back(server, tmp_path, capsys):
    _down, port = _down_host()
    base = f"http://127.0.0.1:{port}"
    feeds = _articles_feed(server, tmp_path, base, ("/a/1", "/a/2"))
    state = ["--state", str(tmp_path / "state")]

    # Run 1: robots.txt and the articles' host refuse connections. Nothing is lost: both entries are pending.
    events, dead, first = run(feeds, tmp_path / "out", *LOOPBACK, *state)
    assert events == [] and dead == []
    assert first["fetch_retry_pending"] == 2 and first["fetch_failed"] == 0 and first["robots_disallowed"] == 0
    pending = _status(capsys, state)[server.url("/feed.xml")]["pending"]
    assert sorted(p["link"] for p in pending) == [base + "/a/1", base + "/a/2"]
    assert all(p["attempts"] == 1 and "connection failed" in p["last_error"] for p in pending)

    # Run 2: the host is back. The feed answers 304, and the pending entries are fetched and emitted.
    back = LocalServer(port=port).start()
    try:
        back.route("/a/1", sample_page(SEED_PAGE))
        back.route("/a/2", sample_page(ARTICLES[0]))
        events, dead, second = run(feeds, tmp_path / "out", *LOOPBACK, *state)
        assert sorted(e["url"] for e in events) == [base + "/a/1", base + "/a/2"] and dead == []
        assert second["feeds_not_modified"] == 1 and second["fetch_retries"] == 2
        assert second["articles_fetched"] == 2 and second["fetch_retry_pending"] == 0
        assert _status(capsys, state)[server.url("/feed.xml")]["pending"] == []

        # Run 3: they are seen now, not fetched again.
        events, _dead, third = run(feeds, tmp_path / "out", *LOOPBACK, *state)
        assert events == [] and third["fetch_retries"] == 0
        assert back.routes["/a/1"].hits == 1 and back.routes["/a/2"].hits == 1
    finally:
        back.stop()


def test_robots_txt_answering_503_keeps_the_entry_pending_until_it_answers(server, tmp_path):
    server.route("/robots.txt", status=503)
    server.route("/a/1", sample_page(SEED_PAGE))
    feeds = _articles_feed(server, tmp_path, server.base, ("/a/1",))
    state = ["--state", str(tmp_path / "state")]
    events, dead, first = run(feeds, tmp_path / "out", *LOOPBACK, *state)
    assert events == [] and dead == [] and first["fetch_retry_pending"] == 1
    assert server.routes["/a/1"].hits == 0
    server.route("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
    events, _dead, second = run(feeds, tmp_path / "out", *LOOPBACK, *state)
    assert [e["url"] for e in events] == [server.url("/a/1")] and second["fetch_retries"] == 1


def test_a_host_down_past_the_limit_gives_one_dead_letter_then_nothing(server, tmp_path, monkeypatch):
    _down, port = _down_host()
    base = f"http://127.0.0.1:{port}"
    feeds = _articles_feed(server, tmp_path, base, ("/a/1",))
    state = ["--state", str(tmp_path / "state")]
    clock = [dt.datetime.now(dt.UTC)]
    monkeypatch.setattr(batch, "run_clock", lambda: clock[0])

    def run_at(hours_later: float) -> tuple[list[dict], dict]:
        clock[0] += dt.timedelta(hours=hours_later)
        _events, dead, counts = run(feeds, tmp_path / "out", *LOOPBACK, *state)
        return dead, counts

    dead, counts = run_at(0)
    assert dead == [] and counts["fetch_retry_pending"] == 1
    dead, counts = run_at(0.1)  # the next run retries at once
    assert dead == [] and counts["fetch_retries"] == 1 and counts["fetch_retry_pending"] == 1
    dead, counts = run_at(0.1)  # then the entry waits ENTRY_RETRY_BASE
    assert dead == [] and counts["fetch_retries"] == 0 and counts["entries_retry_waiting"] == 1
    for _ in range(ENTRY_RETRY_LIMIT - 3):
        dead, counts = run_at(ENTRY_RETRY_MAX.total_seconds() / 3600)
        assert dead == [] and counts["fetch_retries"] == 1 and counts["fetch_retry_pending"] == 1
    dead, counts = run_at(ENTRY_RETRY_MAX.total_seconds() / 3600)  # the last attempt
    assert counts["fetch_retries_exhausted"] == 1 and counts["fetch_retry_pending"] == 0
    assert [(d["ref"], d["input"]["attempts"]) for d in dead] == [(base + "/a/1", ENTRY_RETRY_LIMIT)]
    assert dead[0]["reason"].startswith("robots.txt unreadable (connection failed")
    assert f"gave up after {ENTRY_RETRY_LIMIT} attempts" in dead[0]["reason"]
    dead, counts = run_at(ENTRY_RETRY_MAX.total_seconds() / 3600)
    assert dead == [] and counts["fetch_retries"] == 0 and counts["fetch_failed"] == 0


def test_permanent_failures_are_dead_lettered_once_and_not_retried(server, tmp_path):
    server.route("/gone", status=410)
    server.route("/report.pdf", b"%PDF-1.7\n", content_type="application/pdf")
    feeds = _articles_feed(server, tmp_path, server.base, ("/missing", "/gone", "/report.pdf"))
    state = ["--state", str(tmp_path / "state")]
    _events, dead, first = run(feeds, tmp_path / "out", *LOOPBACK, *state)
    assert sorted(d["reason"] for d in dead) == ["HTTP 404", "HTTP 410",
                                                 "content type 'application/pdf' is not an HTML page"]
    assert first["fetch_retry_pending"] == 0
    server.route("/feed.xml", rss([item(p, server.url(p)) for p in ("/missing", "/gone", "/report.pdf")]),
                 content_type="application/rss+xml")  # no ETag now: the feed is parsed again
    _events, dead, second = run(feeds, tmp_path / "out", *LOOPBACK, *state)
    assert dead == [] and second["entries_already_seen"] == 3 and second["fetch_retries"] == 0
    assert server.routes["/gone"].hits == 1


MARKET = (
    "Gunmen attacked a market in Maiduguri, Borno state, on Monday, killing at least 14 people and wounding 30, "
    "officials said. Witnesses said the attackers, believed to be Boko Haram fighters, arrived on motorcycles and "
    "opened fire on traders before setting stalls alight.",
    "The army said troops had been sent to the area and that a search for the attackers was under way. Residents "
    "fled to nearby villages and the state governor condemned the attack as barbaric.",
)
TOLL_RISEN = " Update: the toll has risen to at least 120 people killed, a local official said on Tuesday."


def market_page(paragraphs: tuple[str, ...]) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Gunmen attack market in "
            f"Maiduguri</title></head><body><article><h1>Gunmen attack market in Maiduguri</h1>{body}</article>"
            "</body></html>")


def atom(link: str, updated: str) -> str:
    return ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Wire</title>'
            f'<id>urn:wire</id><updated>{updated}</updated><entry><title>Gunmen attack market in Maiduguri</title>'
            f'<id>urn:wire:market</id><link href="{link}"/><published>2025-01-06T06:00:00Z</published>'
            f"<updated>{updated}</updated></entry></feed>")


def test_an_entry_its_feed_says_was_updated_is_fetched_again_and_is_the_events_next_revision(server, tmp_path,
                                                                                             capsys):
    page = server.route("/market", market_page(MARKET))
    feed = server.route("/wire.atom", atom(server.url("/market"), "2025-01-06T06:00:00Z"),
                        content_type="application/atom+xml")
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - url: {server.url('/wire.atom')}\n    name: Wire\n")
    state = ["--state", str(tmp_path / "state")]
    [original], _dead, first = run(feeds, tmp_path / "a", *LOOPBACK, *state)
    assert original["casualties"]["killed"]["count"] == 14 and original["revision"] == 1
    assert first["articles_fetched"] == 1 and first["entries_updated"] == 0

    # the same feed again: the entry was fetched, and its feed says nothing changed
    events, _dead, second = run(feeds, tmp_path / "b", *LOOPBACK, *state)
    assert events == [] and second["entries_already_seen"] == 1 and second["entries_updated"] == 0
    assert second["articles_fetched"] == 0 and page.hits == 1

    # the story updated in place, and the feed says so
    feed.body = atom(server.url("/market"), "2025-01-07T09:00:00Z").encode("utf-8")
    page.body = market_page((MARKET[0] + TOLL_RISEN, MARKET[1])).encode("utf-8")
    capsys.readouterr()
    [revised], dead, third = run(feeds, tmp_path / "c", *LOOPBACK, *state)
    assert "0 seen before, 1 updated since" in capsys.readouterr().out
    assert dead == [] and page.hits == 2
    assert third["entries_updated"] == 1 and third["entries_already_seen"] == 0 and third["articles_fetched"] == 1
    assert revised["event_id"] == original["event_id"] and revised["url"] == server.url("/market")
    assert revised["revision"] == 2 and revised["changes"] == ["killed 14 → 120"]
    assert third["revisions"] == 1

    # and once fetched, the update is seen like any other entry
    events, _dead, fourth = run(feeds, tmp_path / "d", *LOOPBACK, *state)
    assert events == [] and fourth["entries_already_seen"] == 1 and fourth["entries_updated"] == 0
    assert page.hits == 2
