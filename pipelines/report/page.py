"""The report's one HTML page: header, charts, map, feed health and the conflict events, with inline CSS and
SVG only. Everything from the data is untrusted feed content: it is escaped where it is written, and a link
is drawn only for an http(s) URL."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import urlsplit

from pipelines.report import figures
from pipelines.report.charts import Series, horizontal_bars, legend, stacked_columns
from pipelines.report.runs import RunOutput
from pipelines.report.topology import Shape
from pipelines.report.worldmap import shade, world_map

# Okabe-Ito colours (told apart with colour-blind sight too), one per ACLED event type, in the taxonomy's order.
TYPE_COLOURS = {
    "battles": "#D55E00", "explosions": "#E69F00", "violence_against_civilians": "#CC79A7",
    "protests": "#0072B2", "riots": "#56B4E9", "strategic_developments": "#009E73",
    figures.OTHER: "#8C6D31", figures.NOT_CONFLICT: "#C7CCD4",
}
KILLED, INJURED = "#A50F15", "#F28E2B"
# The headline counts of the summary, in the order a run does its work.
HEADLINE_COUNTS = (
    ("feeds_polled", "feeds polled"), ("feeds_failed", "feeds failed"), ("entries_seen", "entries seen"),
    ("articles_fetched", "articles fetched"), ("fetch_failed", "fetch failures"),
    ("articles_extracted", "articles extracted"), ("duplicates", "duplicates folded"),
    ("events_written", "events written"), ("conflict_events", "conflict events"), ("dead_letters", "dead letters"),
)
# Evidence sentences shown under a headline; the rest fold into a <details> the reader opens.
SHOWN_EVIDENCE = 3
# The one script of the page: a filter over the conflict events' rows (every word typed must appear in a row).
# The box is hidden until the script shows it, so a reader without scripts sees no dead control.
FILTER_SCRIPT = """(() => {
  const box = document.getElementById("filter"), said = document.getElementById("filter-count");
  if (!box) return;
  const rows = [...document.querySelectorAll("table.events.conflict tbody tr")];
  box.closest(".filter").hidden = false;
  box.addEventListener("input", () => {
    const words = box.value.toLowerCase().split(/\\s+/).filter(Boolean);
    let shown = 0;
    for (const row of rows) {
      const keep = words.every(word => row.textContent.toLowerCase().includes(word));
      row.hidden = !keep;
      shown += keep ? 1 : 0;
    }
    said.textContent = words.length ? shown + " of " + rows.length + " shown" : "";
  });
})();"""
# Nothing may be loaded and no script may run but that one (allowed by its hash), whatever the data holds: a
# second wall behind the escaping.
POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
          f"script-src 'sha256-{base64.b64encode(hashlib.sha256(FILTER_SCRIPT.encode()).digest()).decode()}'")

CSS = """
:root { color-scheme: light; --ink: #1f2933; --muted: #616e7c; --line: #e4e7eb; --accent: #1d4ed8; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
  background: #f5f7fa; }
main { max-width: 1140px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 0 0 10px; }
section, header { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 18px;
  margin-bottom: 16px; }
.meta { color: var(--muted); margin: 0 0 12px; } .meta code { color: var(--ink); }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(120px, 1fr)); gap: 8px; margin: 0;
  padding: 0; list-style: none; }
