"""The pipeline's options, as a PipelineOptions subclass so `--help`, Dataflow and templates see them."""

from __future__ import annotations

import argparse
import difflib
import importlib
from collections.abc import Iterable
from typing import Any

from apache_beam.options.pipeline_options import (
    PipelineOptions,
    PipelineOptionsT,
    StandardOptions,
    _BeamArgumentParser,
)

from pipelines.dedup.near import DEFAULT_THRESHOLD


def parse_bool(value: str) -> bool:
    """A flag's value as a template passes it (`--only_conflict=true`)."""
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {value!r}")


class _TemplateFriendly:
    """Declares options so a Dataflow template can pass them too: `--some_option` beside every
    `--some-option` (templates name parameters by dest), and flags that also take `=true`/`=false`."""

    def __init__(self, group: argparse._ArgumentGroup) -> None:
        self._group = group

    def add_argument(self, *flags: str, **kwargs: object) -> argparse.Action:
        aliases = ["--" + f[2:].replace("-", "_") for f in flags if f.startswith("--") and "-" in f[2:]]
        if kwargs.get("action") == "store_true":
            kwargs = {**kwargs, "nargs": "?", "const": True, "type": parse_bool, "metavar": "BOOL"}
            del kwargs["action"]
        return self._group.add_argument(*flags, *aliases, **kwargs)


def option_names(options_class: type[PipelineOptions]) -> dict[str, argparse.Action]:
    """The options a PipelineOptions subclass declares, by dest (what template parameters are named)."""
    parser = argparse.ArgumentParser()
    options_class._add_argparse_args(parser)
    return {a.dest: a for a in parser._actions if a.dest != "help"}


class RunOptions(PipelineOptions):
    """PipelineOptions that make each view once. Beam asks the pipeline's options for a view (`view_as`) over
    and over while it builds and runs even a small pipeline, and every view is a new argparse parser over all
    the flags: a noticeable share of a short run's time. A view holds nothing of its own (every view reads
    and writes the one dict of values), so one of each kind serves every caller (bench/bench_tweaks.py
    measures what it saves)."""

    def view_as(self, cls: type[PipelineOptionsT]) -> PipelineOptionsT:
        views = self.__dict__.setdefault("_views", {})  # (PipelineOptions refuses unknown attribute names)
        if cls not in views:
            views[cls] = super().view_as(cls)
        return views[cls]

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        return {name: value for name, value in state.items() if name != "_views"}


class SitrepOptions(PipelineOptions):
    """Options of `sitrep run` (any Beam option, such as --runner, may be given beside them)."""

    @classmethod
    def _add_argparse_args(cls, parser: argparse.ArgumentParser) -> None:
        group = _TemplateFriendly(parser.add_argument_group("sitrep run"))
        group.add_argument("--feeds", help="feeds file (YAML): `feeds:` then a list of {url, name, language}")
        group.add_argument(
            "--input",
            help="backfill file (JSONL): one object a line with `url` and `html` or `text`; optional `title`, "
            "`published_at`, `source`",
        )
        group.add_argument("--sample", action="store_true", default=False,
                           help="run on the sample the project ships (offline replay of its feeds and pages)")
        group.add_argument("--out", help="output folder (local path or gs://...): events, dead letters, run summary")
        group.add_argument("--only-conflict", dest="only_conflict", action="store_true", default=False,
                           help="write only events whose conflict.is_conflict is true (others are counted)")
        group.add_argument("--replay", help="serve every fetch from a WARC archive (a .warc.gz written by --archive, "
                           "or a folder of them) or a recorded folder with a manifest.json, instead of the network")
        group.add_argument("--archive", default=None,
                           help="write every HTTP response this run receives to this WARC file (e.g. run.warc.gz); "
                           "workers write parts beside it, joined when the run ends")
        group.add_argument("--allow-hosts", dest="allow_hosts", default="",
                           help="comma-separated CIDR networks that may be fetched although not public, e.g. "
                           "127.0.0.0/8 (by default loopback, private and link-local addresses are refused)")
        group.add_argument("--fetch-user-agent", dest="fetch_user_agent", default=None,
                           help="User-Agent for fetches (default names sitrep and --contact)")
        group.add_argument("--contact", default=None,
                           help="URL or mailto: where site owners can reach you, put in the User-Agent "
                           "(default: the project's URL)")
        group.add_argument("--concurrency", type=int, default=16,
                           help="requests in flight at once per worker, all hosts together (default 16)")
        group.add_argument("--per-host", dest="per_host", type=int, default=2,
                           help="requests in flight at once to one host, per worker (default 2)")
        group.add_argument("--host-delay", dest="host_delay", type=float, default=0.25,
                           help="minimum seconds between the starts of two requests to one host; a robots.txt "
                           "Crawl-delay raises it, up to 30 (default 0.25)")
        group.add_argument("--max-bytes", dest="max_bytes", type=int, default=5_000_000,
                           help="largest body accepted for a feed or page, in bytes (default 5,000,000)")
        group.add_argument("--timeout", type=float, default=30.0,
                           help="total deadline for one fetch in seconds, retries excluded (default 30)")
        group.add_argument("--state", default=None,
                           help="folder (local or gs://...) for what earlier runs saw, kept between scheduled runs "
                           "(default: $XDG_STATE_HOME/sitrep, i.e. ~/.local/state/sitrep)")
        group.add_argument("--retention-days", dest="retention_days", type=float, default=30.0,
                           help="how long state remembers an article or feed it has not seen again (default 30)")
        group.add_argument("--duplicates", choices=("drop", "flag"), default="drop",
                           help="drop: write only each story's representative, with dedup.copies and the copies' "
                           "URLs (default); flag: also write each copy, marked with dedup.duplicate_of and cluster_id")
        group.add_argument("--near-dup-threshold", dest="near_dup_threshold", type=float, default=DEFAULT_THRESHOLD,
                           help="estimated Jaccard similarity of word 5-shingles above which two texts are copies "
                           f"of one story (MinHash + LSH; default {DEFAULT_THRESHOLD})")
        group.add_argument("--run-id", dest="run_id", default=None,
                           help="id of this run, stamped on events and output files (default: UTC time + random)")
        group.add_argument("--pubsub-topic", dest="pubsub_topic", default=None,
                           help="also publish every event to this Pub/Sub topic (projects/P/topics/T); honours "
                           "PUBSUB_EMULATOR_HOST")
        group.add_argument("--sinks", default=None,
                           help="where events go, comma-separated: files, pubsub (default: files, plus pubsub when "
                           "--pubsub-topic is given); dead letters and the run summary are always written to --out")
        group.add_argument("--ordering-key", dest="ordering_key", default=None,
                           help="message attribute whose value is the Pub/Sub ordering key, e.g. event_id or "
                           "source_domain (default: no ordering key)")
        group.add_argument("--pubsub-timeout", dest="pubsub_timeout", type=float, default=60.0,
                           help="seconds one message may take to be confirmed, retries with backoff included, before "
                           "it becomes a dead letter (default 60)")


