
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import secrets
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystems import FileSystems

from connectors.archive import join_parts, parts_folder
from connectors.feeds import load_feeds
from connectors.feedstate import NAMESPACE as FEEDS_STATE
from connectors.feedstate import FeedState, load_feed_states, next_state, retry_attempts
from connectors.state import StateLog, StateRecord, default_state_root, format_time
from pipelines import __version__, sample_path
from pipelines.beam import COUNTRIES_NAMESPACE, DEAD, FEED_STATE, FETCH_OUTCOME, TOPICS_NAMESPACE, FetchSettings
from pipelines.beam.dedup import STATE, STATE_NAMESPACE, Deduplicate, ReadDedupState
from pipelines.beam.dryrun import dry_run_job
from pipelines.beam.extract import TEXTS, Extract, ParseInputDoFn, ReadInputLines
from pipelines.beam.fetch import FetchPages
from pipelines.beam.leftovers import RunRecord, remove_dead_temp_folders, remove_run_record, this_host, write_run_record
from pipelines.beam.options import RunOptions, SitrepOptions
from pipelines.beam.poll import PollFeeds
from pipelines.beam.runners import local_runner
from pipelines.beam.sinks import DEAD_LETTERS, EVENTS, PublishPolicy, PubSubSink, WriteRunFiles, finish_run_files
from pipelines.beam.summary import (
    SUMMARY_FILE,
    JobPlan,
    collect_counts,
    failed_feeds,
    failing_as_run_failed,
    fetch_policy,
    new_run_id,
    read_run_lines,
    run_clock,
    run_summary_file,
    top_countries,
    top_topics,
)
from pipelines.beam.tag import TagToEvent
from pipelines.dedup.near import DEFAULT_SETTINGS, NearDupSettings
from pipelines.logs import log_dead_letter
from pipelines.messages import check_topic_path

LOG = logging.getLogger(__name__)

SINKS = ("files", "pubsub")


@dataclass(frozen=True, kw_only=True)
class RunPlan(JobPlan):
    """What one batch run reads and where it writes, resolved from the options."""

    out: str
    input: str | None
    state: str
    retention: dt.timedelta
    flag_duplicates: bool = False
    near_dup: NearDupSettings = DEFAULT_SETTINGS
    started_at: dt.datetime = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    archive: str | None = None
    sinks: tuple[str, ...] = ("files",)

    @property
    def fetch_settings(self) -> FetchSettings:
        return FetchSettings(self.replay, parts_folder(self.archive) if self.archive else None, self.run_id)

    def state_log(self, namespace: str) -> StateLog:
        return StateLog(self.state, namespace)

    def output_prefix(self, name: str) -> str:
        return FileSystems.join(self.out, f"{name}-{self.run_id}")


def plan_run(options: SitrepOptions) -> RunPlan:
    """Check the options and resolve them into a RunPlan; raises ValueError with a message for the user."""
    feeds_path, replay = options.feeds, options.replay
    if options.sample:
        feeds_path = feeds_path or sample_path("feeds.yaml")
        replay = replay or sample_path()
    if bool(feeds_path) == bool(options.input):
        raise ValueError("give exactly one of --feeds FILE, --input FILE or --sample")
    if not options.out:
        raise ValueError("--out DIR is required")
    sinks = plan_sinks(options)
    feeds = tuple(load_feeds(feeds_path)) if feeds_path else None
    check_paths(options.input, options.out, options.state or default_state_root(), replay)
    return RunPlan(
        run_id=options.run_id or new_run_id(),
        out=options.out,
        feeds=feeds,
        input=options.input,
        replay=replay,
        policy=fetch_policy(options),
        only_conflict=options.only_conflict,
        state=options.state or default_state_root(),
        retention=dt.timedelta(days=options.retention_days),
        archive=options.archive,
        flag_duplicates=options.duplicates == "flag",
        near_dup=NearDupSettings(threshold=options.near_dup_threshold),
        started_at=run_clock(),
        sinks=sinks,
        pubsub_topic=options.pubsub_topic,
        ordering_key=options.ordering_key,
        publish_policy=PublishPolicy(timeout=options.pubsub_timeout),
    )


