"""Create the event topic (optionally with its Pub/Sub schema), its dead-letter topic and a filtered subscription."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from google.api_core.exceptions import AlreadyExists, MethodNotImplemented
from google.cloud import pubsub_v1
from google.pubsub_v1 import Encoding, Schema, SchemaServiceClient, SchemaSettings

EXAMPLE_FILTER = 'attributes.is_conflict = "true" AND attributes:country_SY'
# Rendered from schemas/event-v1.schema.json by schemas/render.py (a test keeps it up to date).
EVENT_PROTO = Path(__file__).resolve().parents[2] / "schemas" / "event-v1.proto"
SCHEMA_ID = "sitrep-event-v1"


class SchemaUnsupportedError(RuntimeError):
    """The Pub/Sub at hand cannot hold the event schema (the emulator implements Avro schemas only)."""


def create_event_schema(project: str, schema_id: str = SCHEMA_ID, definition: str | None = None) -> str:
    """Create the events' PROTOCOL_BUFFER schema, or commit a new revision when it exists with another
    definition; returns its path. Raises SchemaUnsupportedError where Protocol Buffer schemas are missing."""
    client = SchemaServiceClient()
    definition = definition if definition is not None else EVENT_PROTO.read_text(encoding="utf-8")
    path = client.schema_path(project, schema_id)
    schema = Schema(name=path, type_=Schema.Type.PROTOCOL_BUFFER, definition=definition)
    try:
        return client.create_schema(parent=f"projects/{project}", schema=schema, schema_id=schema_id).name
    except MethodNotImplemented as exc:
        where = "the Pub/Sub emulator" if os.environ.get("PUBSUB_EMULATOR_HOST") else "this Pub/Sub endpoint"
        raise SchemaUnsupportedError(
            f"{where} does not implement Protocol Buffer schemas ({exc.message}); the emulator validates "
            "Avro only, and Avro's JSON encoding would reject the plain event JSON sitrep publishes: run "
            "without --schema there") from exc
    except AlreadyExists:
        if client.get_schema(name=path).definition != definition:
            client.commit_schema(name=path, schema=schema)  # a new revision; topics accept the newest
        return path


def create(project: str, topic: str, subscription: str, filter_: str, schema: bool = False) -> list[str]:
    """Create (or keep, when they exist) the schema when asked, topic, TOPIC-dead-letter and the subscription;
    returns their paths. The schema comes first, so an endpoint without schema support leaves nothing behind."""
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    topic_path, dead_path = publisher.topic_path(project, topic), publisher.topic_path(project, topic + "-dead-letter")
    sub_path = subscriber.subscription_path(project, subscription)
    paths = []
    settings = None
    if schema:
        schema_path = create_event_schema(project)
        # JSON encoding: messages stay the event JSON; Pub/Sub refuses one that does not parse as an Event.
        settings = SchemaSettings(schema=schema_path, encoding=Encoding.JSON)
        paths.append(schema_path)
    for path, with_schema in ((topic_path, settings), (dead_path, None)):
        try:
            publisher.create_topic(request={"name": path, "schema_settings": with_schema})
        except AlreadyExists:
            if with_schema is not None and publisher.get_topic(topic=path).schema_settings.schema != with_schema.schema:
                publisher.update_topic(request={"topic": {"name": path, "schema_settings": with_schema},
                                                "update_mask": {"paths": ["schema_settings"]}})
    try:
        subscriber.create_subscription(request={
            "name": sub_path, "topic": topic_path, "filter": filter_, "ack_deadline_seconds": 60,
            # a message a consumer fails 5 times goes to the dead-letter topic instead of blocking the dashboard
            "dead_letter_policy": {"dead_letter_topic": dead_path, "max_delivery_attempts": 5},
        })
    except AlreadyExists:
        pass
    return [*paths, topic_path, dead_path, sub_path]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--project", required=True)
    parser.add_argument("--topic", default="sitrep-events")
    parser.add_argument("--subscription", default="sitrep-events-syria-conflict")
    parser.add_argument("--filter", default=EXAMPLE_FILTER, help=f"subscription filter (default: {EXAMPLE_FILTER})")
    parser.add_argument("--schema", action="store_true",
                        help=f"also create the Protocol Buffer schema {SCHEMA_ID} (schemas/event-v1.proto) and "
                        "attach it to the topic with JSON encoding, so Pub/Sub refuses a message that is not an "
                        "event (not available on the emulator)")
    args = parser.parse_args(argv)
    try:
        paths = create(args.project, args.topic, args.subscription, args.filter, schema=args.schema)
    except SchemaUnsupportedError as exc:
        print(f"create_resources: {exc}", file=sys.stderr)
        return 2
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
