"""Beam wiring: the thin transforms route records and dead letters where they belong (TestPipeline + assert_that)."""

from __future__ import annotations

import json
from dataclasses import replace

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms import window

from connectors.http import FetchPolicy
from pipelines.beam import DEAD
from pipelines.beam.dedup import ArticleNodesDoFn, Deduplicate
from pipelines.beam.extract import ParseInputDoFn
from pipelines.beam.fetch import FetchPageDoFn
from pipelines.beam.poll import PollFeedDoFn
from pipelines.beam.runners import local_runner
from pipelines.beam.tag import TagToEventDoFn
from pipelines.dedup import singleton
from pipelines.dedup.near import NearDupSettings, node_of
from schemas.records import Article, FeedConfig, FeedEntry


def local_test_pipeline() -> BeamTestPipeline:
    """Beam's TestPipeline on the engine sitrep's own DirectRunner runs use (never Prism's download)."""
    return BeamTestPipeline(runner=local_runner(PipelineOptions()))


def art(url: str, text: str, published: str, title: str = "Clashes in Hasaka") -> Article:
    return Article(url=url, canonical_url=url, title=title, text=text, language="en",
                   fetched_at="2022-01-23T12:00:00Z", published_at=published)


def test_exact_dedup_folds_url_guid_and_content_copies():
    story = "Kurdish-led forces have been clashing with IS militants in Hasaka since Thursday."
    moved = "Turkish drones struck a fuel depot near Qamishli on Friday, the local council said."
    articles = [
        art("https://a.example/story", story, "2022-01-23T09:00:00Z"),
        art("https://a.example/story?utm_source=rss", story, "2022-01-23T09:30:00Z"),
        art("https://b.example/copy", story.upper(), "2022-01-23T10:00:00Z"),
        art("https://c.example/other", "Protesters marched in the capital against fuel prices.",
            "2022-01-23T08:00:00Z"),
        # one feed entry (its GUID) whose article moved to a new address and was edited meanwhile
        replace(art("https://d.example/2022/drones", moved, "2022-01-23T07:00:00Z"),
                feed_url="https://d.example/feed", guid="d-1234"),
        replace(art("https://d.example/world/drone-strike-qamishli", moved + " Two guards were hurt.",
                    "2022-01-23T07:40:00Z"), feed_url="https://d.example/feed", guid="d-1234"),
    ]
    with local_test_pipeline() as p:
        groups = p | beam.Create(articles) | Deduplicate(NearDupSettings())
        summary = groups.groups | beam.Map(lambda g: (g.representative.url, g.copies, g.duplicate_urls))
        assert_that(summary, equal_to([
            ("https://a.example/story", 2, ["https://a.example/story?utm_source=rss", "https://b.example/copy"]),
            ("https://c.example/other", 0, []),
            ("https://d.example/2022/drones", 1, ["https://d.example/world/drone-strike-qamishli"]),
        ]))