def _is_local(path: str) -> bool:
    return "://" not in path


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()


def check_writable_folder(option: str, path: str) -> None:
    """A local folder the run writes into: made if missing, and a file written and removed in it, so a run
    that cannot write there stops before it starts. (On an object store, the run's first write tells.)"""
    if not _is_local(path):
        return
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"{option} {path}: is a file, not a folder")
    try:
        os.makedirs(path, exist_ok=True)
        probe = os.path.join(path, f".sitrep-probe-{secrets.token_hex(4)}")
        with open(probe, "wb"):
            pass
        os.remove(probe)
    except OSError as exc:
        raise ValueError(f"{option} {path}: cannot write there ({_reason(exc)})") from exc


def check_paths(input_path: str | None, out: str, state: str, replay: str | None) -> None:
    """The run's local paths, checked before the pipeline is built: each failure is a ValueError naming the
    option and the problem."""
    if input_path and _is_local(input_path):
        if os.path.isdir(input_path):
            raise ValueError(f"--input {input_path}: is a folder; give a JSONL file (or a pattern such as "
                             f"{os.path.join(input_path, '*.jsonl')})")
        if not FileSystems.match([input_path])[0].metadata_list:
            raise ValueError(f"--input {input_path}: no such file")
    if replay and _is_local(replay) and not os.path.exists(replay):
        raise ValueError(f"--replay {replay}: no such file or folder")
    check_writable_folder("--out", out)
    check_writable_folder("--state", state)


def plan_sinks(options: SitrepOptions) -> tuple[str, ...]:
    """The event sinks asked for: --sinks as given, else files plus pubsub when --pubsub-topic is set."""
    if options.sinks:
        sinks = tuple(dict.fromkeys(s.strip() for s in options.sinks.split(",") if s.strip()))
    else:
        sinks = ("files", "pubsub") if options.pubsub_topic else ("files",)
    unknown = [s for s in sinks if s not in SINKS]
    if unknown or not sinks:
        raise ValueError(f"--sinks {options.sinks!r}: choose from {', '.join(SINKS)}")
    if "pubsub" in sinks:
        if not options.pubsub_topic:
            raise ValueError("--sinks pubsub needs --pubsub-topic projects/P/topics/T")
        check_topic_path(options.pubsub_topic)
    return sinks


