"""Where the dashboard's events come from: a Pub/Sub subscription (streaming pull in a thread of its own) or
the events files of a local run's output folder (new files, new lines)."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from typing import Any

from connectors import files
from pipelines.messages import check_subscription_path

EVENTS_FILES = "events-*.jsonl"
CHECK_EVERY = 0.2  # seconds between looks at the stop flag and the stream's health
CLOSE_TIMEOUT = 5.0  # seconds the client gets to end the stream (and nack what it held) at stop
FLOW_MESSAGES = 1000  # messages leased at once, as `sitrep tail` does
RETRY_FIRST, RETRY_MAX = 1.0, 30.0


class FolderFollower:
    """The lines added to a folder's events files since the last poll: whole lines only (a line still being
    written waits for its newline), each file read from where the last poll stopped."""

    def __init__(self, folder: str, pattern: str = EVENTS_FILES) -> None:
        self.folder = folder
        self.pattern = pattern
        self._offsets: dict[str, int] = {}

    def poll(self) -> list[bytes]:
        lines: list[bytes] = []
        for path in files.matching(files.join(self.folder, self.pattern)):
            offset = self._offsets.get(path, 0)
            if not files.is_remote(path) and os.path.getsize(path) < offset:
                offset = 0  # the file was replaced by a shorter one: read it again (duplicates are dropped)
            with files.open_read(path) as handle:
                handle.seek(offset)
                chunk = handle.read()
            whole = chunk.rfind(b"\n") + 1
            self._offsets[path] = offset + whole
            lines += [line for line in chunk[:whole].split(b"\n") if line.strip()]
        return lines


class SubscriptionFollower:
    """Streaming pull of one subscription, run from a background thread: `deliver` gets each message's data
    (from the client's callback threads) and `report` the error that ended the stream (None once it reads
    again). The stream is retried with backoff until `stop()`, which closes it and the subscriber; messages
    leased and not yet handed over are nacked by the client then, so Pub/Sub delivers them again at once.

    Not `pipelines.pubsub_tail.receive()`: that generator can only be left when a message arrives or after an
    idle time, and a message that reaches its queue while it returns stays leased until its ack deadline."""

    def __init__(self, subscription: str, deliver: Callable[[bytes], None],
                 report: Callable[[str | None], None]) -> None:
        self.subscription = check_subscription_path(subscription)
        self.deliver = deliver
        self.report = report
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="sitrep-dashboard-pubsub", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> bool:
        """Ask the thread to stop and wait for it (stream and subscriber closed); whether it stopped in time."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _take(self, message: Any) -> None:
        self.deliver(message.data)
        message.ack()

    def _follow(self) -> None:
        from google.cloud import pubsub_v1

        wait = RETRY_FIRST
        while not self._stop.is_set():
            subscriber = pubsub_v1.SubscriberClient()
            streaming = subscriber.subscribe(self.subscription, callback=self._take,
                                             flow_control=pubsub_v1.types.FlowControl(max_messages=FLOW_MESSAGES))
            try:
                while not self._stop.wait(CHECK_EVERY):
                    if streaming.done():
                        streaming.result()  # raises what ended the stream: no such subscription, no service
                    if wait != RETRY_FIRST:  # reading again after an error: say so once
                        self.report(None)
                        wait = RETRY_FIRST
            except Exception as exc:  # the stream's end (any error of the client) is shown on the page, then retried
                text = str(exc).splitlines()[0] if str(exc) else ""
                self.report(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)
                self._stop.wait(wait)
                wait = min(wait * 2, RETRY_MAX)
            finally:
                streaming.cancel()
                with contextlib.suppress(Exception):  # the stream's error, if any, was reported above
                    streaming.result(timeout=CLOSE_TIMEOUT)
                subscriber.close()
