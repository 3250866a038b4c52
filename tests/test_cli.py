"""End to end through the `sitrep` command: a real loopback server with RSS and Atom feeds, the sample, backfills."""

from __future__ import annotations

import glob
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.cli import ExitStatus, main
from pipelines.events import validate_event
from tests.conftest import SEED_PAGE

FRONTLINE = "https://www.frontline-daily.example"
WIRE = "https://news.meridian-wire.example"
SEED_CANONICAL = FRONTLINE + "/world/middle-east/clashes-continue-isis-attack-prison-syria"


def read_jsonl(pattern: str) -> list[dict]:
    files = glob.glob(pattern)
    assert files, f"no file matches {pattern}"
    return [json.loads(line) for f in files for line in open(f, encoding="utf-8") if line.strip()]


def outputs(out: Path) -> tuple[list[dict], list[dict], dict]:
    return (read_jsonl(str(out / "events-*.jsonl")), read_jsonl(str(out / "dead-letters-*.jsonl")),
            json.loads((out / "run-summary.json").read_text()))


@pytest.fixture
def served_feeds(server, sample, tmp_path) -> Path:
    """The sample's feeds and pages served over HTTP from 127.0.0.1, plus a broken feed."""
    rewrite = lambda raw: raw.replace(FRONTLINE.encode(), server.base.encode()).replace(  # noqa: E731
        WIRE.encode(), (server.base + "/wire").encode())
    server.route("/rss/world.xml", rewrite((sample / "feeds/frontline-world.xml").read_bytes()),
                 content_type="application/rss+xml; charset=utf-8")
    server.route("/wire/feeds/top.atom", rewrite((sample / "feeds/wire-top.atom").read_bytes()),
                 content_type="application/atom+xml")
    server.route("/broken.xml", "<html><body><h1>Oops</h1><p>Our feed is down for maintenance",
                 content_type="application/rss+xml")
    manifest = json.loads((sample / "manifest.json").read_text())
    for record in manifest["responses"]:
        if record["file"].startswith("pages/"):
            path = record["url"].replace(FRONTLINE, "").replace(WIRE, "/wire")
            server.route(path, (sample / record["file"]).read_bytes(), content_type=record["content_type"])
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(
        "feeds:\n"
        f"  - url: {server.url('/rss/world.xml')}\n    name: Frontline Daily\n    language: en\n"
        f"  - url: {server.url('/wire/feeds/top.atom')}\n"
        f"  - url: {server.url('/broken.xml')}\n    name: Broken\n"
    )
    return feeds


