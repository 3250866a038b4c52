"""`sitrep dashboard`: a live page on localhost that follows the events (a Pub/Sub subscription or a run's folder).

The server (aiohttp) keeps the latest events in memory with their revisions, pushes each new one to the open
pages (Server-Sent Events), and serves the page and its libraries from the package: nothing from a CDN."""

from __future__ import annotations

import argparse
import sys

HELP = "serve a live page on localhost that follows the events (a Pub/Sub subscription or an output folder)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's own flags (the CLI builds the parser; this module is loaded without Beam)."""
    parser.add_argument("--subscription", default=None, help="projects/P/subscriptions/S to follow")
    parser.add_argument("--dir", default=None, help="an output folder to follow instead (local runs)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port to bind, 0 for any free one (default: 8765)")
    parser.add_argument("--max-events", type=int, default=5000,
                        help="events kept in memory, with their revisions; the least recently revised go first "
                             "(default: 5000)")


def command(args: argparse.Namespace) -> int:
    """Check the flags, then serve until Ctrl-C or SIGTERM (exit 0), or say in one line why not."""
    import asyncio
    import os

    from connectors.files import is_remote
    from pipelines.messages import check_subscription_path

    def refuse(message: str) -> int:
        print(f"sitrep dashboard: {message}", file=sys.stderr)
        return 2

    if bool(args.subscription) == bool(args.dir):
        return refuse("follow one thing: --subscription projects/P/subscriptions/S or --dir OUT")
    if args.subscription:
        try:
            check_subscription_path(args.subscription)
        except ValueError as exc:
            return refuse(str(exc))
    elif not is_remote(args.dir) and not os.path.isdir(args.dir):
        return refuse(f"--dir {args.dir!r} is not a folder")
    if not 0 <= args.port <= 65535:
        return refuse(f"--port {args.port} is not a port (0-65535; 0 picks a free one)")
    if args.max_events < 1:
        return refuse("--max-events must be at least 1")

    from pipelines.dashboard.server import serve

    try:
        return asyncio.run(serve(args.host, args.port, args.subscription, args.dir, args.max_events))
    except OSError as exc:  # the port is taken, the address is not this machine's
        print(f"sitrep dashboard: cannot serve on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
