"""The `sitrep` command: `run` (batch), `stream` (streaming job), `tail` (events off a subscription), `tag`,
`feeds status`."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any, TextIO

from connectors.feeds import FeedsFileError
from pipelines import __version__
from pipelines.options import SitrepOptions, StreamOptions

RUN_EPILOG = """\
outputs in --out:
  events-RUN-*.jsonl        one schema-v1 event a line (schemas/event-v1.schema.json); every article
                            becomes an event with conflict.is_conflict true or false
  dead-letters-RUN-*.jsonl  what failed: stage, reason, and enough of the input to retry it
  run-summary.json          counts: feeds polled/failed, entries seen, articles fetched and
                            extracted, duplicates, events written, dead letters

Any Apache Beam option may follow (default --runner=DirectRunner), e.g.
  --runner=DataflowRunner --project=P --region=R --temp_location=gs://B/tmp

examples:
  sitrep run --sample --out out/sample
  sitrep run --feeds connectors/sources/world.yaml --out out/world --only-conflict
  sitrep run --input backfill.jsonl --out out/backfill
"""

STREAM_EPILOG = """\
Polls every feed each --poll-interval seconds; an article is published once (keyed state remembers it for
--dedup-expiry-hours), with the same data and attributes as `sitrep run --pubsub-topic`. Dead letters are
logged. Locally it runs on the DirectRunner for --duration seconds; on Dataflow add
  --runner=DataflowRunner --project=P --region=R --temp_location=gs://B/tmp --setup_file=./setup.py

example:
  sitrep stream --feeds feeds.yaml --pubsub-topic projects/P/topics/events --poll-interval 60 --duration 600
"""

TAIL_EPILOG = """\
examples:
  sitrep tail --subscription projects/P/subscriptions/events-dashboard
  sitrep tail --subscription projects/P/subscriptions/S --max 10 --timeout 30 --attributes | jq .attributes
"""

TAG_EPILOG = """\
input, one JSON object a line:   {"id": "...", "title": "...", "text": "..."}  (optional "language")
output, the same object with the tagging block the pipeline puts in events added:
  conflict {is_conflict, score}, topics [{code, label, score, evidence}], locations, actors, casualties

