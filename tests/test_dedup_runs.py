"""Dedup through `sitrep run`: copies folded or flagged, state across runs, revisions, crashes and concurrent runs."""

from __future__ import annotations

import glob
import json
from collections import Counter
from pathlib import Path

import pipelines.beam.batch as batch
from pipelines.beam.sinks import EventLinesSink
from pipelines.cli import main
from tests.test_dedup_near import OTHER_REPORT, PROTEST, THIRD_REPORT


def events_of(out: Path) -> list[dict]:
    return [json.loads(line) for f in glob.glob(str(out / "events-*.jsonl")) for line in open(f) if line.strip()]


def counts_of(out: Path) -> dict:
    return json.loads((out / "run-summary.json").read_text())["counts"]


def backfill(tmp_path: Path, records: list[dict], name: str = "in.jsonl") -> str:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


def story(url: str, text: str, hour: int) -> dict:
    return {"url": url, "title": "Prison siege", "text": text, "published_at": f"2022-01-23T{hour:02d}:00:00Z",
            "fetched_at": "2022-01-24T08:00:00Z"}


COPIES = [
    story("https://wire.example/siege", THIRD_REPORT, 6),
    story("https://paper.example/world/siege-day-four", "By our wire service. " + THIRD_REPORT.replace(
        "Sunday", "Sunday, 23 January") + " Subscribe for more world news.", 8),
    story("https://tv.example/news/123", THIRD_REPORT.replace("forty thousand", "40,000"), 9),
    story("https://local.example/hasaka", OTHER_REPORT, 7),
    story("https://capital.example/fuel", PROTEST, 7),
]


def test_copies_fold_into_the_earliest_and_are_counted(tmp_path):
    out = tmp_path / "out"
    assert main(["run", "--input", backfill(tmp_path, COPIES), "--out", str(out), "--state", str(tmp_path / "s")]) == 0
    events = {e["url"]: e for e in events_of(out)}
    assert set(events) == {"https://wire.example/siege", "https://local.example/hasaka", "https://capital.example/fuel"}
    wire = events["https://wire.example/siege"]["dedup"]
    assert wire["copies"] == 2 and wire["duplicate_urls"] == ["https://paper.example/world/siege-day-four",
                                                              "https://tv.example/news/123"]
    assert counts_of(out)["duplicates"] == 2


def test_flag_emits_copies_marked(tmp_path):
    out = tmp_path / "out"
    assert main(["run", "--input", backfill(tmp_path, COPIES), "--out", str(out), "--state", str(tmp_path / "s"),
                 "--duplicates", "flag"]) == 0
    events = {e["url"]: e for e in events_of(out)}
    assert len(events) == 5
    head = events["https://wire.example/siege"]["event_id"]
    for url in ("https://paper.example/world/siege-day-four", "https://tv.example/news/123"):
        assert events[url]["dedup"]["duplicate_of"] == head == events[url]["dedup"]["cluster_id"]
    assert events["https://local.example/hasaka"]["dedup"]["duplicate_of"] is None


def step_names(argv: list[str]) -> set[str]:
    """The names of every step of the batch pipeline these options build."""
    import apache_beam as beam

    from pipelines.beam.options import RunOptions, SitrepOptions

    options = RunOptions(argv)
    pipeline = beam.Pipeline(options=options)
    batch.build_pipeline(pipeline, batch.plan_run(options.view_as(SitrepOptions)))
    return {t.unique_name for t in pipeline.to_runner_api().components.transforms.values()}


def test_state_is_read_and_matched_only_once_a_run_has_committed_some(tmp_path):
    argv = ["--input", backfill(tmp_path, COPIES), "--out", str(tmp_path / "out"), "--state", str(tmp_path / "s")]
    first = step_names(argv)
    assert "Dedup/Plan" in first
    assert not {n for n in first if n.startswith(("ReadDedupState", "Dedup/MayMatter", "Dedup/RunKeys"))}
    assert main(["run", *argv]) == 0
    later = step_names(argv)
    assert {"ReadDedupState", "Dedup/MayMatter", "Dedup/RunKeys", "Dedup/Plan"} <= later