def test_feeds_to_events_over_http(served_feeds, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", "--feeds", str(served_feeds), "--out", str(out), "--allow-hosts", "127.0.0.0/8"]) == 0
    events, dead, summary = outputs(out)

    # one event per distinct article: the tracking-parameter entry and the syndicated copy fold into the seed's
    assert len(events) == 6
    assert len({e["event_id"] for e in events}) == 6
    for event in events:
        validate_event(event)
    seed = next(e for e in events if e["canonical_url"] == SEED_CANONICAL)
    assert seed["conflict"]["is_conflict"] is True
    assert seed["dedup"]["copies"] == 2
    assert seed["title"] == "Clashes continue as a result of ISIS attack on prison in Syria"
    football = next(e for e in events if "united-battle-back" in e["canonical_url"])
    assert football["conflict"]["is_conflict"] is False

    # the 404 page, the broken feed and the link-less entry are dead letters with reasons; the run went on
    reasons = sorted((d["stage"], d["reason"].split(":")[0]) for d in dead)
    assert reasons == [("fetch", "HTTP 404"), ("poll", "entry has no usable http(s) link"),
                       ("poll", "not a readable feed")]
    missing = next(d for d in dead if d["stage"] == "fetch")
    assert missing["input"]["entry"]["link"].endswith("/wire/2022/01/25/aid-convoy-reaches-besieged-town")

    counts = summary["counts"]
    assert counts["feeds_polled"] == 3 and counts["feeds_failed"] == 1
    assert counts["entries_seen"] == 10 and counts["entries_skipped"] == 1
    assert counts["articles_fetched"] == 8 and counts["fetch_failed"] == 1
    assert counts["articles_extracted"] == 8 and counts["duplicates"] == 2
    assert counts["events_written"] == 6 and counts["dead_letters"] == 3
    # every entry is accounted for: fetched or dead; every fetched article is an event or a duplicate
    assert counts["entries_seen"] == counts["articles_fetched"] + counts["fetch_failed"] + counts["entries_skipped"]
    assert counts["articles_extracted"] == counts["events_written"] + counts["duplicates"]
    assert re.search(r"^events +6 +6 +0 +written \(4 conflict\)$", capsys.readouterr().out, re.MULTILINE)


def test_only_conflict(served_feeds, tmp_path):
    out = tmp_path / "out"
    assert main(["run", "--feeds", str(served_feeds), "--out", str(out), "--allow-hosts", "127.0.0.0/8",
                 "--only-conflict"]) == 0
    events, _dead, summary = outputs(out)
    assert events and all(e["conflict"]["is_conflict"] for e in events)
    assert summary["counts"]["filtered_not_conflict"] == 2
    assert summary["counts"]["events_written"] == len(events) == 4


def test_loopback_feeds_refused_without_allow_hosts(served_feeds, tmp_path, capsys):
    out = tmp_path / "out"
    # every feed failed: the run says so in one line and fails, its dead letters written
    assert main(["run", "--feeds", str(served_feeds), "--out", str(out)]) == ExitStatus.FAILED
    assert "sitrep run: all 3 feeds polled failed; the reasons are in" in capsys.readouterr().err
    events, dead, summary = outputs(out)  # a run with no event still leaves its (empty) events file
    assert events == []
    assert summary["counts"]["feeds_failed"] == 3
    assert all("non-public address" in d["reason"] for d in dead)


def test_run_leaves_one_file_of_each_kind_and_no_temp_folder(tmp_path):
    # Every line good: no dead letter, and still a dead-letters file (empty); and no temp folder left behind.
    lines = [json.dumps({"url": f"https://n.example/{i}", "title": f"Story {i}", "text": text}) for i, text in
             enumerate(["Police fired tear gas at protesters who marched on parliament in the capital on Monday.",
                        "Floods cut the coastal road to the port for a third day, the regional governor said."])]
    path = tmp_path / "backfill.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", "--input", str(path), "--out", str(out)]) == 0
    run_id = json.loads((out / "run-summary.json").read_text())["run_id"]
    assert sorted(p.name for p in out.iterdir()) == [
        f"dead-letters-{run_id}-00000-of-00001.jsonl", f"events-{run_id}-00000-of-00001.jsonl",
        f"run-summary-{run_id}.json", "run-summary.json"]
    assert (out / f"dead-letters-{run_id}-00000-of-00001.jsonl").read_bytes() == b""
    assert len((out / f"events-{run_id}-00000-of-00001.jsonl").read_text().splitlines()) == 2


def test_sample_run_offline_validates_every_event(tmp_path):
    out = tmp_path / "sample"
    assert main(["run", "--sample", "--out", str(out)]) == 0
    events, dead, summary = outputs(out)
    assert len(events) == 6
    for event in events:
        validate_event(event)
    assert {d["stage"] for d in dead} == {"poll", "fetch"}
    assert summary["counts"]["dead_letters"] == len(dead) == 2


def test_backfill_input_html_and_text(tmp_path, sample):
    records = [
        {"url": SEED_CANONICAL + "?utm_source=archive", "html": (sample / "pages" / SEED_PAGE).read_text(),
         "source": "Frontline Daily"},
        {"url": "https://n.example/protest", "title": "Protest in the capital", "published_at": "2022-01-24T10:00:00Z",
         "text": "Thousands of protesters marched on parliament and police fired tear gas at demonstrators."},
        {"url": "https://n.example/empty"},
        "not json at all",
    ]
    path = tmp_path / "backfill.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n")
    out = tmp_path / "out"
    assert main(["run", "--input", str(path), "--out", str(out)]) == 0
    events, dead, summary = outputs(out)
    assert sorted(e["canonical_url"] for e in events) == sorted([SEED_CANONICAL, "https://n.example/protest"])
    assert all(e["provenance"]["connector"] == "input" for e in events)
    assert [d["stage"] for d in dead] == ["input", "input"]
    counts = summary["counts"]
    assert counts["input_records"] == 4 and counts["input_invalid"] == 2
    assert counts["text_records"] == 1 and counts["articles_extracted"] == 1
    assert counts["articles_extracted"] + counts["text_records"] == counts["events_written"] + counts["duplicates"]


