"""`sitrep tail`: print events from a Pub/Sub subscription as they arrive (streaming pull)."""

from __future__ import annotations

import json
import queue
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

from pipelines.messages import check_subscription_path


@dataclass(frozen=True)
class ReceivedEvent:
    """One message as received: its data (the event's JSON), attributes and ordering key."""

    data: bytes
    attributes: dict[str, str]
    ordering_key: str
    message_id: str


def receive(subscription: str, max_messages: int | None = None, timeout: float | None = None,
            idle: float | None = None) -> Iterator[ReceivedEvent]:
    """Messages of a subscription as they arrive, each acknowledged once handed over; stops after
    `max_messages`, after `timeout` seconds in all, or after `idle` seconds with nothing new."""
    from google.cloud import pubsub_v1

    check_subscription_path(subscription)
    arrived: queue.Queue = queue.Queue()
    subscriber = pubsub_v1.SubscriberClient()
    # Flow control keeps the client from leasing far more than the caller will take (--max).
    flow = pubsub_v1.types.FlowControl(max_messages=min(max_messages or 1000, 1000))
    streaming = subscriber.subscribe(subscription, callback=arrived.put, flow_control=flow)
    started = last = time.monotonic()
    count = 0
    try:
        while max_messages is None or count < max_messages:
            try:
                message = arrived.get(timeout=0.2)
            except queue.Empty:
                if streaming.done():
                    streaming.result()  # raises what ended the stream, a missing subscription for instance
                now = time.monotonic()
                if (timeout is not None and now - started >= timeout) or (idle is not None and now - last >= idle):
                    return
                continue
            last = time.monotonic()
            message.ack()
            count += 1
            yield ReceivedEvent(message.data, dict(message.attributes), message.ordering_key, message.message_id)
    finally:
        streaming.cancel()
        subscriber.close()
    # Messages leased but not handed over are not acknowledged: Pub/Sub delivers them again later.


def tail(subscription: str, sink: TextIO = sys.stdout, max_messages: int | None = None,
         timeout: float | None = None, with_attributes: bool = False) -> int:
    """Write each event a line (JSON) to sink; with_attributes wraps it as {"attributes": ..., "event": ...}."""
    count = 0
    for received in receive(subscription, max_messages, timeout):
        text = received.data.decode("utf-8", errors="replace")
        if with_attributes:
            try:
                event = json.loads(text)
            except ValueError:
                event = text
            text = json.dumps({"attributes": received.attributes, "event": event}, ensure_ascii=False, sort_keys=True)
        sink.write(text + "\n")
        sink.flush()
        count += 1
    return count
