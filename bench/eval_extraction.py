"""Body quality and speed on the extraction benchmark: sitrep's extraction against trafilatura and readability-lxml,
all in one run, scored as the benchmark's own evaluate.py scores; --cv chooses the body policy by 2-fold
cross-validation and prints the held-out folds."""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import re
import statistics
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402
from lxml import html as lxml_html  # noqa: E402

from pipelines.extract import (  # noqa: E402
    BODY_POLICY,
    BODY_SETTINGS,
    MIN_TEASER_CHARS,
    ArticleExtractor,
    BodyPolicy,
    ExtractionError,
    _clean_body,
    choose_body,
)
from schemas.records import FeedEntry, FetchedPage  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "extraction-benchmark"
# The benchmark's tokens: runs of word characters; its unit of matching: shingles of four consecutive tokens.
TOKEN = re.compile(r"\w+", re.UNICODE)
SHINGLE = 4
# A page where sitrep's F1 is this far below the best extractor's is printed for a look.
MUCH_WORSE = 0.2
# Policies --cv chooses among, listed in the order ties go by (cheaper settings, fewer retries first): a first
# setting without fallbacks (those run trafilatura's fallback extractors on every page), a retry that favours recall
# (the known failure is a precise first attempt that keeps too little), and the thresholds that trigger it. Every
# policy retries: a fold without a thin page cannot tell that a retry is needed, only which one does no harm.
CV_FIRST = ("precision", "balanced", "recall")
CV_RETRY = ("recall", "balanced", "recall+fallbacks", "balanced+fallbacks")
CV_RETRY_CHARS = (200, 400, 800)
CV_RETRY_SHARE = (0.0, 0.02, 0.05, 0.1, 0.2)


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


def shingles(text: str) -> Counter[tuple[str, ...]]:
    tokens = TOKEN.findall(text or "")
    return Counter(tuple(tokens[i:i + SHINGLE]) for i in range(max(1, len(tokens) - SHINGLE + 1)) if tokens)


@dataclass(frozen=True)
class PageScore:
    """One page's shingle matches, as shares of all (so that a long page weighs no more than a short one)."""

    tp: float
    fp: float
    fn: float

    @classmethod
    def of(cls, truth: str, predicted: str) -> PageScore:
        expected, got = shingles(truth), shingles(predicted)
        tp, fp, fn = sum((expected & got).values()), sum((got - expected).values()), sum((expected - got).values())
        total = tp + fp + fn
        return cls(tp / total, fp / total, fn / total) if total else cls(0.0, 0.0, 0.0)

    @property
    def precision(self) -> float:
        if self.fp == self.fn == 0:
            return 1.0
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        if self.fp == self.fn == 0:
            return 1.0
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def summary(page_scores: Sequence[PageScore]) -> tuple[float, float, float]:
    """Precision averaged over the pages with a prediction, recall over the pages with a truth, and F1 of the two
    averages: the benchmark's evaluate.py (an empty prediction costs recall only)."""
    precision = statistics.mean([s.precision for s in page_scores if s.tp + s.fp > 0] or [0.0])
    recall = statistics.mean([s.recall for s in page_scores if s.tp + s.fn > 0] or [0.0])
    return precision, recall, (2 * precision * recall / (precision + recall) if precision + recall else 0.0)


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


def readability_text(html: bytes) -> str:
    from readability import Document  # optional: the `bench` extra

    summary_html = Document(html).summary(html_partial=True)
    return "\n".join(line.strip() for line in lxml_html.fromstring(summary_html).itertext() if line.strip())


def rs_trafilatura_run() -> tuple[Callable[[BenchmarkPage], str] | None, str]:
    """rs-trafilatura's extract where it imports, else None and why not."""
    try:
        import rs_trafilatura  # type: ignore[import-not-found]
    except ImportError:
        return None, (f"rs-trafilatura skipped: not importable here (it ships wheels for other Python versions than "
                      f"{sys.version_info.major}.{sys.version_info.minor} only)")

    def run(page: BenchmarkPage) -> str:
        result = rs_trafilatura.extract(page.body.decode("utf-8", "replace"), url=page.url)
        return result if isinstance(result, str) else str(getattr(result, "content_text", None) or result or "")

    return run, ""


