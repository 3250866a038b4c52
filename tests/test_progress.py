"""Live progress on a terminal and the summary table at the end of `sitrep run`: the tally, the line, the table,
and real runs under a pseudo-terminal and with every feed failing."""

from __future__ import annotations

import fcntl
import io
import json
import os
import re
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

from pipelines import progress
from pipelines.cli import ExitStatus, describe_summary, main
from pipelines.progress import ProgressLine, Tally

ROOT = Path(__file__).resolve().parents[1]


def test_tally_counts_every_increment_from_many_threads():
    tally = Tally()

    def work() -> None:
        for _ in range(5000):
            tally.add("articles_fetched")
            tally.add("dead_letters", 2)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert tally.snapshot() == {"articles_fetched": 40000, "dead_letters": 80000}


def test_a_line_counts_only_what_its_run_added():
    tally = Tally()
    tally.add("events_written", 7)  # an earlier run in the same process
    sink = io.StringIO()
    with ProgressLine(progress.run_line, sink, tally=tally) as line:
        tally.add("events_written", 3)
        tally.add("feeds_polled", 2)
        assert line.counts() == {"events_written": 3, "feeds_polled": 2}
        line.draw()
    drawn = sink.getvalue()
    assert "\r\x1b[K" in drawn and "feeds 2, 0 failed" in drawn and "events 3 " in drawn
    assert drawn.endswith("\r\x1b[K")  # cleared once the block ends, for what is written next


def test_a_disabled_line_writes_nothing():
    sink = io.StringIO()
    with ProgressLine(progress.run_line, sink, enabled=False):
        time.sleep(0.3)
    assert sink.getvalue() == ""


def test_lines_fit_80_columns_and_name_what_a_run_does():
    counts = {"feeds_polled": 1200, "feeds_failed": 31, "articles_fetched": 30000, "articles_extracted": 29500,
              "events_written": 25000, "dead_letters": 4100}
    line = progress.run_line(counts, 3725)
    assert line == "1h02m | feeds 1,200, 31 failed | fetched 30,000, extracted 29,500 | events 25,000 | dead 4,100"
    assert len(progress.run_line({"feeds_polled": 40, "articles_fetched": 900, "articles_extracted": 880,
                                  "events_written": 700, "dead_letters": 20}, 95)) <= 80
    assert progress.run_line({"input_records": 5, "input_invalid": 1}, 5).startswith("5s | input 5, 1 invalid |")
    assert "published 12" in progress.stream_line({"events_published": 12}, 61)
    assert progress.format_elapsed(61) == "1m01s"


def _summary(**extra: object) -> dict:
    counts = dict.fromkeys(("feeds_polled", "feeds_failed", "feeds_not_modified", "feeds_backed_off", "entries_seen",
                            "entries_skipped", "entries_already_seen", "entries_updated", "entries_retry_waiting",
                            "robots_disallowed", "input_records", "input_invalid", "text_records",
                            "articles_fetched", "fetch_failed", "fetch_retry_pending", "fetch_retries",
                            "articles_extracted", "extract_failed", "duplicates", "already_seen", "revisions",
                            "events_written", "conflict_events", "filtered_not_conflict", "events_invalid",
                            "dead_letters", "events_published", "publish_failed", "events_trimmed"), 0)
    counts.update(feeds_polled=1250, feeds_failed=12, feeds_not_modified=300, feeds_backed_off=4,
                  entries_seen=123456, entries_skipped=456, entries_already_seen=90000, entries_updated=12,
                  articles_fetched=32000, fetch_failed=988, fetch_retry_pending=10, fetch_retries=3,
                  robots_disallowed=5, articles_extracted=31000, extract_failed=1000, duplicates=4000,
                  already_seen=200, revisions=20, events_written=26800, conflict_events=9000, events_invalid=0,
                  dead_letters=2456, events_published=26790, publish_failed=10, events_trimmed=2)
    summary = {
        "run_id": "20261204T010000Z-abc123", "seconds": 4521.3, "counts": counts,
        "failed_feeds": [{"feed": f"https://news{i}.example/rss/world.xml",
                          "name": f"News {i}", "reason": "HTTP 500 " + "and a reason that goes on and on " * 4}
                         for i in range(12)],
        "top_topics": [{"code": "battles", "label": "Battles", "events": 4000},
                       {"code": "explosions.air_strike", "label": "Air or drone strike", "events": 2500},
                       {"code": "violence_against_civilians", "label": "Violence against civilians", "events": 2000},
                       {"code": "tags.displacement", "label": "Displacement", "events": 1500},
                       {"code": "protests", "label": "Protests", "events": 1200}],
        "top_countries": [{"country_code": "UA", "name": "Ukraine", "events": 3000},
                          {"country_code": "SD", "name": "Sudan", "events": 2000},
                          {"country_code": "CD", "name": "Democratic Republic of the Congo", "events": 900},
                          {"country_code": "SY", "name": None, "events": 800}],
        "outputs": {"events": "out/events-R-*.jsonl", "dead_letters": "out/dead-letters-R-*.jsonl",
                    "summary": "out/run-summary-R.json", "pubsub_topic": "projects/p/topics/events"},
    }
    summary.update(extra)
    return summary


