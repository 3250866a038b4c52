"""Evaluate the conflict tagger on every labelled set side by side: relevance, calibration, event types,
country, province, fatalities.

By default the development parts are scored; `--part holdout` scores the parts kept untouched (report those
when an issue closes, never tune on them). The project's own set is a regression test and is scored whole.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tagging_sets import SETS, LabelledSet, labelled_set

from pipelines.extract import detect_language
from pipelines.tagging import ConflictTagger
from pipelines.tagging.model import RelevanceModel

EVENT_TYPES = ("battles", "explosions", "violence_against_civilians", "protests", "riots", "strategic_developments")
BINS = 10


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


def _ratio(hit: int, total: int) -> float | None:
    return hit / total if total else None


def evaluate(records: list[dict], tagger: ConflictTagger) -> dict:
    """Every metric of the report over one labelled set's rows."""
    rel: Counter[str] = Counter()
    negatives_by_label: Counter[str] = Counter()
    false_by_label: Counter[str] = Counter()
    per_code: dict[str, Counter[str]] = {}
    bins = [[0, 0.0, 0] for _ in range(BINS)]  # per score bin: rows, score sum, positives
    country, admin1, place, killed = [0, 0], [0, 0], [0, 0], Counter()
    typed = 0
    for rec in records:
        language = rec.get("language") or detect_language(rec["text"])
        got = tagger.tag(rec.get("title", ""), rec["text"], language).to_json()
        truth, pred, score = bool(rec["is_conflict"]), got["conflict"]["is_conflict"], got["conflict"]["score"]
        rel["tp" if truth and pred else "fp" if pred else "fn" if truth else "tn"] += 1
        b = bins[min(int(score * BINS), BINS - 1)]
        b[0], b[1], b[2] = b[0] + 1, b[1] + score, b[2] + truth
        if not truth:
            label = rec.get("label") or rec.get("asnd_class") or rec.get("wcep_category") or "negative"
            negatives_by_label[label] += 1
            false_by_label[label] += pred
            continue
        if rec.get("topics"):
            typed += 1
            gold, found = _codes(rec["topics"]), {t["code"] for t in got["topics"]}
            for code in gold | found:
                c = per_code.setdefault(code, Counter())
                c["tp" if code in gold and code in found else "fp" if code in found else "fn"] += 1
        locations = got["locations"]
        if rec.get("country"):
            country[1] += 1
            country[0] += bool(locations) and locations[0]["country_code"] == rec["country"]
        if rec.get("admin1"):
            admin1[1] += 1
            first = next((loc["admin1"] for loc in locations if loc["admin1"]), None)
            admin1[0] += first in rec["admin1"]
        if rec.get("lat") is not None:
            place[1] += 1
            first = next((loc for loc in locations if loc["lat"] is not None), None)
            place[0] += first is not None and _km(first["lat"], first["lon"], rec["lat"], rec["lon"]) <= 50
        if "fatalities" in rec:
            gold_n = rec["fatalities"] or 0
            found_killed = got["casualties"]["killed"]
            n = found_killed["count"] if found_killed else 0
            killed["rows"] += 1
            killed["exact"] += n == gold_n
            killed["close"] += abs(n - gold_n) <= 0.1 * gold_n
            killed["over"] += n > gold_n
    p, r, f = _f1(rel["tp"], rel["fp"], rel["fn"])
    scores = {code: _f1(c["tp"], c["fp"], c["fn"]) for code, c in sorted(per_code.items())}
    # Event types scored where the set labels any: the six ACLED types, or those its labels use.
    gold_types = {t for t in EVENT_TYPES if per_code.get(t, Counter())["tp"] + per_code.get(t, Counter())["fn"]}
    types = [scores[t][2] for t in (EVENT_TYPES if len(gold_types) == len(EVENT_TYPES) else sorted(gold_types))]
    negatives = rel["fp"] + rel["tn"]
    return {
        "n": len(records),
        "positives": rel["tp"] + rel["fn"],
        "relevance": {"precision": p, "recall": r, "f1": f},
        "false_positive_rate": _ratio(rel["fp"], negatives),
        "false_positives_by_label": {k: round(false_by_label[k] / v, 3) for k, v in negatives_by_label.items()},
        "calibration_error": sum(abs(s - pos) for _, s, pos in bins) / len(records) if records else None,
        "reliability": [{"bin": f"{i / BINS:.1f}-{(i + 1) / BINS:.1f}", "rows": b[0],
                         "share_conflict": round(b[2] / b[0], 3)} for i, b in enumerate(bins) if b[0]],
        "per_code_f1": {code: round(s[2], 3) for code, s in scores.items()},
        "event_type_macro_f1": sum(types) / len(types) if types else None,
        "event_types_scored": len(types),
        "typed_rows": typed,
        "country_accuracy": _ratio(*country),
        "admin1_accuracy": _ratio(*admin1),
        "location_within_50km": _ratio(*place),
        "killed_exact": _ratio(killed["exact"], killed["rows"]),
        "killed_within_10pct": _ratio(killed["close"], killed["rows"]),
        "killed_over": _ratio(killed["over"], killed["rows"]),
        "counts": {"country": country[1], "admin1": admin1[1], "location": place[1], "killed": killed["rows"]},
    }


