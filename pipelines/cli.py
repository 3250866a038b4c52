"""The `sitrep` command: `run` (batch), `stream` (streaming job), `tail` (events off a subscription), `tag`,
`feeds status`."""

from __future__ import annotations

import argparse
import contextlib
import enum
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from connectors import files
from connectors.feeds import FeedsFileError
from pipelines import __version__, progress
from pipelines.logs import COMMAND_LOGGER, FORMATS
from pipelines.logs import setup as setup_logs

RUN_EPILOG = """\
outputs in --out:
  events-RUN-*.jsonl        one schema-v1 event a line (schemas/event-v1.schema.json); every article
                            becomes an event with conflict.is_conflict true or false
  dead-letters-RUN-*.jsonl  what failed: stage, reason, and enough of the input to retry it
  run-summary-RUN.json      counts: feeds polled/failed, entries seen, articles fetched and
                            extracted, duplicates, events written, dead letters; the feeds that
                            failed and why; the top topics and countries of the events
  run-summary.json          a copy of the latest run's summary (its run_id names the run)

on the terminal: while it works, one progress line on stderr (not with --no-progress, never when
stderr is no terminal); at the end, on stdout, a table: per stage in / out / failed, the feeds that
failed and why, top topics and countries, duration, outputs. Log records go to stderr as human lines
on a terminal, else as JSON lines (--log-format): at, level, logger, message, run_id, and stage,
feed, url and reason for each dead letter.

exit status: 0 done; 1 the pipeline failed (the last line says why); 2 a bad option or path
(nothing ran); 3 events not published to the topic (they are in the dead letters); 130 stopped by
Ctrl-C (nothing committed)

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
logged (JSON lines with run_id, stage, feed, url and reason when stderr is no terminal: --log-format); on a
terminal a progress line shows polls, articles fetched, events published and dead letters (--no-progress).
Locally it runs on the DirectRunner for --duration seconds; on Dataflow add
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
  sitrep tag articles.jsonl > tagged.jsonl
"""

class ExitStatus(enum.IntEnum):
    """What every command's exit status means."""

    OK = 0
    # The command failed at its job: the pipeline failed, lines could not be tagged, a feed is backing off,
    # the subscription could not be read.
    FAILED = 1
    USAGE = 2  # a bad option or path, told before anything ran
    NOT_PUBLISHED = 3  # events that reached only the dead letters, not the topic
    INTERRUPTED = 130  # the shell's status for a command stopped by SIGINT (128 + 2)


class _Parser(argparse.ArgumentParser):
    """An argument parser that tells a mistake in one line (the usage is one --help away) and takes no
    abbreviation: Beam parses the pipeline options again without abbreviations, so `--stat` would reach it
    as an unknown option instead of as --state."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, allow_abbrev=False, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"{self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


class _Only:
    """Passes to a parser only the options whose dest is in `dests`: `sitrep stream` declares the options of
    `sitrep run` it reads and no other."""

    def __init__(self, parser: argparse.ArgumentParser, dests: frozenset[str], title: str | None = None) -> None:
        self._parser, self._dests, self._title = parser, dests, title

    def add_argument_group(self, title: str | None = None, **kwargs: Any) -> _Only:
        group = self._parser.add_argument_group(self._title or title, **kwargs)
        return _Only(group, self._dests)  # type: ignore[arg-type]

    def add_argument(self, *flags: str, **kwargs: Any) -> argparse.Action | None:
        long = next(f for f in flags if f.startswith("--"))
        if kwargs.get("dest", long[2:].replace("-", "_")) not in self._dests:
            return None
        return self._parser.add_argument(*flags, **kwargs)


LOG_FORMAT_HELP = ("log records on stderr as human lines or JSON lines (at, level, logger, message, run_id; "
                   "stage, feed, url on a record about an item); auto (default): human on a terminal, else json")
NO_PROGRESS_HELP = ("no live progress line on the terminal (never drawn when stderr is no terminal; it counts "
                    "what runs in this process, so a local run)")
# The flags that are the command's and not the pipeline's: taken out of what Beam's options parse.
_COMMAND_FLAGS = {"--log-format": True, "--no-progress": False}


def _own_flags(parser: argparse.ArgumentParser, logs: bool = False, progress: bool = False) -> None:
    """Add the terminal's flags (--log-format with `logs`, --no-progress with `progress`), then remember the
    command's own flags, the suggestions offered for a mistyped one."""
    group = parser.add_argument_group("terminal") if logs or progress else None
    if logs:
        group.add_argument("--log-format", choices=FORMATS, default="auto", help=LOG_FORMAT_HELP)
    if progress:
        group.add_argument("--no-progress", action="store_true", default=False, help=NO_PROGRESS_HELP)
    parser.set_defaults(own_flags=tuple(f for a in parser._actions for f in a.option_strings if f.startswith("--")))


