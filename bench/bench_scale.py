"""Scale test: thousands of synthetic feeds and articles served on 127.0.0.1; throughput per stage and end to end.

Stories are made from real text (the extraction benchmark's ground-truth bodies in ../shared/data when
present, else the shipped sample's pages), with a share of exact and near duplicates. Each story is put
into a real news page: one of the benchmark's own pages with its article paragraphs replaced by the
story's (its markup, scripts, menus, comments and size stay real; its URL becomes the story's). Without
the shared pages, a project-written template of about 80 KB is used instead; its regular markup is
cheaper to extract than real pages (the script prints both kinds' median extraction time when it can),
which makes the pipeline's relative overhead look larger. For each size the script reports, in one process:

- articles per second per core (CPU time) for each stage called alone in a plain loop: feed parse, HTTP
  fetch from the local server, extraction, dedup, tagging, event building and validation;
- end to end on the DirectRunner from already-fetched pages (`sitrep run --input`), and its ratio to the
  extraction stage alone in a plain loop over the same pages, run interleaved with it in the same thread
  (after every 32 pages the run extracts, the same 32 again alone), so that both see the machine alike
  (the pipeline's own overhead; target >= 0.8). The run is measured in a process that has run the
  pipeline twice on the shipped sample (3 pages), as the baseline's extractor is warmed: the CPU of those
  two runs is printed (what a new process pays once, and a run's fixed cost);
- the peak resident memory of the process that ran that size.

    .venv/bin/python bench/bench_scale.py                 # 2,000, 6,000, 12,000 articles (1,000 to 6,000 feeds)
    .venv/bin/python bench/bench_scale.py --sizes 200 500 --template   # the project's template pages
"""

from __future__ import annotations

import argparse
import gc
import html
import json
import multiprocessing
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from queue import Empty

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "extraction-benchmark" / "ground-truth.json"
sys.path.insert(0, str(ROOT))

EXACT_SHARE = 0.10
NEAR_SHARE = 0.05
# A feed polled every 15 minutes brings a few new entries; each article comes from its own feed entry.
ENTRIES_PER_FEED = 2
PAGES = SHARED.parent / "html"
SCRIPT_BLOB = "window.__CONFIG__=" + json.dumps({f"k{i}": "x" * 60 for i in range(700)}) + ";"


def real_texts() -> tuple[list[str], str]:
    """Article bodies of real news text, and where they came from."""
    if SHARED.exists():
        truth = json.loads(SHARED.read_text(encoding="utf-8"))
        texts = [v["articleBody"] for v in truth.values() if len(v["articleBody"]) > 800]
        return texts, f"{len(texts)} ground-truth bodies of {SHARED.parent.name}"
    from pipelines import sample_path
    from pipelines.extract import ArticleExtractor
    from schemas.records import FeedEntry, FetchedPage

    texts = []
    for page in sorted(Path(sample_path("pages")).glob("*.html")):
        fetched = FetchedPage(FeedEntry(link="https://x.example/a"), "https://x.example/a", 200, "text/html",
                              page.read_bytes(), "2022-01-23T00:00:00Z")
        texts.append(ArticleExtractor().extract(fetched).text)
    return texts, f"{len(texts)} sample pages (shared data absent)"


AD = ('<div class="ad-slot" data-slot="{n}"><div class="ad-label">Advertisement</div>'
      '<div class="ad-inner"><iframe title="ad" src="about:blank"></iframe></div></div>')
CARD = ('<div class="card"><a href="/story/{n}"><div class="card-media"><img src="/img/{n}.jpg" alt=""></div>'
        '<div class="card-body"><span class="kicker">World</span><h3>Related story number {n} with a '
        'long headline about events elsewhere</h3><time>2 hours ago</time></div></a></div>')