example:
  echo '{"id": "1", "title": "Clashes in Hasaka", "text": "..."}' | sitrep tag
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sitrep",
        description="News feeds to a clean, deduplicated stream of structured conflict events.",
    )
    parser.add_argument("--version", action="version", version=f"sitrep {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "run",
        help="poll feeds (or read a backfill), fetch, extract, dedup, tag and write events",
        description="Run the batch pipeline once: --feeds FILE (poll every feed, fetch each entry's article), "
        "--input FILE (articles fetched elsewhere) or --sample (the shipped sample, offline).",
        epilog=RUN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    SitrepOptions._add_argparse_args(run)
    stream = commands.add_parser(
        "stream",
        help="the streaming job: poll feeds on a period and publish each new article's event to Pub/Sub",
        description="Run the streaming pipeline: --feeds FILE polled every --poll-interval seconds, new articles "
        "fetched, extracted, tagged and published to --pubsub-topic.",
        epilog=STREAM_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    SitrepOptions._add_argparse_args(stream)
    StreamOptions._add_argparse_args(stream)
    tail = commands.add_parser(
        "tail",
        help="print events from a Pub/Sub subscription as they arrive, one JSON line each",
        description="Print events from a Pub/Sub subscription as they arrive (streaming pull); each is "
        "acknowledged once printed. Honours PUBSUB_EMULATOR_HOST.",
        epilog=TAIL_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tail.add_argument("--subscription", required=True, help="projects/P/subscriptions/S")
    tail.add_argument("--max", dest="max_messages", type=int, default=None, help="stop after this many events")
    tail.add_argument("--timeout", type=float, default=None, help="stop after this many seconds")
    tail.add_argument("--attributes", action="store_true", default=False,
                      help='print {"attributes": ..., "event": ...} instead of the bare event')
    commands.add_parser(
        "tag",
        help="tag JSONL articles from stdin (id, title, text) and write them with the tagging block to stdout",
        description="Read JSONL on stdin, write the same lines with the conflict tagging block on stdout.",
        epilog=TAG_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    feeds = commands.add_parser(
        "feeds",
        help="what sitrep knows about its feeds between runs",
        description="Commands on the feeds' state kept between runs (--state folder of `sitrep run`).",
    )
    feeds_commands = feeds.add_subparsers(dest="feeds_command", required=True, metavar="FEEDS_COMMAND")
    status = feeds_commands.add_parser(
        "status",
        help="each feed's health: last success, last error, consecutive failures, entries, next attempt",
        description="Show each feed's health from the state runs left in --state.",
    )
    status.add_argument("--state", default=None,
                        help="state folder (local or gs://...) given to `sitrep run` (default: $XDG_STATE_HOME/sitrep)")
    status.add_argument("--json", action="store_true", default=False, help="one JSON object a feed instead of a table")
    return parser


def feeds_status(state_root: str | None, as_json: bool, sink: TextIO) -> int:
    """`sitrep feeds status`: one line a feed, failing feeds first; exit status 1 when any is backing off."""
    import datetime as dt

    from connectors.feedstate import FeedState
    from connectors.state import StateLog, default_state_root

    root = state_root or default_state_root()
    records = StateLog(root, "feeds").read()
    if not records:
        print(f"no feed state in {root} (it is written by `sitrep run --feeds ... --state {root}`)", file=sink)
        return 0
    now = dt.datetime.now(dt.UTC)
    rows = sorted(records.items(), key=lambda kv: (-kv[1].value.get("consecutive_failures", 0), kv[0]))
    backing_off = 0
    if not as_json:
        print(f"{'feed':<50} {'last success':<21} {'fails':>5} {'entries':>7} {'next attempt':<21} last error",
              file=sink)
    for url, record in rows:
        state = FeedState.from_value(record.value)
        waiting = not state.due(now)
        backing_off += waiting
        next_attempt = state.next_attempt_at if waiting else "next run"
        if as_json:
            row = {k: v for k, v in state.to_value().items() if k != "seen"}
            sink.write(json.dumps({"feed": url, **row, "next_attempt": next_attempt}) + "\n")
            continue
        print(f"{url:<50} {state.last_success or 'never':<21} {state.consecutive_failures:>5} "
              f"{state.entries_last_run:>7} {next_attempt:<21} {state.last_error or ''}",
              file=sink)
    return 1 if backing_off else 0


def describe_summary(summary: dict[str, Any]) -> str:
    """The run summary as a few lines a person can read."""
    c = summary["counts"]
    lines = [f"sitrep run {summary['run_id']} finished in {summary['seconds']}s"]
    if c["feeds_polled"]:
        lines.append(f"  feeds     {c['feeds_polled']} polled, {c['feeds_failed']} failed; "
                     f"{c['entries_seen']} entries seen, {c['entries_skipped']} without a usable link")
        if c.get("feeds_not_modified") or c.get("feeds_backed_off") or c.get("entries_already_seen"):
            lines.append(f"  state     {c['feeds_not_modified']} feeds unchanged (304), {c['feeds_backed_off']} "
                         f"backing off; {c['entries_already_seen']} entries seen by earlier runs, not fetched again")
        lines.append(f"  articles  {c['articles_fetched']} fetched, {c['fetch_failed']} fetch failures, "
                     f"{c['articles_extracted']} extracted, {c['extract_failed']} without a usable body")
    else:
        lines.append(f"  input     {c['input_records']} records, {c['input_invalid']} invalid, {c['text_records']} "
                     f"with text, {c['articles_extracted']} extracted from HTML, {c['extract_failed']} without a "
                     "usable body")
    earlier = ""
    if c.get("already_seen") or c.get("revisions"):
        earlier = f"; {c['already_seen']} already emitted by earlier runs, {c['revisions']} revised"
    lines.append(f"  dedup     {c['duplicates']} duplicates folded into their representatives{earlier}")
    filtered = f", {c['filtered_not_conflict']} non-conflict left out" if c["filtered_not_conflict"] else ""
    lines.append(f"  events    {c['events_written']} written ({c['conflict_events']} conflict){filtered}")
    outputs = summary["outputs"]
    if outputs.get("pubsub_topic"):
        trimmed = f", {c['events_trimmed']} with text trimmed to fit" if c.get("events_trimmed") else ""
        lines.append(f"  pubsub    {c['events_published']} published, {c['publish_failed']} failed "
                     f"(in dead letters){trimmed}")
    lines.append(f"  dead      {c['dead_letters']} dead letters")
    for name in ("events", "pubsub_topic"):
        if outputs.get(name):
            lines.append(f"  -> {outputs[name]}")
    lines.append(f"  -> {summary['outputs']['dead_letters']}")
    return "\n".join(lines)


def tag_stream(source: TextIO, sink: TextIO) -> int:
    """`sitrep tag`: tag each JSONL line; a bad line is reported on stderr and counted, never fatal."""
    from pipelines.extract import detect_language
    from pipelines.tagging import ConflictTagger

    tagger = ConflictTagger()
    bad = 0
    for number, line in enumerate(source, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            bad += 1
            print(f"sitrep tag: line {number}: {exc}", file=sys.stderr)
            continue
        title, text = str(record.get("title") or ""), str(record.get("text") or "")
        language = record.get("language") or detect_language(text or title)
        record.update(tagger.tag(title, text, language).to_json())
        sink.write(json.dumps(record, ensure_ascii=False) + "\n")
    return 1 if bad else 0


def tail_command(args: argparse.Namespace) -> int:
    from google.api_core.exceptions import GoogleAPICallError

    from pipelines.pubsub_tail import tail

    try:
        tail(args.subscription, sys.stdout, args.max_messages, args.timeout, args.attributes)
    except ValueError as exc:
        print(f"sitrep tail: {exc}", file=sys.stderr)
        return 2
    except GoogleAPICallError as exc:
        print(f"sitrep tail: {args.subscription}: {exc.message or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def stream_command(argv: list[str]) -> int:
    from pipelines.streaming import run_stream

    try:
        result = run_stream(argv)
    except (ValueError, FeedsFileError) as exc:
        print(f"sitrep stream: {exc}", file=sys.stderr)
        return 2
    c = result["counts"]
    print(f"sitrep stream {result['run_id']} ran {result['seconds']}s: {c['feeds_polled']} polls, "
          f"{c['articles_fetched']} new articles fetched, {c['events_written']} events to {result['topic']}, "
          f"{c['dead_letters']} dead letters")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args, _beam_args = _parser().parse_known_args(argv)
    if args.command == "tag":
        return tag_stream(sys.stdin, sys.stdout)
    if args.command == "feeds":
        return feeds_status(args.state, args.json, sys.stdout)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "tail":
        return tail_command(args)
    if args.command == "stream":
        return stream_command(argv[1:])
    from pipelines.batch import run

    try:
        summary = run(argv[1:])
    except (ValueError, FeedsFileError) as exc:
        print(f"sitrep run: {exc}", file=sys.stderr)
        return 2
    print(describe_summary(summary))
    if summary["counts"].get("publish_failed"):
        # Events that are only in dead letters did not reach the topic: the run must not look successful.
        print(f"sitrep run: {summary['counts']['publish_failed']} events were not published; they are in "
              f"{summary['outputs']['dead_letters']} (stage publish)", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
