"""Extraction speed: the project's extraction stage against trafilatura.extract(with_metadata=True), one run."""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402
from eval_extraction import DATA, BenchmarkPage, feed_headline, fetched, load_benchmark  # noqa: E402

from pipelines import sample_path  # noqa: E402
from pipelines.extract import ArticleExtractor, ExtractionError  # noqa: E402

# What a feed entry gives besides the link (RSS <pubDate>, <dc:creator>); the headline is the page's own.
FEED_DATE = "2019-11-19T10:00:00Z"
FEED_AUTHOR = ("Staff reporter",)


def sample_pages() -> list[BenchmarkPage]:
    """The shipped sample's pages, for when the benchmark data is absent."""
    pages = []
    for path in sorted((Path(sample_path()) / "pages").glob("*.html")):
        body = path.read_bytes()
        pages.append(BenchmarkPage(path.stem, f"https://sample.example/{path.stem}", body, feed_headline(body), ""))
    return pages


def pages_per_second(pages: list[BenchmarkPage], run: Callable[[BenchmarkPage], object]) -> float:
    # CPU time of this process, not wall time: the machine is shared, and another job's burst would otherwise
    # count against whichever side happened to be running.
    start = time.process_time()
    for page in pages:
        run(page)
    return len(pages) / (time.process_time() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds of both (default 5)")
    parser.add_argument("--data", type=Path, default=DATA, help="the extraction-benchmark folder")
    args = parser.parse_args()
    if (args.data / "ground-truth.json").exists():
        pages, source = load_benchmark(args.data), f"extraction benchmark ({args.data})"
    else:
        print(f"extraction benchmark not found at {args.data}; measuring on the shipped sample pages instead")
        pages, source = sample_pages(), "shipped sample pages"
    extractor = ArticleExtractor()
    project_pages = [fetched(p, title=p.headline, published_at=FEED_DATE, authors=FEED_AUTHOR) for p in pages]
    by_id = {p.id: fp for p, fp in zip(pages, project_pages, strict=True)}

    def project(page: BenchmarkPage) -> None:
        try:
            extractor.extract(by_id[page.id])
        except ExtractionError:
            pass

    def baseline(page: BenchmarkPage) -> None:
        trafilatura.extract(page.body, url=page.url, with_metadata=True)

    print(f"{len(pages)} pages, {source}; feed gives headline, date and author; {args.rounds} interleaved rounds, "
          "pages per CPU-second of one process")
    pages_per_second(pages[:5], project)  # warm-up: imports, lazily compiled XPaths and regexes
    pages_per_second(pages[:5], baseline)
    ours, theirs = [], []
    for round_no in range(args.rounds):
        # Alternate which runs first, so neither always gets the warmer caches or the quieter machine.
        order = [("project", project, ours), ("baseline", baseline, theirs)]
        for _name, run, results in order if round_no % 2 == 0 else reversed(order):
            results.append(pages_per_second(pages, run))
        print(f"  round {round_no + 1}: project {ours[-1]:6.1f} pages/s, trafilatura.extract(with_metadata=True) "
              f"{theirs[-1]:6.1f} pages/s, ratio {ours[-1] / theirs[-1]:.2f}x")
    ratios = [o / t for o, t in zip(ours, theirs, strict=True)]
    print(f"median: project {statistics.median(ours):.1f} pages/s, trafilatura.extract(with_metadata=True) "
          f"{statistics.median(theirs):.1f} pages/s, ratio {statistics.median(ratios):.2f}x (min {min(ratios):.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
