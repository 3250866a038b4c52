"""Create the event topic, its dead-letter topic and a filtered subscription (honours PUBSUB_EMULATOR_HOST)."""

from __future__ import annotations

import argparse
import sys

from google.api_core.exceptions import AlreadyExists
from google.cloud import pubsub_v1

EXAMPLE_FILTER = 'attributes.is_conflict = "true" AND attributes:country_SY'


def create(project: str, topic: str, subscription: str, filter_: str) -> list[str]:
    """Create (or keep, when they exist) topic, TOPIC-dead-letter and the subscription; returns their paths."""
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    topic_path, dead_path = publisher.topic_path(project, topic), publisher.topic_path(project, topic + "-dead-letter")
    sub_path = subscriber.subscription_path(project, subscription)
    for path in (topic_path, dead_path):
        try:
            publisher.create_topic(name=path)
        except AlreadyExists:
            pass
    try:
        subscriber.create_subscription(request={
            "name": sub_path, "topic": topic_path, "filter": filter_, "ack_deadline_seconds": 60,
            # a message a consumer fails 5 times goes to the dead-letter topic instead of blocking the dashboard
            "dead_letter_policy": {"dead_letter_topic": dead_path, "max_delivery_attempts": 5},
        })
    except AlreadyExists:
        pass
    return [topic_path, dead_path, sub_path]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--project", required=True)
    parser.add_argument("--topic", default="sitrep-events")
    parser.add_argument("--subscription", default="sitrep-events-syria-conflict")
    parser.add_argument("--filter", default=EXAMPLE_FILTER, help=f"subscription filter (default: {EXAMPLE_FILTER})")
    args = parser.parse_args(argv)
    for path in create(args.project, args.topic, args.subscription, args.filter):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