def test_the_table_fits_80_columns_with_its_columns_aligned():
    table = describe_summary(_summary())
    lines = table.splitlines()
    assert max(len(line) for line in lines) <= 80, table
    assert lines[0] == "sitrep run 20261204T010000Z-abc123 finished in 1h15m"
    header = next(line for line in lines if line.startswith("stage"))
    table_rows = lines[lines.index(header) + 1:lines.index("", 2)]
    rows = {line.split()[0]: line for line in table_rows if not line.startswith(" ")}
    assert list(rows) == ["poll", "fetch", "extract", "dedup", "events", "publish"]
    for row in rows.values():  # each number ends under its column's title
        for title in ("in", "out", "failed"):
            end = header.index(title) + len(title)
            assert row[end - 1] != " " and row[end] == " ", (title, row)
    assert rows["poll"].split()[1:4] == ["1,250", "123,456", "12"]
    assert rows["fetch"].split()[1:4] == ["32,998", "32,000", "998"]
    assert rows["dedup"].split()[1:4] == ["31,000", "26,800", "-"]
    assert rows["publish"].split()[1:4] == ["26,800", "26,790", "10"]
    assert "failed feeds (12)" in table and "  ... and 2 more in the dead letters" in table
    assert "  https://news3.example/rss/world.xml\n    News 3: HTTP 500 and a reason" in table
    assert "Democratic Republic of the Congo (CD) 900" in table and ", SY 800" in table
    assert "published      26,790 to projects/p/topics/events" in table


def test_the_table_says_when_no_event_was_written():
    table = describe_summary(_summary(top_topics=[], top_countries=[], failed_feeds=[]))
    assert "top topics     none (no events written)" in table and "top countries  none (no events written)" in table
    assert "failed feeds" not in table


def _pty_run(args: list[str], tmp_path: Path) -> tuple[int, str]:
    """`sitrep ARGS` with stdout and stderr on a real pseudo-terminal of 80 columns: its status, and what the
    terminal received."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm", "XDG_STATE_HOME": str(tmp_path / "xdg")}
    child = subprocess.Popen([sys.executable, "-m", "pipelines.cli", *args], stdin=subprocess.DEVNULL,
                             stdout=slave, stderr=slave, env=env, cwd=tmp_path)
    os.close(slave)
    received = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        received += chunk
    os.close(master)
    return child.wait(timeout=120), received.decode("utf-8", "replace")


def test_a_run_on_a_terminal_shows_progress_then_the_table(tmp_path):
    status, screen = _pty_run(["run", "--sample", "--out", str(tmp_path / "out"), "--state", str(tmp_path / "st")],
                              tmp_path)
    assert status == 0, screen
    drawn = re.findall(r"\r\x1b\[K(\d+s \| feeds \d+, \d+ failed \| fetched \d+, extracted \d+ \| [^\r\n]*)", screen)
    assert drawn, screen
    assert any("feeds 2, 0 failed" in line for line in drawn), drawn
    assert all(len(line) < 80 for line in drawn)
    # The table comes after the last line drawn, on a cleared line; log records are human lines on a terminal.
    table = screen.index("sitrep run ")
    assert screen.rindex("\r\x1b[K") < table
    assert re.search(r"^events +6 +6 +0 +written \(4 conflict\)", screen[table:].replace("\r\n", "\n"), re.M)
    assert "WARNING pipelines.beam.batch: dead letter: stage=fetch" in screen
    assert '{"at"' not in screen


def test_no_progress_on_a_terminal_when_told(tmp_path):
    status, screen = _pty_run(["run", "--sample", "--no-progress", "--out", str(tmp_path / "out")], tmp_path)
    assert status == 0, screen
    assert "\x1b[K" not in screen and "\r\n" in screen  # the terminal's own line ends, no redrawn line
    assert "sitrep run " in screen


def test_a_run_whose_every_feed_fails_names_them_in_the_table(server, tmp_path, capsys):
    for path in ("/down.xml", "/also-down.xml"):
        server.route(path, "oops", status=500)
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - url: {server.url('/down.xml')}\n    name: Down Daily\n"
                     f"  - url: {server.url('/also-down.xml')}\n")
    assert main(["run", "--feeds", str(feeds), "--out", str(tmp_path / "out"), "--state", str(tmp_path / "st"),
                 "--allow-hosts", "127.0.0.0/8"]) == ExitStatus.FAILED
    out, err = capsys.readouterr()
    assert "failed feeds (2)" in out
    assert f"  {server.url('/down.xml')}\n    Down Daily: fetch failed: HTTP 500\n" in out
    assert f"  {server.url('/also-down.xml')}\n    fetch failed: HTTP 500\n" in out
    assert re.search(r"^poll +2 +0 +2 ", out, re.M)
    assert "sitrep run: all 2 feeds polled failed" in err.splitlines()[-1]
    failure = json.loads(err.splitlines()[-2])  # the same, for a machine reading the log (stderr is no terminal)
    assert failure["level"] == "ERROR" and failure["message"] == "run failed: all 2 feeds polled failed"
