"""Dataflow dry runs: the batch and the streaming job translated for Dataflow, offline, and what they would submit."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.cli import main

ROOT = Path(__file__).resolve().parents[1]


def dataflow_dry_run() -> list[str]:
    # --no_auth and a dry run: no credentials, no request; the loopback guard fails the test on any attempt.
    return ["--runner=DataflowRunner", "--dry_run=True", "--no_auth", "--sdk_location=container",
            "--project=sitrep-test", "--region=europe-west1", "--temp_location=gs://sitrep-test/tmp",
            f"--setup_file={ROOT / 'setup.py'}"]


@pytest.fixture
def built(monkeypatch):
    """Each job description the CLI prints comes from dry_run_job: keep the last one for a closer look."""
    from pipelines.beam import dryrun

    jobs: list[dict] = []
    real = dryrun.dry_run_job

    def keep(result):
        job = real(result)
        jobs.append(job)
        return job

    monkeypatch.setattr("pipelines.beam.batch.dry_run_job", keep)
    monkeypatch.setattr("pipelines.beam.streaming.dry_run_job", keep)
    return jobs


def test_batch_dry_run_says_what_it_built_and_exits_0(tmp_path, capsys, built):
    out = tmp_path / "out"
    status = main(["run", "--sample", "--out", str(out), "--state", str(tmp_path / "state"), *dataflow_dry_run()])
    printed = capsys.readouterr()
    assert status == 0, printed.err
    assert "Dataflow dry run, nothing submitted: JOB_TYPE_BATCH job" in printed.out
    assert "project=sitrep-test region=europe-west1" in printed.out
    job = built[-1]
    assert job["steps"] == ["Feeds", "PollFeeds", "Spread", "FetchPages", "Extract", "Dedup", "TagToEvent",
                            "WriteEvents", "AllDeadLetters", "WriteDeadLetters", "CommitAfterSinks"]
    assert job["leaf_steps"] > len(job["steps"])
    assert "workflow.tar.gz" in job["staged"]  # the --setup_file's package, installed on each worker
    options = job["worker_options"]
    assert options["setup_file"] == str(ROOT / "setup.py")
    assert options["sample"] is True and options["out"] == str(out) and options["state"] == str(tmp_path / "state")
    assert options["project"] == "sitrep-test" and options["region"] == "europe-west1"
    assert not options.get("streaming")
    assert not list(out.glob("*.jsonl"))  # nothing ran
    assert not [p for p in (tmp_path / "state").rglob("*") if p.is_file()]  # nor a record of a run in progress


def test_stream_dry_run_says_what_it_built_and_exits_0(tmp_path, capsys, built):
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds:\n  - url: http://127.0.0.1:9/feed.xml\n")
    topic = "projects/sitrep-test/topics/events"
    status = main(["stream", "--feeds", str(feeds), "--pubsub-topic", topic, "--poll-interval", "60",
                   "--dead-letter-topic", "projects/sitrep-test/topics/dead", *dataflow_dry_run()])
    printed = capsys.readouterr()
    assert status == 0, printed.err
    assert "Dataflow dry run, nothing submitted: JOB_TYPE_STREAMING job" in printed.out
    job = built[-1]
    # on Dataflow as locally, events and dead letters go through sitrep's sinks (what fails is a dead letter)
    assert job["steps"] == ["Tick", "Feeds", "PollFeeds", "NewEntries", "FetchPages", "Extract", "NewArticles",
                            "TagToEvent", "PublishEvents", "AllDeadLetters", "LogDeadLetters", "DeadLettersToTopic"]
    assert "workflow.tar.gz" in job["staged"]
    options = job["worker_options"]
    assert options["streaming"] is True
    assert options["feeds"] == str(feeds) and options["pubsub_topic"] == topic
    assert options["poll_interval"] == 60.0 and options["dead_letter_topic"] == "projects/sitrep-test/topics/dead"
    assert options["setup_file"] == str(ROOT / "setup.py")
