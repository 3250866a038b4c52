"""A run's output read back from its --out folder (local or gs://, through connectors.files): its summary,
its events and its dead letters."""

from __future__ import annotations

import json
import os
import posixpath
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connectors import files

SUMMARY_FILE = "run-summary.json"
_RUN_SUMMARY = re.compile(r"run-summary-(.+)\.json")
_STARTED = re.compile(r"^(\d{8}T\d{6}Z)")


class RunNotFoundError(LookupError):
    """A folder with no run, without the run asked for (the message lists the runs it has), or whose summary
    is not one."""


@dataclass(frozen=True)
class RunOutput:
    """What one run left in its folder. `events` holds each event_id once, at its highest revision, in the
    order the files hold them; `unreadable` counts lines that were not JSON objects."""

    folder: str
    run_id: str
    summary: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    unreadable: int = 0

    @property
    def started_at(self) -> datetime | None:
        """When the run started, told by its id (`sitrep run` names runs YYYYMMDDTHHMMSSZ-xxxxxx, in UTC)."""
        found = _STARTED.match(self.run_id)
        if found is None:
            return None
        return datetime.strptime(found.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def run_ids(folder: str) -> list[str]:
    """The runs with a summary in the folder, oldest first (run ids sort by their start time)."""
    names = (posixpath.basename(path.replace(os.sep, "/")) for path in
             files.matching(files.join(folder, "run-summary-*.json")))
    return sorted(match.group(1) for match in map(_RUN_SUMMARY.fullmatch, names) if match)


def latest_run_id(folder: str) -> str | None:
    """The run run-summary.json names (the latest to finish), else the newest run with a summary."""
    path = files.join(folder, SUMMARY_FILE)
    if files.exists(path):
        run_id = _summary(path).get("run_id")
        if isinstance(run_id, str) and run_id:
            return run_id
    known = run_ids(folder)
    return known[-1] if known else None


def _summary(path: str) -> dict[str, Any]:
    try:
        summary = json.loads(files.read_bytes(path))
    except ValueError as exc:
        raise RunNotFoundError(f"{path}: not a run summary ({exc})") from exc
    if not isinstance(summary, dict):
        raise RunNotFoundError(f"{path}: not a run summary (not a JSON object)")
    return summary


def _lines(paths: list[str]) -> tuple[list[dict[str, Any]], int]:
    records, bad = [], 0
    for path in paths:
        for line in files.read_bytes(path).splitlines():
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                bad += 1
                continue
            if isinstance(record, dict):
                records.append(record)
            else:
                bad += 1
    return records, bad


def latest_revisions(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each event_id once, at its highest revision, where it first appeared."""
    chosen: dict[str, dict[str, Any]] = {}
    for event in events:
        key = str(event.get("event_id"))
        if key not in chosen or (event.get("revision") or 0) > (chosen[key].get("revision") or 0):
            chosen[key] = event
    return list(chosen.values())


def read_run(folder: str, run_id: str | None = None) -> RunOutput:
    """The run's summary, events and dead letters (the latest run when no id is given)."""
    known = run_ids(folder)
    chosen = run_id or latest_run_id(folder)
    if chosen is None:
        raise RunNotFoundError(f"{folder}: no run here (no {SUMMARY_FILE} nor run-summary-RUN.json)")
    summary_path = files.join(folder, f"run-summary-{chosen}.json")
    if not files.exists(summary_path):
        listed = ", ".join(known) if known else "none"
        raise RunNotFoundError(f"{folder}: no run {chosen} (runs here: {listed})")
    summary = _summary(summary_path)
    events, bad_events = _lines(files.matching(files.join(folder, f"events-{chosen}-*.jsonl")))
    letters, bad_letters = _lines(files.matching(files.join(folder, f"dead-letters-{chosen}-*.jsonl")))
    return RunOutput(folder=folder, run_id=chosen, summary=summary, events=latest_revisions(events),
                     dead_letters=letters, unreadable=bad_events + bad_letters)