def test_article_nodes_come_in_batches_each_as_if_alone(seed_text):
    # Nodes are made a batch at a time (after a batch of extractions, not between them); each must be the
    # node of its article alone, in its own window and at its own time, including the last, short batch.
    paragraphs = [p for p in seed_text.split("\n") if p.strip()]
    articles = [art(f"https://n.example/{i}", "\n".join([*paragraphs[i % len(paragraphs):], f"Update {i}."]),
                    f"2022-01-{1 + i % 28:02d}T09:00:00Z") for i in range(ArticleNodesDoFn.BATCH * 2 + 7)]
    settings = NearDupSettings()
    expected = [(node_of(singleton(a), settings), 1000 + 3600 * i) for i, a in enumerate(articles)]

    def seen(node, win=beam.DoFn.WindowParam, ts=beam.DoFn.TimestampParam):
        return node.id, node.sig, node.fingerprint, node.group.representative.url, win.start.micros, ts.micros

    with local_test_pipeline() as p:
        nodes = (p | beam.Create([(a, 1000 + 3600 * i) for i, a in enumerate(articles)])
                 | beam.MapTuple(window.TimestampedValue)
                 | beam.WindowInto(window.FixedWindows(86400))
                 | beam.ParDo(ArticleNodesDoFn(settings)))
        assert_that(nodes | beam.Map(seen), equal_to([
            (n.id, n.sig, n.fingerprint, n.group.representative.url, (ts // 86400) * 86400 * 10**6, ts * 10**6)
            for n, ts in expected]))


def test_input_lines_are_parsed_in_batches_each_in_its_own_window():
    # Lines are parsed a batch at a time; each page, and each dead letter, keeps its own line's window and time,
    # the last, short batch included.
    lines = [json.dumps({"url": f"https://n.example/{i}", "title": f"Story {i}",
                         "html": f"<html><body><article><p>Story {i} from Hasaka.</p></article></body></html>"}
                        ).encode() for i in range(ParseInputDoFn.BATCH * 2 + 3)]
    lines[5] = b'{"url": "https://n.example/5", "html": '  # cut short
    stamps = [1000 + 3600 * i for i in range(len(lines))]

    def where(ts: int) -> tuple[int, int]:
        return (ts // 86400) * 86400 * 10**6, ts * 10**6

    def page_seen(page, win=beam.DoFn.WindowParam, ts=beam.DoFn.TimestampParam):
        return page.final_url, page.entry.title, win.start.micros, ts.micros

    def letter_seen(letter, win=beam.DoFn.WindowParam, ts=beam.DoFn.TimestampParam):
        return letter.stage, letter.reason.split(":")[0], win.start.micros, ts.micros

    with local_test_pipeline() as p:
        parsed = (p | beam.Create(list(zip(lines, stamps, strict=True)))
                  | beam.MapTuple(window.TimestampedValue)
                  | beam.WindowInto(window.FixedWindows(86400))
                  | beam.ParDo(ParseInputDoFn()).with_outputs(DEAD, main="pages"))
        assert_that(parsed.pages | "Pages" >> beam.Map(page_seen), equal_to([
            (f"https://n.example/{i}", f"Story {i}", *where(ts)) for i, ts in enumerate(stamps) if i != 5]),
            label="pages")
        assert_that(parsed[DEAD] | "Letters" >> beam.Map(letter_seen),
                    equal_to([("input", "not JSON", *where(stamps[5]))]), label="dead letters")


def test_fetch_failures_leave_as_dead_letters(server):
    server.route("/ok", "<!DOCTYPE html><html><body><p>fine</p></body></html>")
    entries = [FeedEntry(link=server.url("/ok")), FeedEntry(link=server.url("/gone"))]
    policy = FetchPolicy(allow_hosts=("127.0.0.0/8",), retries=0)
    with local_test_pipeline() as p:
        out = p | beam.Create(entries) | beam.ParDo(FetchPageDoFn(policy, None)).with_outputs(DEAD, main="pages")
        assert_that(out.pages | "Urls" >> beam.Map(lambda pg: pg.final_url), equal_to([server.url("/ok")]),
                    label="pages")
        assert_that(out[DEAD] | "Reasons" >> beam.Map(lambda d: (d.stage, d.reason, d.input["entry"]["link"])),
                    equal_to([("fetch", "HTTP 404", server.url("/gone"))]), label="dead")


def test_only_conflict_filters_after_tagging():
    conflict = art("https://a.example/x", "Airstrikes hit militant positions as clashes killed 12 fighters.",
                   "2022-01-23T09:00:00Z")
    calm = art("https://b.example/y", "The central bank kept interest rates unchanged on Monday.",
               "2022-01-23T09:00:00Z", title="Rates on hold")
    with local_test_pipeline() as p:
        groups = p | beam.Create([singleton(conflict), singleton(calm)])
        everything = groups | "All" >> beam.ParDo(TagToEventDoFn("r1", False)).with_outputs(DEAD, main="e")
        filtered = groups | "Only" >> beam.ParDo(TagToEventDoFn("r1", True)).with_outputs(DEAD, main="e")
        assert_that(everything.e | "A" >> beam.Map(lambda e: (e["url"], e["conflict"]["is_conflict"])),
                    equal_to([("https://a.example/x", True), ("https://b.example/y", False)]), label="all")
        assert_that(filtered.e | "O" >> beam.Map(lambda e: e["url"]), equal_to(["https://a.example/x"]), label="only")


def test_threads_of_one_worker_share_one_tagger():
    # A worker deserializes a DoFn once per thread that runs it; each copy must not load its own tagger.
    import pickle

    dofn = TagToEventDoFn("r1", False)
    first, second = pickle.loads(pickle.dumps(dofn)), pickle.loads(pickle.dumps(dofn))
    first.setup()
    second.setup()
    assert first.tagger is second.tagger
    later = TagToEventDoFn("r2", False)
    assert later.tagger is None  # nothing is loaded before setup
    # Set up, a later pipeline's DoFn in the same process gets the tagger already loaded, not a new one.
    later.setup()
    assert later.tagger is first.tagger


def test_entry_with_a_refused_link_is_a_dead_letter_naming_that_link(server):
    # A feed entry pointing at a local file: the dead letter says which link was refused and why.
    server.route("/feed.xml", '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
                 "<item><title>Leak</title><link>file:///etc/passwd</link><guid>g1</guid></item>"
                 "</channel></rss>", content_type="application/rss+xml")
    feed = FeedConfig(url=server.url("/feed.xml"))
    policy = FetchPolicy(allow_hosts=("127.0.0.0/8",), retries=0)
    with local_test_pipeline() as p:
        out = p | beam.Create([feed]) | beam.ParDo(PollFeedDoFn(policy, None)).with_outputs(DEAD, main="entries")
        assert_that(out[DEAD] | beam.Map(lambda d: (d.stage, d.ref, d.reason, d.input["entry"]["link"],
                                                    d.input["feed"]["url"])),
                    equal_to([("poll", "file://etc/passwd", "link 'file://etc/passwd' refused: not http(s)",
                               "file://etc/passwd", feed.url)]))


def test_input_lines_over_the_cap_are_read_as_their_size(tmp_path, monkeypatch):
    # A tiny cap and buffer: a long line dropped as it is read (and at the end of the file, with no newline),
    # the lines around it read whole, CRLF ends included.
    from pipelines.beam import extract as transforms
    from pipelines.inputs import read_oversized

    monkeypatch.setattr(transforms, "MAX_INPUT_LINE_BYTES", 10)
    monkeypatch.setattr(transforms, "INPUT_READ_BUFFER", 16)
    path = tmp_path / "input.jsonl"
    path.write_bytes(b"short\r\n" + b"y" * 5000 + b"\nok\n\n" + b"z" * 30)
    with local_test_pipeline() as p:
        # an over-long line is its size and its first bytes (as many as were read before the cap was passed)
        lines = p | transforms.ReadInputLines(str(path)) | beam.Map(
            lambda line: (lambda big: (big[0], set(big[1])) if big else line)(read_oversized(line)))
        assert_that(lines, equal_to([b"short", (5000, {ord("y")}), b"ok", b"", (30, {ord("z")})]))
