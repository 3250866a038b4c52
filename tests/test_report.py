"""`sitrep report`: the page of the shipped sample run holds its events, counts and evidence, draws its charts
and map in headless Chromium without asking the network for anything, and shows untrusted feed text as text."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from html import escape, unescape
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from pipelines.cli import ExitStatus, main
from pipelines.report import write_report
from pipelines.report.figures import casualties_by_country, country_counts, dots, feed_health, timeline
from pipelines.report.page import FILTER_SCRIPT, safe_href
from pipelines.report.runs import RunNotFoundError, latest_run_id, read_run
from pipelines.report.topology import countries, decode_arcs, ring, shapes
from pipelines.report.worldmap import (
    X_MAX,
    Y_MAX,
    equal_earth,
    split_at_antimeridian,
    to_svg,
    view_box,
)
from pipelines.testing.browser import INSTALL_HINT, chromium_available, chromium_page

ROOT = Path(__file__).resolve().parents[1]
# Where a person who wants to look at the page finds its screenshot (SITREP_SCREENSHOTS=DIR); none by default.
SCREENSHOTS = os.environ.get("SITREP_SCREENSHOTS")


def _jsonl(paths: list[Path]) -> list[dict[str, Any]]:
    return [json.loads(line) for path in paths for line in path.read_text(encoding="utf-8").splitlines() if line]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The shipped sample run through the real CLI, then its report, with what the run wrote beside it."""
    out = tmp_path_factory.mktemp("sample-run")
    assert main(["run", "--sample", "--out", str(out), "--state", str(out / "state")]) == ExitStatus.OK
    summary = json.loads((out / "run-summary.json").read_text(encoding="utf-8"))
    run_id = summary["run_id"]
    assert main(["report", str(out)]) == ExitStatus.OK
    page = out / f"report-{run_id}.html"
    return {"out": out, "run_id": run_id, "summary": summary, "page": page, "html": page.read_text(encoding="utf-8"),
            "events": _jsonl(sorted(out.glob(f"events-{run_id}-*.jsonl"))),
            "dead_letters": _jsonl(sorted(out.glob(f"dead-letters-{run_id}-*.jsonl")))}


def _folder_with_runs(base: Path, sample: dict[str, Any], runs: list[str], latest: str | None) -> Path:
    """A run folder holding the sample's files under other run ids (as a folder used by several runs is)."""
    folder = base / "runs"
    folder.mkdir()
    source = sample["out"]
    for run_id in runs:
        summary = {**sample["summary"], "run_id": run_id}
        (folder / f"run-summary-{run_id}.json").write_text(json.dumps(summary), encoding="utf-8")
        for kind in ("events", "dead-letters"):
            for path in source.glob(f"{kind}-{sample['run_id']}-*.jsonl"):
                shutil.copy(path, folder / path.name.replace(sample["run_id"], run_id))
    if latest:
        (folder / "run-summary.json").write_text(json.dumps({**sample["summary"], "run_id": latest}), "utf-8")
    return folder


# The page of the sample run

def test_the_report_holds_every_event_of_the_sample_with_its_id_and_link(sample: dict[str, Any]) -> None:
    html = sample["html"]
    assert len(sample["events"]) == sample["summary"]["counts"]["events_written"] > 0
    for event in sample["events"]:
        assert escape(event["title"]) in html
        if event["conflict"]["is_conflict"]:
            assert f'data-event-id="{event["event_id"]}"' in html
            assert f'href="{escape(event["canonical_url"])}"' in html


def test_the_header_counts_are_the_run_summary(sample: dict[str, Any]) -> None:
    tiles = dict(re.findall(r'data-count="(\w+)"><b>(\d+)</b>', sample["html"]))
    counts = sample["summary"]["counts"]
    assert len(tiles) == 10
    assert {key: int(value) for key, value in tiles.items()} == {key: counts[key] for key in tiles}
    assert sample["run_id"] in sample["html"]
    assert f"took {sample['summary']['seconds']:.2f} s" in sample["html"]
    assert escape(sample["summary"]["outputs"]["events"]) in sample["html"]


