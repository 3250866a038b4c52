"""Where a run's records go: WriteRunFiles writes its events and its dead letters as JSON lines (Beam's fileio), and
PubSubSink publishes events with google-cloud-pubsub, losing none silently."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import BeamIOError, CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.value_provider import StaticValueProvider
from apache_beam.pvalue import TaggedOutput
from apache_beam.utils.windowed_value import WindowedValue

from pipelines.beam import DEAD, counter
from pipelines.messages import (
    MAX_DATA_BYTES,
    EventMessage,
    check_topic_path,
    dead_letter_data,
    dead_letter_message,
    encode_event,
    event_data,
)
from schemas.records import DeadLetter

LOG = logging.getLogger(__name__)


EVENTS = "events"
DEAD_LETTERS = "dead-letters"
JSON_LINES = "application/x-ndjson"  # the content type of a run's files (on an object store, what it serves)


class _JsonLinesSink(fileio.FileSink):
    """Records of one kind, one line of JSON each, into a file WriteToFiles opened."""

    def open(self, fh: BinaryIO) -> None:
        self._fh = fh

    def write(self, record: Any) -> None:
        self._fh.write(self.line(record))
        self._fh.write(b"\n")

    def flush(self) -> None:
        self._fh.flush()

    def create_metadata(self, destination: str, full_file_name: str) -> fileio.FileMetadata:
        return fileio.FileMetadata(mime_type=JSON_LINES, compression_type=CompressionTypes.UNCOMPRESSED)

    def line(self, record: Any) -> bytes:
        raise NotImplementedError


class EventLinesSink(_JsonLinesSink):
    """Events: each line is the event's Pub/Sub message data (event_data), byte for byte."""

    def line(self, event: dict[str, Any]) -> bytes:
        return event_data(event)


class DeadLetterLinesSink(_JsonLinesSink):
    """Dead letters, counted as they are written (the run summary's dead_letters)."""

    def __init__(self) -> None:
        self.written = counter("dead_letters")

    def line(self, letter: DeadLetter) -> bytes:
        self.written.inc()
        return dead_letter_data(letter.to_json())


_SINKS = {EVENTS: EventLinesSink, DEAD_LETTERS: DeadLetterLinesSink}


@dataclass(frozen=True)
class RunFileNames:
    """fileio's file naming: `{kind}-{run_id}-SSSSS-of-NNNNN.jsonl`, one run's files of a kind by its id."""

    run_id: str

    def __call__(self, window: Any, pane: Any, shard_index: int, total_shards: int, compression: str,
                 destination: str) -> str:
        return f"{destination}-{self.run_id}-{shard_index:05d}-of-{total_shards:05d}.jsonl"


TEMP_PREFIX = ".temp-"


def temp_folder(out: str, run_id: str) -> str:
    """Where a run's files are written before they are moved into `out` under their names."""
    return FileSystems.join(out, TEMP_PREFIX + run_id)


class WriteRunFiles(beam.PTransform):
    """Records of one kind (EVENTS, DEAD_LETTERS) -> the run's JSON-lines files of that kind in `out`,
    `{kind}-{run_id}-SSSSS-of-NNNNN.jsonl`, with Beam's fileio.WriteToFiles: each bundle's records go into a file
    of `temp_folder` as they come, and the files are moved to their names once all are written, so a run that
    dies leaves no partial file under them. Yields fileio's FileResults; finish_run_files completes the run's
    files once every write is done."""

    def __init__(self, out: str, run_id: str, kind: str) -> None:
        super().__init__()
        self.out, self.run_id, self.kind = out, run_id, kind

    def expand(self, records: beam.PCollection) -> beam.PCollection:
        return records | "WriteToFiles" >> fileio.WriteToFiles(
            self.out, file_naming=RunFileNames(self.run_id), destination=self.kind, sink=_SINKS[self.kind],
            temp_directory=StaticValueProvider(str, temp_folder(self.out, self.run_id)))


class RunFilesError(RuntimeError):
    """A run's file is not where its write said it moved it."""