.tiles li { border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; }
.tiles b { display: block; font-size: 20px; } .tiles span { color: var(--muted); font-size: 12px; }
.tiles .bad b { color: #b91c1c; }
.outputs { margin: 10px 0 0; padding-left: 18px; color: var(--muted); } .outputs code { color: var(--ink); }
details summary { cursor: pointer; color: var(--muted); margin-top: 8px; }
.note { color: var(--muted); font-size: 12px; margin: 6px 0 0; }
.empty { padding: 18px; text-align: center; color: var(--muted); background: #f8fafc; border-radius: 6px; }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
.grid2 > section { margin-bottom: 0; } .pair { margin-bottom: 16px; }
svg { display: block; width: 100%; height: auto; font-family: inherit; }
svg .tick, svg .value { font-size: 11px; fill: var(--muted); } svg .label { font-size: 12px; fill: var(--ink); }
svg .grid { stroke: var(--line); } svg .axis { stroke: #9aa5b1; }
svg.map .sea { fill: #f0f6fc; } svg.map .country { stroke: #fff; stroke-width: 0.5; fill-rule: evenodd; }
svg.map .country.shaded { stroke: #7f1d1d; stroke-width: 0.6; }
svg.map .dot { fill: var(--accent); stroke: #fff; stroke-width: 1.5; fill-opacity: 0.9; }
svg.map .dot.other { fill: #9aa5b1; } .swatch.dot.other { background: #9aa5b1; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 8px 0 0; padding: 0; list-style: none; }
.legend li { display: flex; align-items: center; gap: 6px; font-size: 12px; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; }
.swatch.dot { border-radius: 50%; background: var(--accent); }
table { width: 100%; border-collapse: collapse; } th, td { text-align: left; vertical-align: top; padding: 6px 8px;
  border-bottom: 1px solid var(--line); } th { font-size: 12px; color: var(--muted); font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.reasons { margin: 0; padding-left: 16px; color: #9a3412; font-size: 12px; }
.ok { color: #15803d; } .feed-url, .id { color: var(--muted); font-size: 11px; word-break: break-all; }
.events td { font-size: 13px; } .events td:first-child { white-space: nowrap; }
.evidence .more { list-style: none; margin-left: -16px; } .evidence details summary { margin-top: 2px; }
.events .title { font-weight: 600; }
.events a { color: var(--accent); text-decoration: none; } .events a:hover { text-decoration: underline; }
.chip { display: inline-block; background: #eef2ff; color: #3730a3; border-radius: 10px; padding: 0 7px;
  margin: 1px 2px 1px 0; font-size: 11px; white-space: nowrap; }
.evidence { margin: 6px 0 0; padding-left: 16px; color: #3e4c59; font-size: 12px; }
.evidence li { margin-bottom: 3px; } .evidence .chip { background: #f1f5f9; color: var(--muted); }
.filter { margin: 0 0 8px; color: var(--muted); } .filter input { width: 340px; max-width: 100%; padding: 4px 8px;
  border: 1px solid #cbd2d9; border-radius: 4px; font: inherit; }
@media (max-width: 800px) { .grid2 { grid-template-columns: 1fr; } }
"""


def safe_href(url: object) -> str | None:
    """The URL when it is an absolute http(s) one; None for anything else (javascript:, data:, relative...),
    which the page then shows as text, never as a link."""
    if not isinstance(url, str):
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def duration(seconds: object) -> str:
    """A run's length as a person says it: 2.45 s, 3 min 5 s, 1 h 2 min."""
    if not isinstance(seconds, int | float):
        return "unknown"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def _moment(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "unknown"


def _header(run: RunOutput) -> str:
    counts = run.summary.get("counts") or {}
    tiles = []
    for key, label in HEADLINE_COUNTS:
        value = counts.get(key, 0)
        bad = " bad" if key in ("feeds_failed", "fetch_failed", "dead_letters") and value else ""
        tiles.append(f'<li class="tile{bad}" data-count="{escape(key)}"><b>{escape(str(value))}</b>'
                     f'<span>{escape(label)}</span></li>')
    outputs = "".join(f"<li>{escape(str(name))}: <code>{escape(str(where))}</code></li>"
                      for name, where in sorted((run.summary.get("outputs") or {}).items()) if where)
    every = "".join(f'<tr><td>{escape(str(k))}</td><td class="n">{escape(str(v))}</td></tr>'
                    for k, v in sorted(counts.items()))
    unreadable = (f'<p class="note">{run.unreadable} line(s) of the run\'s files were not JSON objects and are '
                  "left out.</p>" if run.unreadable else "")
    return (f'<header><h1>sitrep run report</h1><p class="meta">run <code id="run-id">{escape(run.run_id)}</code>'
            f" · started {escape(_moment(run.started_at))} · took {escape(duration(run.summary.get('seconds')))}"
            f" · pipeline {escape(str(run.summary.get('pipeline_version') or '?'))}"
            f" · folder <code>{escape(run.folder)}</code></p>"
            f'<ul class="tiles">{"".join(tiles)}</ul>{unreadable}'
            f'<ul class="outputs">{outputs}</ul>'
            f'<details><summary>every count of the run summary</summary><table class="counts">{every}</table>'
            "</details></header>")


def _empty(text: str) -> str:
    return f'<p class="empty">{escape(text)}</p>'


def _timeline(run: RunOutput, type_labels: dict[str, str]) -> str:
    line = figures.timeline(run.events)
    if not line.buckets:
        body = _empty("No events with a publication or fetch time in this run.")
    else:
        present = {kind for counter in line.counts.values() for kind in counter}
        series = [Series(kind, type_labels.get(kind, kind), TYPE_COLOURS.get(kind, "#7B8794"))
                  for kind in [*type_labels, *sorted(present - set(type_labels))] if kind in present]
        body = (stacked_columns(line.buckets, line.counts, series, "events per " + line.unit + " by event type")
                + legend(series))
    undated = f" {line.undated} event(s) have no time and are left out." if line.undated else ""
    return (f'<section id="timeline"><h2>Events over time, by event type</h2>{body}'
            f'<p class="note">Events per {escape(line.unit)} of publication (the fetch time when an article states '
            f"none), coloured by the event type of each event's highest-scoring topic.{escape(undated)}</p>"
            "</section>")


def _map(run: RunOutput, countries: list[Shape]) -> str:
    conflict = [e for e in run.events if figures.is_conflict(e)]
    per_country = figures.country_counts(conflict)
    by_id: dict[str, int] = {}
    off_map = []
    for code, count in per_country.items():
        numeric = figures.numeric_code(code)
        if numeric is None or numeric not in {c.id for c in countries}:
            off_map.append(f"{figures.country_name(code)} ({count})")
        else:
            by_id[numeric] = by_id.get(numeric, 0) + count
    names = {}
    for code in per_country:
        numeric = figures.numeric_code(code)
        if numeric:
            names[numeric] = figures.country_name(code)
    dots = figures.dots(run.events)
    least, most = min(by_id.values(), default=0), max(by_id.values(), default=0)
    notes = [f"{len(dots)} place(s) with coordinates; {len(by_id)} country(ies) named by conflict events."]
    if off_map:
        notes.append("Not on the map (no outline at this scale): " + ", ".join(sorted(off_map)) + ".")
    placeless = sum(1 for event in conflict if not event.get("locations"))
    if placeless:
        notes.append(f"{placeless} conflict event(s) name no place.")
    scale = "".join(f'<li><span class="swatch" style="background:{shade(n, most)}"></span>{n} event{"s" * (n != 1)}'
                    "</li>" for n in dict.fromkeys((least, most)) if n)
    keys = (f'<ul class="legend">{scale}<li><span class="swatch" style="background:{shade(0, most)}"></span>none</li>'
            '<li><span class="swatch dot"></span>a place in a conflict event (hover for the headline)</li>'
            '<li><span class="swatch dot other"></span>a place in another event</li></ul>')
    return (f'<section id="map"><h2>Where</h2>{world_map(countries, by_id, dots, names)}{keys}'
            f'<p class="note">{escape(" ".join(notes))} Countries are shaded by the number of conflict events naming '
            "them (Equal Earth projection; outlines from Natural Earth via world-atlas).</p></section>")


def _bars(run: RunOutput) -> str:
    conflict = [e for e in run.events if figures.is_conflict(e)]
    actors = figures.top_actors(conflict)
    per_country = figures.country_counts(conflict).most_common(12)
    hurt = figures.casualties_by_country(conflict)[:12]
    events_series = [Series("events", "events", "#3E63DD")]
    actor_chart = (horizontal_bars([(n, [c]) for n, c in actors], events_series, "top actors") if actors
                   else _empty("No actors named in this run's conflict events."))
    country_chart = (horizontal_bars([(figures.country_name(code), [c]) for code, c in per_country], events_series,
                                     "top countries") if per_country
                     else _empty("No countries named in this run's conflict events."))
    hurt_series = [Series("killed", "killed", KILLED), Series("injured", "injured", INJURED)]
    hurt_chart = (horizontal_bars([(figures.country_name(code), [k, i]) for code, k, i in hurt], hurt_series,
                                  "killed and injured by country", width=960, label_width=200)
                  + legend(hurt_series) if hurt
                  else _empty("No killed or injured reported in this run's conflict events."))
    return ('<div class="grid2 pair">'
            f'<section id="actors"><h2>Top actors</h2>{actor_chart}'
            '<p class="note">Conflict events naming each actor.</p></section>'
            f'<section id="countries"><h2>Top countries</h2>{country_chart}'
            '<p class="note">Conflict events naming each country.</p></section></div>'
            f'<section id="casualties"><h2>Killed and injured, by country</h2>{hurt_chart}'
            '<p class="note">The highest figures each article reports (casualties.killed / injured), given to the '
            "first country the event names.</p></section>")


def _reasons(counter: Any) -> str:
    if not counter:
        return '<span class="ok">0</span>'
    items = "".join(f"<li>{escape(reason)}{f' ×{n}' if n > 1 else ''}</li>" for reason, n in counter.most_common())
    return f'<b>{sum(counter.values())}</b><ul class="reasons">{items}</ul>'


def _feeds(run: RunOutput) -> str:
    health = figures.feed_health(run.events, run.dead_letters)
    if not health:
        nothing = _empty("No feed gave events or failures in this run.")
        return f'<section id="feeds"><h2>Feed health</h2>{nothing}</section>'
    rows = []
    for feed in health:
        name = feed.name or ("articles given with --input" if not feed.url else feed.url)
        rows.append(f'<tr class="feed"><td><b>{escape(name)}</b><div class="feed-url">{escape(feed.url)}</div></td>'
                    f'<td class="n">{feed.events}</td><td class="n">{feed.conflict_events}</td>'
                    f"<td>{_reasons(feed.feed_failures)}</td><td>{_reasons(feed.entries_skipped)}</td>"
                    f"<td>{_reasons(feed.fetch_failures)}</td><td>{_reasons(feed.other_failures)}</td></tr>")
    return ('<section id="feeds"><h2>Feed health</h2><table class="health"><thead><tr><th>feed</th>'
            '<th class="n">events</th><th class="n">conflict</th><th>feed failed (poll)</th>'
            "<th>entries skipped (poll)</th><th>fetch failures</th><th>later failures</th></tr></thead>"
            f'<tbody>{"".join(rows)}</tbody></table><p class="note">From the events\' source and the run\'s dead '
            "letters, with their reasons.</p></section>")


def evidence(event: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """Each evidence sentence of the event once, with what it is evidence of (topic labels, casualty kinds),
    in the order the event gives them."""
    cited: dict[str, list[str]] = {}
    for topic in event.get("topics") or ():
        for sentence in topic.get("evidence") or ():
            cited.setdefault(str(sentence), []).append(str(topic.get("label") or topic.get("code") or ""))
    for kind, figure in sorted((event.get("casualties") or {}).items()):
        if isinstance(figure, dict):
            for sentence in figure.get("evidence") or ():
                cited.setdefault(str(sentence), []).append(f"{kind}: {figure.get('count')}")
    return [(sentence, list(dict.fromkeys(what))) for sentence, what in cited.items()]


def _casualty_cell(event: dict[str, Any]) -> str:
    casualties = event.get("casualties") or {}
    parts = [f"{figure['count']} {kind}" for kind in ("killed", "injured", "abducted")
             if isinstance(figure := casualties.get(kind), dict) and isinstance(figure.get("count"), int)]
    return escape(", ".join(parts)) or "–"


def _chips(labels: Any) -> str:
    return "".join(f'<span class="chip">{escape(str(label))}</span>' for label in labels)


def _evidence_list(event: dict[str, Any]) -> str:
    """The event's evidence sentences, each with what it is evidence of; past the first few, folded."""
    cited = [f"<li>{escape(sentence)} {_chips(what)}</li>" for sentence, what in evidence(event)]
    if not cited:
        return ""
    shown = "".join(cited[:SHOWN_EVIDENCE])
    if len(cited) > SHOWN_EVIDENCE:
        shown += (f'<li class="more"><details><summary>{len(cited) - SHOWN_EVIDENCE} more evidence sentence(s)'
                  f'</summary><ul class="evidence">{"".join(cited[SHOWN_EVIDENCE:])}</ul></details></li>')
    return f'<ul class="evidence">{shown}</ul>'


def _headline(event: dict[str, Any], css: str) -> str:
    """The title, linked to the article when its URL is http(s); otherwise text that says the link was refused."""
    title = escape(str(event.get("title") or "(no title)"))
    href = safe_href(event.get("canonical_url")) or safe_href(event.get("url"))
    if href:
        return f'<a class="{css}" href="{escape(href)}" rel="noopener noreferrer">{title}</a>'
    return f'<span class="{css}">{title}</span> <span class="id">(link refused: not http(s))</span>'


def _published(event: dict[str, Any]) -> str:
    moment = figures.when(event)
    return escape(moment.strftime("%Y-%m-%d %H:%M") if moment else "–")


def _copies(event: dict[str, Any]) -> str:
    """What deduplication folded into the event: how many copies, and links to the other URLs they were at."""
    dedup = event.get("dedup") or {}
    copies = dedup.get("copies")
    if not isinstance(copies, int) or copies <= 0:
        return ""
    links = [f'<a href="{escape(href)}" rel="noopener noreferrer">{escape(urlsplit(href).netloc)}</a>'
             for href in map(safe_href, dedup.get("duplicate_urls") or ()) if href]
    also = f" (also at {', '.join(links)})" if links else ""
    return f" · {copies} cop{'y' if copies == 1 else 'ies'} folded in{also}"


def _event_row(event: dict[str, Any]) -> str:
    source = (event.get("source") or {}).get("name") or (event.get("source") or {}).get("domain") or ""
    countries = ", ".join(figures.country_name(code) for code in figures.countries_of(event)) or "–"
    topics = _chips(t.get("label") or t.get("code") for t in event.get("topics") or ())
    return (f'<tr class="event" data-event-id="{escape(str(event.get("event_id")))}"><td>{_published(event)}</td>'
            f'<td>{_headline(event, "title")}<div class="id">{escape(str(source))} · '
            f'{escape(str(event.get("event_id")))}{_copies(event)}</div>{_evidence_list(event)}</td>'
            f"<td>{escape(countries)}</td><td>{topics}</td><td>{_casualty_cell(event)}</td>"
            f'<td class="n">{escape(str(event.get("revision")))}</td></tr>')


def _newest_first(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(events, key=lambda e: figures.when(e) or datetime.min.replace(tzinfo=UTC), reverse=True)


def _other_row(event: dict[str, Any]) -> str:
    score = (event.get("conflict") or {}).get("score")
    return (f'<tr class="other-event" data-event-id="{escape(str(event.get("event_id")))}">'
            f'<td>{_published(event)}</td><td>{_headline(event, "other-title")}</td>'
            f'<td class="n">{escape(str(score))}</td><td class="n">{escape(str(event.get("revision")))}</td></tr>')


def _events(run: RunOutput) -> str:
    conflict = _newest_first([e for e in run.events if figures.is_conflict(e)])
    others = _newest_first([e for e in run.events if not figures.is_conflict(e)])
    if not conflict:
        body = _empty("No conflict events in this run.")
    else:
        body = ('<p class="filter" hidden><label>Filter events <input id="filter" type="search" '
                'placeholder="words in a title, country, topic or evidence"></label> '
                '<span id="filter-count"></span></p>'
                '<table class="events conflict"><thead><tr><th>published</th><th>event and its evidence</th>'
                '<th>country</th><th>topics</th><th>casualties</th><th class="n">rev.</th></tr></thead>'
                f'<tbody>{"".join(_event_row(e) for e in conflict)}</tbody></table>')
    rest = ""
    if others:
        rest = (f"<details><summary>{len(others)} other event(s), not conflict news</summary>"
                '<table class="events others"><thead><tr><th>published</th><th>title</th><th class="n">score</th>'
                f'<th class="n">rev.</th></tr></thead><tbody>{"".join(_other_row(e) for e in others)}</tbody>'
                "</table></details>")
    return (f'<section id="events"><h2>Conflict events ({len(conflict)} of {len(run.events)})</h2>{body}{rest}'
            '<p class="note">Newest first; each event at its latest revision. Evidence: the sentences the topics and '
            "casualty figures were read from.</p></section>")


def render(run: RunOutput, countries: list[Shape], type_labels: dict[str, str]) -> str:
    """The whole page. `type_labels` names the timeline's event types, in the order they stack."""
    labels = {**type_labels, figures.OTHER: "other conflict (tags only)", figures.NOT_CONFLICT: "not conflict"}
    nothing = ("" if run.events else
               '<section id="no-events">' + _empty("This run wrote no events: nothing to chart. The summary above "
                                                    "and the feed health below say what the run did.") + "</section>")
    return ("<!DOCTYPE html>\n"
            '<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>sitrep report {escape(run.run_id)}</title><style>{CSS}</style></head><body><main>"
            f"{_header(run)}{nothing}{_timeline(run, labels)}{_map(run, countries)}{_bars(run)}{_feeds(run)}"
            f"{_events(run)}</main><script>{FILTER_SCRIPT}</script></body></html>\n")