def test_the_conflict_table_lists_the_conflict_events_with_all_their_evidence(sample: dict[str, Any]) -> None:
    html = sample["html"]
    conflict = [e for e in sample["events"] if e["conflict"]["is_conflict"]]
    rows = re.findall(r'<tr class="event" data-event-id="([^"]+)"', html)
    assert sorted(rows) == sorted(e["event_id"] for e in conflict)
    assert f"Conflict events ({len(conflict)} of {len(sample['events'])})" in html
    sentences = {s for e in conflict for t in e["topics"] for s in t["evidence"]}
    sentences |= {s for e in conflict for c in e["casualties"].values() if c for s in c["evidence"]}
    assert sentences and all(escape(s) in html for s in sentences)
    syria = next(e for e in conflict if e["dedup"]["copies"])
    row = html[html.index(f'data-event-id="{syria["event_id"]}"'):]
    assert f'{syria["dedup"]["copies"]} copies folded in' in row[:row.index("</tr>")]
    assert all(f'href="{escape(url)}"' in row for url in syria["dedup"]["duplicate_urls"])
    mali = next(e for e in conflict if e["casualties"]["killed"] and e["casualties"]["killed"]["count"] == 14)
    row = html[html.index(f'data-event-id="{mali["event_id"]}"'):]
    assert "14 killed, 6 abducted" in row[:row.index("</tr>")]


def test_feed_health_names_each_feed_with_its_dead_letters_and_events(sample: dict[str, Any]) -> None:
    health = {h.name: h for h in feed_health(sample["events"], sample["dead_letters"])}
    assert set(health) == {"Frontline Daily", "Meridian Wire"}
    assert sum(h.events for h in health.values()) == len(sample["events"])
    assert health["Frontline Daily"].entries_skipped == {"entry has no usable http(s) link": 1}
    assert health["Meridian Wire"].fetch_failures == {"HTTP 404 (not in the replay archive)": 1}
    for letter in sample["dead_letters"]:
        assert escape(letter["reason"]) in sample["html"]


def test_the_events_that_are_not_conflict_news_are_listed_apart(sample: dict[str, Any]) -> None:
    others = [e for e in sample["events"] if not e["conflict"]["is_conflict"]]
    assert others and f"{len(others)} other event(s), not conflict news" in sample["html"]
    for event in others:
        assert f'<tr class="other-event" data-event-id="{event["event_id"]}"' in sample["html"]


def test_the_page_references_nothing_outside_itself(sample: dict[str, Any]) -> None:
    html = sample["html"]
    assert re.findall(r"<script>(.*?)</script>", html, re.S) == [FILTER_SCRIPT]  # its own filter, nothing else
    assert html.count("<script") == 1
    assert "<img" not in html and "<link" not in html and "@import" not in html and "url(" not in html
    assert re.findall(r'\ssrc="', html) == []
    assert {urlsplit(unescape(href)).scheme for href in re.findall(r'href="([^"]*)"', html)} == {"https"}


def test_the_command_prints_where_it_wrote_and_takes_an_output_file(sample: dict[str, Any], tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "elsewhere" / "page.html"
    assert main(["report", str(sample["out"]), "--run", sample["run_id"], "-o", str(target)]) == ExitStatus.OK
    assert capsys.readouterr().out.strip() == str(target)
    assert target.read_text(encoding="utf-8") == sample["html"]


def test_a_local_report_does_not_load_beam(sample: dict[str, Any]) -> None:
    script = ("import json, sys\nfrom pipelines.cli import main\n"
              f"status = main(['report', {str(sample['out'])!r}, '-o', {str(sample['out'] / 'again.html')!r}])\n"
              "print(json.dumps([status, 'apache_beam' in sys.modules]), file=sys.stderr)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert json.loads(done.stderr.strip().splitlines()[-1]) == [ExitStatus.OK, False]


# Which run

def test_the_latest_run_is_the_one_run_summary_json_names_else_the_newest(sample: dict[str, Any],
                                                                           tmp_path: Path) -> None:
    older, newer = "20240101T000000Z-aaaaaa", "20250101T000000Z-bbbbbb"
    folder = _folder_with_runs(tmp_path, sample, [older, newer], latest=older)
    assert latest_run_id(str(folder)) == older  # it finished last, whatever its id says
    (folder / "run-summary.json").unlink()
    assert latest_run_id(str(folder)) == newer
    run = read_run(str(folder))
    assert run.run_id == newer and len(run.events) == len(sample["events"])
    assert run.started_at is not None and run.started_at.year == 2025
    path = write_report(str(folder))
    assert path == str(folder / f"report-{newer}.html")


def test_an_unknown_run_is_a_usage_error_that_lists_the_runs(sample: dict[str, Any], tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    folder = _folder_with_runs(tmp_path, sample, ["20240101T000000Z-aaaaaa"], latest=None)
    assert main(["report", str(folder), "--run", "20990101T000000Z-ffffff"]) == ExitStatus.USAGE
    error = capsys.readouterr().err
    assert "no run 20990101T000000Z-ffffff" in error and "20240101T000000Z-aaaaaa" in error
    assert list(folder.glob("report-*")) == []


def test_a_folder_without_a_run_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path)]) == ExitStatus.USAGE
    assert "no run here" in capsys.readouterr().err
    with pytest.raises(RunNotFoundError):
        read_run(str(tmp_path / "not-there"))


