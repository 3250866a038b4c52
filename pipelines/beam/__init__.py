"""The thin Beam layer: DoFns and composite transforms around the pure stages, one module a stage
(poll, fetch, extract, dedup, tag, sinks), composed by batch.py and streaming.py. What every DoFn shares:
the dead-letter tag, counters, batching and the concurrent-fetch base."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.pvalue import TaggedOutput
from apache_beam.utils.windowed_value import WindowedValue

from connectors.archive import WarcRecorder
from connectors.http import FetchPolicy
from connectors.pages import make_fetcher
from pipelines import progress

NAMESPACE = "sitrep"
# A counter per topic code and per country code of the events written: the run summary's top topics and
# countries, counted where the events are made, whatever sink they go to.
TOPICS_NAMESPACE = "sitrep.topics"
COUNTRIES_NAMESPACE = "sitrep.countries"


DEAD = "dead"


FEED_STATE = "feed_state"


FETCH_OUTCOME = "fetch_outcome"


class Counter:
    """A Beam counter that also adds to this process's progress tally (pipelines.progress), which a local run
    can read while it runs; Beam's metrics stay what the run's summary reports."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.metric = Metrics.counter(NAMESPACE, name)

    def inc(self, n: int = 1) -> None:
        self.metric.inc(n)
        progress.TALLY.add(self.name, n)


def counter(name: str) -> Counter:
    return Counter(name)


def windowed(outputs: Iterable[Any], window: Any, timestamp: Any) -> Iterator[Any]:
    """One element's outputs (TaggedOutput for a tagged one) in its window and with its timestamp: how a DoFn
    hands on what it worked out for an element it held back (from finish_bundle, or a later process call)."""
    for output in outputs:
        if isinstance(output, TaggedOutput):
            yield TaggedOutput(output.tag, WindowedValue(output.value, timestamp, (window,)))
        else:
            yield WindowedValue(output, timestamp, (window,))


class BatchingDoFn(beam.DoFn):
    """A DoFn that does its work BATCH elements at a time (process_one on each, in a row), then hands their
    outputs on, each in its own element's window and with its timestamp. Beam's BatchElements would batch
    too, but it re-stamps a batch at the end of its window and sizes batches by wall time."""

    BATCH = 16

    def start_bundle(self) -> None:
        self._held: list[tuple[Any, Any, Any]] = []

    def process(self, element: Any, window: Any = beam.DoFn.WindowParam,
                timestamp: Any = beam.DoFn.TimestampParam) -> Iterator[Any]:
        self._held.append((element, window, timestamp))
        if len(self._held) >= self.BATCH:
            yield from self._flush()

    def finish_bundle(self) -> Iterator[Any]:
        yield from self._flush()

    def process_one(self, element: Any) -> Iterable[Any]:
        """What process would yield for one element (TaggedOutput for a tagged output)."""
        raise NotImplementedError

    def _flush(self) -> Iterator[Any]:
        held, self._held = self._held, []
        done = [(list(self.process_one(element)), window, timestamp) for element, window, timestamp in held]
        for outputs, window, timestamp in done:
            yield from windowed(outputs, window, timestamp)


@dataclass(frozen=True)
class FetchSettings:
    """What a fetching DoFn needs to build its fetcher on a worker: the bounds, a replay source (no
    network), or a folder for this run's WARC parts."""

    replay: str | None = None
    archive_parts: str | None = None
    run_id: str = ""


Work = tuple[list[Any], dict[str, int]]


class ConcurrentFetchDoFn(beam.DoFn):
    """A DoFn whose elements are I/O bound: each is handed to a thread pool (as wide as the global cap) so a
    bundle's fetches overlap instead of running one by one; outputs leave as their work completes, and
    finish_bundle waits for the rest. Beam counters are bound to the bundle's thread, so the work returns
    its counts and they are added here, never from the pool's threads."""

    def __init__(self, policy: FetchPolicy, settings: FetchSettings | str | None = None) -> None:
        self.policy = policy
        # A bare string is a replay source, as in FetchPageDoFn(policy, replay).
        self.settings = settings if isinstance(settings, FetchSettings) else FetchSettings(replay=settings)
        self.fetcher: Any = None
        self.recorder: WarcRecorder | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._pending: list[tuple[Future, Any, Any]] = []

    def setup(self) -> None:
        s = self.settings
        self.recorder = WarcRecorder(s.archive_parts, s.run_id) if s.archive_parts and not s.replay else None
        self.fetcher = make_fetcher(self.policy, s.replay, self.recorder)
        self._pool = ThreadPoolExecutor(max_workers=max(1, self.policy.global_concurrency))

    def teardown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        if self.fetcher is not None:
            self.fetcher.close()

    def start_bundle(self) -> None:
        self._pending = []

    def work(self, element: Any) -> Work:
        raise NotImplementedError

    def process(self, element: Any, window: Any = beam.DoFn.WindowParam,
                timestamp: Any = beam.DoFn.TimestampParam) -> Iterator[Any]:
        self._pending.append((self._pool.submit(self.work, element), window, timestamp))
        # Bound what a bundle holds in memory: wait for some work once enough is queued behind the pool.
        block = len(self._pending) >= 4 * self.policy.global_concurrency
        yield from self._drain(block)

    def finish_bundle(self) -> Iterator[Any]:
        wait([future for future, _w, _t in self._pending])
        yield from self._drain(False)
        if self.recorder is not None:
            self.recorder.close()

    def _drain(self, block: bool) -> Iterator[Any]:
        if block:
            wait([future for future, _w, _t in self._pending], return_when=FIRST_COMPLETED)
        still = []
        for future, window, timestamp in self._pending:
            if not future.done():
                still.append((future, window, timestamp))
                continue
            outputs, counts = future.result()
            for name, value in counts.items():
                counter(name).inc(value)
            yield from windowed(outputs, window, timestamp)
        self._pending = still