def _parser(pipelines: bool = True) -> argparse.ArgumentParser:
    """The command line; the options of `run` and `stream` (Beam's PipelineOptions) only with `pipelines`, so
    the commands that run no pipeline do not load Beam."""
    parser = _Parser(
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
    if pipelines:
        from pipelines.beam.options import SitrepOptions

        SitrepOptions._add_argparse_args(run)
        _own_flags(run, logs=True, progress=True)
    stream = commands.add_parser(
        "stream",
        help="the streaming job: poll feeds on a period and publish each new article's event to Pub/Sub",
        description="Run the streaming pipeline: --feeds FILE polled every --poll-interval seconds, new articles "
        "fetched, extracted, tagged and published to --pubsub-topic.",
        epilog=STREAM_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    if pipelines:
        from pipelines.beam.options import STREAM_SITREP_OPTIONS, SitrepOptions, StreamOptions

        SitrepOptions._add_argparse_args(_Only(stream, STREAM_SITREP_OPTIONS, "feeds, fetch and Pub/Sub"))  # type: ignore[arg-type]
        StreamOptions._add_argparse_args(stream)
        _own_flags(stream, logs=True, progress=True)
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
    _own_flags(tail, logs=True)
    tag = commands.add_parser(
        "tag",
        help="tag JSONL articles (id, title, text) and write them with the tagging block to stdout",
        description="Read JSONL from FILE (or stdin), write the same lines with the conflict tagging block on "
        "stdout.",
        epilog=TAG_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tag.add_argument("file", nargs="?", default="-", metavar="FILE", help="JSONL file to tag (default: stdin)")
    _own_flags(tag)
    from pipelines import dashboard, report

    for name, module in (("report", report), ("dashboard", dashboard)):
        sub = commands.add_parser(name, help=module.HELP, description=module.__doc__.strip().splitlines()[0])
        module.add_arguments(sub)
        _own_flags(sub)
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
    _own_flags(status)
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
        return ExitStatus.OK
    now = dt.datetime.now(dt.UTC)
    rows = sorted(records.items(), key=lambda kv: (-kv[1].value.get("consecutive_failures", 0), kv[0]))
    backing_off = 0
    if not as_json:
        print(f"{'feed':<50} {'last success':<21} {'fails':>5} {'entries':>7} {'pending':>7} {'next attempt':<21} "
              "last error", file=sink)
    for url, record in rows:
        state = FeedState.from_value(record.value)
        waiting = not state.due(now)
        backing_off += waiting
        next_attempt = state.next_attempt_at if waiting else "next run"
        if as_json:
            row = {k: v for k, v in state.to_value().items() if k not in ("seen", "pending")}
            # Entries whose fetch failed transiently, waiting for a retry (connectors/feedstate.py).
            pending = [{"link": p["entry"]["link"], **{k: v for k, v in p.items() if k not in ("entry", "keys")}}
                       for p in state.pending.values()]
            sink.write(json.dumps({"feed": url, **row, "pending": pending, "next_attempt": next_attempt}) + "\n")
            continue
        print(f"{url:<50} {state.last_success or 'never':<21} {state.consecutive_failures:>5} "
              f"{state.entries_last_run:>7} {len(state.pending):>7} {next_attempt:<21} {state.last_error or ''}",
              file=sink)
    return ExitStatus.FAILED if backing_off else ExitStatus.OK


# The summary table's columns: stage, in, out, failed, then what the numbers mean (what fits of 80 columns).
_ROW = "{:<8}{:>9}{:>9}{:>8}  {}"
WIDTH = 80


def _n(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _row(stage: str, into: int | None, out: int | None, failed: int | None, notes: list[str]) -> list[str]:
    """A stage's row of the table, its notes after the numbers (more than one: on lines of their own)."""
    lines = [_ROW.format(stage, _n(into), _n(out), _n(failed), notes[0] if notes else "").rstrip()]
    lines += [_ROW.format("", "", "", "", note) for note in notes[1:]]
    return [_cut(line) for line in lines]


def _stage_rows(c: dict[str, int], publishing: bool) -> list[str]:
    """Per stage, what came in, what went on, what failed."""
    rows = []
    if c["feeds_polled"] or c.get("feeds_backed_off"):
        notes = ["feeds -> entries"]
        if c["entries_skipped"]:
            notes[0] += f"; {c['entries_skipped']:,} with no usable link"
        if c.get("feeds_not_modified") or c.get("feeds_backed_off"):
            notes.append(f"{c['feeds_not_modified']:,} unchanged (304), {c['feeds_backed_off']:,} backing off")
        if c.get("entries_already_seen") or c.get("entries_updated"):
            notes.append(f"{c['entries_already_seen']:,} seen before, {c['entries_updated']:,} updated since")
        rows += _row("poll", c["feeds_polled"], c["entries_seen"], c["feeds_failed"], notes)
        notes = ["entries -> pages"]
        if c.get("robots_disallowed"):
            notes[0] += f"; {c['robots_disallowed']:,} refused by robots.txt"
        if c.get("fetch_retry_pending") or c.get("fetch_retries") or c.get("entries_retry_waiting"):
            notes.append(f"{c['fetch_retry_pending']:,} retry next run, {c['fetch_retries']:,} retried, "
                         f"{c['entries_retry_waiting']:,} waiting")
        tried = c["articles_fetched"] + c["fetch_failed"] + c.get("fetch_retry_pending", 0)
        rows += _row("fetch", tried, c["articles_fetched"], c["fetch_failed"] + c.get("fetch_retry_pending", 0),
                     notes)
        extract_note = "pages -> articles"
    else:
        valid = c["input_records"] - c["input_invalid"]
        rows += _row("input", c["input_records"], valid, c["input_invalid"],
                     [f"lines -> records; {c['text_records']:,} with their text"])
        extract_note = "records of HTML -> articles"
    rows += _row("extract", c["articles_extracted"] + c["extract_failed"], c["articles_extracted"],
                 c["extract_failed"], [extract_note])
    into = c["articles_extracted"] + c["text_records"]
    tagged = c["events_written"] + c["filtered_not_conflict"] + c["events_invalid"]
    notes = [f"-> representatives; {c['duplicates']:,} duplicates"]
    if c.get("already_seen") or c.get("revisions"):
        notes.append(f"{c['already_seen']:,} emitted before, {c['revisions']:,} revised")
    rows += _row("dedup", into, tagged, None, notes)
    notes = [f"written ({c['conflict_events']:,} conflict)"]
    if c["filtered_not_conflict"]:
        notes.append(f"{c['filtered_not_conflict']:,} non-conflict left out")
    rows += _row("events", tagged, c["events_written"], c["events_invalid"], notes)
    if publishing:
        notes = ["events -> topic"]
        if c.get("events_trimmed"):
            notes.append(f"{c['events_trimmed']:,} with text trimmed to fit")
        rows += _row("publish", c["events_written"], c["events_published"], c["publish_failed"], notes)
    return rows


def _cut(text: str, width: int = WIDTH) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _ranked(title: str, ranked: list[dict[str, Any]], name: Callable[[dict[str, Any]], str]) -> list[str]:
    """`title` then the names and counts, wrapped within the table's width between items, never inside one."""
    if not ranked:
        return [f"{title:<15}none (no events written)"]
    lines = [f"{title:<15}"]
    for i, item in enumerate(ranked):
        text = f"{name(item)} {item['events']:,}" + ("," if i < len(ranked) - 1 else "")
        if len(lines[-1]) > 15 and len(lines[-1]) + 1 + len(text) > WIDTH:
            lines.append(" " * 15)
        lines[-1] += ("" if len(lines[-1]) == 15 else " ") + text
    return lines


def describe_summary(summary: dict[str, Any]) -> str:
    """The run summary as a table a person can read in 80 columns: per stage in / out / failed, the feeds that
    failed and why, the run's top topics and countries, its duration and outputs."""
    from pipelines.progress import format_elapsed

    c = summary["counts"]
    outputs = summary["outputs"]
    took = f"{summary['seconds']}s" if summary["seconds"] < 60 else format_elapsed(summary["seconds"])
    lines = [f"sitrep run {summary['run_id']} finished in {took}", "",
             _ROW.format("stage", "in", "out", "failed", "").rstrip()]
    lines += _stage_rows(c, bool(outputs.get("pubsub_topic")))
    failed = summary.get("failed_feeds") or []
    if failed:
        lines += ["", f"failed feeds ({len(failed)})"]
        for feed in failed[:10]:  # the URL whole, to be copied; its name and the reason cut to the width
            name = f"{feed['name']}: " if feed.get("name") else ""
            lines += [f"  {feed['feed']}", _cut(f"    {name}{feed['reason']}")]
        if len(failed) > 10:
            lines.append(f"  ... and {len(failed) - 10} more in the dead letters")
    if "top_topics" in summary:
        lines.append("")
        lines += _ranked("top topics", summary["top_topics"], lambda t: t["label"])
        lines += _ranked("top countries", summary["top_countries"],
                         lambda p: f"{p['name']} ({p['country_code']})" if p.get("name") else p["country_code"])
    lines.append("")
    counted = {"events": f"{c['events_written']:,} in ", "pubsub_topic": f"{c['events_published']:,} to ",
               "dead_letters": f"{c['dead_letters']:,} in "}
    named = (("events", "events"), ("pubsub_topic", "published"), ("dead_letters", "dead letters"),
             ("summary", "summary"), ("archive", "archive"))
    lines += [f"{label:<15}{counted.get(key, '')}{outputs[key]}" for key, label in named if outputs.get(key)]
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
    return ExitStatus.FAILED if bad else ExitStatus.OK


def tail_command(args: argparse.Namespace) -> int:
    from google.api_core.exceptions import GoogleAPICallError

    from pipelines.pubsub_tail import tail

    try:
        tail(args.subscription, sys.stdout, args.max_messages, args.timeout, args.attributes)
    except ValueError as exc:
        print(f"sitrep tail: {exc}", file=sys.stderr)
        return ExitStatus.USAGE
    except GoogleAPICallError as exc:
        print(f"sitrep tail: {args.subscription}: {exc.message or exc}", file=sys.stderr)
        return ExitStatus.FAILED
    except KeyboardInterrupt:
        pass
    return ExitStatus.OK


def stream_command(argv: list[str], show_progress: bool = False) -> int:
    from pipelines.beam.streaming import run_stream

    try:
        with progress.ProgressLine(progress.stream_line, sys.stderr, enabled=show_progress):
            result = run_stream(argv)
    except FeedsFileError as exc:
        print(f"sitrep stream: --feeds {exc}", file=sys.stderr)
        return ExitStatus.USAGE
    except ValueError as exc:
        print(f"sitrep stream: {exc}", file=sys.stderr)
        return ExitStatus.USAGE
    if "dry_run" in result:
        from pipelines.beam.dryrun import describe_dry_run

        print(describe_dry_run("stream", result["run_id"], result["dry_run"]))
        return ExitStatus.OK
    c = result["counts"]
    logging.getLogger(COMMAND_LOGGER).info("stream finished", extra={"seconds": result["seconds"], "counts": c})
    print(f"sitrep stream {result['run_id']} ran {result['seconds']}s: {c['feeds_polled']} polls, "
          f"{c['articles_fetched']} new articles fetched, {c['events_published']} events published to "
          f"{result['topic']}, {c['publish_failed']} not published, {c['dead_letters']} dead letters")
    if c.get("publish_failed"):
        # As for `sitrep run`: events that reached only the dead letters mean the job failed at its job.
        print(f"sitrep stream: {c['publish_failed']} of {c['publish_failed'] + c['events_published']} events were "
              f"not published to {result['topic']}; they are in the dead letters (stage publish)", file=sys.stderr)
        return ExitStatus.NOT_PUBLISHED
    return ExitStatus.OK


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    named = next((arg for arg in argv if not arg.startswith("-")), None)
    parser = _parser(pipelines=named in ("run", "stream"))
    args, beam_args = parser.parse_known_args(argv)
    if args.command not in ("run", "stream"):
        if beam_args:  # only the pipelines take Beam's options: anything left over is a mistake
            from pipelines.beam.options import refusal

            command = " ".join(filter(None, (args.command, getattr(args, "feeds_command", None))))
            print(f"sitrep {command}: {refusal(command, beam_args[0], args.own_flags)}", file=sys.stderr)
            return ExitStatus.USAGE
        if args.command == "tag":
            try:
                return tag_command(args.file)
            except KeyboardInterrupt:
                print("sitrep tag: interrupted; every line written is whole", file=sys.stderr)
                return ExitStatus.INTERRUPTED
        if args.command == "feeds":
            return feeds_status(args.state, args.json, sys.stdout)
        if args.command == "report":
            from pipelines.report import command as report_command

            return report_command(args)
        if args.command == "dashboard":
            from pipelines.dashboard import command as dashboard_command

            return dashboard_command(args)
    if args.command == "tail":
        setup_logs(args.log_format)
        return tail_command(args)
    from pipelines.beam.options import OptionError, check_beam_args

    try:
        check_beam_args(args.command, beam_args, args.own_flags)
    except OptionError as exc:
        print(f"sitrep {args.command}: {exc}", file=sys.stderr)
        return ExitStatus.USAGE
    command_argv = _pipeline_argv(argv[1:])
    run_id = args.run_id
    if not run_id:
        from pipelines.beam.summary import new_run_id

        # Chosen here, so that Ctrl-C can tell what it wrote, and every log record of the run carries it.
        run_id = ("stream-" if args.command == "stream" else "") + new_run_id()
        command_argv.append(f"--run-id={run_id}")
    # A run's dead letters are all in its file, so a terminal hears the first few; a stream's are logged only.
    setup_logs(args.log_format, run_id, dead_letter_limit=20 if args.command == "run" else None)
    show_progress = progress.on_terminal(sys.stderr) and not args.no_progress
    from pipelines.beam.summary import RunFailedError

    def interrupted() -> str:
        progress.clear_lines()
        return _interrupted(args.command, command_argv)

    with _stop_on_ctrl_c(interrupted):
        try:
            if args.command == "stream":
                return stream_command(command_argv, show_progress)
            return run_command(command_argv, show_progress)
        except RunFailedError as exc:
            logging.getLogger(COMMAND_LOGGER).error("%s failed: %s", args.command, exc)
            print(f"sitrep {args.command}: failed: {exc}", file=sys.stderr)
            return ExitStatus.FAILED


def _pipeline_argv(argv: list[str]) -> list[str]:
    """The command line without the command's own terminal flags (_COMMAND_FLAGS), for Beam's options."""
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name in _COMMAND_FLAGS:
            skip = _COMMAND_FLAGS[name] and "=" not in arg
            continue
        kept.append(arg)
    return kept


@contextlib.contextmanager
def _stop_on_ctrl_c(say: Callable[[], str]) -> Iterator[None]:
    """Ctrl-C (SIGINT) ends the process at once with one line and exit status 130. Unwinding instead would
    raise KeyboardInterrupt inside whichever DoFn the runner is in (Beam logs it with its traceback) and then
    wait for the fetches still in flight. Stopping at any instant is safe: a run's files and its state are
    each published by an atomic rename in its last step, as for a run that is killed."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread receives signals
        yield
        return

    def stop(_signum: int, _frame: object) -> None:
        print(say(), file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(ExitStatus.INTERRUPTED)

    previous = signal.signal(signal.SIGINT, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _interrupted(command: str, argv: list[str]) -> str:
    """The line said when Ctrl-C stops a command: for a run, whether its commit (the last step) had begun."""
    if command == "stream":
        return "sitrep stream: interrupted; what it published stays published"
    from pipelines.beam.options import SitrepOptions

    options = SitrepOptions(argv)
    written = options.out and options.run_id and files.matching(files.join(options.out, f"*-{options.run_id}-*.jsonl"))
    if not written:
        return "sitrep run: interrupted; nothing was committed (no events, no new state): run it again"
    return ("sitrep run: interrupted while committing; its files are in --out, and the next run emits again, "
            "under the same ids, what the state had not recorded")


def tag_command(path: str) -> int:
    """`sitrep tag [FILE]`: FILE, or stdin for none or `-`."""
    if path == "-":
        return tag_stream(sys.stdin, sys.stdout)
    try:
        source = open(path, encoding="utf-8")  # closed below, once tagged
    except OSError as exc:
        print(f"sitrep tag: {path}: cannot read ({exc.strerror or exc})", file=sys.stderr)
        return ExitStatus.USAGE
    with source:
        return tag_stream(source, sys.stdout)


def nothing_worked(counts: dict[str, int]) -> str | None:
    """Why a run that ran to its end failed at its job: every feed it polled failed, or every article fetch
    it tried (pending retries included) did; None when anything came through."""
    polled = counts.get("feeds_polled", 0)
    if polled and counts.get("feeds_failed", 0) == polled:
        return f"all {polled} feeds polled failed"
    fetched = counts.get("articles_fetched", 0)
    tried = fetched + counts.get("fetch_failed", 0) + counts.get("fetch_retry_pending", 0)
    if tried and not fetched:
        return f"all {tried} article fetches failed"
    return None


def run_command(argv: list[str], show_progress: bool = False) -> int:
    from pipelines.beam.batch import run

    try:
        with progress.ProgressLine(progress.run_line, sys.stderr, enabled=show_progress):
            summary = run(argv)
    except FeedsFileError as exc:
        print(f"sitrep run: --feeds {exc}", file=sys.stderr)
        return ExitStatus.USAGE
    except ValueError as exc:
        print(f"sitrep run: {exc}", file=sys.stderr)
        return ExitStatus.USAGE
    if "dry_run" in summary:
        from pipelines.beam.dryrun import describe_dry_run

        print(describe_dry_run("run", summary["run_id"], summary["dry_run"]))
        return ExitStatus.OK
    logging.getLogger(COMMAND_LOGGER).info("run finished", extra={k: v for k, v in summary.items() if k != "run_id"})
    print(describe_summary(summary))
    if summary["counts"].get("publish_failed"):
        # Events that are only in dead letters did not reach the topic: the run must not look successful.
        logging.getLogger(COMMAND_LOGGER).error("%s events were not published", summary["counts"]["publish_failed"])
        print(f"sitrep run: {summary['counts']['publish_failed']} events were not published; they are in "
              f"{summary['outputs']['dead_letters']} (stage publish)", file=sys.stderr)
        return ExitStatus.NOT_PUBLISHED
    failed = nothing_worked(summary["counts"])
    if failed:
        logging.getLogger(COMMAND_LOGGER).error("run failed: %s", failed)
        print(f"sitrep run: {failed}; the reasons are in {summary['outputs']['dead_letters']}", file=sys.stderr)
        return ExitStatus.FAILED
    return ExitStatus.OK


if __name__ == "__main__":
    sys.exit(main())
