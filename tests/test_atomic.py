"""Atomic writes, file hashes and JSON encoding, in tmp_path."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hiercls._atomic import (
    json_text,
    sha256_file,
    write_atomic,
    write_bytes,
    write_json,
    write_table,
    write_text,
)


class Killed(Exception):
    pass


def test_each_writer_writes_the_whole_file_and_nothing_else(tmp_path):
    table = pa.table({"label": ["a", "b", "a"], "proba": [0.5, 0.25, 1.0]})
    write_text(tmp_path / "t.txt", "héllo\n")
    write_bytes(tmp_path / "b.bin", b"\x00\x01")
    write_json(tmp_path / "d.json", {"n": np.int64(3), "x": np.array([1.5, 2.0])})
    write_table(table, tmp_path / "p.parquet", "parquet")
    write_table(table, tmp_path / "c.csv", "csv")
    assert (tmp_path / "t.txt").read_text(encoding="utf-8") == "héllo\n"
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert json.loads((tmp_path / "d.json").read_text()) == {"n": 3, "x": [1.5, 2.0]}
    assert pq.read_table(tmp_path / "p.parquet").equals(table)
    assert pq.ParquetFile(tmp_path / "p.parquet").num_row_groups == 1
    assert pd.read_csv(tmp_path / "c.csv")["label"].tolist() == ["a", "b", "a"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "b.bin", "c.csv", "d.json", "p.parquet", "t.txt"
    ]


@pytest.mark.parametrize("error", [OSError("disk full"), Killed("killed while writing")])
def test_failed_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path, error):
    path = write_text(tmp_path / "out.json", "old")

    def half_write(temporary: Path) -> None:
        temporary.write_text("half of the new")
        raise error

    with pytest.raises(type(error), match=str(error)):
        write_atomic(path, half_write)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_failed_rename_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    path = write_text(tmp_path / "out.txt", "old")

    def broken_replace(src, dst):
        raise Killed("killed before the rename")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(Killed, match="killed before the rename"):
        write_text(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_json_writes_nan_and_infinity_as_null(tmp_path):
    data = {
        "nan": float("nan"),
        "numpy_nan": np.float64("nan"),
        "float32_inf": np.float32("inf"),
        "nested": [1.0, {"x": -float("inf")}],
        "array": np.array([0.5, np.nan]),
        "path": Path("a") / "b",
    }
    text = json_text(data)
    assert json.loads(text) == {
        "nan": None,
        "numpy_nan": None,
        "float32_inf": None,
        "nested": [1.0, {"x": None}],
        "array": [0.5, None],
        "path": str(Path("a") / "b"),
    }
    write_json(tmp_path / "m.json", data)
    # Strict JSON: Python's parser would accept NaN, so check the text itself.
    json.loads((tmp_path / "m.json").read_text(), parse_constant=pytest.fail)


def test_json_names_what_it_cannot_encode(tmp_path):
    with pytest.raises(TypeError, match=r"object is not JSON serialisable"):
        write_json(tmp_path / "x.json", {"x": object()})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("size", [0, 1, (1 << 20) + 7])
def test_sha256_file_matches_hashlib(tmp_path, size):
    data = np.random.default_rng(size).bytes(size)
    path = write_bytes(tmp_path / "blob", data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()