def test_backfill_lines_that_are_not_text_are_dead_letters(tmp_path):
    # A Latin-1 line in a UTF-8 file and a lone surrogate escape once stopped the whole run (the reader's
    # decoding, then encoding the page for extraction, raised); each is now one dead letter, its line kept.
    good = "Police fired tear gas at protesters who marched on parliament in the capital on Monday."
    lines = [json.dumps({"url": "https://n.example/good", "title": "Protest", "text": good}).encode(),
             b'{"url": "https://n.example/latin1", "text": "Caf\xe9 owners protested in the capital."}',
             b'{"url": "https://n.example/half", "html": "<p>Half a pair \\ud800 here.</p>"}']
    path = tmp_path / "backfill.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "out"
    assert main(["run", "--input", str(path), "--out", str(out)]) == 0
    events, dead, summary = outputs(out)
    assert [e["canonical_url"] for e in events] == ["https://n.example/good"]
    assert sorted(d["input"]["line"] for d in dead) == sorted([
        '{"url": "https://n.example/half", "html": "<p>Half a pair \\ud800 here.</p>"}',
        '{"url": "https://n.example/latin1", "text": "Caf\\xe9 owners protested in the capital."}'])
    assert all(d["stage"] == "input" and d["reason"].startswith("not JSON") for d in dead)
    assert summary["counts"]["input_records"] == 3 and summary["counts"]["input_invalid"] == 2


def test_backfill_lines_longer_than_the_read_buffer(tmp_path, sample):
    # Whole pages a line: the seed page grown past the reader's 1 MiB buffer (a page with inline scripts and
    # data can be), between two ordinary lines, CRLF line ends included.
    from pipelines.beam.extract import INPUT_READ_BUFFER

    seed = (sample / "pages" / SEED_PAGE).read_text()
    padding = "<script>var data = '" + "x" * (INPUT_READ_BUFFER * 2 + 12345) + "';</script>"
    huge = seed.replace("</head>", padding + "</head>", 1)
    before = "Police fired tear gas at protesters who marched on parliament in the capital on Monday."
    after = "Floods cut the coastal road to the port for a third day, the regional governor said on Friday."
    lines = [json.dumps({"url": "https://n.example/before", "title": "Protest", "text": before}),
             json.dumps({"url": SEED_CANONICAL, "html": huge}),
             json.dumps({"url": "https://n.example/after", "title": "Floods", "text": after})]
    path = tmp_path / "backfill.jsonl"
    path.write_bytes("\r\n".join(lines).encode() + b"\r\n")
    out = tmp_path / "out"
    assert main(["run", "--input", str(path), "--out", str(out)]) == 0
    events, dead, summary = outputs(out)
    assert dead == []
    assert summary["counts"]["input_records"] == 3 and summary["counts"]["articles_extracted"] == 1
    assert sorted(e["canonical_url"] for e in events) == sorted(
        [SEED_CANONICAL, "https://n.example/before", "https://n.example/after"])