def test_a_broken_summary_is_a_usage_error_and_an_unwritable_page_a_failure(
        sample: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "run-summary.json").write_text('{"run_id": ', encoding="utf-8")  # cut short
    assert main(["report", str(tmp_path)]) == ExitStatus.USAGE
    assert "not a run summary" in capsys.readouterr().err
    blocked = tmp_path / "a-file"
    blocked.write_text("", encoding="utf-8")
    assert main(["report", str(sample["out"]), "-o", str(blocked / "page.html")]) == ExitStatus.FAILED
    error = capsys.readouterr().err
    assert error.startswith("sitrep report: ") and len(error.strip().splitlines()) == 1


def test_an_empty_run_still_makes_a_page_that_says_so(sample: dict[str, Any], tmp_path: Path) -> None:
    run_id = "20240101T000000Z-000000"
    counts = {key: 0 for key in sample["summary"]["counts"]}
    (tmp_path / f"run-summary-{run_id}.json").write_text(
        json.dumps({**sample["summary"], "run_id": run_id, "counts": counts}), encoding="utf-8")
    path = Path(write_report(str(tmp_path), run_id))
    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert "This run wrote no events" in html and "No conflict events in this run." in html
    assert len(re.findall(r'<path class="country', html)) > 150  # the map is still there, unshaded
    assert 'class="country shaded"' not in html and 'class="dot"' not in html


# Untrusted feed text

HOSTILE_TITLE = "<script>alert(1)</script>"
HOSTILE_ACTOR = '"><img src=x onerror=alert(3)>'


def _hostile_run(sample: dict[str, Any], folder: Path) -> Path:
    event = next(e for e in sample["events"] if e["conflict"]["is_conflict"])
    hostile = {**event, "event_id": "00000000-0000-5000-8000-000000000000", "title": HOSTILE_TITLE,
               "canonical_url": "javascript:alert(2)", "url": "JaVaScRiPt:alert(2)",
               "actors": [{"kind": "civilians", "name": HOSTILE_ACTOR}],
               "dedup": {**event["dedup"], "copies": 1, "duplicate_urls": ["javascript:alert(5)"]},
               "topics": [{**event["topics"][0], "evidence": ["<b onmouseover=alert(4)>bold</b> & more"]}],
               "source": {**event["source"], "name": "</td></tr></table><h1>forged</h1>"}}
    run_id = "20240101T000000Z-e71100"
    (folder / f"run-summary-{run_id}.json").write_text(json.dumps({**sample["summary"], "run_id": run_id}), "utf-8")
    (folder / f"events-{run_id}-00000-of-00001.jsonl").write_text(json.dumps(hostile) + "\n", encoding="utf-8")
    return Path(write_report(str(folder), run_id))


def test_feed_text_is_escaped_and_a_non_http_link_is_refused(sample: dict[str, Any], tmp_path: Path) -> None:
    html = _hostile_run(sample, tmp_path).read_text(encoding="utf-8")
    assert HOSTILE_TITLE not in html and escape(HOSTILE_TITLE) in html
    assert "<img" not in html and escape(HOSTILE_ACTOR) in html
    assert "<b onmouseover" not in html and "<h1>forged" not in html
    assert "javascript:" not in html.lower()
    assert "link refused: not http(s)" in html
    assert [safe_href(u) for u in ("https://a.example/x", "http://b.example", "javascript:alert(1)",
                                   " data:text/html,x", "//c.example/x", "/relative", "ftp://d.example", None)] == [
        "https://a.example/x", "http://b.example", None, None, None, None, None, None]


