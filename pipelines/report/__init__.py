"""`sitrep report DIR [--run RUN]`: one self-contained HTML file about a run's events."""

from __future__ import annotations

import argparse

HELP = "write one self-contained HTML page about a run's events (charts, map, feed health, event table)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's own flags (the CLI builds the parser; this module is loaded without Beam)."""
    parser.add_argument("dir", metavar="DIR", help="a run's --out folder (local or gs://...)")
    parser.add_argument("--run", default=None, metavar="RUN", help="the run id to report on (default: the latest)")


def command(args: argparse.Namespace) -> int:
    raise NotImplementedError("sitrep report is being built (#24)")