def finish_run_files(out: str, run_id: str, kinds: Iterable[str], written: Iterable[fileio.FileResult]) -> None:
    """After every WriteRunFiles of a run: each file checked in place, an empty file for each kind that had no
    record (every run leaves one file of each kind at least, as a reader of the outputs may count on), then the
    temp folder deleted (empty once the files are moved; a retried bundle's leftovers otherwise).

    fileio's last step only logs a failed move (at debug level, taking it for a retried bundle's): a file that
    is not in place raises RunFilesError, which fails the run before its state is committed and keeps the temp
    folder, with the records, for a look (until the next run into `out` removes it: pipelines.beam.leftovers)."""
    written = list(written)
    missing = [r.file_name for r in written if not FileSystems.exists(FileSystems.join(out, r.file_name))]
    if missing:
        raise RunFilesError(f"{', '.join(missing)} not moved into {out}; the records are in "
                            f"{temp_folder(out, run_id)}")
    names = RunFileNames(run_id)
    for kind in set(kinds) - {result.destination for result in written}:
        with FileSystems.create(FileSystems.join(out, names(None, None, 0, 1, "", kind)),
                                mime_type=JSON_LINES):
            pass
    folder = temp_folder(out, run_id)
    # A local folder is deleted by its path (with what is in it); on an object store, "folder/" is every object
    # under that prefix.
    if FileSystems.get_filesystem(folder).scheme():
        folder += "/"
    try:
        FileSystems.delete([folder])
    except BeamIOError:  # no record was written, so there was no folder
        pass


@dataclass(frozen=True)
class PublishPolicy:
    """Every bound a publish obeys, in one place a reader can see.

    `timeout` is the whole budget of one message, retries included: a message not confirmed by then is a
    dead letter, so a run against an unreachable Pub/Sub ends instead of hanging.
    """

    timeout: float = 60.0
    initial_backoff: float = 0.1
    max_backoff: float = 5.0
    backoff_multiplier: float = 2.0
    # Large batches sent often: throughput on a scheduled run, and no message waits more than 50 ms.
    batch_max_messages: int = 1000
    batch_max_bytes: int = 9_500_000
    batch_max_latency: float = 0.05
    # Bounded memory: process() blocks while this much is unconfirmed rather than buffering a whole bundle.
    max_outstanding_messages: int = 5000
    max_outstanding_bytes: int = 200_000_000
    max_data_bytes: int = MAX_DATA_BYTES


def publisher_client(policy: PublishPolicy, ordering: bool) -> Any:
    """A PublisherClient with the policy's batching and flow control (PUBSUB_EMULATOR_HOST is honoured by
    the client itself)."""
    from google.cloud import pubsub_v1

    return pubsub_v1.PublisherClient(
        batch_settings=pubsub_v1.types.BatchSettings(
            max_messages=policy.batch_max_messages,
            max_bytes=policy.batch_max_bytes,
            max_latency=policy.batch_max_latency,
        ),
        publisher_options=pubsub_v1.types.PublisherOptions(
            enable_message_ordering=ordering,
            flow_control=pubsub_v1.types.PublishFlowControl(
                message_limit=policy.max_outstanding_messages,
                byte_limit=policy.max_outstanding_bytes,
                limit_exceeded_behavior=pubsub_v1.types.LimitExceededBehavior.BLOCK,
            ),
        ),
    )


def publish_retry(policy: PublishPolicy) -> Any:
    """Retry with exponential backoff on the errors a later attempt can cure, within the policy's timeout."""
    from google.api_core import exceptions, retry

    transient = retry.if_exception_type(
        exceptions.Aborted, exceptions.Cancelled, exceptions.DeadlineExceeded, exceptions.InternalServerError,
        exceptions.ResourceExhausted, exceptions.ServiceUnavailable, exceptions.Unknown,
    )
    return retry.Retry(predicate=transient, initial=policy.initial_backoff, maximum=policy.max_backoff,
                       multiplier=policy.backoff_multiplier, timeout=policy.timeout)


class _PublisherDoFn(beam.DoFn):
    """A DoFn that owns one publisher client for its lifetime and awaits its bundle's publishes."""

    def __init__(self, policy: PublishPolicy | None, ordering: bool = False) -> None:
        self.policy = policy or PublishPolicy()
        self.ordering = ordering
        self.client: Any = None
        self.pending: list[Any] = []

    def setup(self) -> None:
        self.client = publisher_client(self.policy, ordering=self.ordering)
        self.retry = publish_retry(self.policy)

    def start_bundle(self) -> None:
        self.pending = []

    def _publish(self, topic: str, data: bytes, attributes: dict[str, str], ordering_key: str = "") -> Any:
        return self.client.publish(topic, data, ordering_key=ordering_key, retry=self.retry,
                                   timeout=self.policy.timeout, **attributes)

    def _await_pending(self) -> Iterator[tuple[Any, Exception | None]]:
        """Each pending item with its publish's failure (None when confirmed), within the policy's timeout.
        The client's retry already bounds each message by policy.timeout; the margin covers batching and
        flow control, so a wedged client still cannot hold the bundle forever."""
        pending, self.pending = self.pending, []
        deadline = time.monotonic() + self.policy.timeout + 30.0
        for item, future in pending:
            try:
                future.result(timeout=max(deadline - time.monotonic(), 0.1))
            except Exception as exc:  # any failure, timeouts included, is this message's and only its
                yield item, exc
                continue
            yield item, None

    def teardown(self) -> None:
        if self.client is not None:
            self.client.stop()
            self.client = None


