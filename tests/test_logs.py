"""Log records for machines and people: the JSON formatter, the run id on every record, the fields of a record
about an item, and a real run whose stderr is a pipe."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines import logs

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    root.setLevel(level)
    logging.getLogger(logs.COMMAND_LOGGER).setLevel(logging.NOTSET)


def test_a_json_line_holds_the_record_its_extra_and_its_exception():
    record = logging.LogRecord("pipelines.beam.batch", logging.WARNING, __file__, 1, "dead letter: %s", ("x",), None)
    record.created = 1764810000.25
    record.stage, record.url, record.feed = "fetch", "https://n.example/a", None
    record.run_id = "R1"
    line = json.loads(logs.JsonFormatter().format(record))
    assert line == {"at": "2025-12-04T01:00:00.250Z", "level": "WARNING", "logger": "pipelines.beam.batch",
                    "message": "dead letter: x", "run_id": "R1", "stage": "fetch", "url": "https://n.example/a",
                    "feed": None}
    try:
        raise ValueError("bad \"quote\"\nand a line")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = json.loads(logs.JsonFormatter().format(record))
    assert line["run_id"] is None and "ValueError: bad" in line["exception"]
    assert "\n" not in logs.JsonFormatter().format(record)


def test_every_record_carries_the_run_id_in_the_format_asked(restore_logging):
    sink = io.StringIO()
    assert logs.setup("json", "20261204T010000Z-abc123", sink) == "json"
    logging.getLogger("apache_beam.runners").info("Beam chatter stays out")
    logging.getLogger("connectors.state").warning("segment %s vanished", "s1")
    logging.getLogger(logs.COMMAND_LOGGER).info("run finished", extra={"counts": {"events_written": 3}})
    records = [json.loads(line) for line in sink.getvalue().splitlines()]
    assert [r["message"] for r in records] == ["segment s1 vanished", "run finished"]
    assert {r["run_id"] for r in records} == {"20261204T010000Z-abc123"}
    assert records[1]["counts"] == {"events_written": 3} and records[1]["level"] == "INFO"
    # Set up again (a second command in one process): one handler, human lines, none of the command's records.
    assert logs.setup("human", None, sink) == "human"
    sink.seek(0)
    sink.truncate()
    logging.getLogger(logs.COMMAND_LOGGER).error("run failed: all 2 feeds polled failed")
    logging.getLogger("pipelines.beam.streaming").warning("dead letter: stage=poll")
    assert sink.getvalue() == "WARNING pipelines.beam.streaming: dead letter: stage=poll\n"


def test_auto_is_human_on_a_terminal_and_json_elsewhere():
    master, slave = os.openpty()
    try:
        with open(slave, "w", closefd=False) as terminal:
            assert logs.resolve("auto", terminal) == "human"
    finally:
        os.close(master)
        os.close(slave)
    assert logs.resolve("auto", io.StringIO()) == "json"
    assert logs.resolve("json", io.StringIO()) == "json"
    with pytest.raises(ValueError, match="choose from auto, human, json"):
        logs.resolve("xml", io.StringIO())


FEED = "https://feeds.example/world.xml"
LINK = "https://news.example/2026/attack"


@pytest.mark.parametrize(("letter", "fields"), [
    ({"stage": "poll", "reason": "fetch failed: HTTP 500", "ref": FEED, "input": {"feed": {"url": FEED}}},
     {"stage": "poll", "feed": FEED, "url": None}),
    ({"stage": "poll", "reason": "entry has no usable http(s) link", "ref": FEED,
      "input": {"feed": {"url": FEED}, "entry": {"link": None}}},
     {"stage": "poll", "feed": FEED, "url": None}),
    ({"stage": "fetch", "reason": "HTTP 404", "ref": LINK, "input": {"entry": {"link": LINK, "feed_url": FEED}}},
     {"stage": "fetch", "feed": FEED, "url": LINK}),
    ({"stage": "event", "reason": "schema", "ref": LINK, "input": {"url": LINK}},
     {"stage": "event", "feed": None, "url": LINK}),
    ({"stage": "publish", "reason": "publish failed", "ref": "ev1",
      "input": {"event": {"url": LINK, "source": {"feed_url": FEED}}}},
     {"stage": "publish", "feed": FEED, "url": LINK}),
    ({"stage": "input", "reason": "not JSON", "ref": "{oops", "input": {"line": "{oops"}},
     {"stage": "input", "feed": None, "url": None}),
])
def test_a_dead_letter_record_names_its_stage_feed_and_url(letter, fields, restore_logging):
    sink = io.StringIO()
    logs.setup("json", "R", sink)
    logs.log_dead_letter(logging.getLogger("pipelines.beam.batch"), {**letter, "at": "2026-12-04T00:00:00Z"})
    record = json.loads(sink.getvalue())
    assert {k: record[k] for k in fields} == fields
    assert record["reason"] == letter["reason"] and record["level"] == "WARNING" and record["run_id"] == "R"
    assert record["failed_at"] == "2026-12-04T00:00:00Z"


def test_a_run_through_a_pipe_logs_json_lines_and_draws_no_progress(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm"}
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "--sample", "--out", str(tmp_path / "out"),
                           "--state", str(tmp_path / "state")], capture_output=True, text=True, env=env,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr and "\x1b" not in done.stderr
    records = [json.loads(line) for line in done.stderr.splitlines()]
    run_id = json.loads((tmp_path / "out" / "run-summary.json").read_text())["run_id"]
    assert records and all(r["run_id"] == run_id for r in records)
    assert all({"at", "level", "logger", "message"} <= set(r) for r in records)
    dead = [r for r in records if r["message"].startswith("dead letter")]
    assert sorted((r["stage"], r["url"]) for r in dead) == [
        ("fetch", "https://news.meridian-wire.example/2022/01/25/aid-convoy-reaches-besieged-town"), ("poll", None)]
    assert all(r["reason"] and r["feed"] for r in dead)
    finished = records[-1]
    assert finished["message"] == "run finished" and finished["counts"]["events_written"] == 6
    assert "sitrep run " in done.stdout and "top countries" in done.stdout


def test_a_terminal_hears_the_first_dead_letters_then_one_line_json_hears_them_all(restore_logging):
    letters = [{"stage": "fetch", "reason": f"HTTP 50{i % 4}", "ref": f"https://n.example/{i}",
                "input": {"entry": {"link": f"https://n.example/{i}", "feed_url": FEED}}} for i in range(25)]
    logger = logging.getLogger("pipelines.beam.batch")
    human = io.StringIO()
    logs.setup("human", "R", human, dead_letter_limit=20)
    for letter in letters:
        logs.log_dead_letter(logger, letter)
    logger.warning("segment s1 vanished")  # other records are not held back
    lines = human.getvalue().splitlines()
    assert len(lines) == 22 and "https://n.example/19 " in lines[19]
    assert lines[20].endswith("more are not shown here; every one is in the run's dead-letters file")
    assert lines[21].endswith("segment s1 vanished")
    machine = io.StringIO()
    logs.setup("json", "R", machine, dead_letter_limit=20)
    for letter in letters:
        logs.log_dead_letter(logger, letter)
    heard = [json.loads(line)["url"] for line in machine.getvalue().splitlines()]
    assert heard == [letter["ref"] for letter in letters]
