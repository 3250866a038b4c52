"""Publish throughput to the Pub/Sub emulator: PubSubSink's publishing path against the raw client, same bytes."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.beam.sinks import PublishEventsDoFn  # noqa: E402
from pipelines.messages import event_message  # noqa: E402
from pipelines.testing.pubsub import EMULATOR, INSTALL_HINT, PROJECT, PubSubEmulator  # noqa: E402


def sample_events() -> list[dict[str, Any]]:
    """The shipped sample's events, from a real `sitrep run --sample`."""
    import json

    from pipelines.cli import main

    with tempfile.TemporaryDirectory() as out, contextlib.redirect_stdout(io.StringIO()):
        assert main(["run", "--sample", "--out", out, "--state", f"{out}/state"]) == 0
        return [json.loads(line) for path in Path(out).glob("events-*.jsonl") for line in open(path, encoding="utf-8")]


def sample_shaped(count: int) -> list[dict[str, Any]]:
    """`count` events cycling through the sample's, each with its own event_id (so its own message)."""
    base = sample_events()
    return [{**base[i % len(base)], "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench/{i}"))}
            for i in range(count)]


def new_topic(publisher: Any) -> str:
    return publisher.create_topic(name=f"projects/{PROJECT}/topics/bench-{time.monotonic_ns()}").name


def raw_client(events: list[dict[str, Any]]) -> float:
    """google-cloud-pubsub with its default batching, publishing the bytes and attributes the sink would
    (made before the clock starts), every future awaited; returns events per second."""
    from google.cloud import pubsub_v1

    messages = [event_message(e) for e in events]
    publisher = pubsub_v1.PublisherClient()
    topic = new_topic(publisher)
    started = time.perf_counter()
    futures = [publisher.publish(topic, m.data, **m.attributes) for m in messages]
    for future in futures:
        future.result(timeout=120)
    rate = len(events) / (time.perf_counter() - started)
    publisher.stop()
    return rate


def sink(events: list[dict[str, Any]]) -> float:
    """PubSubSink's DoFn as a runner drives it (setup, one bundle, finish_bundle awaiting every future): the
    event's JSON, attributes, trimming check, retry and flow-control policy all inside the clock."""
    from google.cloud import pubsub_v1

    topic = new_topic(pubsub_v1.PublisherClient())
    dofn = PublishEventsDoFn(topic)
    dofn.setup()
    started = time.perf_counter()
    dofn.start_bundle()
    for event in events:
        for _ in dofn.process(event) or ():
            raise RuntimeError("an event went to dead letters before publishing")
    dead = list(dofn.finish_bundle() or ())
    rate = len(events) / (time.perf_counter() - started)
    dofn.teardown()
    if dead:
        raise RuntimeError(f"{len(dead)} events not published: {dead[0]}")
    return rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5000, help="events per trial (default 5000)")
    parser.add_argument("--trials", type=int, default=5, help="trials of each, interleaved (default 5)")
    args = parser.parse_args(argv)
    if not EMULATOR.exists():
        print(f"bench_pubsub: skipped, {INSTALL_HINT.format(path=EMULATOR)}")
        return 0
    events = sample_shaped(args.events)
    size = sum(len(event_message(e).data) for e in events) / len(events)
    started = time.perf_counter()
    for event in events:
        event_message(event)
    encode = (time.perf_counter() - started) / len(events)
    emulator = PubSubEmulator().start()
    os.environ["PUBSUB_EMULATOR_HOST"] = emulator.host
    try:
        raw_client(events[:500]), sink(events[:500])  # warm up the emulator's JIT and both clients
        raw, ours = [], []
        for trial in range(args.trials):
            # alternate which goes first, so neither always meets the emulator after the other's backlog
            if trial % 2:
                ours.append(sink(events))
                raw.append(raw_client(events))
            else:
                raw.append(raw_client(events))
                ours.append(sink(events))
    finally:
        emulator.stop()
    raw_rate, sink_rate = statistics.median(raw), statistics.median(ours)
    print(f"bench_pubsub: {args.events} sample-shaped events ({size / 1000:.1f} kB each), median of {args.trials}, "
          "Pub/Sub emulator on 127.0.0.1")
    print(f"  raw client (default batching)  {raw_rate:8.0f} events/s   trials {', '.join(f'{r:.0f}' for r in raw)}")
    print(f"  PubSubSink publishing path     {sink_rate:8.0f} events/s   trials {', '.join(f'{r:.0f}' for r in ours)}")
    print(f"  ratio sink / raw client        {sink_rate / raw_rate:8.2f}x")
    # The raw client is handed ready bytes; the sink makes them (JSON and attributes) inside its clock.
    print(f"  of which the sink's encoding   {encode * 1e6:8.0f} us/event (JSON + attributes; the raw client's "
          f"bytes are made before its clock), {encode * raw_rate:.2f}x of the raw client's time per event")
    return 0


if __name__ == "__main__":
    sys.exit(main())