@dataclass
class _Pending:
    message: EventMessage
    event: dict[str, Any]
    windowed: tuple[Any, Any]


class PublishEventsDoFn(_PublisherDoFn):
    """Event -> published message; an event whose publish is not confirmed leaves as a dead letter
    (stage `publish`) carrying the whole event, so it can be published again.

    Every future is awaited in finish_bundle, so a bundle (and so the run) never completes with a message
    still unconfirmed, and `events_published` counts only what Pub/Sub acknowledged.
    """

    def __init__(self, topic: str, ordering_attribute: str | None = None,
                 policy: PublishPolicy | None = None) -> None:
        super().__init__(policy, ordering=bool(ordering_attribute))
        self.topic = check_topic_path(topic)
        self.ordering_attribute = ordering_attribute
        self.published = counter("events_published")
        self.failed = counter("publish_failed")
        self.trimmed = counter("events_trimmed")

    def process(self, event: dict[str, Any], timestamp: Any = beam.DoFn.TimestampParam,
                window: Any = beam.DoFn.WindowParam) -> Iterator[Any]:
        message = encode_event(event, self.ordering_attribute, self.policy.max_data_bytes)
        if isinstance(message, DeadLetter):
            self.failed.inc()
            yield TaggedOutput(DEAD, message)
            return
        if message.trimmed:
            self.trimmed.inc()
        future = self._publish(self.topic, message.data, message.attributes, message.ordering_key)
        self.pending.append((_Pending(message, event, (timestamp, window)), future))

    def finish_bundle(self) -> Iterator[Any]:
        for item, exc in self._await_pending():
            if exc is not None:
                self.failed.inc()
                if item.message.ordering_key:
                    # The client pauses an ordering key after a failure; later runs/bundles must not inherit it.
                    self.client.resume_publish(self.topic, item.message.ordering_key)
                reason = f"publish failed: {type(exc).__name__}: {exc}".strip()
                letter = DeadLetter("publish", reason[:500], item.message.event_id, {"event": item.event})
                timestamp, window = item.windowed
                yield TaggedOutput(DEAD, WindowedValue(letter, timestamp, [window]))
                continue
            self.published.inc()


class PubSubSink(beam.PTransform):
    """Events -> messages on a Pub/Sub topic; returns the dead letters of what could not be published."""

    def __init__(self, topic: str, ordering_attribute: str | None = None,
                 policy: PublishPolicy | None = None) -> None:
        super().__init__()
        self.dofn = PublishEventsDoFn(topic, ordering_attribute, policy)

    def expand(self, events: beam.PCollection) -> beam.PCollection:
        published = events | "Publish" >> beam.ParDo(self.dofn).with_outputs(DEAD, main="published")
        return published[DEAD]


class PublishDeadLettersDoFn(_PublisherDoFn):
    """Dead letter -> message on the dead-letter topic (its JSON as data; stage and ref as attributes).

    Awaited in finish_bundle like the events; a dead letter that still cannot be published has nowhere further
    to go, so it is logged with its whole JSON and counted as `dead_letters_unpublished`.
    """

    def __init__(self, topic: str, policy: PublishPolicy | None = None) -> None:
        super().__init__(policy)
        self.topic = check_topic_path(topic, "--dead-letter-topic")
        self.published = counter("dead_letters_published")
        self.unpublished = counter("dead_letters_unpublished")

    def process(self, letter: DeadLetter) -> None:
        data, attributes = dead_letter_message(letter.to_json(), self.policy.max_data_bytes)
        self.pending.append((data, self._publish(self.topic, data, attributes)))

    def finish_bundle(self) -> None:
        for data, exc in self._await_pending():
            if exc is not None:  # logged whole: the log is the last place this dead letter is kept
                self.unpublished.inc()
                LOG.error("dead letter not published to %s (%s: %s): %s", self.topic, type(exc).__name__, exc,
                          data.decode("utf-8", errors="replace"))
                continue
            self.published.inc()


class DeadLetterTopicSink(beam.PTransform):
    """Dead letters -> messages on a Pub/Sub topic (JSON with the DeadLetter fields)."""

    def __init__(self, topic: str, policy: PublishPolicy | None = None) -> None:
        super().__init__()
        self.dofn = PublishDeadLettersDoFn(topic, policy)

    def expand(self, letters: beam.PCollection) -> beam.PCollection:
        return letters | "PublishDeadLetters" >> beam.ParDo(self.dofn)
