"""`sitrep dashboard`: a live page on localhost following the event topic (a Pub/Sub subscription) or a
local run's output folder."""

from __future__ import annotations

import argparse

HELP = "serve a live page on localhost that follows the events (a Pub/Sub subscription or an output folder)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's own flags (the CLI builds the parser; this module is loaded without Beam)."""
    parser.add_argument("--subscription", default=None, help="projects/P/subscriptions/S to follow")
    parser.add_argument("--dir", default=None, help="an output folder to follow instead (local runs)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port to bind (default: 8765)")


def command(args: argparse.Namespace) -> int:
    raise NotImplementedError("sitrep dashboard is being built (#24)")