ROWS = (
    ("rows (positives)", lambda m: f"{m['n']} ({m['positives']})"),
    ("relevance P", lambda m: m["relevance"]["precision"]),
    ("relevance R", lambda m: m["relevance"]["recall"]),
    ("relevance F1", lambda m: m["relevance"]["f1"]),
    ("false positive rate", lambda m: m["false_positive_rate"]),
    ("calibration error", lambda m: m["calibration_error"]),
    ("event types macro F1", lambda m: m["event_type_macro_f1"]),
    ("country first", lambda m: m["country_accuracy"]),
    ("province (admin1)", lambda m: m["admin1_accuracy"]),
    ("place <= 50 km", lambda m: m["location_within_50km"]),
    ("killed exact", lambda m: m["killed_exact"]),
    ("killed within 10%", lambda m: m["killed_within_10pct"]),
    ("killed above gold", lambda m: m["killed_over"]),
)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def print_table(results: dict[str, dict]) -> None:
    names = list(results)
    width = max(14, *(len(n) for n in names))
    print(f"{'':22s}" + "".join(f"{n:>{width + 2}s}" for n in names))
    for label, get in ROWS:
        print(f"{label:22s}" + "".join(f"{_cell(get(results[n])):>{width + 2}s}" for n in names))
    for name, m in results.items():
        if m["false_positives_by_label"] and len(m["false_positives_by_label"]) > 1:
            worst = sorted(m["false_positives_by_label"].items(), key=lambda kv: -kv[1])[:6]
            print(f"  {name} false positives by label: " + ", ".join(f"{k} {v:.3f}" for k, v in worst))
        if m["reliability"]:
            print(f"  {name} share conflict by score: "
                  + ", ".join(f"{b['bin']} {b['share_conflict']:.2f} ({b['rows']})" for b in m["reliability"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("dev", "holdout"), default="dev",
                        help="which part of each set to score (default: dev; holdout only to report)")
    parser.add_argument("--sets", nargs="*", help="set names (default: every set that is present)")
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON lines")
    parser.add_argument("--model", type=Path, help="a relevance model file (default: the shipped one)")
    parser.add_argument("--rules-only", action="store_true", help="score with the rules alone, no model")
    args = parser.parse_args(argv)
    chosen: list[LabelledSet] = [labelled_set(n) for n in args.sets] if args.sets else list(SETS)
    tagger = ConflictTagger(model=RelevanceModel(args.model) if args.model else None, rules_only=args.rules_only)
    results: dict[str, dict] = {}
    for labelled in chosen:
        if not labelled.available():
            print(f"skipped {labelled.name}: {labelled.path} is absent", file=sys.stderr)
            continue
        part = "dev" if not labelled.split else args.part
        metrics = evaluate(list(labelled.rows((part,))), tagger)
        results[labelled.name] = metrics
        if args.json:
            print(json.dumps({"set": labelled.name, "part": part if labelled.split else "all", **metrics}))
    if not args.json:
        print(f"part: {args.part} (the project's own set: all of it)")
        print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
