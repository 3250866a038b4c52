"""The pipeline survives process boundaries: the portable runners give the in-process DirectRunner's events."""

from __future__ import annotations

import glob
import json
from pathlib import Path

import pytest

from pipelines.cli import main

# fetched_at is the clock at fetch time: the one field that may differ between two runs of the same input.
VOLATILE = ("fetched_at",)

RUNNERS = {
    "multi_processing": ["--direct_running_mode=multi_processing", "--direct_num_workers=2"],
    "portable_loopback": ["--runner=PortableRunner", "--job_endpoint=embed", "--environment_type=LOOPBACK"],
}


def events_by_id(out: Path) -> dict[str, dict]:
    events = {}
    for path in glob.glob(str(out / "events-*.jsonl")):
        for line in open(path, encoding="utf-8"):
            event = json.loads(line)
            for field in VOLATILE:
                event.pop(field)
            assert event["event_id"] not in events, "an event_id came out twice"
            events[event["event_id"]] = event
    return events


@pytest.fixture(scope="module")
def in_process(tmp_path_factory) -> dict[str, dict]:
    out = tmp_path_factory.mktemp("direct")
    assert main(["run", "--sample", "--out", str(out), "--run-id", "same-run", "--state", str(out / "state")]) == 0
    return events_by_id(out)


@pytest.mark.parametrize("runner", sorted(RUNNERS))
def test_portable_runners_give_the_same_events(runner, in_process, tmp_path):
    out = tmp_path / runner
    argv = ["run", "--sample", "--out", str(out), "--run-id", "same-run", "--state", str(tmp_path / "state")]
    assert main(argv + RUNNERS[runner]) == 0
    events = events_by_id(out)
    assert len(in_process) == 6
    assert events.keys() == in_process.keys()
    for event_id, event in events.items():
        assert event == in_process[event_id], f"{runner}: event {event_id} differs"
    summary = json.loads((out / "run-summary.json").read_text())
    assert summary["counts"]["events_written"] == 6
