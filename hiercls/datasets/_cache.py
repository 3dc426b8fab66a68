"""The loaders' Parquet cache: where it lives, and its reads and writes."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .._atomic import write_atomic

#: Bump when the layout of a cached table changes, so stale caches are not read.
CACHE_FORMAT = 2


def resolve_cache_dir(cache_dir: str | os.PathLike[str] | None) -> Path:
    """Return ``cache_dir``, else ``$HIERCLS_CACHE``, else ``~/.cache/hiercls``."""
    if cache_dir is None:
        cache_dir = os.environ.get("HIERCLS_CACHE") or Path.home() / ".cache" / "hiercls"
    return Path(cache_dir).expanduser()


def read_cache(path: Path) -> pd.DataFrame | None:
    """The cached table at ``path``, or None when there is none yet."""
    if not path.is_file():
        return None
    return pd.read_parquet(path)


def write_cache(frame: pd.DataFrame, path: Path) -> None:
    """Store ``frame`` at ``path`` (atomically: a concurrent reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, frame.to_parquet)
