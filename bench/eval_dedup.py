"""Pair precision and recall of near-duplicate clustering on syndicated copies made from real article bodies."""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import GROUND_TRUTH, load_bodies, syndicated_copy

from pipelines.dedup.near import DEFAULT_THRESHOLD, NearDupSettings, find_clusters, node_of
from schemas.records import Article, DedupResult


def pairs(groups: list[list[str]]) -> set[tuple[str, str]]:
    return {tuple(sorted(p)) for g in groups for p in itertools.combinations(g, 2)}


def evaluate(threshold: float, copies: int, seed: int) -> tuple[float, float, int, int]:
    rng = random.Random(seed)
    bodies = load_bodies()
    truth: list[list[str]] = []
    articles = []
    for n, body in enumerate(bodies):
        ids = [f"https://s{n}-0.example/a"]
        articles.append((ids[0], body))
        headline = " ".join(body.split()[:8]).title()
        for c in range(1, copies + 1):
            url = f"https://s{n}-{c}.example/a"
            ids.append(url)
            articles.append((url, syndicated_copy(body, rng, headline)))
        truth.append(ids)
    nodes = [node_of(DedupResult(Article(url=u, canonical_url=u, title="", text=t, language="en",
                                         fetched_at="2024-01-01T00:00:00Z"), ()), NearDupSettings(threshold))
             for u, t in articles]
    found = [[n.url for n in c] for c in find_clusters(nodes, NearDupSettings(threshold))]
    expected, predicted = pairs(truth), pairs(found)
    hit = len(expected & predicted)
    return hit / max(1, len(predicted)), hit / max(1, len(expected)), len(expected), len(articles)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=4, help="syndicated copies made of each real article")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--thresholds", default=f"0.3,0.4,{DEFAULT_THRESHOLD},0.6,0.7,0.8")
    args = parser.parse_args()
    if not GROUND_TRUTH.exists():
        print(f"skipped: {GROUND_TRUTH} is absent (the shared extraction benchmark)")
        return 0
    print("threshold  pair-precision  pair-recall  true-pairs  articles  seconds")
    for threshold in (float(t) for t in args.thresholds.split(",")):
        started = time.perf_counter()
        precision, recall, true_pairs, n = evaluate(threshold, args.copies, args.seed)
        print(f"{threshold:9.2f}  {precision:14.4f}  {recall:11.4f}  {true_pairs:10d}  {n:8d}  "
              f"{time.perf_counter() - started:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
