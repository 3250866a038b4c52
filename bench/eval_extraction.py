"""Body quality on the extraction benchmark: the project's extraction against plain trafilatura.extract, one run."""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402
from lxml import html as lxml_html  # noqa: E402

from pipelines.extract import ArticleExtractor, ExtractionError  # noqa: E402
from schemas.records import FeedEntry, FetchedPage  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "extraction-benchmark"
# The benchmark's own tokenization: words, case kept, punctuation dropped.
TOKEN = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class BenchmarkPage:
    """One page of the benchmark: its id, URL, gzip-decoded bytes, the headline a feed would carry, the truth."""

    id: str
    url: str
    body: bytes
    headline: str | None
    truth: str


def feed_headline(body: bytes) -> str | None:
    """What a feed entry's <title> would say: the page's og:title, else its <title>."""
    tree = lxml_html.fromstring(body)
    og = tree.xpath('string(//meta[@property="og:title"]/@content)').strip()
    return og or tree.findtext(".//title", "").strip() or None


def load_benchmark(data: Path = DATA) -> list[BenchmarkPage]:
    """The benchmark's pages, read in place from ../shared/data (never copied into the repository)."""
    truth = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page_id, item in sorted(truth.items()):
        body = gzip.decompress((data / "html" / f"{page_id}.html.gz").read_bytes())
        pages.append(BenchmarkPage(page_id, item["url"], body, feed_headline(body), item["articleBody"]))
    return pages


def require_data(data: Path = DATA) -> None:
    if not (data / "ground-truth.json").exists():
        sys.exit(f"extraction benchmark not found at {data} (it lives beside the repo in shared/data); nothing to do")


def scores(truth: str, predicted: str) -> tuple[float, float, float]:
    """Token-level precision, recall and F1 of one page (bag of tokens, counts kept)."""
    expected, got = Counter(TOKEN.findall(truth)), Counter(TOKEN.findall(predicted))
    if not expected and not got:
        return 1.0, 1.0, 1.0
    common = sum((expected & got).values())
    precision = common / sum(got.values()) if got else 0.0
    recall = common / sum(expected.values()) if expected else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def fetched(page: BenchmarkPage, title: str | None = None, published_at: str | None = None,
            authors: tuple[str, ...] = ()) -> FetchedPage:
    """The page as the fetch stage hands it on; no charset header, since the crawl kept none."""
    entry = FeedEntry(link=page.url, title=title, published_at=published_at, authors=authors)
    return FetchedPage(entry=entry, final_url=page.url, status=200, content_type="text/html", body=page.body,
                       fetched_at="2024-01-01T00:00:00Z")


def project_text(extractor: ArticleExtractor, page: FetchedPage) -> str:
    try:
        return extractor.extract(page).text
    except ExtractionError:
        return ""


def evaluate(name: str, pages: Iterable[BenchmarkPage], run: Callable[[BenchmarkPage], str]) -> tuple[float, ...]:
    totals, count, start = [0.0, 0.0, 0.0], 0, time.perf_counter()
    for page in pages:
        for i, value in enumerate(scores(page.truth, run(page))):
            totals[i] += value
        count += 1
    elapsed = time.perf_counter() - start
    precision, recall, f1 = (t / count for t in totals)
    print(f"{name:48s} P {precision:.4f}  R {recall:.4f}  F1 {f1:.4f}   ({count} pages, {elapsed:.1f} s)")
    return precision, recall, f1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DATA, help="the extraction-benchmark folder")
    args = parser.parse_args()
    require_data(args.data)
    pages = load_benchmark(args.data)
    extractor = ArticleExtractor()
    print(f"extraction benchmark: {len(pages)} pages from {args.data}")
    default = evaluate("trafilatura.extract(html), defaults", pages,
                       lambda p: trafilatura.extract(p.body, url=p.url) or "")
    bare = evaluate("project, feed gives the link only", pages, lambda p: project_text(extractor, fetched(p)))
    titled = evaluate("project, feed gives link + headline (og:title)", pages,
                      lambda p: project_text(extractor, fetched(p, title=p.headline)))
    worst = min(bare[2], titled[2])
    print(f"F1 project - default: {worst - default[2]:+.4f} (worse of the two project runs)")
    if worst < default[2]:
        print("FAIL: the project's F1 is below plain trafilatura's")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