def test_sample_twice_with_one_state_emits_nothing_new(tmp_path):
    state = str(tmp_path / "state")
    assert main(["run", "--sample", "--out", str(tmp_path / "a"), "--state", state]) == 0
    assert main(["run", "--sample", "--out", str(tmp_path / "b"), "--state", state]) == 0
    assert len(events_of(tmp_path / "a")) == 6
    assert events_of(tmp_path / "b") == []
    second = counts_of(tmp_path / "b")
    assert second["already_seen"] == 6 and second["duplicates"] == second["articles_extracted"] == 8


def test_run_without_articles_keeps_the_state_and_the_next_run_still_matches(tmp_path):
    # Every line of the second run is bad: no article meets the earlier run's state, which must come through
    # as it was (the dedup steps then see an empty set of this run's keys and an empty plan).
    state = str(tmp_path / "state")
    assert main(["run", "--input", backfill(tmp_path, COPIES[:1], "a.jsonl"), "--out", str(tmp_path / "a"),
                 "--state", state]) == 0
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"url": "ftp://x.example/a", "text": "no"}\nnot json\n')
    assert main(["run", "--input", str(bad), "--out", str(tmp_path / "b"), "--state", state]) == 0
    assert events_of(tmp_path / "b") == []
    assert counts_of(tmp_path / "b")["input_invalid"] == 2
    assert main(["run", "--input", backfill(tmp_path, COPIES[:2], "c.jsonl"), "--out", str(tmp_path / "c"),
                 "--state", state]) == 0
    assert events_of(tmp_path / "c") == []
    assert counts_of(tmp_path / "c")["already_seen"] == 1 and counts_of(tmp_path / "c")["duplicates"] == 2


def test_changed_text_is_a_revision_under_the_same_id(tmp_path):
    state = str(tmp_path / "state")
    first = [story("https://wire.example/siege", THIRD_REPORT, 6)]
    corrected = [story("https://wire.example/siege?utm_source=rss", THIRD_REPORT.replace(
        "fourth day", "fifth day").replace("forty thousand", "fifty thousand"), 6)]
    assert main(["run", "--input", backfill(tmp_path, first), "--out", str(tmp_path / "a"), "--state", state]) == 0
    assert main(["run", "--input", backfill(tmp_path, corrected, "c.jsonl"), "--out", str(tmp_path / "b"),
                 "--state", state]) == 0
    [original], [revised] = events_of(tmp_path / "a"), events_of(tmp_path / "b")
    assert revised["event_id"] == original["event_id"]
    assert (original["revision"], revised["revision"]) == (1, 2)
    assert "fifty thousand" in revised["text"]
    assert counts_of(tmp_path / "b")["revisions"] == 1


def test_killed_run_is_re_emitted_exactly_once(tmp_path, monkeypatch, capsys):
    state = str(tmp_path / "state")
    written = []

    def failing_sink(_sink: object, event: dict) -> bytes:
        written.append(event["event_id"])
        if len(written) > 2:
            raise RuntimeError("sink died")
        return json.dumps(event, sort_keys=True).encode("utf-8")

    monkeypatch.setattr(EventLinesSink, "line", failing_sink)
    assert main(["run", "--sample", "--out", str(tmp_path / "a"), "--state", state]) == 1
    assert "sitrep run: failed: RuntimeError: sink died" in capsys.readouterr().err.splitlines()[-1]
    monkeypatch.undo()
    assert not glob.glob(state + "/dedup/segments/*")  # nothing committed: the next run must not skip anything
    assert not glob.glob(str(tmp_path / "a" / "events-*"))  # and no events file: a dead write is never moved there
    assert main(["run", "--sample", "--out", str(tmp_path / "b"), "--state", state]) == 0
    ids = Counter(e["event_id"] for out in ("a", "b") for e in events_of(tmp_path / out))
    assert len(ids) == 6 and set(ids.values()) == {1}


