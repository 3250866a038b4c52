"""What each speed tweak buys: the code with it against the same code without it, in alternating rounds of one
process (CPU time, so another job's burst on the shared machine counts against neither side).

- options views: `RunOptions` (one view of each kind, made once) against Beam's `PipelineOptions` (a new
  argparse parse for every `view_as`), on whole runs of the shipped sample;
- input lines: `ReadInputLines` (Beam's text source with a 1 MiB read buffer and a cap on a line's size)
  against Beam's own `ReadFromText` (8 KiB buffer), reading an --input file of whole pages, one a line;
- pre-cleaning: extraction with `_pre_clean` (lxml strips what trafilatura would delete, in C) against
  extraction that leaves it all to trafilatura;
- parser: extraction parsing with lxml's element lookup in C (`_PARSER`) against trafilatura's `load_html`.

Each line prints the ratio with / without (above 1 means the tweak pays) and the median over the rounds.

    .venv/bin/python bench/bench_tweaks.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import apache_beam as beam  # noqa: E402
from apache_beam import coders  # noqa: E402
from apache_beam.options.pipeline_options import PipelineOptions  # noqa: E402
from bench_extraction import FEED_DATE, sample_pages  # noqa: E402
from eval_extraction import DATA, fetched, load_benchmark  # noqa: E402
from trafilatura.utils import load_html  # noqa: E402

import pipelines.beam.batch as batch  # noqa: E402
import pipelines.extract as extract  # noqa: E402
from pipelines.beam.extract import ReadInputLines  # noqa: E402
from pipelines.extract import ArticleExtractor, ExtractionError  # noqa: E402


def cpu(work: Callable[[], object]) -> float:
    start = time.process_time()
    work()
    return time.process_time() - start


def alternate(name: str, rounds: int, with_it: Callable[[], object], without: Callable[[], object]) -> float:
    """Median of with/without speed ratios (time without / time with) over alternating rounds."""
    with_it(), without()  # warm-up: imports, compiled XPaths, caches
    ratios = []
    for round_no in range(rounds):
        order = [with_it, without] if round_no % 2 == 0 else [without, with_it]
        seconds = {id(run): cpu(run) for run in order}
        ratios.append(seconds[id(without)] / seconds[id(with_it)])
    median = statistics.median(ratios)
    print(f"{name:14} {median:5.2f}x  (rounds: {', '.join(f'{r:.2f}' for r in ratios)})", flush=True)
    return median


def sample_run(options_class: type) -> Callable[[], object]:
    def run() -> None:
        batch.RunOptions = options_class
        try:
            with tempfile.TemporaryDirectory() as out:
                batch.run(["--sample", "--out", out, "--state", f"{out}/state"])
        finally:
            batch.RunOptions = original_options
    original_options = batch.RunOptions
    return run


def input_file(pages: list, folder: Path, lines: int) -> Path:
    path = folder / "input.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for index in range(lines):
            page = pages[index % len(pages)]
            handle.write(json.dumps({"url": f"{page.url}?n={index}", "html": page.body.decode("utf-8", "replace")})
                         + "\n")
    return path


def read_lines(path: Path, reader: Callable[[str], beam.PTransform]) -> Callable[[], object]:
    def run() -> None:
        with beam.Pipeline(options=PipelineOptions(["--direct_num_workers=1"])) as pipeline:
            _ = pipeline | reader(str(path)) | beam.Map(len) | beam.combiners.Count.Globally()
    return run


def extract_all(pages: list, pre_clean: bool = True, parser: bool = True) -> Callable[[], object]:
    extractor = ArticleExtractor()
    project_pages = [fetched(p, title=p.headline, published_at=FEED_DATE) for p in pages]

    def run() -> None:
        original_clean, original_parse = extract._pre_clean, extract._parse
        if not pre_clean:
            extract._pre_clean = lambda tree, json_ld: None
        if not parser:
            extract._parse = lambda utf8, html: load_html(html)
        try:
            for page in project_pages:
                try:
                    extractor.extract(page)
                except ExtractionError:
                    pass
        finally:
            extract._pre_clean, extract._parse = original_clean, original_parse
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--data", type=Path, default=DATA, help="the extraction-benchmark folder")
    args = parser.parse_args()
    logging.getLogger("pipelines").setLevel(logging.ERROR)  # the sample's two dead letters, once a run
    if (args.data / "ground-truth.json").exists():
        pages, source = load_benchmark(args.data), f"{args.data.name}"
    else:
        pages, source = sample_pages(), "the shipped sample pages (extraction benchmark absent)"
    print(f"pages: {len(pages)} of {source}; {args.rounds} alternating rounds, CPU time; ratio = without / with")
    alternate("options views", args.rounds, sample_run(batch.RunOptions), sample_run(PipelineOptions))
    with tempfile.TemporaryDirectory() as folder:
        path = input_file(pages, Path(folder), 400)
        alternate("input lines", args.rounds, read_lines(path, ReadInputLines),
                  read_lines(path, lambda p: beam.io.ReadFromText(p, coder=coders.BytesCoder())))
    alternate("pre-cleaning", args.rounds, extract_all(pages), extract_all(pages, pre_clean=False))
    alternate("parser", args.rounds, extract_all(pages), extract_all(pages, parser=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
