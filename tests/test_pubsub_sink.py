"""Events on a Pub/Sub topic from `sitrep run`, checked against the real emulator: the same events as the files,
attributes that subscription filters read, oversized events trimmed, and no event lost when Pub/Sub stops."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

import pytest

from pipelines.cli import ExitStatus, main
from pipelines.events import validate_event
from pipelines.messages import event_attributes, event_data, event_message
from pipelines.testing.pubsub import PROJECT, unique_id, wait_for
from tests.test_cli import outputs, read_jsonl, served_feeds  # noqa: F401 - fixture reused

pubsub_v1 = pytest.importorskip("google.cloud.pubsub_v1")
# pull_all asks for an immediate answer: a blocking pull on an empty subscription waits out its whole deadline.
pytestmark = pytest.mark.filterwarnings("ignore:The return_immediately flag:DeprecationWarning")


def make_topic(name: str = "events") -> tuple[str, str]:
    """A fresh topic and a subscription on it, on whichever emulator PUBSUB_EMULATOR_HOST names."""
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    topic = publisher.create_topic(name=f"projects/{PROJECT}/topics/{unique_id(name)}").name
    subscription = subscriber.create_subscription(
        name=f"projects/{PROJECT}/subscriptions/{unique_id(name + '-sub')}", topic=topic).name
    return topic, subscription


def pull_all(subscription: str, expect: int | None = None, quiet: float = 1.0, timeout: float = 20.0) -> list:
    """Every message on the subscription (acknowledged), waiting until `expect` arrived or none came for `quiet` s."""
    subscriber = pubsub_v1.SubscriberClient()
    messages, last = [], time.monotonic()
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        response = subscriber.pull(subscription=subscription, max_messages=500, timeout=5, return_immediately=True)
        if response.received_messages:
            messages += [r.message for r in response.received_messages]
            subscriber.acknowledge(subscription=subscription, ack_ids=[r.ack_id for r in response.received_messages])
            last = time.monotonic()
        elif (expect is not None and len(messages) >= expect) or time.monotonic() - last > quiet:
            break
        else:
            time.sleep(0.05)
    return messages


def test_sample_run_publishes_exactly_the_events_the_files_hold(pubsub_emulator, tmp_path, capsys):
    topic, subscription = make_topic()
    out = tmp_path / "out"
    assert main(["run", "--sample", "--out", str(out), "--pubsub-topic", topic]) == 0
    events, _dead, summary = outputs(out)
    messages = pull_all(subscription, expect=len(events))

    # same ids, same JSON, byte for byte the files' lines
    lines = {json.loads(line)["event_id"]: line.rstrip("\n").encode("utf-8")
             for line in open(next(out.glob("events-*.jsonl")), encoding="utf-8")}
    by_id = {m.attributes["event_id"]: m for m in messages}
    assert len(messages) == len(by_id) == len(events) == 6
    assert {eid: m.data for eid, m in by_id.items()} == lines
    counts = summary["counts"]
    assert counts["events_published"] == 6 and counts["publish_failed"] == 0
    assert re.search(r"^publish +6 +6 +0 ", capsys.readouterr().out, re.MULTILINE)

    # attributes are what README's filters read: is_conflict, countries (strongest first), topics, ...
    for event in events:
        attributes = dict(by_id[event["event_id"]].attributes)
        assert attributes["is_conflict"] == ("true" if event["conflict"]["is_conflict"] else "false")
        assert attributes["schema_version"] == event["schema_version"] == "1.0"
        assert attributes["language"] == event["language"]
        assert attributes["source_domain"] == event["source"]["domain"]
        assert attributes["topics"].split(",") == [t["code"] for t in event["topics"]] or attributes["topics"] == ""
    seed = by_id[next(e["event_id"] for e in events if "isis-attack-prison" in e["canonical_url"])]
    assert seed.attributes["is_conflict"] == "true"
    assert seed.attributes["topics"]  # the prison attack fires topic codes a filter can select on


def test_attributes_read_by_a_syria_conflict_filter():
    """`attributes.is_conflict = "true" AND hasPrefix(attributes.countries, "SY")` and `attributes:country_SY`
    (the emulator stores filters but does not apply them, so the attributes themselves are checked)."""
    event = {
        "event_id": "6d1f1c1e-0000-5000-8000-000000000001", "schema_version": "1.0", "language": "en",
        "source": {"domain": "frontline-daily.example"}, "conflict": {"is_conflict": True, "score": 0.9},
        "topics": [{"code": "strategic_developments.prison_attack", "score": 0.6},
                   {"code": "battles.armed_clash", "score": 0.8}],
        "locations": [{"country_code": "IQ"}, {"country_code": "SY"}, {"country_code": "SY"}, {"country_code": None}],
    }
    attributes = event_attributes(event)
    assert attributes["is_conflict"] == "true"
    assert attributes["countries"] == "SY,IQ" and attributes["countries"].startswith("SY")
    assert attributes["country_SY"] == attributes["country_IQ"] == "true"
    assert attributes["topics"] == "battles.armed_clash,strategic_developments.prison_attack"
    no_places = event_attributes({**event, "locations": [], "topics": []})
    assert no_places["countries"] == "" and no_places["topics"] == ""
    assert not any(k.startswith("country_") for k in no_places)


def test_oversized_event_is_trimmed_and_flagged_not_rejected(pubsub_emulator):
    text = ("A very long report.\n" + "Fighting continued \"overnight\" near the prison — " * 400_000)
    event = {"event_id": "6d1f1c1e-0000-5000-8000-000000000002", "schema_version": "1.0", "language": "en",
             "source": {"domain": "x.example"}, "conflict": {"is_conflict": True}, "topics": [], "locations": [],
             "text": text, "flags": ["no_date"]}
    assert len(event_data(event)) > 10_000_000
    message = event_message(event)
    assert message.trimmed and len(message.data) <= 9_000_000
    body = json.loads(message.data)
    assert body["flags"] == ["no_date", "text_trimmed"]
    assert text.startswith(body["text"]) and len(body["text"]) > 8_000_000

    # and Pub/Sub takes it
    topic, _subscription = make_topic("big")
    publisher = pubsub_v1.PublisherClient()
    assert publisher.publish(topic, message.data, **message.attributes).result(timeout=30)


def _stop_emulator_when_fetching_ends(server, emulator, outage: float) -> threading.Thread:
    """Freeze the emulator once the last page has been fetched (publishing starts after the dedup stage has
    seen every article), and start it again after `outage` seconds."""
    def watch() -> None:
        wait_for(lambda: len(server.requests) >= 12, timeout=30)  # 3 feeds and 9 pages (one of them gone)
        emulator.pause()
        time.sleep(outage)
        emulator.resume()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def _run_with_outage(served_feeds, server, emulator, out: Path, outage: float,  # noqa: F811
                     timeout: float) -> tuple[int, list[dict], list[dict], dict, list]:
    topic, subscription = make_topic("outage")
    watcher = _stop_emulator_when_fetching_ends(server, emulator, outage)
    status = main(["run", "--feeds", str(served_feeds), "--out", str(out), "--allow-hosts", "127.0.0.0/8",
                   "--pubsub-topic", topic, "--pubsub-timeout", str(timeout)])
    watcher.join(timeout=outage + 30)
    events, dead, summary = outputs(out)
    return status, events, dead, summary, pull_all(subscription, quiet=2.0)


def test_emulator_stopped_and_started_within_the_retry_budget(served_feeds, server, own_emulator, tmp_path):  # noqa: F811
    status, events, _dead, summary, messages = _run_with_outage(served_feeds, server, own_emulator,
                                                                tmp_path / "out", outage=3.0, timeout=20.0)
    # retried with backoff until Pub/Sub was back: every event published, the run a success
    assert status == 0
    assert summary["counts"]["events_published"] == len(events) == 6
    assert {m.attributes["event_id"] for m in messages} == {e["event_id"] for e in events}


def test_emulator_stopped_longer_than_the_budget_loses_nothing(served_feeds, server, own_emulator, tmp_path,  # noqa: F811
                                                               capsys):
    started = time.monotonic()
    status, events, dead, summary, messages = _run_with_outage(served_feeds, server, own_emulator,
                                                               tmp_path / "out", outage=6.0, timeout=2.0)
    assert time.monotonic() - started < 40  # bounded: the run ends although Pub/Sub did not answer in time
    counts = summary["counts"]
    unpublished = {d["ref"] for d in dead if d["stage"] == "publish"}
    on_topic = {m.attributes["event_id"] for m in messages}
    every = {e["event_id"] for e in events}
    # every event is on the topic or in dead letters, and the summary says how many of each
    assert counts["events_published"] + counts["publish_failed"] == len(every) == 6
    assert len(unpublished) == counts["publish_failed"] > 0
    assert every <= on_topic | unpublished
    # none reported as published that is not on the topic (a timed-out publish the emulator took after it came
    # back is on the topic and in dead letters: a duplicate, never a loss)
    assert every - unpublished <= on_topic
    # the dead letter carries the whole event, ready to publish again
    letter = next(d for d in dead if d["stage"] == "publish")
    validate_event(letter["input"]["event"])
    assert status == ExitStatus.NOT_PUBLISHED
    assert "were not published" in capsys.readouterr().err


def test_bad_topic_is_refused_before_the_run(tmp_path, capsys):
    assert main(["run", "--sample", "--out", str(tmp_path), "--pubsub-topic", "events"]) == 2
    assert "projects/PROJECT/topics/TOPIC" in capsys.readouterr().err
    assert main(["run", "--sample", "--out", str(tmp_path), "--sinks", "pubsub"]) == 2


def test_pubsub_instead_of_files(pubsub_emulator, tmp_path):
    topic, subscription = make_topic()
    out = tmp_path / "out"
    assert main(["run", "--sample", "--out", str(out), "--pubsub-topic", topic, "--sinks", "pubsub",
                 "--ordering-key", "event_id"]) == 0
    assert not list(out.glob("events-*.jsonl"))
    assert read_jsonl(str(out / "dead-letters-*.jsonl"))
    messages = pull_all(subscription, expect=6)
    assert len(messages) == 6
    assert all(m.ordering_key == m.attributes["event_id"] for m in messages)
    # With no events file the summary still names the top topics and countries: they are counted as events
    # are made, and agree with what was published.
    summary = json.loads((out / "run-summary.json").read_text(encoding="utf-8"))
    published = [json.loads(m.data) for m in messages]
    mali = sum(any(p.get("country_code") == "ML" for p in e["locations"]) for e in published)
    assert {"country_code": "ML", "name": "Mali", "events": mali} in summary["top_countries"] and mali == 1
    displacement = sum(any(t["code"] == "tags.displacement" for t in e["topics"]) for e in published)
    assert summary["top_topics"][0] == {"code": "tags.displacement", "label": "Displacement", "events": displacement}


def test_tail_prints_events_as_they_arrive(pubsub_emulator, tmp_path, capsys):
    topic, subscription = make_topic("tail")
    assert main(["run", "--sample", "--out", str(tmp_path), "--pubsub-topic", topic]) == 0
    capsys.readouterr()
    assert main(["tail", "--subscription", subscription, "--max", "6", "--timeout", "20"]) == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(e["event_id"] for e in printed) == sorted(e["event_id"] for e in outputs(tmp_path)[0])


def test_deploy_script_creates_topic_dead_letter_topic_and_filtered_subscription(pubsub_emulator):
    import runpy

    create = runpy.run_path(str(Path(__file__).parents[1] / "deploy/pubsub/create_resources.py"))["create"]
    topic, dead, sub = create(PROJECT, unique_id("deploy"), unique_id("deploy-sub"),
                              'attributes.is_conflict = "true" AND attributes:country_SY')
    subscription = pubsub_v1.SubscriberClient().get_subscription(subscription=sub)
    assert subscription.topic == topic and subscription.dead_letter_policy.dead_letter_topic == dead
    assert subscription.filter == 'attributes.is_conflict = "true" AND attributes:country_SY'


def test_dead_letter_message_too_large_keeps_what_it_was():
    from pipelines.messages import dead_letter_message

    letter = {"stage": "publish", "reason": "too large", "ref": "6d1f1c1e-0000-5000-8000-000000000003",
              "input": {"event": {"text": "x" * 10_000_000}}, "at": "2022-01-25T10:00:00Z"}
    data, attributes = dead_letter_message(letter)
    body = json.loads(data)
    assert len(data) < 10_000 and "over Pub/Sub's message limit" in body["input"]["omitted"]
    kept = ("stage", "reason", "ref", "at")
    assert {k: body[k] for k in kept} == {k: letter[k] for k in kept}
    assert attributes == {"stage": "publish", "ref": letter["ref"]}