@pytest.mark.skipif(not chromium_available(), reason=INSTALL_HINT)
def test_hostile_text_stays_text_in_chromium(sample: dict[str, Any], tmp_path: Path) -> None:
    page_file = _hostile_run(sample, tmp_path)
    dialogs: list[str] = []
    with chromium_page() as browsed:
        browsed.page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        browsed.page.goto(page_file.as_uri())
        browsed.page.hover("tr.event .evidence li")  # where the hostile evidence's onmouseover would fire
        found = browsed.page.evaluate("""() => ({
            scripts: [...document.querySelectorAll('script')].map(s => s.textContent),
            handlers: [...document.querySelectorAll('*')].filter(
                e => [...e.attributes].some(a => a.name.startsWith('on'))).length,
            images: document.querySelectorAll('img').length,
            hrefs: [...document.querySelectorAll('a[href]')].map(a => a.href),
            title: document.querySelector('tr.event .title').textContent,
            forged: document.querySelectorAll('h1').length,
        })""")
        errors_before = list(browsed.console_errors)
        # Were a string ever left unescaped, the page's policy would still refuse to run a script it brought.
        tampered = tmp_path / "tampered.html"
        tampered.write_text(page_file.read_text(encoding="utf-8").replace(
            "<main>", "<main><script>window.pwned = 1</script>", 1), encoding="utf-8")
        browsed.page.goto(tampered.as_uri())
        pwned = browsed.page.evaluate("typeof window.pwned")
        filter_runs = browsed.page.is_visible("#filter")
    assert found == {"scripts": [FILTER_SCRIPT], "handlers": 0, "images": 0, "hrefs": [], "title": HOSTILE_TITLE,
                     "forged": 1}
    assert dialogs == [] and errors_before == [] and browsed.outside == []
    assert pwned == "undefined" and filter_runs
    assert any("Content Security Policy" in error for error in browsed.console_errors)


# Drawn, in the browser

@pytest.mark.skipif(not chromium_available(), reason=INSTALL_HINT)
def test_chromium_draws_the_charts_and_the_map_and_asks_nothing_of_the_network(sample: dict[str, Any]) -> None:
    located = len(dots(sample["events"]))
    with chromium_page(width=1280, height=900) as browsed:
        browsed.page.goto(sample["page"].as_uri())
        browsed.page.wait_for_load_state("load")
        drawn = browsed.page.evaluate("""() => {
            const sized = els => [...els].filter(e => { const b = e.getBBox(); return b.width > 0 && b.height > 0; });
            const box = e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; };
            const charts = {};
            for (const id of ['timeline', 'actors', 'countries', 'casualties']) {
                const svg = document.querySelector('#' + id + ' svg.chart');
                charts[id] = svg ? {bars: sized(svg.querySelectorAll('rect.bar')).length, box: box(svg)} : null;
            }
            const map = document.querySelector('svg.map');
            return {
                charts,
                countries: sized(map.querySelectorAll('path.country')).length,
                shaded: sized(map.querySelectorAll('path.country.shaded')).length,
                dots: sized(map.querySelectorAll('circle.dot')).length,
                map: box(map),
                legend: document.querySelectorAll('#timeline .legend li').length,
            };
        }""")
        rows = "table.events.conflict tbody tr"
        visible = f"[...document.querySelectorAll('{rows}')].filter(r => r.getClientRects().length).length"
        all_rows = browsed.page.evaluate(visible)
        browsed.page.fill("#filter", "mali")
        filtered = browsed.page.evaluate(visible)
        said = browsed.page.text_content("#filter-count")
        browsed.page.fill("#filter", "")
        screenshot = sample["out"] / "report.png"
        browsed.page.screenshot(path=str(screenshot), full_page=True)
    if SCREENSHOTS:
        shutil.copy(screenshot, Path(SCREENSHOTS) / "sitrep-report.png")
    for name, chart in drawn["charts"].items():
        assert chart is not None, name
        assert chart["bars"] > 0 and min(chart["box"]) > 50, (name, chart)
    assert drawn["charts"]["timeline"]["bars"] >= 3  # one day of the sample's three has two kinds stacked
    assert drawn["countries"] > 150
    conflict = [e for e in sample["events"] if e["conflict"]["is_conflict"]]
    assert drawn["shaded"] == len(country_counts(conflict)) > 0
    assert drawn["dots"] == located > 0
    assert drawn["map"][0] > 800 and drawn["map"][1] > 350
    assert drawn["legend"] >= 2
    assert browsed.outside == [] and browsed.console_errors == []
    assert screenshot.stat().st_size > 10_000
    conflict_rows = sum(e["conflict"]["is_conflict"] for e in sample["events"])
    assert (all_rows, filtered, said) == (conflict_rows, 1, f"1 of {conflict_rows} shown")  # the filter works


