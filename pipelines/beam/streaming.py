"""The streaming job: feeds polled on a period, new articles deduplicated with keyed state, events to Pub/Sub."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import StandardOptions
from apache_beam.transforms.periodicsequence import PeriodicImpulse, RebaseMode
from apache_beam.utils.timestamp import MAX_TIMESTAMP, Timestamp

from connectors.feeds import load_feeds
from connectors.urls import url_key
from pipelines.beam import DEAD, counter
from pipelines.beam.dedup import FirstSeen, StreamingDedup
from pipelines.beam.dryrun import dry_run_job
from pipelines.beam.extract import Extract
from pipelines.beam.fetch import FetchPages
from pipelines.beam.options import RunOptions, SitrepOptions, StreamOptions
from pipelines.beam.poll import PollFeeds
from pipelines.beam.runners import local_runner
from pipelines.beam.sinks import DeadLetterTopicSink, PublishPolicy, PubSubSink
from pipelines.beam.summary import JobPlan, collect_counts, failing_as_run_failed, fetch_policy, new_run_id
from pipelines.beam.tag import TagToEvent
from pipelines.logs import log_dead_letter
from pipelines.messages import check_topic_path
from schemas.records import DeadLetter, FeedConfig, FeedEntry

LOG = logging.getLogger(__name__)

# A run with --duration gives a publish at most that long (and at least this), so a short run against an
# unreachable Pub/Sub ends about when it should instead of retrying for the whole --pubsub-timeout.
MIN_PUBLISH_SECONDS = 5.0


@dataclass(frozen=True, kw_only=True)
class StreamPlan(JobPlan):
    """What the streaming job polls, how often and for how long, and where its dead letters go."""

    feeds: tuple[FeedConfig, ...]
    pubsub_topic: str
    dead_letter_topic: str | None
    interval: float
    duration: float | None
    expiry: float


def entry_version(entry: FeedEntry) -> str:
    """The key the stream fetches an entry once by: its link's key and the feed's update time of it."""
    return f"{url_key(entry.link)} {entry.updated_at or ''}"


def publish_deadline(pubsub_timeout: float, duration: float | None) -> float:
    """Seconds one message may take to be confirmed: --pubsub-timeout, bounded by a --duration run's length."""
    if not duration:
        return pubsub_timeout
    return min(pubsub_timeout, max(duration, MIN_PUBLISH_SECONDS))


def plan_stream(options: SitrepOptions, stream: StreamOptions) -> StreamPlan:
    """Check the options of `sitrep stream`; raises ValueError with a message for the user."""
    if not options.feeds:
        raise ValueError("--feeds FILE is required")
    if not options.pubsub_topic:
        raise ValueError("--pubsub-topic projects/P/topics/T is required")
    if stream.poll_interval <= 0:
        raise ValueError("--poll-interval must be positive")
    return StreamPlan(
        run_id=options.run_id or "stream-" + new_run_id(),
        feeds=tuple(load_feeds(options.feeds)),
        policy=fetch_policy(options),
        replay=options.replay,
        pubsub_topic=check_topic_path(options.pubsub_topic),
        dead_letter_topic=check_topic_path(stream.dead_letter_topic, "--dead-letter-topic")
        if stream.dead_letter_topic else None,
        ordering_key=options.ordering_key,
        only_conflict=options.only_conflict,
        interval=stream.poll_interval,
        duration=stream.duration,
        expiry=stream.dedup_expiry_hours * 3600.0,
        publish_policy=PublishPolicy(timeout=publish_deadline(options.pubsub_timeout, stream.duration)),
    )


def _log_dead_letter(letter: DeadLetter) -> DeadLetter:
    counter("dead_letters").inc()
    log_dead_letter(LOG, letter.to_json())
    return letter


def build_streaming_pipeline(pipeline: beam.Pipeline, plan: StreamPlan) -> None:
    """Attach the streaming flow: periodic poll, first-seen entries, fetch, extract, first-seen articles, tag,
    WriteToPubSub; dead letters logged, and published to the dead-letter topic when there is one."""
    if plan.duration:
        # Rebased at run time, so the window of [now, now + duration) starts when the job does.
        ticks = PeriodicImpulse(start_timestamp=Timestamp(0), stop_timestamp=Timestamp(plan.duration),
                                fire_interval=plan.interval, rebase=RebaseMode.REBASE_ALL)
    else:
        ticks = PeriodicImpulse(start_timestamp=Timestamp(0), stop_timestamp=MAX_TIMESTAMP,
                                fire_interval=plan.interval, rebase=RebaseMode.REBASE_START)
    feeds = plan.feeds
    polled = (
        pipeline
        | "Tick" >> ticks
        | "Feeds" >> beam.FlatMap(lambda _tick: feeds)
        | "PollFeeds" >> PollFeeds(plan.policy, plan.replay)
    )
    fetched = (
        polled.entries
        # An entry seen in an earlier poll is not fetched again (until it expires from state), unless its feed
        # says it was updated since.
        | "NewEntries" >> FirstSeen(entry_version, plan.expiry, "NewEntries")
        | "FetchPages" >> FetchPages(plan.policy, plan.replay)
    )
    extracted = fetched.pages | "Extract" >> Extract()
    events = (
        extracted.articles
        # Different links to one article (tracking parameters, a syndicated copy with rel=canonical) once.
        | "NewArticles" >> StreamingDedup(plan.expiry)
        | "TagToEvent" >> TagToEvent(plan.run_id, plan.only_conflict)
    )
    # The same sink as the batch job on every runner: a message that cannot be published is a dead letter
    # with its event, where Beam's WriteToPubSub would retry it without end.
    unpublished = events.events | "PublishEvents" >> PubSubSink(plan.pubsub_topic, plan.ordering_key,
                                                                plan.publish_policy)
    letters = (
        (polled[DEAD], fetched[DEAD], extracted[DEAD], events[DEAD], unpublished)
        | "AllDeadLetters" >> beam.Flatten()
        | "LogDeadLetters" >> beam.Map(_log_dead_letter)
    )
    if plan.dead_letter_topic:
        letters | "DeadLettersToTopic" >> DeadLetterTopicSink(plan.dead_letter_topic, plan.publish_policy)


def run_stream(argv: list[str], wait: bool = True) -> dict[str, Any]:
    """Run the streaming job (until --duration ends, or for ever); returns its counts when it ends.
    With wait=False (a template launcher) it returns once the job is submitted."""
    options = RunOptions(argv)
    options.view_as(StandardOptions).streaming = True
    plan = plan_stream(options.view_as(SitrepOptions), options.view_as(StreamOptions))
    started = time.monotonic()
    pipeline = beam.Pipeline(runner=local_runner(options), options=options)
    build_streaming_pipeline(pipeline, plan)
    with failing_as_run_failed():
        result = pipeline.run()
        job = dry_run_job(result)
        if job is not None:
            return {"run_id": plan.run_id, "dry_run": job, "topic": plan.pubsub_topic}
        if not wait:
            return {"run_id": plan.run_id, "submitted": True, "topic": plan.pubsub_topic}
        result.wait_until_finish()
    return {"run_id": plan.run_id, "seconds": round(time.monotonic() - started, 2), "topic": plan.pubsub_topic,
            "counts": collect_counts(result)}
