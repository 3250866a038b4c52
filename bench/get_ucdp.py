"""Convert UCDP's Georeferenced Event Dataset, as mirrored on GitHub, into a labelled set of news headlines.

Each UCDP event is coded by UCDP's own coders from the reports it cites; the report titles (`source_headline`,
several joined by ";") are real headlines no one here wrote. The set keeps the titles that describe one event
and drops those of periodic or compiled reports ("Report of the Secretary-General", "… NOVEMBER 2022", a title
cited for many events), which say nothing of an event's kind. The mirror states CC0 1.0; UCDP's own terms are
not in it, so the set is used for evaluation only and never shipped (Uppsala Conflict Data Program, GED 23.1;
cite Sundberg and Melander 2013, Davies, Pettersson and Öberg 2023).

    git clone https://github.com/optgeo/ucdp-23.1-482   # or `fetch github:optgeo/ucdp-23.1-482`
    python bench/get_ucdp.py --mirror ucdp-23.1-482     # writes $SITREP_EVAL_DATA/ucdp-ged.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tagging_sets import EXTERNAL

MIRROR = Path("/work/.mirror/optgeo+ucdp-23.1-482/repo")
GEOJSON = "GEDEvent_v23_1.geojson"
# The commit the set was built from, so that a rebuild gives the same rows.
COMMIT = "be05b36cd56d147ca1d47bb392c186b6b7447d56"
SEED = 20
# A title cited for this many events or more covers a period or a region, not one event.
MAX_EVENTS_PER_TITLE = 4
# Titles of periodic, compiled or institutional reports (English and French), whatever the events they cite.
REPORT_TITLE = re.compile(
    r"\b(january|february|march|april|may|june|july|august|september|october|november|december"
    r"|janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre)\s+\d{4}\b"
    r"|report|rapport|aperçu|overview|letter dated|panel of experts|secretary-general|s/\d{4}/|daily"
    r"|liste des incidents|crisis tracker|mapping|events of \d{4}|bulletin|situation|\d{4}\s*-\s*\d{4}"
    r"|update|watch|https?://",
    re.IGNORECASE,
)
# UCDP's type of violence as the ACLED event type: state-based and non-state conflict are fighting between two
# organised armed sides; one-sided violence is an organised side killing civilians.
VIOLENCE_TYPES = {1: "battles", 2: "battles", 3: "violence_against_civilians"}
COUNTRY_CODES = {"Central African Republic": "CF"}


def features(mirror: Path, commit: str) -> list[dict]:
    """The event properties of the mirror's GeoJSON at the given commit, each with its point."""
    # A clone has its git directory inside; a bare mirror is one.
    git_dir = mirror / ".git" if (mirror / ".git").exists() else mirror
    blob = subprocess.run(["git", "--git-dir", str(git_dir), "show", f"{commit}:{GEOJSON}"],
                          check=True, capture_output=True, timeout=120).stdout
    out = []
    for feature in json.loads(blob)["features"]:
        lon, lat = feature["geometry"]["coordinates"]
        out.append({**feature["properties"], "latitude": lat, "longitude": lon})
    return out


def event_titles(events: list[dict]) -> dict[int, list[str]]:
    """Per event, its cited titles that describe an event rather than a period or a compilation."""
    cited = Counter(t for e in events for t in {" ".join(s.split()) for s in e["source_headline"].split(";")} if t)
    out = {}
    for event in events:
        titles = [t for t in dict.fromkeys(" ".join(s.split()) for s in event["source_headline"].split(";"))
                  if t and cited[t] < MAX_EVENTS_PER_TITLE and not REPORT_TITLE.search(t)]
        if titles:
            out[event["id"]] = titles
    return out


def row(event: dict, titles: list[str]) -> dict:
    """One labelled row: the titles as the text, UCDP's type, country, point and (where stated) deaths."""
    text = ". ".join(t.rstrip(".") for t in titles) + "."
    out = {
        "id": f"ucdp-{event['id']}",
        "title": "",
        "text": text,
        "is_conflict": True,
        "topics": [VIOLENCE_TYPES[event["type_of_violence"]]],
        "country": COUNTRY_CODES.get(event["country"]),
        "lat": event["latitude"],
        "lon": event["longitude"],
        "ucdp_type_of_violence": event["type_of_violence"],
        "adm_1": event["adm_1"],
        "date": event["date_start"][:10],
        "deaths_best": event["best"],
    }
    # The dead are scored only where a title states UCDP's best count; titles often name none or another figure.
    if re.search(rf"(?<!\d){event['best']}(?!\d)", text):
        out["fatalities"] = event["best"]
    return out


def sample(rows: list[dict], limit: int, seed: int) -> list[dict]:
    """At most limit rows, the same share from each type of violence, in a fixed order."""
    by_type: dict[int, list[dict]] = {}
    for r in rows:
        by_type.setdefault(r["ucdp_type_of_violence"], []).append(r)
    rng = random.Random(seed)
    share = limit / max(1, len(rows))
    chosen = []
    for kind in sorted(by_type):
        group = sorted(by_type[kind], key=lambda r: r["id"])
        rng.shuffle(group)
        chosen += group[: max(1, round(len(group) * share))] if share < 1 else group
    return sorted(chosen, key=lambda r: r["id"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mirror", type=Path, default=MIRROR, help="a clone of optgeo/ucdp-23.1-482")
    parser.add_argument("--commit", default=COMMIT, help="the commit to read (default: the one the set is built on)")
    parser.add_argument("--limit", type=int, default=3000, help="rows at most, stratified by type of violence")
    parser.add_argument("--out", type=Path, default=EXTERNAL / "ucdp-ged.jsonl")
    args = parser.parse_args(argv)
    if not args.mirror.exists():
        print(f"no mirror at {args.mirror}: clone github.com/optgeo/ucdp-23.1-482 and pass --mirror", file=sys.stderr)
        return 2
    events = features(args.mirror, args.commit)
    titles = event_titles(events)
    rows = sample([row(e, titles[e["id"]]) for e in events if e["id"] in titles], args.limit, SEED)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as handle:
        for r in rows:
            handle.write(json.dumps(r, ensure_ascii=False) + "\n")
    kinds = Counter(r["topics"][0] for r in rows)
    print(f"{len(rows)} of {len(events)} events written to {args.out} ({dict(kinds)}; "
          f"{sum('fatalities' in r for r in rows)} with deaths stated)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
