"""The one place where hiercls writes files atomically, hashes files and encodes JSON.

Every file is written under a hidden temporary name in its own directory, flushed
to disk and renamed over the final name, so a crash never leaves a half-written
file under that name. Temporary names are ``.<name>.<hex>.tmp``: readers of a
folder (Arrow, pandas, Dask, the batch manifest's clean-up) skip or recognise them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

__all__ = [
    "HASH_BLOCK_BYTES",
    "fsync_directory",
    "json_default",
    "json_text",
    "sha256_file",
    "stage",
    "temporary_path",
    "write_atomic",
    "write_bytes",
    "write_json",
    "write_table",
    "write_text",
]

#: Read size for hashing: large enough to be fast, small enough to stay out of memory.
HASH_BLOCK_BYTES = 1 << 20


def temporary_path(path: Path) -> Path:
    """A hidden, unique name beside ``path`` (same file system, so a rename is atomic)."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")


def fsync_directory(directory: Path) -> None:
    """Flush a directory entry (a rename) to disk where the platform allows it."""
    with contextlib.suppress(OSError):  # not every platform can open a directory
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def stage(path: Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(temporary)`` and flush it to disk; return the temporary file.

    The caller renames it into place (``os.replace``) or removes it. On failure the
    temporary file is removed and the error raised. :func:`write_atomic` is this plus
    the rename; use ``stage`` directly to commit several files in a chosen order.
    """
    temporary = temporary_path(path)
    try:
        write(temporary)
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def write_atomic(path: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Write a file through ``write(temporary)``, then rename it to ``path``.

    Parameters
    ----------
    path : path-like
        Destination file; its directory must exist.
    write : callable
        Called with the temporary path; writes the whole file there.

    Returns
    -------
    path : Path
        The file written. After a failure the previous file (if any) is intact and
        no temporary file is left.
    """
    path = Path(path)
    temporary = stage(path, write)
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)
    return path


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` as UTF-8, atomically (see :func:`write_atomic`)."""
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data``, atomically (see :func:`write_atomic`)."""
    return write_atomic(path, lambda tmp: tmp.write_bytes(data))


def write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as indented JSON (see :func:`json_text`), atomically.

    Raises
    ------
    TypeError
        When ``data`` holds a value :func:`json_default` cannot encode; nothing is written.
    """
    return write_text(path, json_text(data) + "\n")


def write_table(table: pa.Table, path: str | os.PathLike[str], file_format: str) -> Path:
    """Write an Arrow table as one Parquet file (one row group) or one CSV file, atomically.

    Parameters
    ----------
    table : pyarrow.Table
    path : path-like
        Destination file; its directory must exist.
    file_format : {"parquet", "csv"}

    Returns
    -------
    path : Path
    """
    if file_format == "parquet":
        # Dictionary encoding pays for repeated labels; on probabilities it is tried
        # and dropped for every page, which made writing 3x slower.
        text = [
            f.name
            for f in table.schema
            if pa.types.is_string(f.type)
            or pa.types.is_large_string(f.type)
            or pa.types.is_dictionary(f.type)
        ]

        def write(tmp: Path) -> None:
            pq.write_table(table, tmp, row_group_size=max(table.num_rows, 1), use_dictionary=text)

    else:

        def write(tmp: Path) -> None:
            pacsv.write_csv(table, tmp)

    return write_atomic(path, write)


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes, read in blocks of :data:`HASH_BLOCK_BYTES`."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(HASH_BLOCK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float (nested in lists and dicts) as None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def json_default(value: Any) -> Any:
    """``default=`` for :func:`json.dumps`: numpy scalars and arrays, paths.

    Non-finite floats become None (JSON ``null``), so the result is valid JSON.

    Raises
    ------
    TypeError
        For any other type, naming it.
    """
    if isinstance(value, np.generic):
        return _finite(value.item())
    if isinstance(value, np.ndarray):
        return _finite(value.tolist())
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable: {value!r}")


def json_text(data: Any, *, indent: int | None = 2) -> str:
    """``data`` as strict JSON text: NaN and infinities as ``null``, numpy via :func:`json_default`.

    Raises
    ------
    TypeError
        When ``data`` holds a value :func:`json_default` cannot encode.
    """
    return json.dumps(_finite(data), indent=indent, default=json_default, allow_nan=False)
