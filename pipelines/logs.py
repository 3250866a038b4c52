"""Log records for people or for machines: human lines on a terminal, JSON lines elsewhere, each with its run id.

A JSON line is one object: {"at", "level", "logger", "message", "run_id"} and whatever the record carries as
`extra` (a record about an item carries "stage", "feed" and "url", null where the item has none; a dead letter
also its "reason").
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from collections.abc import Mapping
from typing import Any, TextIO

import orjson

from pipelines import progress

FORMATS = ("auto", "human", "json")
HUMAN_FORMAT = "%(levelname)s %(name)s: %(message)s"
# The logger of the command itself (a run's end, how it failed): heard only in JSON lines, where a machine wants
# them; a person reads the same in the summary table and the command's last line.
COMMAND_LOGGER = "sitrep"

# What every LogRecord has: anything else on a record came as `extra` and goes into its JSON line.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "run_id", "taskName"}


def resolve(log_format: str, stream: TextIO) -> str:
    """`auto` as the format it means for this stream: human on a terminal, json otherwise."""
    if log_format == "auto":
        return "human" if progress.on_terminal(stream) else "json"
    if log_format not in FORMATS:
        raise ValueError(f"--log-format {log_format!r}: choose from {', '.join(FORMATS)}")
    return log_format


class RunIdFilter(logging.Filter):
    """Puts the run's id on every record that passes (None until the run id is known, and for commands that
    are no run)."""

    def __init__(self, run_id: str | None = None) -> None:
        super().__init__()
        self.run_id = run_id

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "run_id", None) is None:
            record.run_id = self.run_id
        return True


class DeadLetterLimit(logging.Filter):
    """On a terminal, the first `limit` dead letters of a command, then one line saying the rest are in the
    run's dead-letters file (the summary table counts them): a run with thousands would bury its table."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.seen = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.getMessage().startswith("dead letter:"):
            return True
        self.seen += 1
        if self.seen == self.limit + 1:
            record.msg = "dead letter: more are not shown here; every one is in the run's dead-letters file"
            record.args = ()
        return self.seen <= self.limit + 1


class JsonFormatter(logging.Formatter):
    """A record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "at": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "run_id": getattr(record, "run_id", None),
        }
        data.update((k, v) for k, v in vars(record).items() if k not in _STANDARD and k not in data)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            data["exception"] = record.exc_text
        if record.stack_info:
            data["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(data, default=str).decode("utf-8")


class TerminalHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a record comes (so a test's captured stderr, too), with any live
    progress line set aside while it writes."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)
        self._fixed = stream

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return self._fixed or sys.stderr

    @stream.setter
    def stream(self, value: TextIO | None) -> None:
        self._fixed = value

    def emit(self, record: logging.LogRecord) -> None:
        with progress.lines_cleared():
            super().emit(record)


def setup(log_format: str = "auto", run_id: str | None = None, stream: TextIO | None = None,
          dead_letter_limit: int | None = None) -> str:
    """Send the process's log records to stderr (or `stream`) in this format, each with the run id; returns the
    format resolved (human or json). Records below WARNING are dropped (Beam's loggers must not flood a
    terminal); the command's own logger is heard from INFO in JSON lines, and not at all in human lines.
    With `dead_letter_limit`, human lines tell that many dead letters, then one line for the rest.
    Called again (a second command in one process), it replaces what it set up before."""
    resolved = resolve(log_format, stream or sys.stderr)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, TerminalHandler)]:
        root.removeHandler(old)
    handler = TerminalHandler(stream)
    handler.setFormatter(JsonFormatter() if resolved == "json" else logging.Formatter(HUMAN_FORMAT))
    handler.addFilter(RunIdFilter(run_id))
    if resolved == "human" and dead_letter_limit is not None:
        handler.addFilter(DeadLetterLimit(dead_letter_limit))
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger(COMMAND_LOGGER).setLevel(logging.INFO if resolved == "json" else logging.CRITICAL + 1)
    return resolved


def _url(value: Any) -> str | None:
    return value if isinstance(value, str) and value.startswith(("http://", "https://")) else None


def item_fields(letter: Mapping[str, Any]) -> dict[str, Any]:
    """A dead letter's stage, feed and URL, as a log record about its item carries them (None where the item
    has none: a backfill line has no feed, a feed that failed has no article)."""
    data = letter.get("input") or {}
    entry = data.get("entry") or {}
    event = data.get("event") or {}
    feed = (data.get("feed") or {}).get("url") or entry.get("feed_url") or (event.get("source") or {}).get("feed_url")
    ref = letter.get("ref")
    url = _url(entry.get("link")) or _url(event.get("url")) or (_url(ref) if ref != feed else None)
    return {"stage": letter.get("stage"), "feed": feed, "url": url}


def log_dead_letter(logger: logging.Logger, letter: Mapping[str, Any]) -> None:
    """One WARNING record for a dead letter (a DeadLetter's to_json), with its item's fields and reason."""
    fields = item_fields(letter)
    reason = letter.get("reason")
    where = " ".join(f"{k}={v}" for k, v in (("feed", fields["feed"]), ("url", fields["url"])) if v)
    logger.warning("dead letter: stage=%s %s reason=%s", fields["stage"], where or f"ref={letter.get('ref')}",
                   reason, extra={**fields, "reason": reason, "failed_at": letter.get("at")})
