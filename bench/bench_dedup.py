"""Dedup stage time per article and peak memory at 1k, 10k and 100k synthetic articles made from real text."""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import GROUND_TRUTH, load_bodies, mixed_article, sentences, syndicated_copy

from pipelines.dedup.near import DEFAULT_SETTINGS, find_clusters, node_of, resolve_cluster
from schemas.records import Article, DedupResult

SIZES = (1_000, 10_000, 100_000)
SENTENCES_PER_ARTICLE = 10  # about 200 words: the same length at every size, so per-article times compare
COPY_SHARE = 0.3


def make_articles(count: int, seed: int) -> list[Article]:
    """`count` articles: 70% distinct (real sentences drawn from many articles), 30% syndicated copies of them."""
    rng = random.Random(seed)
    pool = sentences(load_bodies())
    texts: list[str] = []
    originals = int(count * (1 - COPY_SHARE))
    for _ in range(originals):
        texts.append(mixed_article(pool, rng, SENTENCES_PER_ARTICLE))
    while len(texts) < count:
        source = texts[rng.randrange(originals)]
        texts.append(syndicated_copy(source, rng, "Breaking news"))
    return [Article(url=f"https://s{i % 997}.example/a/{i}", canonical_url=f"https://s{i % 997}.example/a/{i}",
                    title="", text=t, language="en", fetched_at="2024-01-01T00:00:00Z",
                    published_at=f"2024-01-01T{i % 24:02d}:00:00Z") for i, t in enumerate(texts)]


def measure(count: int, seed: int) -> dict:
    """One size in this process: the stage's plain functions, as the Beam DoFns call them (CPU time, so other
    work on a shared machine does not count)."""
    articles = make_articles(count, seed)
    started = time.process_time()
    nodes = [node_of(DedupResult(a, ()), DEFAULT_SETTINGS) for a in articles]
    signed = time.process_time()
    clusters = find_clusters(nodes, DEFAULT_SETTINGS)
    resolutions = [resolve_cluster(c, flag_duplicates=False) for c in clusters]
    done = time.process_time()
    return {
        "articles": count,
        "seconds": done - started,
        "signature_us": (signed - started) / count * 1e6,
        "cluster_us": (done - signed) / count * 1e6,
        "per_article_us": (done - started) / count * 1e6,
        "duplicates": sum(r.duplicates for r in resolutions),
        "expected_duplicates": count - int(count * (1 - COPY_SHARE)),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not GROUND_TRUTH.exists():
        print(f"skipped: {GROUND_TRUTH} is absent (the shared extraction benchmark)")
        return 0
    if args.one:
        print(json.dumps(measure(args.one, args.seed)))
        return 0
    # Each size in its own process, so the peak memory reported is that size's alone.
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        done = subprocess.run([sys.executable, __file__, "--one", str(size), "--seed", str(args.seed)],
                              capture_output=True, text=True, check=True)
        results.append(json.loads(done.stdout))
    base = results[0]
    print(f"dedup stage (MinHash {DEFAULT_SETTINGS.num_perm} perms, LSH {DEFAULT_SETTINGS.bands} bands x rows, "
          f"threshold {DEFAULT_SETTINGS.threshold}), {SENTENCES_PER_ARTICLE} real sentences an article, "
          f"{COPY_SHARE:.0%} copies")
    print("articles  cpu-sec  us/article  (signature + clustering)  ratio-vs-1k  duplicates/expected  peak-RSS-MB")
    for r in results:
        ratio = r["per_article_us"] / base["per_article_us"]
        print(f"{r['articles']:8d}  {r['seconds']:7.2f}  {r['per_article_us']:10.1f}  "
              f"({r['signature_us']:7.1f} + {r['cluster_us']:7.1f})  {ratio:11.2f}"
              f"  {r['duplicates']:>9d}/{r['expected_duplicates']:<9d}  {r['peak_rss_mb']:11.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
