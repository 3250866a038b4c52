"""Temp folders that dead runs left in --out: each run keeps a record of itself in the state while it runs, and
the next run into the same folder removes the temp folders of the runs whose record shows they are dead.

A run's files are written into `--out/.temp-RUN` and moved out only when all are written (WriteRunFiles), so a
run killed meanwhile (kill -9, Ctrl-C, a lost machine) leaves that folder with partial files. Its name alone
cannot tell a dead run from one still running into the same folder, so a run writes `STATE/runs/RUN.json`
(host, process id) before it starts and removes it when it commits. A temp folder is removed only when that
record exists, names this host, and its process is gone: a run of another host or a submitted job (whose
launcher ends while the job runs) is never taken for dead, and a folder with no record is left alone.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from dataclasses import asdict, dataclass

from connectors import files
from pipelines.beam.sinks import TEMP_PREFIX, temp_folder

LOG = logging.getLogger(__name__)
RUNS = "runs"  # the folder of run records under the state root


@dataclass(frozen=True)
class RunRecord:
    """A run that has started and not yet committed. `pid` is None for a job submitted to a runner elsewhere."""

    run_id: str
    host: str
    pid: int | None
    started_at: str


def this_host() -> str:
    return socket.gethostname()


def _record_path(state_root: str, run_id: str) -> str:
    return files.join(state_root, RUNS, f"{run_id}.json")


def write_run_record(state_root: str, record: RunRecord) -> None:
    """Record a run as started (before its pipeline runs)."""
    files.write_bytes(_record_path(state_root, record.run_id), json.dumps(asdict(record), sort_keys=True).encode())


def read_run_record(state_root: str, run_id: str) -> RunRecord | None:
    """The run's record, or None when it has none (it committed, or it ran with another state)."""
    try:
        return RunRecord(**json.loads(files.read_bytes(_record_path(state_root, run_id)).decode("utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def remove_run_record(state_root: str, run_id: str) -> None:
    """Forget a run's record (once it has committed, or its leftovers are removed)."""
    try:
        files.delete([_record_path(state_root, run_id)])
    except files.StoreError:  # already gone
        pass


def is_dead(record: RunRecord) -> bool:
    """Whether the record's run has certainly ended: its process, on this host, no longer exists."""
    if record.pid is None or record.host != this_host():
        return False
    try:
        os.kill(record.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # a process of another user has that id now
        return False
    return False


def remove_dead_temp_folders(out: str, state_root: str, own_run_id: str) -> list[str]:
    """Remove the temp folders in a local `out` of runs their state record shows dead; returns their names."""
    if "://" in out or not os.path.isdir(out):
        return []
    removed = []
    for name in sorted(os.listdir(out)):
        run_id = name[len(TEMP_PREFIX):]
        if not name.startswith(TEMP_PREFIX) or run_id == own_run_id:
            continue
        record = read_run_record(state_root, run_id)
        if record is None or not is_dead(record):
            continue
        files.delete([temp_folder(out, run_id)])
        remove_run_record(state_root, run_id)
        LOG.info("removed %s, left by run %s (process %s ended)", name, run_id, record.pid)
        removed.append(name)
    return removed
