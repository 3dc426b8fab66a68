"""Batch input files: layout, chunked reading from any row, unparsable values."""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from hiercls.batch.files import find_unparsable_value, inspect_data_file, iter_chunks


@pytest.fixture
def table_files(tmp_path):
    frame = pd.DataFrame({"id": np.arange(1000), "x": np.arange(1000) * 0.5, "s": ["v"] * 1000})
    pq.write_table(
        pa.Table.from_pandas(frame, preserve_index=False),
        tmp_path / "t.parquet",
        row_group_size=170,
    )
    frame.to_csv(tmp_path / "t.csv", index=False)
    return frame, tmp_path / "t.parquet", tmp_path / "t.csv"


@pytest.mark.parametrize("kind", ["parquet", "csv"])
@pytest.mark.parametrize("start_row", [0, 169, 170, 555, 999, 1000])
def test_iter_chunks_gives_exact_chunks_from_any_row(table_files, kind, start_row):
    frame, parquet, csv = table_files
    data_file = inspect_data_file(parquet if kind == "parquet" else csv)
    chunks = list(iter_chunks(data_file, ["x", "id"], chunk_rows=300, start_row=start_row))
    assert [c.num_rows for c in chunks][:-1] == [300] * (len(chunks) - 1) if chunks else True
    ids = np.concatenate([c.column("id").to_numpy() for c in chunks]) if chunks else np.array([])
    assert_array_equal(ids, frame["id"].to_numpy()[start_row:])
    assert all(c.column_names == ["x", "id"] for c in chunks)


def test_inspect_data_file(table_files):
    _, parquet, csv = table_files
    parquet_file, csv_file = inspect_data_file(parquet), inspect_data_file(csv)
    assert parquet_file.n_rows == 1000
    assert sum(parquet_file.row_group_rows) == 1000
    assert csv_file.n_rows is None
    assert csv_file.columns == ["id", "x", "s"]
    with pytest.raises(FileNotFoundError, match=r"Input file .*missing\.csv' does not exist"):
        inspect_data_file(parquet.parent / "missing.csv")
    (parquet.parent / "data.xlsx").write_bytes(b"")
    with pytest.raises(ValueError, match=r"Cannot tell the format of .*data\.xlsx.*\.xlsx"):
        inspect_data_file(parquet.parent / "data.xlsx")


def test_find_unparsable_value(tmp_path):
    frame = pd.DataFrame({"x": ["1.5"] * 700 + ["oops"] + ["2"] * 10, "y": ["3"] * 711})
    frame.to_csv(tmp_path / "bad.csv", index=False)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "bad.parquet")
    for name in ("bad.csv", "bad.parquet"):
        data_file = inspect_data_file(tmp_path / name)
        assert find_unparsable_value(data_file, "x") == (700, "oops")
        assert find_unparsable_value(data_file, "y") is None
    assert_allclose(float(frame["y"][0]), 3.0)


def test_find_unparsable_value_in_a_parquet_column_that_is_not_text(tmp_path):
    # Every present value of a date column is wrong for a number feature; nulls are not.
    dates = pa.array([None] * 300 + [datetime.date(2024, 1, 2)] * 5, pa.date32())
    pq.write_table(pa.table({"d": dates}), tmp_path / "d.parquet", row_group_size=100)
    data_file = inspect_data_file(tmp_path / "d.parquet")
    found = find_unparsable_value(data_file, "d", start_row=50)
    assert found is not None
    assert found[0] == 300
    assert str(found[1]) == "2024-01-02"
    assert find_unparsable_value(data_file, "d", start_row=0)[0] == 300


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_a_repeated_column_name_is_named_not_called_damage(tmp_path, suffix):
    from hiercls import SchemaError

    path = tmp_path / f"dup.{suffix}"
    if suffix == "parquet":
        table = pa.Table.from_arrays(
            [pa.array([1, 2]), pa.array(["a", "b"]), pa.array(["c", "d"])], names=["x", "s", "s"]
        )
        pq.write_table(table, path)
    else:
        path.write_text("x,s,s\n1,a,c\n2,b,d\n")
    with pytest.raises(SchemaError, match=r"more than one column named 's'; column names must be unique"):
        inspect_data_file(path)