def page_html(title: str, body: str, url: str, published: str) -> bytes:
    """A news page shaped like real ones: deep markup, menus, ad slots between paragraphs, related cards,
    comments and a footer around the story (a real page's DOM, not only its byte size, is what
    extraction pays for)."""
    parts = []
    for n, p in enumerate(x for x in body.split("\n") if x.strip()):
        parts.append(f'<div class="paragraph-wrapper"><p class="story-text">{html.escape(p)}</p></div>')
        if n % 3 == 2:
            parts.append(AD.format(n=n))
    nav = "".join(f'<li class="menu-item"><a href="/section/{i}"><span>Section {i}</span></a>'
                  f'<ul class="sub">{"".join(f"<li><a href=/s/{i}/{j}>Sub {j}</a></li>" for j in range(4))}</ul></li>'
                  for i in range(40))
    related = "".join(CARD.format(n=i) for i in range(24))
    comments = "".join(f'<li class="comment"><div class="author">Reader {i}</div><p>I think this is an '
                       f'important story and comment number {i} says so.</p></li>' for i in range(15))
    footer = "".join(f'<li><a href="/about/{i}">Footer link {i}</a></li>' for i in range(60))
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<link rel="canonical" href="{url}"><meta property="og:url" content="{url}">
<meta property="article:published_time" content="{published}"><script>{SCRIPT_BLOB}</script>
<style>{".c{color:#333;margin:0 auto;padding:4px}" * 120}</style></head>
<body><div id="consent" class="cookie-banner"><p>We use cookies.</p><button>Accept</button></div>
<header><div class="top"><a class="logo" href="/">Example Media</a></div><nav><ul>{nav}</ul></nav></header>
<main><div class="layout"><div class="col-main"><article><header><h1>{html.escape(title)}</h1>
<div class="byline"><span>By Staff</span> <time datetime="{published}">{published}</time></div>
<ul class="share"><li>Share</li><li>Tweet</li><li>Email</li></ul></header>
<div class="story-body">{"".join(parts)}</div></article>
<section class="comments"><h2>Comments</h2><ul>{comments}</ul></section></div>
<aside class="col-side"><h2>More stories</h2>{related}</aside></div></main>
<footer><ul>{footer}</ul><p>Copyright Example Media. All rights reserved.</p></footer></body></html>""".encode()


_SLOT, _URL = "@@sitrep-slot-{}@@", "@@sitrep-url@@"


def _words(text: str) -> str:
    return " ".join(text.split())


def real_skeletons() -> list[str]:
    """The benchmark's real pages as templates: each paragraph of the page's article (as its ground truth
    gives it) becomes a slot, and the page's own URL a marker. Pages whose article is not in <p>
    paragraphs, or whose extracted text would keep much of the original, are left out."""
    import gzip

    import lxml.html

    from pipelines.extract import ArticleExtractor
    from schemas.records import FeedEntry, FetchedPage

    truth = json.loads(SHARED.read_text(encoding="utf-8"))
    extractor = ArticleExtractor()
    skeletons = []
    for key, value in sorted(truth.items()):
        path = PAGES / f"{key}.html.gz"
        if not path.exists() or not value.get("url"):
            continue
        doc = lxml.html.document_fromstring(gzip.decompress(path.read_bytes()))
        paragraphs = {_words(p) for p in value["articleBody"].split("\n") if len(p.strip()) >= 40}
        slots = [el for el in doc.iter("p") if _words(el.text_content()) in paragraphs]
        if len(slots) < 3:
            continue
        for number, element in enumerate(slots):
            for child in list(element):
                element.remove(child)
            element.text = _SLOT.format(number)
        markup = lxml.html.tostring(doc, encoding="unicode", doctype="<!DOCTYPE html>")
        markup = markup.replace(value["url"], _URL).replace(html.escape(value["url"]), _URL)
        # Keep a skeleton only if a story put into it comes out as that story, at the story's URL.
        probe_url = "http://127.0.0.1:9/probe/story"
        probe = fill(markup, "Probe", REAL_PROBE, probe_url, len(slots))
        article = extractor.extract(FetchedPage(FeedEntry(link=probe_url, title="Probe"), probe_url, 200,
                                                "text/html; charset=utf-8", probe, "2022-01-23T00:00:00Z"))
        if article.canonical_url == probe_url and len(article.text) < 1.5 * len(REAL_PROBE):
            skeletons.append(markup)
    return skeletons


REAL_PROBE = "\n".join(f"Probe paragraph {i} of a story that replaces the page's own article text, long enough "
                        "to read as a paragraph of news." for i in range(8))


def fill(skeleton: str, title: str, body: str, url: str, slots: int | None = None) -> bytes:
    """A real page with this story in place of its article: paragraph i in slot i, the rest in the last slot."""
    slots = slots if slots is not None else skeleton.count("@@sitrep-slot-")
    paragraphs = [html.escape(p) for p in body.split("\n") if p.strip()]
    filled = [*paragraphs[:slots - 1], "</p>\n<p>".join(paragraphs[slots - 1:])]
    page = skeleton.replace(_URL, url)
    for number in range(slots):
        page = page.replace(_SLOT.format(number), filled[number] if number < len(filled) else "", 1)
    return page.replace("<title>", f"<title>{html.escape(title)} | ", 1).encode("utf-8")


def make_corpus(size: int, texts: list[str], base: str,
                skeletons: list[str] | None = None) -> tuple[dict[str, bytes], list[str]]:
    """Pages by path and feed documents: `size` articles, a share of them exact or near copies."""
    rng = random.Random(size)
    pages: dict[str, bytes] = {}
    items = []
    originals: list[tuple[str, str]] = []
    for i in range(size):
        published = f"2022-01-{1 + i % 28:02d}T{i % 24:02d}:00:00+00:00"
        path = f"/news/{i}/story-{i}"
        roll = rng.random()
        if originals and roll < EXACT_SHARE:
            title, body = rng.choice(originals)
        elif originals and roll < EXACT_SHARE + NEAR_SHARE:
            title, body = rng.choice(originals)
            body = body + f"\nThis copy was updated with a detail numbered {i}."
        else:
            # A distinct story: paragraphs drawn from three real bodies, so no two stories share most text.
            paragraphs = [p for t in rng.sample(texts, 3) for p in t.split("\n") if p.strip()]
            rng.shuffle(paragraphs)
            body = f"Report {i} from our correspondents.\n" + "\n".join(paragraphs[:12])
            title = f"Story {i}: " + paragraphs[0][:60]
            originals.append((title, body))
        if skeletons:
            pages[path] = fill(skeletons[i % len(skeletons)], title, body, base + path)
        else:
            pages[path] = page_html(title, body, base + path, published)
        items.append((title, base + path, published))
    feeds = []
    for start in range(0, size, ENTRIES_PER_FEED):
        entries = "".join(
            f"<item><title>{html.escape(t)}</title><link>{u}</link><guid>{u}</guid>"
            f"<pubDate>{p}</pubDate></item>" for t, u, p in items[start:start + ENTRIES_PER_FEED])
        feeds.append(f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {start}</title>'
                     f"{entries}</channel></rss>")
    return pages, feeds


def per_core(count: int, cpu_seconds: float) -> float:
    return count / cpu_seconds if cpu_seconds > 0 else float("inf")


def measure(label: str, items: list, call) -> tuple[list, float, float]:
    """Run call over items; returns (results, CPU seconds, wall seconds)."""
    cpu, wall = time.process_time(), time.perf_counter()
    results = [call(item) for item in items]
    return results, time.process_time() - cpu, time.perf_counter() - wall


def run_size(size: int, texts: list[str], skeletons: list[str], queue: multiprocessing.Queue) -> None:
    from connectors.feeds import parse_feed
    from connectors.http import FetchPolicy, HttpFetcher
    from connectors.pages import fetch_page
    from pipelines.cli import main as sitrep
    from pipelines.dedup import article_key, content_fingerprint, merge_groups, singleton
    from pipelines.events import Provenance, build_event, validate_event
    from pipelines.extract import ArticleExtractor
    from pipelines.tagging import ConflictTagger
    from pipelines.testing.localserver import LocalServer
    from schemas.records import FeedConfig

    server = LocalServer().start()
    try:
        pages, feeds = make_corpus(size, texts, server.base, skeletons)
        for path, body in pages.items():
            server.route(path, body)
        rows = {}
        entries_per_feed, cpu, _wall = measure("poll", feeds, lambda doc: parse_feed(
            FeedConfig(url=server.url("/feed.xml")), doc.encode(), {"content-type": "application/rss+xml"},
            server.url("/feed.xml")).entries)
        entries = [e for batch in entries_per_feed for e in batch]
        rows["feed parse"] = per_core(len(entries), cpu)

        # One loopback host serves every page, so the per-host politeness delay is off here (bench_fetch.py
        # measures politeness); this row is the fetcher's own CPU cost per page.
        fetcher = HttpFetcher(FetchPolicy(allow_hosts=("127.0.0.0/8",), host_delay=0.0))
        fetched, cpu, wall = measure("fetch", entries, lambda e: fetch_page(fetcher, e))
        rows["fetch (HTTP, 1 thread)"] = per_core(len(fetched), cpu)
        fetch_wall_rate = len(fetched) / wall
        # The served copies of the pages are not needed any more: the fetched ones are what is measured.
        server.routes.clear()
        del pages

        extractor = ArticleExtractor()
        # The articles the stage rows below use (the extract row is the interleaved baseline's, measured later)
        articles, _cpu, _ = measure("extract", fetched, extractor.extract)

        def dedup(all_articles: list) -> list:
            by_url: dict = {}
            for a in all_articles:
                by_url.setdefault(article_key(a), []).append(singleton(a))
            by_text: dict = {}
            for groups in by_url.values():
                merged = merge_groups(groups)
                by_text.setdefault(content_fingerprint(merged.representative.text), []).append(merged)
            return [merge_groups(g) for g in by_text.values()]

        cpu = time.process_time()
        groups = dedup(articles)
        rows["dedup (exact)"] = per_core(len(articles), time.process_time() - cpu)

        tagger = ConflictTagger()
        tags, cpu, _ = measure("tag", groups, lambda g: tagger.tag(g.representative.title, g.representative.text,
                                                                   g.representative.language))
        rows["tag"] = per_core(len(groups), cpu)
        provenance = Provenance(run_id="bench", taxonomy_version=tagger.version)
        _, cpu, _ = measure("event", list(zip(groups, tags, strict=True)),
                            lambda gt: validate_event(build_event(gt[0], gt[1], provenance)))
        rows["event build + validate"] = per_core(len(groups), cpu)
        # What the stage loops made must not burden what follows (every full collection walks the heap).
        del entries_per_feed, entries, articles, groups, tags
        tagger = None
        gc.collect()

        # The run is measured in a process that has run the pipeline before, as the baseline is measured with a
        # warmed extractor: the shipped sample (3 pages) twice first. The first such run pays what a new process
        # pays once (imports, the tagger's load); the second, what every run pays however small (building the
        # pipeline, its stages, the commit). Both are reported; neither is in the ratio.
        sample_runs = []
        for _ in range(2):
            with tempfile.TemporaryDirectory() as warm:
                cpu = time.process_time()
                assert sitrep(["run", "--sample", "--out", str(Path(warm) / "out"),
                               "--state", str(Path(warm) / "state")]) == 0
                sample_runs.append(time.process_time() - cpu)

        with tempfile.TemporaryDirectory() as tmp:
            backfill = Path(tmp) / "pages.jsonl"
            with backfill.open("w", encoding="utf-8") as handle:
                # What the feed said of each page goes with it, as it does when the pipeline fetches: a
                # page whose markup states no date then takes its entry's, not htmldate's page-wide search.
                for page in fetched:
                    handle.write(json.dumps({"url": page.final_url, "html": page.body.decode("utf-8"),
                                             "title": page.entry.title,
                                             "published_at": page.entry.published_at}) + "\n")
            # The same pages through the extraction stage alone in a plain loop, interleaved with the run: after
            # every CHUNK pages the pipeline extracts, the same CHUNK pages are extracted again alone, and that
            # time is taken out of the run's. This machine's speed moves by up to two thirds within minutes
            # (other tenants); interleaved, the baseline and the run see the same machine.
            with InsideTheRun(fetched) as inside:
                cpu, wall = time.process_time(), time.perf_counter()
                code = sitrep(["run", "--input", str(backfill), "--out", str(Path(tmp) / "out"),
                               "--state", str(Path(tmp) / "state")])
                e2e_wall = time.perf_counter() - wall - inside.alone_wall
                e2e_cpu = time.process_time() - cpu - inside.alone_cpu
                inside.finish()  # the last pages, fewer than a chunk, if any
            assert code == 0
            summary = json.loads((Path(tmp) / "out" / "run-summary.json").read_text())
        extract_alone_cpu, extract_alone_wall = inside.alone_cpu, inside.alone_wall
        rows["extract"] = per_core(len(fetched), extract_alone_cpu)
        rows["end to end (DirectRunner, from fetched pages)"] = per_core(len(fetched), e2e_cpu)
        queue.put({
            "size": size, "feeds": len(feeds), "articles": len(fetched), "events": summary["counts"]["events_written"],
            "duplicates": summary["counts"]["duplicates"], "rows": rows,
            "fetch_wall_rate": fetch_wall_rate,
            "overhead_ratio_wall": (len(fetched) / e2e_wall) / (len(fetched) / extract_alone_wall),
            "overhead_ratio_cpu": extract_alone_cpu / e2e_cpu,
            # Stricter: the baseline without the collector's passes that fell in it (on a full pass the
            # collector walks the run's objects too), the run with all of its own.
            "overhead_ratio_cpu_no_gc": (extract_alone_cpu - inside.alone_gc) / e2e_cpu,
            "alone_gc": inside.alone_gc,
            "e2e_cpu": e2e_cpu, "extract_cpu": extract_alone_cpu, "inside": inside.seconds,
            "extract_drift": inside.drift,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "sample_runs": sample_runs,
        })
    finally:
        server.stop()


class InsideTheRun:
    """Where the end-to-end run's CPU went, read in this process while it runs: the extraction calls
    (ArticleExtractor.extract wrapped for the run's length, collector passes inside a call taken out) and
    the garbage collector's passes. It also runs the baseline: after every CHUNK extractions of the run, the
    same CHUNK pages (the run reads them in order) through extraction alone in a plain loop, with its own
    extractor, in the same thread, its time kept apart (alone_cpu and alone_wall, the collector's passes in
    it included as in every stage row; alone_gc, those passes alone)."""

    CHUNK = 32

    def __init__(self, pages: list) -> None:
        from pipelines.extract import ArticleExtractor

        self.pages = pages
        self.seconds = {"extraction": 0.0, "garbage collection": 0.0}
        self.alone_cpu = self.alone_wall = self.alone_gc = 0.0
        self._halves = [[0.0, 0], [0.0, 0]]  # the baseline's CPU and pages, chunks begun in each half of them
        self._done = 0  # pages extracted alone so far
        self._calls = 0
        self._alone = ArticleExtractor()
        for page in pages[:3]:  # its first calls build what it keeps; the run's extractor pays that in the run
            self._alone.extract(page)
        self._in_baseline = False
        self._gc_started = 0.0

    def _baseline(self, count: int) -> None:
        from pipelines.extract import ExtractionError

        chunk = self.pages[self._done:self._done + count]
        extract = self._original
        self._in_baseline = True
        cpu, wall = time.process_time(), time.perf_counter()
        try:
            for page in chunk:
                try:
                    extract(self._alone, page)
                except ExtractionError:  # a page without a usable body costs its time alone as in the run
                    pass
        finally:
            self._in_baseline = False
        spent = time.process_time() - cpu
        self.alone_wall += time.perf_counter() - wall
        self.alone_cpu += spent
        half = self._halves[self._done >= len(self.pages) // 2]
        half[0] += spent
        half[1] += len(chunk)
        self._done += len(chunk)

    def finish(self) -> None:
        self._baseline(len(self.pages) - self._done)

    @property
    def drift(self) -> float:
        """The baseline's CPU a page over the second half of the pages (the later half of the run, and the
        last pages after it) against the first half."""
        (first, first_pages), (second, second_pages) = self._halves
        return (second / second_pages) / (first / first_pages) if first and second_pages else float("nan")

    def __enter__(self) -> InsideTheRun:
        from pipelines.extract import ArticleExtractor

        self._original = original = ArticleExtractor.extract
        seconds = self.seconds

        def timed_extract(extractor: ArticleExtractor, page: object) -> object:
            started, collected = time.process_time(), seconds["garbage collection"]
            try:
                return original(extractor, page)
            finally:  # a collector's pass that fell inside the call is the collector's, not extraction's
                seconds["extraction"] += time.process_time() - started - (seconds["garbage collection"] - collected)
                self._calls += 1
                if self._calls % self.CHUNK == 0:
                    self._baseline(self.CHUNK)

        ArticleExtractor.extract = timed_extract
        gc.callbacks.append(self._gc)
        return self

    def _gc(self, phase: str, _info: dict) -> None:
        if phase == "start":
            self._gc_started = time.process_time()
        elif self._in_baseline:  # part of the baseline's own time; counted apart too
            self.alone_gc += time.process_time() - self._gc_started
        else:
            self.seconds["garbage collection"] += time.process_time() - self._gc_started

    def __exit__(self, *_exc: object) -> None:
        from pipelines.extract import ArticleExtractor

        ArticleExtractor.extract = self._original
        gc.callbacks.remove(self._gc)


def median_extract_ms(pages: dict[str, bytes]) -> float:
    from pipelines.extract import ArticleExtractor
    from schemas.records import FeedEntry, FetchedPage

    extractor, times = ArticleExtractor(), []
    for path, body in pages.items():
        url = "http://127.0.0.1:9" + path
        page = FetchedPage(FeedEntry(link=url, title="t"), url, 200, "text/html; charset=utf-8", body,
                           "2022-01-23T00:00:00Z")
        started = time.process_time()
        extractor.extract(page)
        times.append((time.process_time() - started) * 1000)
    return statistics.median(times)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 6000, 12000])
    parser.add_argument("--template", action="store_true", help="the project's page template, not real pages")
    args = parser.parse_args(argv)
    texts, origin = real_texts()
    skeletons = [] if args.template or not PAGES.exists() else real_skeletons()
    sample = make_corpus(60, texts, "http://127.0.0.1:9", skeletons)[0]
    template = make_corpus(60, texts, "http://127.0.0.1:9")[0] if skeletons else sample
    kind = (f"{len(skeletons)} real benchmark pages with the story in place of their article" if skeletons
            else "the project's page template")
    print(f"bench_scale: stories made from {origin}; {EXACT_SHARE:.0%} exact and {NEAR_SHARE:.0%} near copies; "
          f"{ENTRIES_PER_FEED} new entries a feed")
    against = f" (the template's: {median_extract_ms(template):.1f} ms)" if skeletons else ""
    print(f"pages: {kind}; median size {statistics.median(map(len, sample.values())) // 1024} KB; median "
          f"extraction {median_extract_ms(sample):.1f} ms{against}")
    context = multiprocessing.get_context("spawn")
    results = []
    for size in args.sizes:
        queue = context.Queue()
        child = context.Process(target=run_size, args=(size, texts, skeletons, queue))
        child.start()
        while True:  # a child that fails puts nothing: say so rather than wait forever
            try:
                results.append(queue.get(timeout=5))
                break
            except Empty:
                if not child.is_alive():
                    print(f"size {size}: the measuring process failed (exit code {child.exitcode})",
                          file=sys.stderr)
                    return 1
        child.join()
    stages = list(results[0]["rows"])
    print(f"\n{'articles/s per core':48}" + "".join(f"{r['size']:>10}" for r in results))
    for stage in stages:
        print(f"{stage:48}" + "".join(f"{r['rows'][stage]:>10.1f}" for r in results))
    print(f"{'fetch wall rate (pages/s, 1 thread)':48}" + "".join(f"{r['fetch_wall_rate']:>10.1f}" for r in results))
    print(f"{'events written / duplicates':48}" + "".join(f"{r['events']:>6}/{r['duplicates']:<3}" for r in results))
    print(f"{'peak RSS (MB)':48}" + "".join(f"{r['peak_rss_mb']:>10.0f}" for r in results))
    print(f"{'end-to-end / extraction alone (wall)':48}" + "".join(f"{r['overhead_ratio_wall']:>10.2f}"
                                                                  for r in results))
    print(f"{'end-to-end / extraction alone (CPU)':48}" + "".join(f"{r['overhead_ratio_cpu']:>10.2f}"
                                                                 for r in results))
    print(f"{'  the same, the baseline without its collector':48}"
          + "".join(f"{r['overhead_ratio_cpu_no_gc']:>10.2f}" for r in results))
    # The run's CPU besides extraction and the collector: the pipeline's own work.
    own = [r["e2e_cpu"] - sum(r["inside"].values()) for r in results]
    print("inside the run, CPU ms an article:")
    print(f"{'  extraction alone (interleaved with the run)':48}"
          + "".join(f"{r['extract_cpu'] / r['articles'] * 1000:>10.2f}" for r in results))
    print(f"{'  extraction inside the run':48}"
          + "".join(f"{r['inside']['extraction'] / r['articles'] * 1000:>10.2f}" for r in results))
    print(f"{'  garbage collection':48}"
          + "".join(f"{r['inside']['garbage collection'] / r['articles'] * 1000:>10.2f}" for r in results))
    print(f"{'  (garbage collection inside the baseline)':48}"
          + "".join(f"{r['alone_gc'] / r['articles'] * 1000:>10.2f}" for r in results))
    print(f"{'  (extraction alone, second half / first half)':48}"
          + "".join(f"{r['extract_drift']:>10.2f}" for r in results))
    print(f"{'  everything else (fixed cost included)':48}"
          + "".join(f"{o / r['articles'] * 1000:>10.2f}" for o, r in zip(own, results, strict=True)))
    print(f"{'sample run (3 pages), CPU s: first in process':48}"
          + "".join(f"{r['sample_runs'][0]:>10.2f}" for r in results))
    print(f"{'  and again (the fixed cost of every run)':48}"
          + "".join(f"{r['sample_runs'][1]:>10.2f}" for r in results))
    worst = min(min(r["overhead_ratio_wall"], r["overhead_ratio_cpu"], r["overhead_ratio_cpu_no_gc"])
                for r in results)
    print(f"\npipeline overhead: end to end reaches {worst:.2f}x of extraction alone at worst (target >= 0.80)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