def extractors(policy: BodyPolicy = BODY_POLICY) -> tuple[dict[str, Callable[[BenchmarkPage], str]], list[str]]:
    """The extractors compared, by name, and a line for each one skipped."""
    sitrep = ArticleExtractor(policy=policy)
    runs: dict[str, Callable[[BenchmarkPage], str]] = {
        "sitrep ArticleExtractor (feed gives headline)": lambda p: project_text(sitrep, fetched(p, title=p.headline)),
        "sitrep ArticleExtractor (link only)": lambda p: project_text(sitrep, fetched(p)),
        "trafilatura.extract defaults": lambda p: trafilatura.extract(p.body, url=p.url) or "",
        "trafilatura.extract favor_precision=True": lambda p: trafilatura.extract(p.body, url=p.url,
                                                                                  favor_precision=True) or "",
        "trafilatura.extract with_metadata=True": lambda p: trafilatura.extract(p.body, url=p.url,
                                                                                with_metadata=True) or "",
    }
    skipped = []
    try:
        import readability  # noqa: F401
        runs["readability-lxml"] = lambda p: readability_text(p.body)
    except ImportError:
        skipped.append("readability-lxml skipped: not installed (pip install -e '.[bench]')")
    rs_run, why = rs_trafilatura_run()
    if rs_run is not None:
        runs["rs-trafilatura"] = rs_run
    else:
        skipped.append(why)
    return runs, skipped


SITREP = "sitrep ArticleExtractor (feed gives headline)"
BASELINE = "trafilatura.extract with_metadata=True"
DEFAULTS = "trafilatura.extract defaults"


def run_all(pages: Sequence[BenchmarkPage], runs: dict[str, Callable[[BenchmarkPage], str]],
            rounds: int) -> tuple[dict[str, list[PageScore]], dict[str, float]]:
    """Each extractor's page scores and its median pages per CPU-second over interleaved rounds (the order turns each
    round, so no extractor always gets the warmer caches or the quieter machine)."""
    scored: dict[str, list[PageScore]] = {}
    speeds: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for name in names:  # warm-up: imports, lazily compiled XPaths and regexes, trafilatura's config
        for page in pages[:5]:
            runs[name](page)
    for round_no in range(rounds):
        for name in names[round_no % len(names):] + names[:round_no % len(names)]:
            start, texts = time.process_time(), [runs[name](page) for page in pages]
            speeds[name].append(len(pages) / (time.process_time() - start))
            scored.setdefault(name, [PageScore.of(p.truth, t) for p, t in zip(pages, texts, strict=True)])
    return scored, {name: statistics.median(values) for name, values in speeds.items()}


def compare(pages: Sequence[BenchmarkPage], rounds: int) -> int:
    runs, skipped = extractors()
    for line in skipped:
        print(line)
    scored, speeds = run_all(pages, runs, rounds)
    print(f"\n| extractor ({len(pages)} pages) | P | R | F1 | pages per CPU-second | x {BASELINE.split()[-1]} |")
    print("|---|---|---|---|---|---|")
    for name, page_scores in scored.items():
        p, r, f1 = summary(page_scores)
        print(f"| {name} | {p:.3f} | {r:.3f} | {f1:.3f} | {speeds[name]:.1f} | {speeds[name] / speeds[BASELINE]:.2f} |")
    ours = scored[SITREP]
    others = {name: s for name, s in scored.items() if not name.startswith("sitrep")}
    print(f"\npages where sitrep's F1 is {MUCH_WORSE} or more below the best other extractor's:")
    worse = 0
    for i, page in enumerate(pages):
        best_name = max(others, key=lambda name: others[name][i].f1)
        if others[best_name][i].f1 - ours[i].f1 >= MUCH_WORSE:
            worse += 1
            best = others[best_name][i].f1
            print(f"  {page.id[:12]} {page.url[:70]}  sitrep {ours[i].f1:.2f}, {best_name} {best:.2f}")
    print(f"  {worse} page(s)")
    collapses = [page.id[:12] for i, page in enumerate(pages) if scored[DEFAULTS][i].f1 > 0.9 and ours[i].f1 < 0.5]
    print(f"pages below 0.5 where trafilatura defaults score above 0.9: {len(collapses)} {' '.join(collapses)}")
    ratio = speeds[SITREP] / speeds[BASELINE]
    print(f"speed: sitrep {ratio:.2f}x the pages per CPU-second of {BASELINE}")
    return 1 if summary(ours)[2] < summary(scored[DEFAULTS])[2] else 0


