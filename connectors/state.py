"""State between scheduled runs: an append-only log of immutable segment files on any Beam filesystem.

Why a log of segments and not one file rewritten in place: two runs started at once, or a run killed
half-way, must never corrupt what earlier runs saw, and the only thing workers of a distributed runner
share is storage (a local disk or a GCS bucket). So each run adds its own segment file, named by its run
id and published only after the run's sinks have committed; readers merge all segments, the newest record
of a key winning. Merging is commutative and idempotent, so concurrent writers cannot lose each other's
records, and a segment that a compaction removes is already contained in the compacted one it wrote first.

Layout under the state root (a local path or gs://...):
    <namespace>/segments/<run_id>.jsonl.gz   committed segments, one JSON record a line: {"k", "t", "v"}
    <namespace>/pending/.<run_id>.tmp        a segment being written, renamed into segments/ once whole
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from connectors import files

_LOG = logging.getLogger(__name__)
SEGMENT_SUFFIX = ".jsonl.gz"


def default_state_root() -> str:
    """The per-user state folder used when --state is not given ($XDG_STATE_HOME/sitrep)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "sitrep")


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def format_time(value: dt.datetime) -> str:
    """UTC to the microsecond, always the same width, so that times compare as strings: two runs in the same
    second still order their records by when they ran."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class StateRecord:
    """One key's value at a time: the unit of every segment."""

    key: str
    time: str
    value: Any

    def to_line(self) -> str:
        return json.dumps({"k": self.key, "t": self.time, "v": self.value}, ensure_ascii=False, sort_keys=True)

    @staticmethod
    def from_line(line: str) -> StateRecord:
        data = json.loads(line)
        return StateRecord(key=data["k"], time=data["t"], value=data["v"])


def recency(record: StateRecord) -> tuple[str, str]:
    """Which of two records of a key wins: the later time (ties: the larger value's JSON, so any order agrees)."""
    return record.time, json.dumps(record.value, sort_keys=True)


def newest(records: Iterable[StateRecord]) -> dict[str, StateRecord]:
    """Merge records by key, the most recent (by `recency`) winning."""
    merged: dict[str, StateRecord] = {}
    for record in records:
        current = merged.get(record.key)
        if current is None or recency(record) > recency(current):
            merged[record.key] = record
    return merged


def _read_lines(path: str) -> list[str]:
    """Non-empty lines of a segment file, gzip or plain (told by its magic bytes)."""
    data = files.read_bytes(path)
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return [line for line in data.decode("utf-8").splitlines() if line.strip()]


class StateLog:
    """One namespace of state (e.g. 'feeds', 'seen') under a root folder on any Beam filesystem."""

    def __init__(self, root: str, namespace: str) -> None:
        self.root = root
        self.namespace = namespace
        self.segments_dir = files.join(root, namespace, "segments")
        self.pending_dir = files.join(root, namespace, "pending")

    def segment_paths(self) -> list[str]:
        """Paths of the committed segments, oldest run first."""
        return files.matching(files.join(self.segments_dir, "*" + SEGMENT_SUFFIX))

    def records(self, paths: list[str] | None = None) -> Iterator[StateRecord]:
        """Every record of the given (default: all committed) segments; a segment removed meanwhile by a
        concurrent compaction is skipped, its records being in the compacted segment."""
        for path in self.segment_paths() if paths is None else paths:
            try:
                yield from (StateRecord.from_line(line) for line in _read_lines(path))
            except FileNotFoundError:
                _LOG.info("state segment %s vanished (compacted by another run); skipping", path)
            except OSError as exc:
                if "not found" in str(exc).lower() or "no such" in str(exc).lower():
                    _LOG.info("state segment %s vanished; skipping", path)
                    continue
                raise

    def read(self, now: dt.datetime | None = None, retention: dt.timedelta | None = None) -> dict[str, StateRecord]:
        """The current state: newest record per key, dropping keys last seen before the retention window."""
        merged = newest(self.records())
        if retention is None:
            return merged
        cutoff = format_time((now or dt.datetime.now(dt.UTC)) - retention)
        return {k: r for k, r in merged.items() if r.time >= cutoff}

    def write_segment(self, run_id: str, records: Iterable[StateRecord]) -> str | None:
        """Commit one segment of records for a run (atomically: written aside, then renamed into place)."""
        return self.write_lines(run_id, (record.to_line() for record in records))

    def write_lines(self, run_id: str, lines: Iterable[str]) -> str | None:
        """write_segment of records already made into their lines (StateRecord.to_line), as a pipeline makes
        them where it makes the records: the step that commits them then does nothing per record."""
        lines = list(lines)
        if not lines:
            return None
        final = files.join(self.segments_dir, run_id + SEGMENT_SUFFIX)
        temp = files.join(self.pending_dir, f".{run_id}.tmp")
        self._ensure_dirs()
        files.write_bytes(temp, gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), mtime=0))
        files.rename(temp, final)
        return final

    def compact(self, run_id: str, now: dt.datetime | None = None, retention: dt.timedelta | None = None,
                min_segments: int = 8) -> str | None:
        """Merge the committed segments into one (dropping expired keys) once there are min_segments of them.
        The merged segment is written before the old ones are deleted, so a reader never misses a record."""
        paths = self.segment_paths()
        if len(paths) < min_segments:
            return None
        merged = newest(self.records(paths))
        if retention is not None:
            cutoff = format_time((now or dt.datetime.now(dt.UTC)) - retention)
            merged = {k: r for k, r in merged.items() if r.time >= cutoff}
        # Name it after the newest run it contains, so segment order (by name) stays the order of runs.
        name = os.path.basename(paths[-1])[: -len(SEGMENT_SUFFIX)] + "-compacted-" + run_id
        written = self.write_segment(name, merged.values())
        obsolete = [p for p in paths if p != written]
        if obsolete:
            try:
                files.delete(obsolete)
            except (files.StoreError, OSError) as exc:
                _LOG.info("compaction: some segments were already gone (%s)", exc)
        return written

    def _ensure_dirs(self) -> None:
        for folder in (self.segments_dir, self.pending_dir):
            if "://" not in folder:
                os.makedirs(folder, exist_ok=True)
