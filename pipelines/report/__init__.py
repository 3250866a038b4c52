"""`sitrep report DIR [--run RUN]`: one self-contained HTML file about a run's events."""

from __future__ import annotations

import argparse
import sys

HELP = "write one self-contained HTML page about a run's events (charts, map, feed health, event table)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's own flags (the CLI builds the parser; this module is loaded without Beam)."""
    parser.add_argument("dir", metavar="DIR", help="a run's --out folder (local or gs://...)")
    parser.add_argument("--run", default=None, metavar="RUN", help="the run id to report on (default: the latest)")
    parser.add_argument("-o", "--output", default=None, metavar="FILE",
                        help="where to write the page (local or gs://...; default: DIR/report-RUN.html)")


def type_labels() -> dict[str, str]:
    """ACLED's event types (the taxonomy's top-level codes) and their labels, in the taxonomy's order."""
    from pipelines.tagging.lexicon import load_taxonomy

    return {code: topic.label for code, topic in load_taxonomy().topics.items()
            if "." not in code and code != "tags"}


def write_report(folder: str, run_id: str | None = None, output: str | None = None) -> str:
    """Render the run's page (the latest run when no id is given) and write it; returns where it went.
    Raises RunNotFoundError when the folder has no such run."""
    from connectors import files
    from pipelines.report.page import render
    from pipelines.report.runs import read_run
    from pipelines.report.topology import countries

    run = read_run(folder, run_id)
    page = render(run, countries(), type_labels())
    path = output or files.join(folder, f"report-{run.run_id}.html")
    files.write_bytes(path, page.encode("utf-8"), "text/html")
    return path


def command(args: argparse.Namespace) -> int:
    """Write the page and print where it went; a folder without the run is a usage error (2), a file that
    cannot be read or written a failure (1), each told in one line."""
    from pipelines.cli import ExitStatus  # here, not at the top: the CLI imports this package
    from pipelines.report.runs import RunNotFoundError

    try:
        path = write_report(args.dir, args.run, args.output)
    except RunNotFoundError as exc:
        print(f"sitrep report: {exc}", file=sys.stderr)
        return ExitStatus.USAGE
    except OSError as exc:  # a folder or page that cannot be read or written (connectors.files.StoreError too)
        print(f"sitrep report: {exc}", file=sys.stderr)
        return ExitStatus.FAILED
    print(path)
    return ExitStatus.OK