class StreamOptions(PipelineOptions):
    """Options of `sitrep stream` alone (beside SitrepOptions' feeds, fetch and Pub/Sub options)."""

    @classmethod
    def _add_argparse_args(cls, parser: argparse.ArgumentParser) -> None:
        group = _TemplateFriendly(parser.add_argument_group("sitrep stream"))
        group.add_argument("--poll-interval", dest="poll_interval", type=float, default=300.0,
                           help="seconds between two polls of every feed (default 300)")
        group.add_argument("--duration", type=float, default=None,
                           help="stop after this many seconds (default: run until cancelled, as on Dataflow)")
        group.add_argument("--dedup-expiry-hours", dest="dedup_expiry_hours", type=float, default=72.0,
                           help="how long an article seen once is not emitted again (default 72)")
        group.add_argument("--dead-letter-topic", dest="dead_letter_topic", default=None,
                           help="publish dead letters (JSON: stage, reason, ref, input, at; attributes stage and "
                           "ref) to this Pub/Sub topic, projects/P/topics/T (default: only logged)")


# The options of `sitrep run` that `sitrep stream` reads too (by dest); the rest are the batch run's alone.
STREAM_SITREP_OPTIONS = frozenset({
    "feeds", "only_conflict", "replay", "allow_hosts", "fetch_user_agent", "contact", "concurrency", "per_host",
    "host_delay", "max_bytes", "timeout", "run_id", "pubsub_topic", "ordering_key", "pubsub_timeout",
})
SITREP_OPTIONS = (SitrepOptions, StreamOptions, RunOptions)


class OptionError(ValueError):
    """An option the command does not take, told in one line naming it."""


def _flag(arg: str) -> str:
    return arg.split("=", 1)[0]


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


class _RefusingBeamParser(_BeamArgumentParser):
    """Beam's parser, raising OptionError on a bad value of a Beam option instead of printing its usage."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise OptionError(message)


def _beam_parser(args: list[str]) -> argparse.ArgumentParser:
    """Beam's own parser of pipeline options (every PipelineOptions subclass but sitrep's), as
    PipelineOptions.get_all_options builds it. A runner named by its module path is imported first, so the
    options it declares (the DaskRunner's --dask_client_address) are known."""
    runner = PipelineOptions(args).view_as(StandardOptions).runner
    if isinstance(runner, str) and "." in runner:
        try:
            importlib.import_module(runner.rsplit(".", 1)[0])
        except ImportError:
            pass  # Beam says so, in its words, when it creates the runner
    parser = _RefusingBeamParser(allow_abbrev=False)
    classes = {str(cls): cls for cls in PipelineOptions.__subclasses__() if cls not in SITREP_OPTIONS}
    for cls in classes.values():
        cls._add_argparse_args(parser)
    return parser


def check_beam_args(command: str, args: list[str], own_flags: Iterable[str] = ()) -> None:
    """Refuse what the command's parser left over that Beam's options do not know either: a typo, an option
    of another sitrep command, a stray argument. Raises OptionError naming the first one."""
    if not args:
        return
    parser = _beam_parser(args)
    _known, unknown = parser.parse_known_args(args)
    if not unknown:
        return
    beam_flags = [f for a in parser._actions for f in a.option_strings if f.startswith("--")]
    raise OptionError(refusal(command, unknown[0], [*own_flags, *beam_flags]))


def refusal(command: str, arg: str, own_flags: Iterable[str] = ()) -> str:
    """Why a command does not take this argument, in one line: a stray argument, an option of another sitrep
    command, or an unknown option (with the command's closest option, when one is close)."""
    if not arg.startswith("-"):
        return f"unexpected argument {arg!r} (see sitrep {command} --help)"
    flag = _flag(arg)
    ours = {dest for cls in SITREP_OPTIONS for dest in option_names(cls)}
    if _dest(flag) in ours:
        return f"{flag} does not apply to `sitrep {command}` (see sitrep {command} --help)"
    close = difflib.get_close_matches(flag, list(own_flags), n=1, cutoff=0.75)
    hint = f"; did you mean {close[0]}?" if close else f" (see sitrep {command} --help)"
    return f"{flag}: unknown option{hint}"