def fold_of(page_id: str) -> int:
    """The page's fold, 0 or 1, by a stable hash of its id (the same split on every machine and run)."""
    return zlib.crc32(page_id.encode("utf-8")) % 2


def policy_grid() -> list[BodyPolicy]:
    return [BodyPolicy(first, retry, chars, share)
            for first, retry, chars, share in itertools.product(CV_FIRST, CV_RETRY, CV_RETRY_CHARS, CV_RETRY_SHARE)
            if retry != first]


@dataclass(frozen=True)
class Candidates:
    """What every body setting made of one page, and the length of the page's text."""

    page: BenchmarkPage
    bodies: dict[str, str]
    page_chars: int


def candidates(extractor: ArticleExtractor, page: BenchmarkPage) -> Candidates:
    bodies, page_chars = extractor.body_candidates(fetched(page, title=page.headline), BODY_SETTINGS)
    return Candidates(page, bodies, page_chars)


def simulated(policy: BodyPolicy, found: Candidates) -> tuple[PageScore, bool]:
    """The page's score under a policy from the stored bodies, and whether the policy retried it: the choice is the
    extractor's own choose_body; the title line is dropped and a body with less than a sentence is lost, as in
    extraction."""
    used: list[str] = []

    def body_of(setting: str) -> str:
        used.append(setting)
        return found.bodies[setting]

    body = _clean_body(choose_body(policy, body_of, lambda: found.page_chars), found.page.headline or "")
    text = body if len(body) >= MIN_TEASER_CHARS else ""
    key = (found.page.id, text)
    if key not in _SCORED:  # a page has a handful of distinct bodies across all policies: score each once
        _SCORED[key] = PageScore.of(found.page.truth, text)
    return _SCORED[key], len(used) > 1


_SCORED: dict[tuple[str, str], PageScore] = {}


def pick(grid: Sequence[BodyPolicy], fold: Sequence[Candidates]) -> BodyPolicy:
    """The policy with the best F1 on the fold (to four places); among equals, the one that retries the fewest pages
    (each retry is a second extraction), then the first in the grid's order. No timing enters the choice, so the
    same pages always give the same policy."""
    def key(indexed: tuple[int, BodyPolicy]) -> tuple[float, int, int]:
        index, policy = indexed
        results = [simulated(policy, found) for found in fold]
        return round(summary([score for score, _ in results])[2], 4), -sum(retried for _, retried in results), -index
    return max(enumerate(grid), key=key)[1]


def cross_validate(pages: Sequence[BenchmarkPage]) -> int:
    extractor = ArticleExtractor()
    found = [candidates(extractor, page) for page in pages]
    folds = [[c for c in found if fold_of(c.page.id) == k] for k in (0, 1)]
    grid = policy_grid()
    print(f"2-fold cross-validation: folds of {len(folds[0])} and {len(folds[1])} pages, {len(grid)} policies")
    held_out = []
    for k in (0, 1):
        chosen = pick(grid, folds[k])
        test = [c.page for c in folds[1 - k]]
        # Scored by the real extractor with the chosen policy, not by the simulation it was picked with.
        real = ArticleExtractor(policy=chosen)
        score = summary([PageScore.of(p.truth, project_text(real, fetched(p, title=p.headline))) for p in test])
        held_out.append(score)
        print(f"  chosen on fold {k}: {chosen}")
        print(f"    held out, fold {1 - k} ({len(test)} pages): P {score[0]:.4f}  R {score[1]:.4f}  F1 {score[2]:.4f}")
    on_all = pick(grid, found)
    print(f"chosen on all {len(pages)} pages: {on_all}")
    print(f"shipped BODY_POLICY:          {BODY_POLICY}")
    return 0 if min(score[2] for score in held_out) >= 0.96 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DATA, help="the extraction-benchmark folder")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds (default 3)")
    parser.add_argument("--cv", action="store_true", help="choose the body policy by 2-fold cross-validation")
    args = parser.parse_args()
    require_data(args.data)
    pages = load_benchmark(args.data)
    print(f"extraction benchmark: {len(pages)} pages from {args.data}")
    return cross_validate(pages) if args.cv else compare(pages, args.rounds)


if __name__ == "__main__":
    sys.exit(main())