def test_files_not_moved_fail_the_run_and_keep_the_records(tmp_path, monkeypatch, capsys):
    # fileio.WriteToFiles only logs a failed move: the commit step must notice, before the state is committed.
    from apache_beam.io.filesystem import BeamIOError
    from apache_beam.io.filesystems import FileSystems

    state, out = str(tmp_path / "state"), tmp_path / "a"
    rename = FileSystems.rename

    def refused(sources: list, destinations: list) -> None:
        if any("/.temp-" in source for source in sources):
            raise BeamIOError("Rename operation failed", {s: PermissionError("denied") for s in sources})
        rename(sources, destinations)

    monkeypatch.setattr(FileSystems, "rename", refused)
    assert main(["run", "--sample", "--out", str(out), "--state", state]) == 1
    assert "not moved into" in capsys.readouterr().err.splitlines()[-1]
    monkeypatch.undo()
    assert not glob.glob(state + "/dedup/segments/*")
    kept = [json.loads(line) for path in out.glob(".temp-*/*") for line in path.read_text().splitlines()]
    assert len([r for r in kept if "event_id" in r]) == 6  # the records wait in the temp folder
    assert main(["run", "--sample", "--out", str(tmp_path / "b"), "--state", state]) == 0
    assert len(events_of(tmp_path / "b")) == 6  # and the next run emits them all again


def test_runs_started_at_once_keep_both_records(tmp_path, monkeypatch):
    state = str(tmp_path / "state")
    deferred = []
    monkeypatch.setattr(batch, "commit_state",
                        lambda plan, records: deferred.append((plan, {n: list(r) for n, r in records.items()})))
    # both runs read the state before either commits, as two scheduled runs overlapping would
    assert main(["run", "--input", backfill(tmp_path, COPIES[:3]), "--out", str(tmp_path / "a"), "--state", state]) == 0
    assert main(["run", "--input", backfill(tmp_path, COPIES[3:], "b.jsonl"), "--out", str(tmp_path / "b"),
                 "--state", state]) == 0
    monkeypatch.undo()
    for plan, records in reversed(deferred):
        batch.commit_state(plan, records)
    assert len(glob.glob(state + "/dedup/segments/*.jsonl.gz")) == 2
    assert main(["run", "--input", backfill(tmp_path, COPIES, "all.jsonl"), "--out", str(tmp_path / "c"),
                 "--state", state]) == 0
    assert events_of(tmp_path / "c") == []
    assert counts_of(tmp_path / "c")["already_seen"] == 5  # every URL, copies included


def test_copy_in_a_later_run_folds_into_the_earlier_event(tmp_path):
    state = str(tmp_path / "state")
    assert main(["run", "--input", backfill(tmp_path, COPIES[:1]), "--out", str(tmp_path / "a"), "--state", state]) == 0
    assert main(["run", "--input", backfill(tmp_path, COPIES[1:], "b.jsonl"), "--out", str(tmp_path / "b"),
                 "--state", state, "--duplicates", "flag"]) == 0
    [original] = events_of(tmp_path / "a")
    later = {e["url"]: e for e in events_of(tmp_path / "b")}
    # the two syndicated copies point at the event the first run emitted; the other stories are new
    for url in ("https://paper.example/world/siege-day-four", "https://tv.example/news/123"):
        assert later[url]["dedup"]["duplicate_of"] == original["event_id"]
    assert later["https://local.example/hasaka"]["dedup"]["duplicate_of"] is None
    assert counts_of(tmp_path / "b")["duplicates"] == 2


MARKET = (
    "Gunmen attacked a market in Maiduguri, Borno state, on Monday, killing at least 14 people and wounding 30, "
    "officials said. Witnesses said the attackers, believed to be Boko Haram fighters, arrived on motorcycles and "
    "opened fire on traders before setting stalls alight. The army said troops had been sent to the area and that "
    "a search for the attackers was under way. Residents fled to nearby villages and the state governor condemned "
    "the attack as barbaric."
)


def market(url: str, text: str = MARKET, hour: int = 6) -> dict:
    return {**story(url, text, hour), "title": "Market attack"}


def run_into(tmp_path: Path, name: str, records: list[dict], state: str) -> Path:
    out = tmp_path / name
    assert main(["run", "--input", backfill(tmp_path, records, name + ".jsonl"), "--out", str(out),
                 "--state", state]) == 0
    return out


