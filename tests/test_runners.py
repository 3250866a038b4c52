"""The pipeline survives process boundaries: the portable runners give the in-process DirectRunner's events."""

from __future__ import annotations

import glob
import json
import logging
import pickle
from pathlib import Path

import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from pipelines.beam.options import RunOptions, SitrepOptions
from pipelines.beam.runners import local_runner
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


@pytest.mark.parametrize("argv", [[], ["--runner=DirectRunner"], ["--runner=direct"],
                                  ["--runner=SwitchingDirectRunner"], RUNNERS["multi_processing"]])
def test_a_direct_run_goes_to_the_fn_api_runner_not_prism(argv):
    # Beam's switching DirectRunner would first try Prism, downloading it from github.com (apache/beam#34612).
    from apache_beam.runners.portability.fn_api_runner.fn_runner import FnApiRunner

    runner = local_runner(PipelineOptions(argv))
    assert isinstance(runner, FnApiRunner)
    # The options reach the SDK workers of a multi-process run through the provision info, as Beam passes them.
    passed = runner._provision_info.provision_info.pipeline_options
    mode = "multi_processing" if argv == RUNNERS["multi_processing"] else "in_memory"
    assert passed["beam:option:direct_running_mode:v1"] == mode


@pytest.mark.parametrize("name", ["DataflowRunner", "PortableRunner", "PrismRunner", "FnApiRunner",
                                  "apache_beam.runners.dask.dask_runner.DaskRunner"])
def test_other_runners_are_beams_to_create(name):
    assert local_runner(PipelineOptions([f"--runner={name}"])) is None


def test_the_sample_run_stays_on_this_machine(tmp_path, loopback_only, caplog):
    # The loopback guard fails any test that looks up github.com; here it is also read back explicitly.
    caplog.set_level(logging.INFO)
    assert main(["run", "--sample", "--out", str(tmp_path / "out"), "--state", str(tmp_path / "state")]) == 0
    assert loopback_only == []
    assert not [r for r in caplog.records if "Prism" in r.getMessage()]
    assert json.loads((tmp_path / "out" / "run-summary.json").read_text())["counts"]["events_written"] == 6


def test_options_views_are_made_once_and_stay_views():
    argv = ["--runner=DirectRunner", "--out", "/tmp/o", "--direct_num_workers=2"]
    options = RunOptions(argv)
    standard = options.view_as(StandardOptions)
    assert options.view_as(StandardOptions) is standard  # Beam asks hundreds of times while building a pipeline
    # Still views of one store: a change through one is seen through the others, and in the options' dict.
    standard.streaming = True
    assert options.view_as(StandardOptions).streaming and options.get_all_options()["streaming"]
    options.view_as(SitrepOptions).only_conflict = True
    assert options.view_as(SitrepOptions).only_conflict
    plain = PipelineOptions(argv)
    plain.view_as(StandardOptions).streaming = True
    plain.view_as(SitrepOptions).only_conflict = True
    assert options.get_all_options() == plain.get_all_options()
    # Pickled without the views (a view would carry its own copy of the flags), and views again when read back.
    copy = pickle.loads(pickle.dumps(options))
    assert "_views" not in options.__getstate__()
    assert copy.view_as(SitrepOptions).out == "/tmp/o" and copy.view_as(StandardOptions).streaming