def test_backfill_line_over_the_cap_is_a_dead_letter_with_its_size_and_is_never_held(tmp_path):
    # One line of 60 MB (a text record, as in the report) between two ordinary lines: it is refused with its
    # size, the others become events, and the process never holds the line (let alone a 58 MB event).
    from pipelines.inputs import MAX_INPUT_LINE_BYTES

    before = "Police fired tear gas at protesters who marched on parliament in the capital on Monday."
    after = "Floods cut the coastal road to the port for a third day, the regional governor said on Friday."
    huge = json.dumps({"url": "https://n.example/huge", "title": "Huge", "text": "Clashes in the north. " * 2_800_000})
    assert len(huge) > 60_000_000
    path = tmp_path / "backfill.jsonl"
    path.write_text("\n".join([json.dumps({"url": "https://n.example/before", "title": "Protest", "text": before}),
                               huge,
                               json.dumps({"url": "https://n.example/after", "title": "Floods", "text": after})])
                    + "\n")
    out = tmp_path / "out"
    measure = ("import resource, sys; from pipelines.cli import main; status = main(sys.argv[1:]); "
               "print('maxrss_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); "
               "sys.exit(status)")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-c", measure, "run", "--input", str(path), "--out", str(out)],
                          capture_output=True, text=True, timeout=300, check=False, env=env)
    assert done.returncode == 0, done.stderr
    events, dead, summary = outputs(out)
    assert sorted(e["canonical_url"] for e in events) == ["https://n.example/after", "https://n.example/before"]
    assert [(d["stage"], d["reason"], d["input"]["bytes"]) for d in dead] == [
        ("input", f"line of {len(huge)} bytes is longer than the {MAX_INPUT_LINE_BYTES}-byte cap", len(huge))]
    assert dead[0]["ref"].startswith('{"url": "https://n.example/huge"')
    assert summary["counts"]["input_records"] == 3 and summary["counts"]["input_invalid"] == 1
    maxrss_mb = int(done.stderr.rsplit("maxrss_kb", 1)[1].split()[0]) / 1024
    assert maxrss_mb < 1000, f"peak memory {maxrss_mb:.0f} MB"


def test_bad_arguments_exit_2(tmp_path, capsys):
    assert main(["run", "--out", str(tmp_path)]) == 2
    assert "exactly one of --feeds" in capsys.readouterr().err
    bad = tmp_path / "feeds.yaml"
    bad.write_text("feeds:\n  - name: x\n")
    assert main(["run", "--feeds", str(bad), "--out", str(tmp_path)]) == 2
    assert "feeds.yaml:2: feed 1 needs a 'url'" in capsys.readouterr().err


def sitrep(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    # The console script, importing the code of this checkout (not whichever one the venv was installed from).
    exe = Path(sys.executable).with_name("sitrep")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.run([str(exe), *args], input=stdin, capture_output=True, text=True, timeout=120, check=False,
                          env=env)


def test_tag_command_adds_the_tagging_block():
    lines = [
        {"id": "seed", "title": "Clashes continue as a result of ISIS attack on prison in Syria",
         "text": "Kurdish-led forces, supported by US airstrikes, have been clashing with IS militants in Hasaka."},
        {"id": "sport", "title": "United battle back", "text": "The striker scored twice in the league match."},
    ]
    done = sitrep("tag", stdin="\n".join(json.dumps(line) for line in lines) + "\nnot json\n")
    assert done.returncode == ExitStatus.FAILED  # one bad line, reported
    assert "line 3" in done.stderr
    tagged = [json.loads(line) for line in done.stdout.splitlines()]
    assert [t["id"] for t in tagged] == ["seed", "sport"]
    assert tagged[0]["conflict"]["is_conflict"] is True
    assert "explosions.air_strike" in {t["code"] for t in tagged[0]["topics"]}
    assert tagged[1]["conflict"]["is_conflict"] is False


def test_help_documents_the_contract():
    run_help = sitrep("run", "--help").stdout
    for flag in ("--feeds", "--input", "--out", "--only-conflict", "--sample", "--allow-hosts", "run-summary.json",
                 "dead-letters"):
        assert flag in run_help
    assert "stdin" in sitrep("tag", "--help").stdout
    assert "run" in sitrep("--help").stdout


def test_a_run_fails_when_nothing_came_through():
    from pipelines.cli import nothing_worked

    assert nothing_worked({"feeds_polled": 2, "feeds_failed": 2}) == "all 2 feeds polled failed"
    assert nothing_worked({"feeds_polled": 2, "feeds_failed": 1, "fetch_failed": 3, "fetch_retry_pending": 1}) == \
        "all 4 article fetches failed"
    assert nothing_worked({"feeds_polled": 2, "feeds_failed": 1, "articles_fetched": 1, "fetch_failed": 9}) is None
    assert nothing_worked({"feeds_polled": 1, "feeds_not_modified": 1}) is None  # nothing new is no failure
