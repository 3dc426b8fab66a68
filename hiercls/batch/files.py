"""Input files of batch prediction: layout, chunked reading, and diagnostics.

:func:`inspect_data_file` reads a CSV or Parquet file's column names and types
without reading its rows, :func:`iter_chunks` streams it in tables of a fixed
number of rows (from any starting row), :func:`find_unparsable_value` locates the
first value of a column that is not a number, and :func:`file_identity` tells
whether a file changed between two runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .._atomic import HASH_BLOCK_BYTES
from ..datasets.tables import unreadable_table
from ..exceptions import SchemaError
from ..hierarchy import as_python

__all__ = [
    "CSV_BLOCK_BYTES",
    "PARQUET_BUFFER_BYTES",
    "DataFile",
    "csv_column_of_error",
    "file_identity",
    "find_unparsable_value",
    "inspect_data_file",
    "iter_chunks",
]


@dataclass(frozen=True)
class DataFile:
    """A CSV or Parquet file's layout, read without reading its rows.

    Attributes
    ----------
    path : Path
    format : {"parquet", "csv"}
    schema : pyarrow.Schema
        Column names and types: Parquet's own; for CSV, the types Arrow infers from
        the first block.
    n_rows : int or None
        Number of data rows (Parquet); None for CSV, where it is unknown until read.
    row_group_rows : tuple of int
        Rows per Parquet row group (empty for CSV).
    """

    path: Path
    format: str
    schema: pa.Schema
    n_rows: int | None
    row_group_rows: tuple[int, ...] = ()

    @property
    def columns(self) -> list[str]:
        """Column names in file order."""
        return list(self.schema.names)


#: Block size for CSV reads; memory grows with it, not with the file.
CSV_BLOCK_BYTES = 8 << 20
#: Read buffer for Parquet column chunks: pages stream through it instead of a whole
#: column chunk (or, with Arrow's default pre-buffering, several) sitting in memory.
PARQUET_BUFFER_BYTES = 4 << 20

_FORMATS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".parq": "parquet",
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
}


def _csv_parse_options(path: Path) -> pacsv.ParseOptions:
    return pacsv.ParseOptions(delimiter="\t" if path.suffix.lower() == ".tsv" else ",")


def inspect_data_file(path: str | os.PathLike[str], file_format: str | None = None) -> DataFile:
    """Column names and types of a CSV or Parquet file, without reading its rows.

    Parameters
    ----------
    path : path-like
    file_format : {"parquet", "csv"} or None, default=None
        None infers it from the extension (``.parquet``/``.pq`` or ``.csv``/``.tsv``).

    Returns
    -------
    data_file : DataFile

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    SchemaError
        When the format cannot be inferred or the file cannot be read as that format.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Input file '{path}' does not exist.")
    if file_format is None:
        file_format = _FORMATS.get(path.suffix.lower())
        if file_format is None:
            raise SchemaError(
                f"Cannot tell the format of '{path}' from its extension {path.suffix!r}; "
                f"use .parquet or .csv, or give the format explicitly (parquet or csv)."
            )
    try:
        if file_format == "parquet":
            metadata = pq.read_metadata(path)
            rows = tuple(metadata.row_group(i).num_rows for i in range(metadata.num_row_groups))
            data_file = DataFile(path, "parquet", metadata.schema.to_arrow_schema(), metadata.num_rows, rows)
        else:
            reader = pacsv.open_csv(
                path,
                read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
                parse_options=_csv_parse_options(path),
            )
            data_file = DataFile(path, "csv", reader.schema, None)
            reader.close()
    except (pa.ArrowInvalid, OSError) as exc:
        raise unreadable_table(path, file_format, exc, "input_format=") from None
    repeated = sorted({name for name in data_file.schema.names if data_file.schema.names.count(name) > 1})
    if repeated:
        raise SchemaError(
            f"The input file '{path}' has more than one column named {', '.join(map(repr, repeated))}; "
            f"column names must be unique: rename or drop the copies."
        )
    return data_file


def _rechunk(
    batches: Iterable[pa.RecordBatch], schema: pa.Schema, chunk_rows: int, skip: int
) -> Iterator[pa.Table]:
    """Tables of exactly ``chunk_rows`` rows (the last may be shorter), after ``skip`` rows."""
    pending: list[pa.RecordBatch] = []
    n_pending = 0
    for batch in batches:
        if skip:
            if batch.num_rows <= skip:
                skip -= batch.num_rows
                continue
            batch = batch.slice(skip)
            skip = 0
        pending.append(batch)
        n_pending += batch.num_rows
        while n_pending >= chunk_rows:
            table = pa.Table.from_batches(pending, schema)
            yield table.slice(0, chunk_rows)
            rest = table.slice(chunk_rows)
            pending, n_pending = rest.to_batches(), rest.num_rows
    if n_pending:
        yield pa.Table.from_batches(pending, schema)