def build_pipeline(pipeline: beam.Pipeline, plan: RunPlan) -> None:
    """Attach the whole flow to a pipeline: source, fetch, extract, dedup, tag, sinks."""
    dead_letters = []
    written = []  # every sink's result: state is published only once all of them have committed
    # Per state namespace, the records this run adds, each as its segment line: the commit, one step on one
    # worker, then only writes them out.
    state: dict[str, beam.PCollection] = {}
    if plan.feeds is not None:
        # Feed state (validators, seen entries, health) is read once here: one small record per feed. A
        # replay is a re-run of recorded responses, so it neither reads nor advances that state.
        now = plan.started_at
        prior = None if plan.replay else load_feed_states(plan.state, now, plan.retention)
        ignore_robots = frozenset(f.url for f in plan.feeds if not f.robots)
        polled = (
            pipeline
            | "Feeds" >> beam.Create(list(plan.feeds))
            | "PollFeeds" >> PollFeeds(plan.policy, plan.fetch_settings, prior, format_time(now))
        )
        # Spread the entries of few feeds over many workers before the slow part, the fetch.
        fetched = (
            polled.entries
            | "Spread" >> beam.Reshuffle()
            | "FetchPages" >> FetchPages(plan.policy, plan.fetch_settings, ignore_robots,
                                         None if prior is None else retry_attempts(prior))
        )
        pages, text_articles = fetched.pages, None
        dead_letters += [polled[DEAD], fetched[DEAD]]
        if prior is not None:
            state[FEEDS_STATE] = (
                {"poll": polled[FEED_STATE], "fetches": fetched[FETCH_OUTCOME]}
                | "JoinFeedOutcomes" >> beam.CoGroupByKey()
                | "NextFeedState" >> beam.Map(lambda kv, p=prior, n=now, r=plan.retention:
                                              _feed_record(*kv, p, n, r).to_line())
            )
    else:
        parsed = (
            pipeline
            | "ReadInput" >> ReadInputLines(plan.input)
            | "ParseInput" >> beam.ParDo(ParseInputDoFn()).with_outputs(DEAD, TEXTS, main="pages")
        )
        pages, text_articles = parsed.pages, parsed[TEXTS]  # pages to extract; records that came with their text
        dead_letters.append(parsed[DEAD])

    extracted = pages | "Extract" >> Extract()
    dead_letters.append(extracted[DEAD])
    articles = extracted.articles
    if text_articles is not None:
        articles = (articles, text_articles) | "AllArticles" >> beam.Flatten()

    # What earlier runs saw: the segments committed now; a run committing meanwhile is seen by the next run.
    # With none (a first run, a new --state), the steps that read and match them are left out: 14 of the
    # pipeline's 48 ParDos.
    segments = plan.state_log(STATE_NAMESPACE).segment_paths()
    prior = pipeline | "ReadDedupState" >> ReadDedupState(
        plan.state, segments, format_time(plan.started_at - plan.retention)) if segments else None
    deduped = articles | "Dedup" >> Deduplicate(plan.near_dup, plan.flag_duplicates, prior,
                                                format_time(plan.started_at))
    state[STATE_NAMESPACE] = deduped[STATE]
    events = (
        deduped.groups
        | "TagToEvent" >> TagToEvent(plan.run_id, plan.only_conflict)
    )
    dead_letters.append(events[DEAD])

    if "files" in plan.sinks:
        written.append(events.events | "WriteEvents" >> WriteRunFiles(plan.out, plan.run_id, EVENTS))
    if "pubsub" in plan.sinks:
        dead_letters.append(
            events.events
            | "PublishEvents" >> PubSubSink(plan.pubsub_topic, plan.ordering_key, plan.publish_policy)
        )
    written.append(
        dead_letters
        | "AllDeadLetters" >> beam.Flatten()
        | "WriteDeadLetters" >> WriteRunFiles(plan.out, plan.run_id, DEAD_LETTERS)
    )
    _ = pipeline | "CommitAfterSinks" >> CommitAfterSinks(plan, state, written)


class CommitAfterSinks(beam.PTransform):
    """Completes the run's files (finish_run_files), publishes its state and joins its WARC parts, as the
    pipeline's last step, on whatever runner runs it: the step reads every sink's result, and the state records
    of each namespace, as side inputs, so it starts only when all of them are complete, and writes each
    namespace's records as one new segment.
    A run that dies before then leaves the state as it was, and the next run emits the same articles again
    under the same ids rather than losing them. Being in the pipeline, it also works for a Dataflow template
    job, whose launcher must not wait for the job to end."""

    def __init__(self, plan: RunPlan, state: dict[str, beam.PCollection], written: list[beam.PCollection]) -> None:
        super().__init__()
        self.plan = plan
        self.state = state
        self.written = written

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        # A side input is ready only once its whole PCollection is: each sink's (small) result is one.
        waits = {f"sink{i}": beam.pvalue.AsList(w) for i, w in enumerate(self.written)}
        records = [beam.pvalue.AsIter(added) for added in self.state.values()]
        return (
            pbegin
            | "Once" >> beam.Impulse()
            | "Commit" >> beam.Map(_commit, self.plan, tuple(self.state), *records, **waits)
        )


def _commit(_: bytes, plan: RunPlan, namespaces: tuple[str, ...], *records: Iterable[str],
            **sinks_done: list[fileio.FileResult]) -> str:
    kinds = (EVENTS, DEAD_LETTERS) if "files" in plan.sinks else (DEAD_LETTERS,)
    finish_run_files(plan.out, plan.run_id, kinds, [result for done in sinks_done.values() for result in done])
    commit_state(plan, dict(zip(namespaces, records, strict=True)))
    if plan.archive and not plan.replay:
        join_parts(plan.archive)
    remove_run_record(plan.state, plan.run_id)
    return plan.run_id


