"""`sitrep stream` against a loopback feed that gains entries while it runs, publishing events and dead letters
to the real emulator."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from pipelines.cli import ExitStatus, main
from pipelines.testing.pubsub import wait_for
from tests.test_pubsub_sink import make_topic, pull_all

pytestmark = pytest.mark.filterwarnings("ignore:The return_immediately flag:DeprecationWarning")

PAGES = {
    "/world/africa/gunmen-kill-villagers-central-mali": "frontline-gunmen-kill-villagers-central-mali.html",
    "/world/europe/ceasefire-talks-resume-geneva": "frontline-ceasefire-talks-resume-geneva.html",
    "/world/middle-east/clashes-continue-isis-attack-prison-syria":
        "frontline-clashes-continue-isis-attack-prison-syria.html",
}


def rss(server, paths: list[str]) -> str:
    items = "".join(
        f"<item><title>{path.rsplit('/', 1)[1]}</title><link>{server.url(path)}</link>"
        f"<guid>{server.url(path)}</guid><pubDate>Tue, 25 Jan 2022 10:00:00 GMT</pubDate></item>"
        for path in paths
    )
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Frontline</title>'
            f"<link>{server.base}</link><description>world</description>{items}</channel></rss>")


def test_stream_publishes_each_new_article_once(pubsub_emulator, server, sample, tmp_path, capsys):
    for path, name in PAGES.items():
        # the pages name their canonical URL on frontline-daily.example: ids are stable whoever serves them
        server.route(path, (sample / "pages" / name).read_bytes())
    old, new = list(PAGES)[:2], list(PAGES)[2]
    gone = "/world/africa/withdrawn-story"  # in the feed, but its page answers 404: a dead letter
    feed = server.route("/rss/world.xml", rss(server, [*old, gone]), content_type="application/rss+xml")
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - url: {server.url('/rss/world.xml')}\n    name: Frontline Daily\n")
    topic, subscription = make_topic("stream")
    dead_topic, dead_subscription = make_topic("stream-dead")

    def publish_a_new_article() -> None:
        # once the job has polled the feed a few times, the feed gains an entry (and keeps the old ones,
        # plus a tracking-parameter link to an old article, which must not come out again)
        wait_for(lambda: feed.hits >= 3, timeout=30)
        feed.body = rss(server, [*old, gone, new, old[0] + "?utm_source=rss"]).encode()

    threading.Thread(target=publish_a_new_article, daemon=True).start()
    started = time.monotonic()
    status = main(["stream", "--feeds", str(feeds), "--pubsub-topic", topic, "--allow-hosts", "127.0.0.0/8",
                   "--poll-interval", "0.5", "--duration", "6", "--dead-letter-topic", dead_topic])
    elapsed = time.monotonic() - started
    assert status == 0, capsys.readouterr().err
    messages = pull_all(subscription, quiet=1.5)

    ids = [m.attributes["event_id"] for m in messages]
    urls = sorted(json.loads(m.data)["canonical_url"].split("example", 1)[1] for m in messages)
    assert urls == sorted(PAGES)  # the two old articles and the new one ...
    assert len(ids) == len(set(ids)) == 3  # ... once each, though the feed was polled again and again
    assert feed.hits >= 6
    assert all(m.attributes["is_conflict"] in ("true", "false") for m in messages)
    assert elapsed < 45
    assert "3 events published to" in capsys.readouterr().out

    # the withdrawn story is on the dead-letter topic once (its entry is not fetched again on later polls),
    # as the DeadLetter's JSON, with stage and ref as attributes
    letters = pull_all(dead_subscription, quiet=1.0)
    assert len(letters) == 1
    letter = json.loads(letters[0].data)
    assert set(letter) == {"stage", "reason", "ref", "input", "at"}
    assert letter["stage"] == letters[0].attributes["stage"] == "fetch"
    assert letter["ref"] == letters[0].attributes["ref"] == server.url(gone)
    assert "404" in letter["reason"]
    assert letter["input"]["entry"]["link"] == server.url(gone)


def test_stream_refuses_a_bad_dead_letter_topic(tmp_path, capsys):
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds:\n  - url: http://127.0.0.1:9/feed.xml\n")
    assert main(["stream", "--feeds", str(feeds), "--pubsub-topic", "projects/sitrep-test/topics/events",
                 "--dead-letter-topic", "dead", "--duration", "1"]) == ExitStatus.USAGE
    assert "--dead-letter-topic 'dead' is not projects/PROJECT/topics/TOPIC" in capsys.readouterr().err


def test_stream_with_pubsub_unreachable_fails_in_about_its_duration(server, sample, tmp_path, monkeypatch, capsys):
    # Pub/Sub "down": the emulator's address points at a loopback port nobody listens on.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", f"127.0.0.1:{port}")
    old = list(PAGES)[:2]
    for path in old:
        server.route(path, (sample / "pages" / PAGES[path]).read_bytes())
    server.route("/rss/world.xml", rss(server, old), content_type="application/rss+xml")
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - url: {server.url('/rss/world.xml')}\n")
    started = time.monotonic()
    status = main(["stream", "--feeds", str(feeds), "--pubsub-topic", "projects/sitrep-test/topics/events",
                   "--allow-hosts", "127.0.0.0/8", "--poll-interval", "0.5", "--duration", "3"])
    elapsed = time.monotonic() - started
    captured = capsys.readouterr()
    assert status == ExitStatus.NOT_PUBLISHED, captured.err
    assert "2 events were not published" in captured.err.splitlines()[-1]
    assert "0 events published to projects/sitrep-test/topics/events, 2 not published" in captured.out
    assert elapsed < 30  # a publish is bounded by the run's duration, not the 60 s --pubsub-timeout