# The pieces

# Two unit squares side by side sharing the arc x=1, quantized: scale 0.5 and translate (10, 20).
TINY = {
    "type": "Topology",
    "transform": {"scale": [0.5, 0.5], "translate": [10, 20]},
    "arcs": [
        [[2, 0], [0, 2]],                      # the shared edge, up x=1: (11, 20) -> (11, 21)
        [[2, 2], [-2, 0], [0, -2], [2, 0]],    # the left square's other three sides
        [[2, 0], [2, 0], [0, 2], [-2, 0]],     # the right square's other three sides
    ],
    "objects": {"squares": {"type": "GeometryCollection", "geometries": [
        {"type": "Polygon", "id": "001", "properties": {"name": "Left"}, "arcs": [[0, 1]]},
        {"type": "MultiPolygon", "id": 2, "properties": {"name": "Right"}, "arcs": [[[2, -1]]]},
        {"type": "Point", "coordinates": [0, 0]},
    ]}},
}


def test_topojson_arcs_are_delta_decoded_with_the_transform() -> None:
    arcs = decode_arcs(TINY)
    assert arcs[0] == [(11.0, 20.0), (11.0, 21.0)]
    assert arcs[1] == [(11.0, 21.0), (10.0, 21.0), (10.0, 20.0), (11.0, 20.0)]
    assert decode_arcs({"arcs": [[[3, 4], [5, 6]]]}) == [[(3.0, 4.0), (5.0, 6.0)]]  # no transform: as they are


def test_topojson_rings_stitch_shared_arcs_and_walk_negative_ones_backwards() -> None:
    arcs = decode_arcs(TINY)
    assert ring(arcs, [~0]) == [(11.0, 21.0), (11.0, 20.0)]
    left, right, point = shapes(TINY, "squares")
    assert (left.id, left.name, right.id, right.name) == ("001", "Left", "2", "Right")
    assert left.polygons == [[[(11.0, 20.0), (11.0, 21.0), (10.0, 21.0), (10.0, 20.0), (11.0, 20.0)]]]
    assert right.polygons == [[[(11.0, 20.0), (12.0, 20.0), (12.0, 21.0), (11.0, 21.0), (11.0, 20.0)]]]
    assert point.polygons == []


def test_the_shipped_world_decodes_to_countries_on_the_globe() -> None:
    world = countries()
    assert len(world) > 170
    by_id = {c.id: c for c in world}
    assert by_id["466"].name == "Mali" and by_id["760"].name == "Syria"
    points = [p for c in world for poly in c.polygons for r in poly for p in r]
    assert all(-180 <= lon <= 180 and -90 <= lat <= 90 for lon, lat in points)
    lons = [lon for lon, _ in (p for poly in by_id["466"].polygons for r in poly for p in r)]
    assert -13 < min(lons) < -11 and 4 < max(lons) < 5  # Mali's west and east ends


def test_the_projection_fills_its_bounds_and_keeps_north_up() -> None:
    assert equal_earth(0, 0) == (0.0, 0.0)
    assert equal_earth(180, 0)[0] == pytest.approx(X_MAX) and equal_earth(-180, 0)[0] == pytest.approx(-X_MAX)
    assert equal_earth(0, 90)[1] == pytest.approx(Y_MAX) and equal_earth(0, -90)[1] == pytest.approx(-Y_MAX)
    assert X_MAX == pytest.approx(2.7066, abs=1e-4) and Y_MAX == pytest.approx(1.3174, abs=1e-4)
    for lon in range(-180, 181, 30):
        for lat in range(-90, 91, 15):
            x, y = to_svg(lon, lat, 960)
            assert -1e-9 <= x <= 960 + 1e-9 and -1e-9 <= y <= 960 * Y_MAX / X_MAX + 1e-9
    assert to_svg(0, 40)[1] < to_svg(0, 0)[1] < to_svg(0, -40)[1]  # north is up on the page
    x, y, w, h = view_box()
    assert (x, w) == (0, 960) and 0 < y and 0 < h < 960 * Y_MAX / X_MAX
    # Equal area: 10-degree cells at the equator and at 60 degrees north keep the ratio of their areas on the globe.
    assert _projected_area(0, 10) / _projected_area(60, 70) == pytest.approx(
        math.sin(math.radians(10)) / (math.sin(math.radians(70)) - math.sin(math.radians(60))), rel=1e-3)


