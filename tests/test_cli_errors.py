"""What the `sitrep` command says when the user got something wrong or stopped it: bad paths, typos, options
of another command, Ctrl-C; and the run summaries a folder keeps. Each case runs the real command."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.cli import ExitStatus, main

ROOT = Path(__file__).resolve().parents[1]


def sitrep(*args: str, tmp_path: Path, stdin: str = "") -> subprocess.CompletedProcess:
    """The command as a user runs it, from this checkout, with its own (empty) default state folder."""
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "xdg"), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], input=stdin, capture_output=True,
                          text=True, timeout=120, check=False, cwd=tmp_path, env=env)


def in_process(capsys: pytest.CaptureFixture, *args: str) -> subprocess.CompletedProcess:
    """The same through main(), for the cases that fail before any pipeline is built (faster: no Beam import)."""
    capsys.readouterr()
    try:
        status = main(list(args))
    except SystemExit as exc:  # argparse's way out
        status = int(exc.code or 0)
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(list(args), status, captured.out, captured.err)


def one_line_error(done: subprocess.CompletedProcess, *words: str) -> str:
    """The command failed with exit 2 and one line on stderr naming every word; no traceback."""
    lines = done.stderr.strip().splitlines()
    assert done.returncode == ExitStatus.USAGE, done.stderr
    assert len(lines) == 1, done.stderr
    for word in words:
        assert word in lines[0]
    return lines[0]


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "a-file"
    path.write_text("not a folder\n")
    return path


@pytest.mark.parametrize("case", ["input missing", "input a folder", "out a file", "out under a file",
                                  "state a file", "state under a file", "replay missing"])
def test_path_errors_are_one_line_and_exit_2_before_anything_runs(case, tmp_path, a_file, capsys):
    out = tmp_path / "out"
    args = {
        "input missing": ["--input", str(tmp_path / "missing.jsonl"), "--out", str(out)],
        "input a folder": ["--input", str(tmp_path), "--out", str(out)],
        "out a file": ["--sample", "--out", str(a_file)],
        "out under a file": ["--sample", "--out", str(a_file / "sub")],
        "state a file": ["--sample", "--out", str(out), "--state", str(a_file)],
        "state under a file": ["--sample", "--out", str(out), "--state", str(a_file / "sub")],
        "replay missing": ["--sample", "--out", str(out), "--replay", str(tmp_path / "missing.warc.gz")],
    }[case]
    option = "--" + case.split()[0]
    one_line_error(in_process(capsys, "run", *args), f"sitrep run: {option}")
    assert not list(out.glob("events-*")) if out.exists() else True  # nothing was written: it never started


def test_typos_are_refused_with_a_suggestion(tmp_path):
    out = tmp_path / "out"
    line = one_line_error(sitrep("run", "--sample", "--out", str(out), "--only-conflcit", tmp_path=tmp_path),
                          "--only-conflcit")
    assert "--only-conflict" in line  # the option meant
    # an abbreviation is not taken for the option it starts (Beam, which parses the options again, would not)
    one_line_error(sitrep("run", "--sample", "--out", str(out), "--stat", str(tmp_path / "s"), tmp_path=tmp_path),
                   "--stat")
    assert not out.exists() and not (tmp_path / "xdg").exists() and not (tmp_path / "s").exists()


def test_options_of_another_command_are_refused(tmp_path, capsys):
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds:\n  - url: http://127.0.0.1:9/feed.xml\n")
    topic = "projects/sitrep-test/topics/events"
    for extra in (["--input", "x.jsonl"], ["--sample"], ["--out", "o"], ["--state", "s"]):
        one_line_error(in_process(capsys, "stream", "--feeds", str(feeds), "--pubsub-topic", topic, "--duration", "1",
                                  *extra), f"sitrep stream: {extra[0]}", "stream")
    one_line_error(in_process(capsys, "run", "--sample", "--out", "o", "--poll-interval", "5"),
                   "--poll-interval", "run")
    one_line_error(in_process(capsys, "feeds", "status", "--out", "o"), "--out")
    one_line_error(in_process(capsys, "tail", "--subscription", "projects/p/subscriptions/sub", "--runner=direct"),
                   "--runner")


def test_beam_options_pass_only_where_beam_knows_them():
    from pipelines.beam.options import check_beam_args

    check_beam_args("run", ["--runner=DirectRunner", "--direct_num_workers=2", "--project", "p", "--no_auth"])
    with pytest.raises(ValueError, match="--projet: unknown option; did you mean --project"):
        check_beam_args("run", ["--projet", "p"])
    with pytest.raises(ValueError, match="unexpected argument 'extra'"):
        check_beam_args("run", ["extra"])


def test_tag_reads_the_file_it_is_given(tmp_path):
    articles = tmp_path / "articles.jsonl"
    articles.write_text(json.dumps({"id": "seed", "title": "Clashes continue as a result of ISIS attack on prison",
                                    "text": "Militants attacked the prison in Hasaka."}) + "\n")
    done = sitrep("tag", str(articles), tmp_path=tmp_path, stdin="")
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["id"] for line in done.stdout.splitlines()] == ["seed"]
    one_line_error(sitrep("tag", str(tmp_path / "missing.jsonl"), tmp_path=tmp_path), "missing.jsonl")


def test_ctrl_c_stops_with_one_line_and_exit_130_committing_nothing(server, sample, tmp_path):
    frontline = "https://www.frontline-daily.example"
    feed = (sample / "feeds/frontline-world.xml").read_text()
    server.route("/feed.xml", feed.replace(frontline, server.base), content_type="application/rss+xml; charset=utf-8")
    for link in re.findall(frontline + r"(/[^<?]+)", feed):  # every page answers only after a minute
        server.route(link, "<html><body><p>slow</p></body></html>", delay=60)
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - url: {server.url('/feed.xml')}\n    robots: false\n")
    out, state = tmp_path / "out", tmp_path / "state"
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "xdg"), "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "run", "--feeds", str(feeds), "--out", str(out), "--state",
         str(state), "--allow-hosts", "127.0.0.0/8", "--host-delay", "0", "--run-id", "stopped"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
    deadline = time.monotonic() + 60
    while len(server.paths_requested()) < 2 and time.monotonic() < deadline:  # the feed, then a page
        time.sleep(0.1)
    assert len(server.paths_requested()) >= 2, "the run never fetched a page"
    process.send_signal(signal.SIGINT)
    _stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == ExitStatus.INTERRUPTED, stderr
    assert stderr.strip().splitlines() == ["sitrep run: interrupted; nothing was committed (no events, no new "
                                           "state): run it again"], stderr
    assert not list(out.glob("events-*")) and not list(out.glob("run-summary*"))
    assert not list(state.glob("*/segments/*"))

    # What it leaves is its record in the state, naming its process; the next run into the folder takes that as
    # proof the run is dead and removes its temp folder (here made as a kill in the middle of a write leaves it).
    from pipelines.beam.leftovers import read_run_record

    record = read_run_record(str(state), "stopped")
    assert record is not None and record.pid == process.pid
    (out / ".temp-stopped").mkdir(parents=True, exist_ok=True)
    (out / ".temp-stopped" / "partial").write_text('{"event_id": "half')
    assert main(["run", "--sample", "--out", str(out), "--state", str(state), "--run-id", "next"]) == 0
    assert not list(out.glob(".temp-*")) and read_run_record(str(state), "stopped") is None
    assert read_run_record(str(state), "next") is None  # a run that committed leaves no record


def test_ctrl_c_during_the_commit_says_so(tmp_path):
    # Once a run's files are in --out its last step, the commit, has begun: the line must not claim otherwise.
    from pipelines.cli import _interrupted

    out = tmp_path / "out"
    argv = ["--sample", "--out", str(out), "--run-id", "r1"]
    assert "nothing was committed" in _interrupted("run", argv)
    out.mkdir()
    (out / "events-r1-00000-of-00001.jsonl").write_text("")
    assert "while committing" in _interrupted("run", argv)


def test_each_run_keeps_its_summary_and_run_summary_json_is_the_last(tmp_path):
    path = tmp_path / "backfill.jsonl"
    path.write_text(json.dumps({"url": "https://n.example/1", "title": "Protest",
                                "text": "Police fired tear gas at protesters in the capital."}) + "\n")
    out = tmp_path / "out"
    for run_id in ("run-a", "run-b"):
        assert main(["run", "--input", str(path), "--out", str(out), "--run-id", run_id,
                     "--state", str(tmp_path / run_id)]) == 0
    first = json.loads((out / "run-summary-run-a.json").read_text())
    second = json.loads((out / "run-summary-run-b.json").read_text())
    assert first["run_id"] == "run-a" and first["counts"]["events_written"] == 1
    assert second["run_id"] == "run-b"
    assert json.loads((out / "run-summary.json").read_text()) == second


def test_temp_folders_of_dead_runs_are_removed_by_the_next_run(tmp_path):
    # A run killed while it wrote (kill -9, a lost machine) leaves its temp folder with partial files; the next
    # run into the same folder removes it once the state's record of that run shows its process is gone.
    from pipelines.beam.leftovers import RunRecord, this_host, write_run_record

    out, state = tmp_path / "out", str(tmp_path / "state")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    dead_pid, host = int(gone.stdout), this_host()
    write_run_record(state, RunRecord("dead-run", host, dead_pid, "2026-01-01T00:00:00Z"))
    write_run_record(state, RunRecord("live-run", host, os.getpid(), "2026-01-01T00:00:00Z"))
    write_run_record(state, RunRecord("submitted-job", host, None, "2026-01-01T00:00:00Z"))
    for run_id in ("dead-run", "live-run", "submitted-job", "unknown-run"):
        (out / f".temp-{run_id}").mkdir(parents=True)
        (out / f".temp-{run_id}" / "partial").write_text('{"event_id": "half')
    assert main(["run", "--sample", "--out", str(out), "--state", state]) == 0
    assert sorted(p.name for p in out.glob(".temp-*")) == [".temp-live-run", ".temp-submitted-job", ".temp-unknown-run"]
    assert sorted(p.name for p in Path(state, "runs").iterdir()) == ["live-run.json", "submitted-job.json"]



def test_a_failed_run_exits_1_with_its_reason_last(tmp_path):
    # A replay file that is no archive fails the pipeline on its first fetch: after the runner's own log of
    # where, one line says why, and nothing reached --out.
    bad = tmp_path / "bad.warc.gz"
    bad.write_text("not an archive\n")
    out = tmp_path / "out"
    done = sitrep("run", "--sample", "--replay", str(bad), "--out", str(out), "--state", str(tmp_path / "state"),
                  tmp_path=tmp_path)
    assert done.returncode == ExitStatus.FAILED
    assert done.stderr.strip().splitlines()[-1].startswith("sitrep run: failed: ArchiveLoadFailed: Unknown archive")
    assert not list(out.glob("events-*")) and not list((tmp_path / "state").glob("*/segments/*"))


def test_ctrl_c_stops_tag_with_one_line(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "tag"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
    process.stdin.write(json.dumps({"id": "1", "title": "Protest", "text": "Police fired tear gas."}) + "\n")
    process.stdin.flush()
    line = process.stdout.readline()  # tagged: the tagger is loaded and the command waits for more input
    assert json.loads(line)["id"] == "1"
    process.send_signal(signal.SIGINT)
    _stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == ExitStatus.INTERRUPTED
    assert stderr.strip().splitlines() == ["sitrep tag: interrupted; every line written is whole"]
