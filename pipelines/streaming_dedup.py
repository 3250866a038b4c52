"""Streaming deduplication: Beam keyed state with an expiry timer lets only the first article per key through."""

from __future__ import annotations

from collections.abc import Callable

import apache_beam as beam
from apache_beam.transforms.deduplicate import DeduplicatePerKey
from apache_beam.utils.timestamp import Duration

from pipelines.dedup import article_key, content_fingerprint
from schemas.records import Article

DEFAULT_EXPIRY = Duration(seconds=30 * 24 * 3600)


class FirstSeenPerKey(beam.PTransform):
    """(key, article) pairs -> the first article of each key, for `expiry` of event time after it; a key seen
    again later than that passes again. Beam's own DeduplicatePerKey (a bag state and a watermark timer per
    key) does the work, so every runner's state backend and checkpointing apply; this adds nothing to it."""

    def __init__(self, expiry: Duration = DEFAULT_EXPIRY) -> None:
        super().__init__()
        self.expiry = expiry

    def expand(self, keyed: beam.PCollection) -> beam.PCollection:
        return (
            keyed
            | "FirstPerKey" >> DeduplicatePerKey(event_time_duration=self.expiry)
            | "Articles" >> beam.Values()
        )


class StreamingDedup(beam.PTransform):
    """Articles -> articles first seen within `expiry`: by canonical URL key (the same URL polled again),
    then by text fingerprint (the same text at another URL). Near-duplicates need the batch stage's band
    grouping and are not caught here."""

    def __init__(self, expiry: Duration = DEFAULT_EXPIRY) -> None:
        super().__init__()
        self.expiry = expiry

    def expand(self, articles: beam.PCollection) -> beam.PCollection:
        return (
            articles
            | "ByUrl" >> _DedupOn(article_key, self.expiry)
            | "ByContent" >> _DedupOn(lambda a: content_fingerprint(a.text), self.expiry)
        )


class _DedupOn(beam.PTransform):
    def __init__(self, key: Callable[[Article], str], expiry: Duration) -> None:
        super().__init__()
        self.key, self.expiry = key, expiry

    def expand(self, articles: beam.PCollection) -> beam.PCollection:
        return (
            articles
            | "Key" >> beam.Map(lambda a, key=self.key: (key(a), a))
            | "First" >> FirstSeenPerKey(self.expiry)
        )
