"""The pipeline's options, as a PipelineOptions subclass so `--help`, Dataflow and templates see them."""

from __future__ import annotations

import argparse

from apache_beam.options.pipeline_options import PipelineOptions


class SitrepOptions(PipelineOptions):
    """Options of `sitrep run` (any Beam option, such as --runner, may be given beside them)."""

    @classmethod
    def _add_argparse_args(cls, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("sitrep run")
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
        group.add_argument("--replay", help="serve every fetch from a recorded folder (manifest.json) instead of "
                           "the network")
        group.add_argument("--allow-hosts", dest="allow_hosts", default="",
                           help="comma-separated CIDR networks that may be fetched although not public, e.g. "
                           "127.0.0.0/8 (by default loopback, private and link-local addresses are refused)")
        group.add_argument("--user-agent", dest="user_agent", default=None,
                           help="User-Agent for fetches (default names sitrep and its project URL)")
        group.add_argument("--max-bytes", dest="max_bytes", type=int, default=5_000_000,
                           help="largest body accepted for a feed or page, in bytes (default 5,000,000)")
        group.add_argument("--timeout", type=float, default=30.0,
                           help="total deadline for one fetch in seconds, retries excluded (default 30)")
        group.add_argument("--state", default=None,
                           help="folder (local or gs://...) for what earlier runs saw, kept between scheduled runs "
                           "(default: $XDG_STATE_HOME/sitrep, i.e. ~/.local/state/sitrep)")
        group.add_argument("--retention-days", dest="retention_days", type=float, default=30.0,
                           help="how long state remembers an article or feed it has not seen again (default 30)")
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
        group = parser.add_argument_group("sitrep stream")
        group.add_argument("--poll-interval", dest="poll_interval", type=float, default=300.0,
                           help="seconds between two polls of every feed (default 300)")
        group.add_argument("--duration", type=float, default=None,
                           help="stop after this many seconds (default: run until cancelled, as on Dataflow)")
        group.add_argument("--dedup-expiry-hours", dest="dedup_expiry_hours", type=float, default=72.0,
                           help="how long an article seen once is not emitted again (default 72)")