def iter_chunks(
    data_file: DataFile,
    columns: Sequence[str],
    *,
    chunk_rows: int,
    start_row: int = 0,
    column_types: Mapping[str, pa.DataType] | None = None,
) -> Iterator[pa.Table]:
    """Stream a file as tables of exactly ``chunk_rows`` rows (the last may be shorter).

    Memory stays bounded by the chunk size: Parquet is read with pre-buffering off
    and a small read buffer (pages stream, whatever the row-group size), CSV in
    blocks of :data:`CSV_BLOCK_BYTES`. Only ``columns`` are read.

    Parameters
    ----------
    data_file : DataFile
        From :func:`inspect_data_file`.
    columns : sequence of str
        Columns to read, in the order wanted.
    chunk_rows : int
        Rows per table.
    start_row : int, default=0
        First data row to return. Parquet seeks to its row group; CSV skips the rows
        without converting them.
    column_types : mapping of str to pyarrow.DataType, default=None
        CSV only: the type of each column (others are inferred from the first block).

    Yields
    ------
    table : pyarrow.Table
        The next ``chunk_rows`` rows of ``columns``.

    Raises
    ------
    pyarrow.ArrowInvalid
        When a CSV value cannot be converted to its column type (see
        :func:`find_unparsable_value` for locating it).
    """
    columns = list(columns)
    if data_file.format == "parquet":
        parquet = pq.ParquetFile(data_file.path, pre_buffer=False, buffer_size=PARQUET_BUFFER_BYTES)
        starts = np.cumsum((0,) + data_file.row_group_rows)
        first_group = int(np.searchsorted(starts, start_row, side="right") - 1)
        if first_group >= len(data_file.row_group_rows):
            return
        batches = parquet.iter_batches(
            batch_size=chunk_rows,  # whole chunks: columns convert to numpy without a copy
            row_groups=range(first_group, len(data_file.row_group_rows)),
            columns=columns,
            use_threads=True,
        )
        fields = {f.name: f for f in parquet.schema_arrow}  # a property: rebuilt on each use
        schema = pa.schema([fields[c] for c in columns])
        yield from _rechunk(batches, schema, chunk_rows, start_row - int(starts[first_group]))
        return
    reader = pacsv.open_csv(
        data_file.path,
        read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES, skip_rows_after_names=start_row),
        parse_options=_csv_parse_options(data_file.path),
        convert_options=pacsv.ConvertOptions(include_columns=columns, column_types=dict(column_types or {})),
    )
    with contextlib.closing(reader):
        yield from _rechunk(reader, reader.schema, chunk_rows, 0)


_CSV_COLUMN = re.compile(r"In CSV column #(\d+)")


def csv_column_of_error(data_file: DataFile, error: Exception, columns: Sequence[str]) -> str | None:
    """Return the column an Arrow CSV conversion error is about, when its message says."""
    match = _CSV_COLUMN.search(str(error))
    if match is None:
        return None
    index = int(match.group(1))
    return columns[index] if index < len(columns) else None


def first_uncastable(values: pa.Array) -> int | None:
    """Position of the first value that does not cast to float64 (bisection)."""
    target = pa.float64()
    try:
        pc.cast(values, target)
        return None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    low, high = 0, len(values)
    while high - low > 1:
        middle = (low + high) // 2
        try:
            pc.cast(values.slice(low, middle - low), target)
            low = middle
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            high = middle
    return low


def _first_present(values: pa.Array) -> int | None:
    """Position of the first non-null value."""
    valid = np.flatnonzero(values.is_valid().to_numpy(zero_copy_only=False))
    return int(valid[0]) if valid.size else None


def find_unparsable_value(data_file: DataFile, column: str, *, start_row: int = 0) -> tuple[int, Any] | None:
    """Find the first row (0-based, header excluded) whose ``column`` is not a number.

    Reads only that column, as text, in chunks; a diagnostic for error messages.

    Parameters
    ----------
    data_file : DataFile
    column : str
    start_row : int, default=0
        Where to start looking.

    Returns
    -------
    found : tuple (row, value) or None
        None when every value converts to a float (or is missing).
    """
    field = data_file.schema.field(column)
    locate: Callable[[pa.Array], int | None] = first_uncastable
    column_types: dict[str, pa.DataType] = {column: pa.string()}
    if data_file.format == "parquet" and not (
        pa.types.is_string(field.type)
        or pa.types.is_large_string(field.type)
        or pa.types.is_dictionary(field.type)
    ):
        # Not text: every non-null value is of the wrong kind.
        locate, column_types = _first_present, {}
    chunks = iter_chunks(
        data_file, [column], chunk_rows=1 << 16, start_row=start_row, column_types=column_types
    )
    offset = start_row
    for table in chunks:
        values = table.column(0).combine_chunks()
        if pa.types.is_dictionary(values.type):
            values = values.dictionary_decode()
        position = locate(values)
        if position is not None:
            return offset + position, as_python(values[position].as_py())
        offset += table.num_rows
    return None


def file_identity(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Cheap identity of a file: size, modification time and a hash of its ends.

    The hash covers the first and last MiB (the whole file when smaller), so a rewrite
    with the same size and time is still caught where a header or footer changed.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    identity : dict
        ``path`` (absolute), ``size``, ``mtime_ns`` and ``ends_sha256``.
    """
    path = Path(path)
    stat = path.stat()
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        digest.update(handle.read(HASH_BLOCK_BYTES))
        if stat.st_size > 2 * HASH_BLOCK_BYTES:
            handle.seek(-HASH_BLOCK_BYTES, os.SEEK_END)
        digest.update(handle.read(HASH_BLOCK_BYTES))
    return {
        "path": str(path.resolve()),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "ends_sha256": digest.hexdigest(),
    }
