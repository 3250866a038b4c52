"""Evaluate the conflict tagger on labelled JSONL: relevance, event types, country, place and fatalities."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.extract import detect_language
from pipelines.tagging import ConflictTagger

HERE = Path(__file__).resolve().parent
DEV_SET = HERE / "data" / "tagging-dev.jsonl"
SHARED = HERE.parent.parent / "shared" / "data"
EVENT_TYPES = ("battles", "explosions", "violence_against_civilians", "protests", "riots", "strategic_developments")


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 6371 * 2 * math.asin(math.sqrt(a))


def _f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _codes(codes: list[str]) -> set[str]:
    """Label codes with their parents (a sub-event type implies its event type)."""
    out = set(codes)
    out |= {c.split(".")[0] for c in codes if not c.startswith("tags.")}
    return out


def evaluate(records: list[dict], tagger: ConflictTagger) -> dict:
    """Every metric of the report, over one labelled set."""
    rel = {"tp": 0, "fp": 0, "fn": 0}
    per_code: dict[str, dict[str, int]] = {}
    country = [0, 0]
    place = [0, 0]
    fatal_exact = [0, 0]
    fatal_close = 0
    for rec in records:
        language = rec.get("language") or detect_language(rec["text"])
        got = tagger.tag(rec.get("title", ""), rec["text"], language).to_json()
        truth, pred = bool(rec["is_conflict"]), got["conflict"]["is_conflict"]
        rel["tp" if truth and pred else "fp" if pred else "fn" if truth else "tn"] = (
            rel.get("tp" if truth and pred else "fp" if pred else "fn" if truth else "tn", 0) + 1)
        if not truth:
            continue
        gold, found = _codes(rec.get("topics") or []), {t["code"] for t in got["topics"]}
        for code in gold | found:
            c = per_code.setdefault(code, {"tp": 0, "fp": 0, "fn": 0})
            c["tp" if code in gold and code in found else "fp" if code in found else "fn"] += 1
        locations = got["locations"]
        if rec.get("country"):
            country[1] += 1
            country[0] += bool(locations) and locations[0]["country_code"] == rec["country"]
        if rec.get("lat") is not None:
            place[1] += 1
            first = next((loc for loc in locations if loc["lat"] is not None), None)
            place[0] += first is not None and _km(first["lat"], first["lon"], rec["lat"], rec["lon"]) <= 50
        if "fatalities" in rec:
            gold_n = rec["fatalities"] or 0
            killed = got["casualties"]["killed"]
            n = killed["count"] if killed else 0
            fatal_exact[1] += 1
            fatal_exact[0] += n == gold_n
            fatal_close += abs(n - gold_n) <= 0.1 * gold_n
    p, r, f = _f1(rel["tp"], rel["fp"], rel["fn"])
    scores = {code: _f1(**c) for code, c in sorted(per_code.items())}
    types = [scores[t][2] if t in scores else 0.0 for t in EVENT_TYPES]
    all_codes = [s[2] for code, s in scores.items() if code in tagger.taxonomy.topics]
    return {
        "n": len(records),
        "relevance": {"precision": p, "recall": r, "f1": f},
        "per_code_f1": {code: round(s[2], 3) for code, s in scores.items()},
        "event_type_macro_f1": sum(types) / len(types),
        "all_codes_macro_f1": sum(all_codes) / len(all_codes) if all_codes else 0.0,
        "country_accuracy": country[0] / country[1] if country[1] else None,
        "location_within_50km": place[0] / place[1] if place[1] else None,
        "fatalities_exact": fatal_exact[0] / fatal_exact[1] if fatal_exact[1] else None,
        "fatalities_within_10pct": fatal_close / fatal_exact[1] if fatal_exact[1] else None,
        "counts": {"relevance": rel, "country": country, "location": place, "fatalities": fatal_exact[1]},
    }


def _load(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _print(name: str, m: dict) -> None:
    rel = m["relevance"]
    print(f"== {name} ({m['n']} paragraphs)")
    print(f"relevance            precision {rel['precision']:.3f}  recall {rel['recall']:.3f}  F1 {rel['f1']:.3f}")
    print(f"event types          macro F1 {m['event_type_macro_f1']:.3f} (6 ACLED types); "
          f"all codes macro F1 {m['all_codes_macro_f1']:.3f}")
    for code, f in m["per_code_f1"].items():
        print(f"  {code:40s} F1 {f:.3f}")
    fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
    print(f"country accuracy     {fmt(m['country_accuracy'])}  ({m['counts']['country'][1]} labelled)")
    print(f"location <= 50 km    {fmt(m['location_within_50km'])}  ({m['counts']['location'][1]} labelled)")
    print(f"fatalities exact     {fmt(m['fatalities_exact'])}  within 10%: {fmt(m['fatalities_within_10pct'])}"
          f"  ({m['counts']['fatalities']} conflict paragraphs)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("files", nargs="*", type=Path, help="labelled JSONL files (default: the dev set and "
                        "any tagging*.jsonl under ../shared/data)")
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    args = parser.parse_args(argv)
    files = args.files or [DEV_SET, *sorted(SHARED.glob("**/tagging*.jsonl"))]
    tagger = ConflictTagger()
    for path in files:
        metrics = evaluate(_load(path), tagger)
        if args.json:
            print(json.dumps({"file": str(path), **metrics}))
        else:
            _print(path.name, metrics)
    return 0


if __name__ == "__main__":
    sys.exit(main())
