"""`sitrep dashboard`: the event store and its revisions, the folder follower, and the live page itself, in
headless Chromium, fed by the real Pub/Sub emulator and by a run's output folder."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.dashboard.sources import FolderFollower
from pipelines.dashboard.store import BadMessage, EventStore, StoredRevision
from pipelines.testing.browser import INSTALL_HINT, chromium_available, chromium_page
from pipelines.testing.pubsub import PROJECT, unique_id, wait_for

ROOT = Path(__file__).resolve().parents[1]
# Where a person who wants to look at the page finds its screenshot (SITREP_SCREENSHOTS=DIR); none by default.
SCREENSHOTS = os.environ.get("SITREP_SCREENSHOTS")
SEEN = 10_000  # ms a page has to show what was published or written
needs_chromium = pytest.mark.skipif(not chromium_available(), reason=INSTALL_HINT)


def event(event_id: str = "e-1", revision: int = 1, **fields: object) -> dict:
    return {"event_id": event_id, "revision": revision, "title": f"{event_id} r{revision}", "changes": [], **fields}


def line(value: dict) -> bytes:
    return json.dumps(value).encode("utf-8")


@pytest.fixture(scope="module")
def sample_events(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """The sample run's events, each line as the files sink wrote it (and as Pub/Sub carries it)."""
    out = tmp_path_factory.mktemp("sample-run")
    assert main(["run", "--sample", "--out", str(out), "--state", str(out / "state")]) == 0
    lines = [raw for path in sorted(out.glob("events-*.jsonl")) for raw in path.read_bytes().splitlines() if raw]
    assert len(lines) == 6
    return lines


def by_url(lines: list[bytes], fragment: str) -> dict:
    return next(json.loads(raw) for raw in lines if fragment in json.loads(raw)["canonical_url"])


# --- the store ---------------------------------------------------------------------------------------------


def test_every_revision_is_kept_in_order_and_the_latest_is_shown():
    store = EventStore()
    store.add(line(event("a", 2, changes=["killed 14 → 20"])))
    store.add(line(event("b")))
    store.add(line(event("a", 1)))  # an earlier revision arriving late is kept, below the later one
    assert [e["revision"] for e in store.revisions("a")] == [1, 2]
    assert {e["event_id"]: e["revision"] for e in store.latest()} == {"a": 2, "b": 1}
    assert store.revisions("a")[-1]["changes"] == ["killed 14 → 20"]
    assert store.status()["events"] == 2 and store.status()["revisions"] == 3


def test_the_article_text_is_not_kept():
    store = EventStore()
    store.add(line(event("a", text="A long article. " * 1000, summary="Short.")))
    assert "text" not in store.latest()[0] and store.latest()[0]["summary"] == "Short."


def test_a_revision_delivered_twice_is_kept_once():
    store = EventStore()
    assert isinstance(store.add(line(event("a"))), StoredRevision)
    assert store.add(line(event("a"))) is None  # Pub/Sub delivers at least once
    assert len(store.since(0)) == 1 and store.duplicates == 1


def test_memory_is_bounded_and_the_least_recently_revised_go_first():
    store = EventStore(max_events=3, max_revisions=2)
    for name in "abcd":
        store.add(line(event(name)))
    assert [e["event_id"] for e in store.latest()] == ["b", "c", "d"] and store.forgotten == 1
    store.add(line(event("b", 2)))  # revised: now the most recent
    store.add(line(event("e")))
    assert [e["event_id"] for e in store.latest()] == ["d", "b", "e"]
    store.add(line(event("b", 3)))
    assert [e["revision"] for e in store.revisions("b")] == [2, 3]  # at most two revisions an event
    assert store.add(line(event("b", 1))) is None  # older than every revision kept: not taken back


def test_messages_that_are_not_events_are_counted_with_their_reason():
    store = EventStore()
    taken = [store.add(data) for data in (b"not json", b"\xff\xfe", b"[1, 2]", b'{"title": "no id"}',
                                          line(event("a", 0)), line(event("a", revision="2")), b"x" * 500)]
    assert all(isinstance(t, BadMessage) for t in taken)
    assert [b["reason"] for b in store.status()["recent_bad"]] == [
        "not JSON", "not UTF-8", "not an event (a JSON list, not an object)", "not an event (no event_id)",
        "not an event (revision 0 is not a positive integer)",
        "not an event (revision '2' is not a positive integer)", "not JSON"]
    assert store.bad == 7 and len(store) == 0
    assert len(store.status()["recent_bad"][-1]["excerpt"]) <= 201