def _projected_area(south: float, north: float) -> float:
    """Shoelace area of the projected cell from lon 0 to 10 between two latitudes, its edges finely sampled."""
    steps = [i / 50 for i in range(51)]
    edge = ([(10 * t, south) for t in steps] + [(10, south + (north - south) * t) for t in steps]
            + [(10 * (1 - t), north) for t in steps] + [(0, north - (north - south) * t) for t in steps])
    points = [equal_earth(lon, lat) for lon, lat in edge]
    return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1], strict=True))) / 2


def test_a_ring_across_the_180th_meridian_is_cut_into_one_piece_each_side() -> None:
    fiji = [(178.0, -17.0), (-179.0, -17.0), (-179.0, -16.0), (178.0, -16.0), (178.0, -17.0)]
    pieces = split_at_antimeridian(fiji)
    assert len(pieces) == 2
    assert all(-180 <= lon <= 180 for piece in pieces for lon, _ in piece)
    spans = sorted((min(lon for lon, _ in p), max(lon for lon, _ in p)) for p in pieces)
    assert spans == [(-180.0, -179.0), (178.0, 180.0)]
    square = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)]
    assert split_at_antimeridian(square) == [square]


def _event(published: str | None, fetched: str = "2024-03-01T00:00:00Z", **extra: Any) -> dict[str, Any]:
    return {"published_at": published, "fetched_at": fetched, "topics": [], "conflict": {"is_conflict": False},
            "locations": [], "casualties": {}, **extra}


def test_the_timeline_counts_by_day_falls_back_to_fetch_time_and_widens_for_long_spans() -> None:
    battle = {"topics": [{"code": "tags.terrorism"}, {"code": "battles.armed_clash"}],
              "conflict": {"is_conflict": True}}
    line = timeline([_event("2024-01-01T10:00:00Z", **battle), _event(None, fetched="2024-01-03T23:00:00+02:00"),
                     _event("2024-01-01T23:59:00Z")])
    assert line.unit == "day" and line.buckets == ["2024-01-01", "2024-01-02", "2024-01-03"]
    assert line.counts["2024-01-01"] == {"battles": 1, "not_conflict": 1} and line.counts["2024-01-02"] == {}
    assert line.counts["2024-01-03"] == {"not_conflict": 1}  # 23:00 at +02:00 is 21:00 UTC
    long = timeline([_event("2023-01-02T00:00:00Z"), _event("2023-06-01T00:00:00Z")])
    assert long.unit == "week" and long.buckets[0] == "2023-01-02" and len(long.buckets) == 22
    years = timeline([_event("2020-01-15T00:00:00Z"), _event("2024-03-01T00:00:00Z")])
    assert years.unit == "month" and years.buckets[0] == "2020-01" and years.buckets[-1] == "2024-03"
    assert len(years.buckets) == 51 and sum(sum(c.values()) for c in years.counts.values()) == 2
    decades = timeline([_event("1999-12-31T00:00:00Z"), _event("2024-03-01T00:00:00Z")])
    assert decades.unit == "year" and decades.buckets == [str(y) for y in range(1999, 2025)]


def test_casualties_go_to_the_first_country_an_event_names() -> None:
    two = _event("2024-01-01T00:00:00Z", locations=[{"country_code": "SY"}, {"country_code": "IQ"}],
                 casualties={"killed": {"count": 10, "evidence": []}, "injured": {"count": 3, "evidence": []}})
    none = _event("2024-01-01T00:00:00Z", casualties={"injured": {"count": 4, "evidence": []}, "killed": None})
    assert casualties_by_country([two, none, _event(None)]) == [("SY", 10, 3), ("", 0, 4)]
    assert country_counts([two, two]) == {"SY": 2, "IQ": 2}