def test_extended_update_at_the_same_url_is_a_revision_though_an_earlier_copy_heads_the_story(tmp_path):
    # The earlier run also saw a copy at another URL: it joins the update's cluster and ranks first (it is what
    # an earlier run saw), which must not fold the update away.
    state = str(tmp_path / "state")
    first = run_into(tmp_path, "a", [market("https://wire.example/market"), market(
        "https://tv.example/market", MARKET.replace("officials said", "officials told reporters"), 7)], state)
    update = MARKET + " Update: the toll has risen to at least 120 people killed, a local official said on Tuesday."
    later = run_into(tmp_path, "b", [market("https://wire.example/market", update)], state)
    [original], [revised] = events_of(first), events_of(later)
    assert revised["event_id"] == original["event_id"] and revised["url"] == "https://wire.example/market"
    assert (original["revision"], revised["revision"]) == (1, 2)
    # the update's new toll is read, and named as what changed
    assert original["changes"] == [] and revised["changes"] == ["killed 14 → 120"]
    assert revised["casualties"]["killed"]["count"] == 120 and "toll has risen" in revised["text"]
    assert {k: counts_of(later)[k] for k in ("revisions", "duplicates")} == {"revisions": 1, "duplicates": 0}
    again = run_into(tmp_path, "c", [market("https://wire.example/market", update)], state)
    assert events_of(again) == [] and counts_of(again)["already_seen"] == 1


def test_rewritten_story_at_a_new_url_with_other_figures_is_a_revision_and_an_unchanged_copy_folds(tmp_path):
    from connectors.state import StateLog
    from pipelines.beam.dedup import STATE_NAMESPACE

    state = str(tmp_path / "state")
    first = run_into(tmp_path, "a", [market("https://wire.example/market")], state)
    rewritten = market("https://paper.example/market-attack", MARKET.replace("at least 14", "at least 20"), 9)
    later = run_into(tmp_path, "b", [rewritten], state)
    [original], [revised] = events_of(first), events_of(later)
    assert revised["event_id"] == original["event_id"]
    assert revised["url"] == "https://paper.example/market-attack" and revised["revision"] == 2
    assert revised["changes"] == ["killed 14 → 20"]
    assert revised["casualties"]["killed"]["count"] == 20
    assert counts_of(later)["revisions"] == 1 and counts_of(later)["duplicates"] == 0
    # The state keeps each version's facts, and no text.
    values = [r.value for r in StateLog(state, STATE_NAMESPACE).records()]
    assert sorted(v["facts"]["killed"] for v in values) == [14, 20]
    assert not any("text" in v for v in values)
    # A copy stating what an emitted version stated folds, whichever version it matches.
    stale = market("https://tv.example/market", MARKET.replace("officials said", "officials told reporters"), 10)
    folded = run_into(tmp_path, "c", [stale, rewritten], state)
    assert events_of(folded) == []
    assert counts_of(folded)["already_seen"] == 1 and counts_of(folded)["duplicates"] == 2


def test_within_one_run_a_later_copy_with_other_figures_is_the_next_revision_and_an_unchanged_copy_folds(tmp_path):
    # A backfill (or a run that polls late) holds the story and its rewrite: the rewrite's figures are not lost.
    rewritten = market("https://paper.example/market-attack", MARKET.replace("at least 14", "at least 20"), 9)
    unchanged = market("https://tv.example/market", MARKET.replace("officials said", "officials told reporters"), 7)
    out = run_into(tmp_path, "a", [rewritten, market("https://wire.example/market"), unchanged],
                   str(tmp_path / "state"))
    events = sorted(events_of(out), key=lambda e: e["revision"])
    assert [(e["url"], e["revision"], e["changes"]) for e in events] == [
        ("https://wire.example/market", 1, []), ("https://paper.example/market-attack", 2, ["killed 14 → 20"])]
    assert events[0]["event_id"] == events[1]["event_id"]
    assert [e["casualties"]["killed"]["count"] for e in events] == [14, 20]
    assert {k: counts_of(out)[k] for k in ("revisions", "duplicates")} == {"revisions": 1, "duplicates": 1}
    # The next run with the same three articles emits nothing: every version is already out.
    again = run_into(tmp_path, "b", [rewritten, market("https://wire.example/market"), unchanged],
                     str(tmp_path / "state"))
    assert events_of(again) == [] and counts_of(again)["already_seen"] == 3
