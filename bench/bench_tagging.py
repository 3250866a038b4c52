"""Tagging CPU time against extraction CPU time on the same articles: prints the ratio (target < 10%)."""

from __future__ import annotations

import gzip
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.extract import ArticleExtractor
from pipelines.tagging import ConflictTagger
from schemas.records import FeedEntry, FetchedPage

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "pipelines" / "sample" / "pages"
SHARED = ROOT.parent / "shared" / "data" / "extraction-benchmark" / "html"


def pages() -> list[bytes]:
    bodies = [p.read_bytes() for p in sorted(SAMPLE.glob("*.html"))]
    bodies += [gzip.decompress(p.read_bytes()) for p in sorted(SHARED.glob("*.html.gz"))] if SHARED.is_dir() else []
    return bodies


def main() -> int:
    bodies = pages()
    extractor = ArticleExtractor()
    t0 = time.process_time()
    tagger = ConflictTagger()
    load = time.process_time() - t0
    articles = []
    t0 = time.process_time()
    for i, body in enumerate(bodies):
        url = f"https://bench.example/{i}"
        page = FetchedPage(entry=FeedEntry(link=url), final_url=url, status=200, content_type="text/html",
                           body=body, fetched_at="2024-01-01T00:00:00Z")
        article = extractor.extract(page)
        if article is not None and not isinstance(article, Exception) and hasattr(article, "text"):
            articles.append(article)
    extract = time.process_time() - t0
    t0 = time.process_time()
    for article in articles:
        tagger.tag(article.title, article.text, article.language)
    tag = time.process_time() - t0
    print(f"pages {len(bodies)}, articles extracted {len(articles)}")
    print(f"extraction CPU {extract:.3f} s ({1000 * extract / max(len(bodies), 1):.1f} ms/page)")
    print(f"tagging CPU    {tag:.3f} s ({1000 * tag / max(len(articles), 1):.2f} ms/article)")
    print(f"tagger load    {load:.3f} s once per process (gazetteer, lexicons, actors), not in the ratio")
    print(f"tagging/extraction CPU ratio {tag / extract:.3f} (target < 0.10)")
    return 0 if tag / extract < 0.10 else 1


if __name__ == "__main__":
    sys.exit(main())