def test_a_reconnecting_page_gets_what_came_after_its_last_id():
    store = EventStore()
    for name in "abc":
        store.add(line(event(name)))
    store.add(line(event("a", 2)))
    assert [(r.event_id, r.revision) for r in store.since(2)] == [("c", 1), ("a", 2)]
    assert store.since(store.since(0)[-1].seq) == []


def test_folder_follower_reads_new_whole_lines_and_new_files(tmp_path):
    follower = FolderFollower(str(tmp_path))
    assert follower.poll() == []
    first = tmp_path / "events-run1-00000-of-00001.jsonl"
    first.write_bytes(b'{"event_id": "a"}\n{"event_id": "b"}\n{"event_id": "c"')  # the last line half written
    (tmp_path / "dead-letters-run1-00000-of-00001.jsonl").write_bytes(b'{"stage": "fetch"}\n')
    assert follower.poll() == [b'{"event_id": "a"}', b'{"event_id": "b"}']
    with first.open("ab") as handle:
        handle.write(b"}\n\n")
    (tmp_path / "events-run2-00000-of-00001.jsonl").write_bytes(b'{"event_id": "d"}\n')
    assert follower.poll() == [b'{"event_id": "c"}', b'{"event_id": "d"}']
    assert follower.poll() == []


@pytest.mark.parametrize(("argv", "says"), [
    (["dashboard"], "follow one thing"),
    (["dashboard", "--subscription", "projects/sitrep-test/subscriptions/s", "--dir", "."], "follow one thing"),
    (["dashboard", "--subscription", "events"], "projects/PROJECT/subscriptions/SUBSCRIPTION"),
    (["dashboard", "--dir", "/nonexistent/sitrep-out"], "is not a folder"),
    (["dashboard", "--dir", ".", "--port", "70000"], "is not a port"),
])
def test_a_bad_flag_is_told_in_one_line(argv, says, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1


# --- the server, as a user starts it -----------------------------------------------------------------------


class RunningDashboard:
    """`sitrep dashboard` in a process of its own, and the URL it printed."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "dashboard", "--port", "0", *args],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.lines: queue.Queue[str] = queue.Queue()
        self.errors: list[str] = []  # stderr, drained all along so the process never blocks on a full pipe
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=lambda: self.errors.extend(self.process.stderr), daemon=True).start()
        printed = self.lines.get(timeout=20)
        found = re.search(r"sitrep dashboard: serving (http://127\.0\.0\.1:\d+/) ", printed)
        assert found, printed
        self.url = found.group(1)

    def _read(self) -> None:
        for text in self.process.stdout:
            self.lines.put(text)

    def get(self, path: str, **headers: str) -> bytes:
        request = urllib.request.Request(self.url + path.lstrip("/"), headers=headers)
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.read()

    def held(self) -> dict:
        return json.loads(self.get("api/events"))

    def stop(self, signum: int) -> tuple[int, float, str]:
        """Send the signal; the exit status, how long it took, and what it printed last."""
        started = time.monotonic()
        self.process.send_signal(signum)
        status = self.process.wait(timeout=10)
        return status, time.monotonic() - started, self.lines.get(timeout=5)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@contextlib.contextmanager
def dashboard(*args: str) -> Iterator[RunningDashboard]:
    running = RunningDashboard(*args)
    try:
        yield running
    finally:
        running.close()


def listed(page: object) -> list[str]:
    return page.eval_on_selector_all("#events li.event", "items => items.map(i => i.dataset.eventId)")


def wait_listed(page: object, count: int) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#events li.event")).to_have_count(count, timeout=SEEN)


def make_subscription() -> tuple[str, str]:
    from google.cloud import pubsub_v1

    topic = pubsub_v1.PublisherClient().create_topic(name=f"projects/{PROJECT}/topics/{unique_id('dash')}").name
    subscription = pubsub_v1.SubscriberClient().create_subscription(
        name=f"projects/{PROJECT}/subscriptions/{unique_id('dash-sub')}", topic=topic).name
    return topic, subscription


@needs_chromium
def test_events_published_appear_live_filter_and_show_their_revisions(pubsub_emulator, sample_events):
    from google.cloud import pubsub_v1
    from playwright.sync_api import expect

    from pipelines.messages import event_message

    topic, subscription = make_subscription()
    publisher = pubsub_v1.PublisherClient()

    def publish(value: dict | bytes) -> None:
        if isinstance(value, bytes):
            publisher.publish(topic, value).result(timeout=10)
        else:
            message = event_message(value)
            publisher.publish(topic, message.data, **message.attributes).result(timeout=10)

    events = [json.loads(raw) for raw in sample_events]
    syria = by_url(sample_events, "isis-attack-prison")
    mali = by_url(sample_events, "central-mali")
    with dashboard("--subscription", subscription) as running, chromium_page() as browsed:
        page = browsed.page
        for value in events[:3]:
            publish(value)
        assert wait_for(lambda: running.held()["status"]["events"] == 3, timeout=10), running.errors
        page.goto(running.url)  # a page opened late gets the events seen so far
        wait_listed(page, 3)
        for value in events[3:]:
            publish(value)
        publish(b"this is not JSON")
        publish(b'{"title": "an object, not an event"}')
        wait_listed(page, 6)  # then the live ones
        expect(page.locator("#bad-count")).to_have_text("2 bad messages", timeout=SEEN)
        # (a function, not an expression: the page's policy forbids the eval Playwright uses for an expression)
        page.wait_for_function("() => document.body.dataset.map === 'drawn' && "
                               "document.querySelectorAll('#map circle.dot').length >= 2", timeout=SEEN)
        assert page.locator("#map path.country.has-events").count() >= 3  # Syria, Iraq, Mali, the UK
        assert page.locator("#timeline rect.bar").count() >= 1

        # a country filter hides the others, from the list and the map; clearing it shows them again
        page.select_option("#filter-country", "SY")
        wait_listed(page, 1)
        assert listed(page) == [syria["event_id"]]
        assert page.eval_on_selector_all("#map circle.dot", "c => c.map(d => d.dataset.eventId)") == [syria["event_id"]]
        page.click("#clear-filters")
        wait_listed(page, 6)
        page.dispatch_event('#map path.country[data-country="ML"]', "click")  # a country on the map filters too
        wait_listed(page, 1)
        assert listed(page) == [mali["event_id"]] and page.input_value("#filter-country") == "ML"
        page.dispatch_event('#map path.country[data-country="ML"]', "click")  # and a second click clears it
        wait_listed(page, 6)
        page.select_option("#filter-language", "en")
        wait_listed(page, 6)
        page.select_option("#filter-topic", "protests")
        wait_listed(page, 1)
        page.click("#clear-filters")
        wait_listed(page, 6)
        page.check("#filter-conflict")
        wait_listed(page, sum(e["conflict"]["is_conflict"] for e in events))
        page.click("#clear-filters")
        wait_listed(page, 6)
        assert not page.is_checked("#filter-conflict")

        # a second revision of the Mali event: the list shows it, and its earlier revision with the changes
        casualties = {**mali["casualties"], "killed": {"count": 20, "evidence": ["At least 20 villagers were killed."]}}
        publish({**mali, "revision": 2, "changes": ["killed 14 → 20"], "casualties": casualties})
        item = page.locator(f'#events li.event[data-event-id="{mali["event_id"]}"]')
        item.locator(".revision-count").wait_for(timeout=SEEN)
        assert item.locator(".revision-count").text_content() == "rev 2 · 2 revisions"
        assert "20 killed" in item.locator(".casualties").first.text_content()
        item.locator("details.revisions summary").click()
        revisions = item.locator(".revision-list li.revision")
        assert [revisions.nth(i).get_attribute("data-revision") for i in range(revisions.count())] == ["2", "1"]
        assert revisions.nth(0).locator(".changes li").all_text_contents() == ["killed 14 → 20"]
        assert "14 killed" in revisions.nth(1).text_content()
        assert len(listed(page)) == 6  # a revision, not a new event

        # event text is text: the title is a link to the article, nothing from the event is markup
        link = page.locator(f'#events li.event[data-event-id="{syria["event_id"]}"] h3 a')
        assert link.get_attribute("href") == syria["canonical_url"] and link.text_content() == syria["title"]
        item.scroll_into_view_if_needed()
        if SCREENSHOTS:
            page.screenshot(path=str(Path(SCREENSHOTS) / "sitrep-dashboard.png"))
        assert browsed.outside == []
        assert browsed.console_errors == []

        status, took, last = running.stop(signal.SIGTERM)
    assert status == 0 and took < 5
    assert last.startswith("sitrep dashboard: stopped (6 events, 7 revisions, 2 bad messages seen)")


@needs_chromium
def test_a_missing_subscription_is_shown_and_the_server_stays_up(pubsub_emulator):
    missing = f"projects/{PROJECT}/subscriptions/{unique_id('missing')}"
    with dashboard("--subscription", missing) as running:
        assert wait_for(lambda: "NotFound" in str(running.held()["status"]["source"]["error"]), timeout=10)
        assert any(missing in text and "NotFound" in text for text in running.errors)  # and said on stderr
        status, took, _last = running.stop(signal.SIGTERM)
    assert status == 0 and took < 5


@needs_chromium
def test_a_run_folder_is_followed_as_files_grow(tmp_path, sample_events):
    from playwright.sync_api import expect

    events_file = tmp_path / "events-20220125T000000Z-abcdef-00000-of-00001.jsonl"
    events_file.write_bytes(b"\n".join(sample_events[:2]) + b"\n")
    with dashboard("--dir", str(tmp_path)) as running, chromium_page() as browsed:
        page = browsed.page
        page.goto(running.url)
        wait_listed(page, 2)
        with events_file.open("ab") as handle:  # a line appended, and a line half written
            handle.write(sample_events[2] + b"\nnot an event\n" + sample_events[3][:40])
        wait_listed(page, 3)
        with events_file.open("ab") as handle:
            handle.write(sample_events[3][40:] + b"\n")
        (tmp_path / "events-20220126T000000Z-fedcba-00000-of-00001.jsonl").write_bytes(
            b"\n".join(sample_events[4:]) + b"\n")  # the next run's file
        wait_listed(page, 6)
        expect(page.locator("#bad-count")).to_have_text("1 bad message", timeout=SEEN)
        assert sorted(listed(page)) == sorted(json.loads(raw)["event_id"] for raw in sample_events)
        assert browsed.outside == [] and browsed.console_errors == []

        # a page that reconnects says the last id it saw and gets only what came after it
        stream = urllib.request.urlopen(urllib.request.Request(running.url + "events", headers={"Last-Event-ID": "4"}),
                                        timeout=5)
        kinds, ids = [], []
        for raw in stream:
            text = raw.decode().strip()
            if text.startswith("event: "):
                kinds.append(text[7:])
            elif text.startswith("id: "):
                ids.append(int(text[4:]))
            if kinds and kinds[-1] == "status":
                break
        stream.close()
        assert kinds == ["hello", "revision", "revision", "status"] and ids == [5, 6]

        # answered on loopback names only (no DNS rebinding), with a policy that keeps the page on this server
        with pytest.raises(urllib.error.HTTPError) as refused:
            running.get("api/events", Host="dashboard.example")
        assert refused.value.code == 403
        with urllib.request.urlopen(running.url, timeout=5) as response:
            assert "default-src 'none'" in response.headers["Content-Security-Policy"]

        # an event's text is shown as text, and only an http(s) address becomes a link
        hostile = {**json.loads(sample_events[0]), "event_id": "hostile-1", "url": "javascript:alert(1)",
                   "canonical_url": "javascript:alert(1)", "title": '<img src=x onerror="document.title=1">Hi',
                   "source": {"name": "<b>Wire</b>", "domain": "wire.example"},
                   # and fields of the wrong shape are shown as far as they go, never stop the page
                   "published_at": None, "fetched_at": "yesterday", "casualties": "many", "summary": 7,
                   "topics": [{"code": "unknown.family", "label": 5, "evidence": "a string"}, "battles"],
                   "locations": [{"country_code": 7, "lat": "33.5", "lon": None}]}
        with events_file.open("ab") as handle:
            handle.write(line(hostile) + b"\n")
        wait_listed(page, 7)
        item = page.locator('#events li.event[data-event-id="hostile-1"]')
        assert item.locator("h3").text_content() == hostile["title"] and item.locator("h3 a").count() == 0
        assert item.locator(".source").text_content() == "<b>Wire</b>"
        assert page.locator("#events img, #events b").count() == 0 and page.title() == "sitrep dashboard"
        assert browsed.console_errors == []
        status, took, last = running.stop(signal.SIGINT)
    assert status == 0 and took < 5
    assert last.startswith("sitrep dashboard: stopped (7 events, 7 revisions, 1 bad message seen)")
