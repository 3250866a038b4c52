"""The state log between runs: segments merge newest-first, concurrent writers and compaction lose nothing."""

from __future__ import annotations

import datetime as dt
import threading

from apache_beam.io.filesystems import FileSystems

from connectors.state import StateLog, StateRecord, newest

NOW = dt.datetime(2022, 1, 30, tzinfo=dt.UTC)


def rec(key: str, time: str, value: object) -> StateRecord:
    return StateRecord(key, time, value)


def test_newest_record_wins_in_any_order():
    a = rec("k", "2022-01-23T10:00:00Z", {"etag": "a"})
    b = rec("k", "2022-01-23T11:00:00Z", {"etag": "b"})
    assert newest([a, b])["k"] == b == newest([b, a])["k"]


def test_segments_merge_across_runs(tmp_path):
    log = StateLog(str(tmp_path), "seen")
    log.write_segment("run-1", [rec("x", "2022-01-23T10:00:00Z", 1), rec("y", "2022-01-23T10:00:00Z", 1)])
    log.write_segment("run-2", [rec("x", "2022-01-24T10:00:00Z", 2)])
    state = log.read()
    assert {k: r.value for k, r in state.items()} == {"x": 2, "y": 1}
    assert log.write_segment("run-3", []) is None


def test_a_segment_of_lines_is_the_segment_of_their_records(tmp_path):
    # A pipeline hands the commit its records already as lines; what a later run reads must not differ.
    records = [rec("doc:a", "2022-01-23T10:00:00Z", {"sig": "AAE=", "rev": 2}),
               rec("doc:é", "2022-01-23T10:00:00Z", None)]
    by_records, by_lines = StateLog(str(tmp_path / "r"), "dedup"), StateLog(str(tmp_path / "l"), "dedup")
    written = by_records.write_segment("run-1", records)
    assert by_lines.write_lines("run-1", (r.to_line() for r in records)).endswith(written.rsplit("/", 1)[1])
    assert by_lines.read() == by_records.read() == {r.key: r for r in records}
    with open(written, "rb") as a, open(by_lines.segment_paths()[0], "rb") as b:
        assert a.read() == b.read()
    assert by_lines.write_lines("run-2", []) is None


def test_retention_drops_old_keys(tmp_path):
    log = StateLog(str(tmp_path), "seen")
    log.write_segment("run-1", [rec("old", "2021-12-01T00:00:00Z", 1), rec("new", "2022-01-29T00:00:00Z", 1)])
    assert set(log.read(NOW, dt.timedelta(days=30))) == {"new"}


def test_concurrent_writers_lose_nothing(tmp_path):
    log = StateLog(str(tmp_path), "seen")

    def writer(n: int) -> None:
        StateLog(str(tmp_path), "seen").write_segment(
            f"run-{n:02d}", [rec(f"key-{n}-{i}", "2022-01-23T10:00:00Z", n) for i in range(50)])

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(log.read()) == 12 * 50


def test_compaction_keeps_every_record_and_removes_old_segments(tmp_path):
    log = StateLog(str(tmp_path), "seen")
    for n in range(10):
        log.write_segment(f"run-{n:02d}", [rec(f"k{n}", f"2022-01-2{n}T00:00:00Z", n),
                                           rec("shared", f"2022-01-29T0{n}:00:00Z", n)])
    before = {k: r.value for k, r in log.read().items()}
    written = log.compact("run-99")
    assert written and log.segment_paths() == [written]
    assert {k: r.value for k, r in log.read().items()} == before
    assert before["shared"] == 9
    assert log.compact("run-100") is None  # one segment: nothing to do


def test_vanished_segment_is_skipped(tmp_path):
    log = StateLog(str(tmp_path), "seen")
    first = log.write_segment("run-1", [rec("a", "2022-01-23T10:00:00Z", 1)])
    log.write_segment("run-2", [rec("b", "2022-01-23T10:00:00Z", 1)])
    paths = log.segment_paths()
    FileSystems.delete([first])
    assert [r.key for r in log.records(paths)] == ["b"]