def _feed_record(url: str, joined: dict[str, list], prior: dict[str, FeedState], now: dt.datetime,
                 retention: dt.timedelta) -> StateRecord:
    """One feed's state record after this run: its poll's outcome (one PollOutcome) and how its entries'
    fetches ended (a FetchOutcome each)."""
    state = next_state(prior.get(url) or FeedState(), joined["poll"][0], list(joined["fetches"]), now, retention)
    return StateRecord(url, format_time(now), state.to_value())


def commit_state(plan: RunPlan, lines: dict[str, Iterable[str]]) -> None:
    """Publish what the run adds to each state namespace (its records' lines, StateRecord.to_line) as a new
    segment, then compact namespaces with many segments."""
    for namespace, added in lines.items():
        log = plan.state_log(namespace)
        log.write_lines(plan.run_id, added)
        log.compact(plan.run_id, retention=plan.retention)


def write_summary(plan: RunPlan, counts: dict[str, int], seconds: float,
                  dead_letters: Iterable[dict[str, Any]] = (), topics: dict[str, int] | None = None,
                  countries: dict[str, int] | None = None) -> dict[str, Any]:
    """The run's summary, written beside its files: its counts, the feeds that failed (from its dead letters),
    the top topics and countries of its events (from their counters), where its outputs are."""
    events_pattern = plan.output_prefix("events") + "-*.jsonl" if "files" in plan.sinks else None
    summary = {
        "run_id": plan.run_id,
        "pipeline_version": __version__,
        "seconds": round(seconds, 2),
        "counts": counts,
        "failed_feeds": failed_feeds(dead_letters),
        "top_topics": top_topics(topics or {}),
        "top_countries": top_countries(countries or {}),
        "outputs": {
            "events": events_pattern,
            "dead_letters": plan.output_prefix("dead-letters") + "-*.jsonl",
            "summary": FileSystems.join(plan.out, run_summary_file(plan.run_id)),
            **({"archive": plan.archive} if plan.archive and not plan.replay else {}),
            "pubsub_topic": plan.pubsub_topic if "pubsub" in plan.sinks else None,
        },
    }
    data = json.dumps(summary, indent=2, sort_keys=True).encode("utf-8") + b"\n"
    # Each run's own summary stays beside its files; run-summary.json is the same summary of the latest run
    # (its run_id names it), for readers that look at one file.
    for name in (run_summary_file(plan.run_id), SUMMARY_FILE):
        with FileSystems.create(FileSystems.join(plan.out, name)) as handle:
            handle.write(data)
    return summary


def run(argv: list[str], wait: bool = True) -> dict[str, Any]:
    """Run the batch pipeline with these command-line options; returns the run summary it wrote.
    With wait=False (a template launcher) it returns once the job is submitted, with the run id only."""
    options = RunOptions(argv)
    plan = plan_run(options.view_as(SitrepOptions))
    if "://" not in plan.out:
        os.makedirs(plan.out, exist_ok=True)
    started = time.monotonic()
    # A launcher that does not wait ends while the job runs: its process says nothing of the job's life.
    write_run_record(plan.state, RunRecord(plan.run_id, this_host(), os.getpid() if wait else None,
                                           format_time(plan.started_at)))
    remove_dead_temp_folders(plan.out, plan.state, plan.run_id)
    pipeline = beam.Pipeline(runner=local_runner(options), options=options)
    build_pipeline(pipeline, plan)
    with failing_as_run_failed():
        result = pipeline.run()
        job = dry_run_job(result)
        if job is not None:  # nothing will run, so nothing will commit and remove the run's record
            remove_run_record(plan.state, plan.run_id)
            return {"run_id": plan.run_id, "dry_run": job}
        if not wait:
            return {"run_id": plan.run_id, "submitted": True}
        result.wait_until_finish()
    seconds = time.monotonic() - started
    return write_summary(plan, collect_counts(result), seconds,
                         logged(read_run_lines(plan.output_prefix("dead-letters") + "-*.jsonl")),
                         collect_counts(result, TOPICS_NAMESPACE), collect_counts(result, COUNTRIES_NAMESPACE))


def logged(letters: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The run's dead letters, read once: each told by the log as one record about its item as it passes."""
    for letter in letters:
        log_dead_letter(LOG, letter)
        yield letter
