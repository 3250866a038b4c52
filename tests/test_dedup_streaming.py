"""Streaming dedup: an article polled again within the expiry is dropped, after it passes again (TestStream)."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.test_stream import TestStream as BeamTestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue

from pipelines.beam.dedup import StreamingDedup
from schemas.records import Article

STORY = "Kurdish-led forces have been clashing with IS militants in Hasaka since Thursday."


def art(url: str, text: str = STORY) -> Article:
    return Article(url=url, canonical_url=url, title="t", text=text, language="en", fetched_at="2022-01-23T12:00:00Z")


def test_first_seen_only_until_expiry():
    hour = 3600
    stream = (
        BeamTestStream()
        .advance_watermark_to(0)
        .add_elements([TimestampedValue(art("https://a.example/story"), 10)])
        # polled again 15 minutes later with tracking parameters; copied verbatim by another site
        .add_elements([TimestampedValue(art("https://a.example/story?utm_source=rss"), 900),
                       TimestampedValue(art("https://b.example/copy"), 950),
                       TimestampedValue(art("https://c.example/other", "Protesters marched in the capital."), 960)])
        .advance_watermark_to(3 * hour)
        # the expiry (two hours) has passed: the key is forgotten, the article passes again
        .add_elements([TimestampedValue(art("https://a.example/story"), 3 * hour + 10)])
        .advance_watermark_to_infinity()
    )
    options = PipelineOptions()
    options.view_as(StandardOptions).streaming = True
    with BeamTestPipeline(options=options) as p:
        urls = p | stream | StreamingDedup(2.0 * hour) | beam.Map(lambda g: g.representative.url)
        assert_that(urls, equal_to(["https://a.example/story", "https://c.example/other", "https://a.example/story"]))


MARKET = ("Gunmen attacked a market in Maiduguri, Borno state, on Monday, killing at least 14 people and wounding 30, "
          "officials said. The army said troops had been sent to the area.")
UPDATE = MARKET + " Update: the toll has risen to at least 120 people killed, a local official said on Tuesday."


def test_changed_text_at_an_emitted_url_is_its_next_revision():
    stream = (
        BeamTestStream()
        .advance_watermark_to(0)
        .add_elements([TimestampedValue(art("https://a.example/market", MARKET), 10)])
        .add_elements([TimestampedValue(art("https://a.example/market", MARKET), 900)])  # polled again
        .add_elements([TimestampedValue(art("https://a.example/market", UPDATE), 1800)])  # updated in place
        # the first version's text again, at its URL and at another: both seen
        .add_elements([TimestampedValue(art("https://a.example/market", MARKET), 2700),
                       TimestampedValue(art("https://b.example/copy", UPDATE), 2800)])
        .advance_watermark_to_infinity()
    )
    options = PipelineOptions()
    options.view_as(StandardOptions).streaming = True
    with BeamTestPipeline(options=options) as p:
        groups = p | stream | StreamingDedup(24 * 3600.0) | beam.Map(
            lambda g: (g.representative.url, g.revision, g.changes, g.tags.casualties["killed"]["count"]))
        assert_that(groups, equal_to([("https://a.example/market", 1, (), 14),
                                      ("https://a.example/market", 2, ("killed 14 → 120",), 120)]))


def test_the_stream_fetches_an_entry_again_when_its_feed_says_it_was_updated():
    from pipelines.beam.streaming import entry_version
    from schemas.records import FeedEntry

    first = FeedEntry(link="https://a.example/market?utm_source=rss", updated_at="2022-01-23T06:00:00Z")
    assert entry_version(first) == entry_version(FeedEntry(link="https://a.example/market",
                                                           updated_at="2022-01-23T06:00:00Z"))
    assert entry_version(first) != entry_version(FeedEntry(link="https://a.example/market",
                                                           updated_at="2022-01-24T09:30:00Z"))
