"""The loaders' Parquet cache: where it lives, file hashes, atomic reads and writes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd

# Bump when the layout of a cached table changes, so stale caches are not read.
_CACHE_FORMAT = 1


def _resolve_cache_dir(cache_dir: str | os.PathLike[str] | None) -> Path:
    """Return ``cache_dir``, else ``$HIERCLS_CACHE``, else ``~/.cache/hiercls``."""
    if cache_dir is None:
        cache_dir = os.environ.get("HIERCLS_CACHE") or Path.home() / ".cache" / "hiercls"
    return Path(cache_dir).expanduser()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_cache(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    return pd.read_parquet(path)


def _write_cache(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename, so a concurrent reader never sees half a file.
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    frame.to_parquet(partial)
    os.replace(partial, path)
