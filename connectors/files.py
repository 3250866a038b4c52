"""Storage for state, archives, run records and run files: local paths, or any Beam filesystem (gs://...).

The one module outside the Beam layer that uses Beam: a path with a scheme goes through Beam's
FileSystems, so a run on Dataflow keeps its state in a bucket as a laptop keeps it in a folder. Beam is
imported only when such a path is used, so commands that read local state (`sitrep feeds status`) do not
load it. Bytes in, bytes out, never decompressed behind the caller's back (a .gz name is only a name).
"""

from __future__ import annotations

import glob
import os
import shutil
from collections.abc import Iterable
from typing import Any, BinaryIO


class StoreError(OSError):
    """A path a store could not read, match, move or delete."""


def is_remote(path: str) -> bool:
    """Whether a path is on an object store (gs://...) rather than a local disk."""
    return "://" in path


def _beam() -> Any:
    from apache_beam.io.filesystems import FileSystems

    return FileSystems


def _raw() -> Any:
    from apache_beam.io.filesystem import CompressionTypes

    return CompressionTypes.UNCOMPRESSED


def _store_errors() -> tuple[type[Exception], ...]:
    from apache_beam.io.filesystem import BeamIOError

    return (BeamIOError, OSError)


def join(base: str, *parts: str) -> str:
    """A path under `base`, with the store's own separator."""
    return _beam().join(base, *parts) if is_remote(base) else os.path.join(base, *parts)


def open_read(path: str) -> BinaryIO:
    """A file opened for reading its bytes as stored."""
    if not is_remote(path):
        return open(path, "rb")
    try:
        return _beam().open(path, compression_type=_raw())
    except _store_errors() as exc:
        raise StoreError(f"{path}: {exc}") from exc


def read_bytes(path: str) -> bytes:
    with open_read(path) as handle:
        return handle.read()


def create(path: str, mime_type: str = "application/octet-stream") -> BinaryIO:
    """A file opened for writing bytes as given (folders are made as needed)."""
    if is_remote(path):
        return _beam().create(path, mime_type=mime_type, compression_type=_raw())
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    return open(path, "wb")


def write_bytes(path: str, data: bytes, mime_type: str = "application/octet-stream") -> None:
    with create(path, mime_type) as handle:
        handle.write(data)


def matching(pattern: str) -> list[str]:
    """The files a glob pattern matches, sorted (none, or a folder that is not there: an empty list)."""
    if not is_remote(pattern):
        return sorted(path for path in glob.glob(pattern) if os.path.isfile(path))
    try:
        return sorted(m.path for m in _beam().match([pattern])[0].metadata_list)
    except _store_errors():
        return []


def exists(path: str) -> bool:
    return _beam().exists(path) if is_remote(path) else os.path.exists(path)


def rename(source: str, destination: str) -> None:
    """Move one file (atomic on a local disk; a copy and delete on an object store)."""
    if is_remote(source):
        _beam().rename([source], [destination])
    else:
        os.makedirs(os.path.dirname(destination) or ".", exist_ok=True)
        os.replace(source, destination)


def delete(paths: Iterable[str]) -> None:
    """Remove files, or folders with what they hold (on an object store, a folder is "prefix/"); a path that
    is not there raises StoreError."""
    for path in paths:
        try:
            if is_remote(path):
                _beam().delete([path])
            elif os.path.isdir(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
        except _store_errors() as exc:
            raise StoreError(f"{path}: {exc}") from exc
