"""Batch prediction of files larger than memory: chunked, resumable, optionally on Dask.

:func:`predict_file` scores a CSV or Parquet file with a fitted model (or a saved
artifact) and writes numbered output parts plus a manifest. Memory is bounded by
the chunk size, not by the file; a run that is killed continues from the first
missing part when started again; a summary of the batch (class mix per level
against the training distribution, rows stopped early, rows below a confidence)
is written beside the output.

Output columns, in order:

- the ``id_columns`` and ``passthrough`` columns, copied from the input;
- per level ``<level>`` (the predicted label; null below the end of the path) and
  ``<level>_proba`` (probability of that node: the product of the conditional
  probabilities down the path);
- ``path_proba``: probability of the predicted outcome (the deepest node, times
  the model's "stop" probability where the path ends early because the model
  predicts that it ends there);
- ``stopped_at_level``: the level where the path ends when it ends above the last
  level, else null;
- with ``top_k > 0``, ``top1_path``, ``top1_proba``, ..., ``top{k}_path``,
  ``top{k}_proba``: the k most probable complete paths, labels joined by ``" > "``;
- ``scoring_error``: null for scored rows; for a row that could not be scored, the
  reason (its labels and probabilities are then null).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import pickle
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from scipy import sparse as sp

from ._allocator import settle_worker_allocator
from ._compat import get_tags, import_optional
from .exceptions import OutputConflictError, SchemaError
from .hierarchy import as_python
from .io import (
    DataFile,
    classifier_of,
    csv_column_of_error,
    file_identity,
    find_unparsable_value,
    inspect_data_file,
    iter_chunks,
    load_model,
    read_metadata,
    write_json_atomic,
    write_table_atomic,
)
from .parallel import dask_client

__all__ = [
    "BatchSummary",
    "ClassShift",
    "DaskEngine",
    "LevelDrift",
    "LocalEngine",
    "OutputConflictError",
    "predict_file",
]

logger = logging.getLogger(__name__)

# A leading "_" (like "." for temporary parts) makes Arrow, pandas and Dask skip these
# files when the output directory is read as one data set.
MANIFEST_FILE = "_manifest.json"
SUMMARY_FILE = "_summary.json"
_LOCK_FILE = ".hiercls-predict.lock"
_MANIFEST_KIND = "hiercls-batch-output"
_MANIFEST_VERSION = 1
_PART_PREFIX = "part-"
#: Shares below this count as this much in the PSI, so an empty class costs a finite amount.
PSI_EPSILON = 1e-4
_TOP_CHANGES = 5
_PATH_SEPARATOR = " > "
_NUMERIC = (
    pa.types.is_integer,
    pa.types.is_floating,
    pa.types.is_boolean,
    pa.types.is_decimal,
    pa.types.is_null,
)


# ------------------------------------------------------------------------ engines
@dataclass(frozen=True)
class LocalEngine:
    """Score in this process, one chunk of ``chunk_rows`` rows after another."""

    name = "local"


@dataclass(frozen=True)
class DaskEngine:
    """Score through ``dask.dataframe`` on a Dask cluster (needs ``hiercls[dask]``).

    The input is read with ``dask.dataframe.read_parquet`` (one partition per
    Parquet row group) or ``read_csv`` (blocks of ``blocksize`` bytes); the model is
    scattered to every worker once, and each partition is scored and written as one
    output part by a worker, so the input and output paths must be visible to the
    workers under the same names (a shared file system). Labels equal the local
    engine's exactly, probabilities within 1e-12.

    Parameters
    ----------
    address : str or None, default=None
        Scheduler address, e.g. ``"tcp://scheduler:8786"``. None starts a
        ``distributed.LocalCluster`` for the job and closes it afterwards.
    n_workers : int, default=2
        Workers of the LocalCluster.
    threads_per_worker : int, default=1
        Threads per LocalCluster worker.
    processes : bool, default=True
        LocalCluster workers as processes (False: threads of this process).
    blocksize : str or int, default="64MiB"
        Bytes of CSV per partition (one output part each).
    dashboard_address : str or None, default=None
        LocalCluster dashboard, e.g. ``":8787"``; None runs without one.
    client : distributed.Client or None, default=None
        An existing client to use instead (Python only); it is left open.
    """

    address: str | None = None
    n_workers: int = 2
    threads_per_worker: int = 1
    processes: bool = True
    blocksize: str | int = "64MiB"
    dashboard_address: str | None = None
    client: Any = field(default=None, repr=False, compare=False)
    name = "dask"


# ----------------------------------------------------------------------- summary
@dataclass(frozen=True)
class ClassShift:
    """How much one class's share of the predictions moved from the drift baseline."""

    label: Any
    baseline_share: float
    predicted_share: float


@dataclass(frozen=True)
class LevelDrift:
    """Predicted class mix of one level against the training distribution.

    Shares are over the rows whose path reaches the level. ``psi`` is the
    population stability index over the level's classes, ``sum((q - p) * ln(q / p))``
    with baseline shares ``p`` (see ``BatchSummary.drift_baseline``) and predicted
    shares ``q`` (both floored at
    :data:`PSI_EPSILON`): below 0.1 is usually read as stable, above 0.25 as a
    major shift. It needs many more rows than classes to mean anything.
    """

    level: str
    psi: float
    baseline_rows: int
    predicted_rows: int
    largest_changes: tuple[ClassShift, ...]


@dataclass(frozen=True)
class BatchSummary:
    """What one :func:`predict_file` run produced.

    Attributes
    ----------
    input, output : str
        The input file and the output directory.
    engine : str
        ``"local"`` or ``"dask"``.
    rows : int
        Rows in the output (equal to the input's).
    parts : int
        Output part files.
    rows_scored_now, parts_written_now : int
        What this run wrote (less than ``rows`` / ``parts`` when it resumed).
    seconds, rows_per_second : float
        Wall time of this run, and ``rows_scored_now / seconds``.
    rows_failed : int
        Rows with a ``scoring_error``.
    stopped_share : float
        Share of scored rows whose path ends above the last level.
    confidence : float
        The ``path_proba`` threshold of ``low_confidence_share``.
    low_confidence_share : float
        Share of scored rows with ``path_proba < confidence``.
    baseline_stopped_share : float or None
        The same share in the drift baseline.
    drift : tuple of LevelDrift
        One per level; empty without a training distribution.
    drift_baseline : str or None
        What the predictions are compared with: the model's predictions on its
        training data (artifacts saved with ``training_data``; a model's predictions
        lean towards large classes, so they are the fair baseline), else the training
        labels.
    drift_note : str or None
        Why ``drift`` is empty.
    class_counts : tuple of dict
        Per level, predicted label -> rows.
    """

    input: str
    output: str
    engine: str
    rows: int
    parts: int
    rows_scored_now: int
    parts_written_now: int
    seconds: float
    rows_per_second: float
    rows_failed: int
    stopped_share: float
    confidence: float
    low_confidence_share: float
    baseline_stopped_share: float | None
    drift: tuple[LevelDrift, ...]
    drift_baseline: str | None
    drift_note: str | None
    class_counts: tuple[dict[str, int], ...] = field(repr=False, default=())

    def to_dict(self) -> dict[str, Any]:
        """Return the summary as JSON-ready data (what ``_summary.json`` holds)."""
        data = asdict(self)
        data["class_counts"] = [dict(c) for c in self.class_counts]
        data["line"] = self.line()
        return data

    def line(self) -> str:
        """One line for logs: rows, time, rate, output, failures, stops, drift."""
        earlier = self.rows - self.rows_scored_now
        scored = f"Scored {_count(self.rows_scored_now, 'row')}" + (
            f" ({earlier:,} more from an earlier run)" if earlier else ""
        )
        text = (
            f"{scored} into {_count(self.parts, 'part')} in '{self.output}' in "
            f"{self.seconds:.1f} s ({self.rows_per_second:,.0f} rows/s, {self.engine} engine)"
        )
        if self.rows_failed:
            text += f"; {_count(self.rows_failed, 'row')} not scorable (see scoring_error)"
        text += (
            f"; path ends above the last level: {self.stopped_share:.1%}"
            f"; path_proba < {self.confidence:g}: {self.low_confidence_share:.1%}"
        )
        if self.drift:
            psi = ", ".join(f"{d.level} {d.psi:.3f}" for d in self.drift)
            text += f"; drift PSI {psi}"
            moved = max(
                (c for d in self.drift for c in d.largest_changes[:1]),
                key=lambda c: abs(c.predicted_share - c.baseline_share),
                default=None,
            )
            if moved is not None:
                text += (
                    f" (largest move: {moved.label!r} {moved.baseline_share:.1%} -> "
                    f"{moved.predicted_share:.1%})"
                )
        elif self.drift_note:
            text += f"; drift: {self.drift_note}"
        return text


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


# ---------------------------------------------------------------------- the job
@dataclass(frozen=True)
class _Job:
    """Everything a worker needs besides the model (small and picklable)."""

    features: tuple[str, ...]
    text_features: frozenset[str]
    #: Categorical feature -> how its values are read (see ``_category_values``).
    categorical_features: dict[str, str]
    #: CSV: an empty cell of a categorical column is a missing value, as pandas reads it.
    empty_category_is_missing: bool
    named_features: bool
    copied_columns: tuple[str, ...]
    read_schema: pa.Schema
    levels: tuple[str, ...]
    indexers: tuple[pd.Index, ...]
    dictionaries: tuple[pa.Array, ...]
    top_k: int
    allow_nan: bool
    output_schema: pa.Schema
    output_format: str

    @property
    def read_columns(self) -> list[str]:
        return list(self.read_schema.names)

    @property
    def numeric_features(self) -> list[str]:
        return [
            name
            for name in self.features
            if name not in self.text_features and name not in self.categorical_features
        ]


def _label_dictionary(labels: np.ndarray) -> pa.Array:
    try:
        return pa.array(labels.tolist() if labels.dtype == object else labels)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([str(label) for label in labels.tolist()])  # mixed types: as text


def _classes(classifier: Any) -> list[np.ndarray]:
    classes = classifier.classes_
    return list(classes) if isinstance(classes, list) else [np.asarray(classes)]


def _output_schema(
    read_schema: pa.Schema,
    copied: Sequence[str],
    levels: Sequence[str],
    dictionaries: Sequence[pa.Array],
    top_k: int,
) -> pa.Schema:
    fields = [read_schema.field(name) for name in copied]
    for level, dictionary in zip(levels, dictionaries, strict=True):
        fields += [pa.field(level, dictionary.type), pa.field(f"{level}_proba", pa.float64())]
    fields += [pa.field("path_proba", pa.float64()), pa.field("stopped_at_level", pa.string())]
    for i in range(1, top_k + 1):
        fields += [pa.field(f"top{i}_path", pa.string()), pa.field(f"top{i}_proba", pa.float64())]
    fields.append(pa.field("scoring_error", pa.string()))
    names = [f.name for f in fields]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise SchemaError(
            f"Output columns {clashes} would appear twice: an id or passthrough column has "
            f"the name of an output column (the model's levels are {list(levels)}). Drop "
            f"it from id_columns/passthrough, or rename it in the input."
        )
    return pa.schema(fields)


def _is_numeric(data_type: pa.DataType) -> bool:
    return any(check(data_type) for check in _NUMERIC)


def _is_text(data_type: pa.DataType) -> bool:
    if pa.types.is_dictionary(data_type):
        data_type = data_type.value_type
    return (
        pa.types.is_string(data_type)
        or pa.types.is_large_string(data_type)
        or pa.types.is_null(data_type)
    )


def _short_list(names: Sequence[str], limit: int = 20) -> str:
    shown = list(names)[:limit]
    more = f" ... ({len(names) - limit} more)" if len(names) > limit else ""
    return f"{shown}{more}"


def _feature_kinds(
    model: Any, metadata: dict[str, Any] | None, features: Sequence[str], data_file: DataFile
) -> dict[str, str]:
    """Map every feature column to ``"number"``, ``"text"`` or ``"category"``."""
    classifier = classifier_of(model)
    if model is classifier:
        categorical = getattr(classifier, "categorical_columns_", None)
        names = set() if categorical is None else set(categorical.names)
        return {name: "category" if name in names else "number" for name in features}
    recorded = {
        entry["name"]: entry["dtype"]
        for entry in ((metadata or {}).get("input_features") or [])
        if entry.get("dtype") not in (None, "unknown")
    }
    kinds = {}
    file_types = {f.name: f.type for f in data_file.schema}
    for name in features:
        dtype = recorded.get(name)
        if dtype == "category":
            kinds[name] = "category"
            continue
        if dtype is not None:
            numeric = _is_numeric_dtype_name(dtype)
        else:  # not recorded: follow the file
            numeric = _is_numeric(file_types[name])
        kinds[name] = "number" if numeric else "text"
    return kinds


def _category_value_kinds(
    model: Any, metadata: dict[str, Any] | None, names: Sequence[str]
) -> dict[str, str]:
    """How to read each categorical column so its values equal the categories seen at fit.

    ``"integer"``, ``"float"`` or ``"text"`` after the fitted categories' dtype (a CSV
    holds ``"7"`` where the model saw the int 7), ``"as_read"`` when it is unknown.
    """
    classifier = classifier_of(model)
    dtypes: dict[str, Any] = {}
    if model is classifier:
        categorical = getattr(classifier, "categorical_columns_", None)
        if categorical is not None:
            dtypes = {
                name: categories.dtype
                for name, categories in zip(categorical.names, categorical.categories, strict=True)
            }
    else:  # a Pipeline's encoders saw the training DataFrame's columns, as recorded
        dtypes = {
            entry["name"]: entry.get("categories_dtype")
            for entry in ((metadata or {}).get("input_features") or [])
            if entry.get("dtype") == "category"
        }
    return {name: _category_value_kind(dtypes.get(name)) for name in names}


def _category_value_kind(dtype: Any) -> str:
    if dtype is None:
        return "as_read"
    try:
        dtype = pd.api.types.pandas_dtype(dtype)
    except TypeError:
        return "as_read"
    if pd.api.types.is_bool_dtype(dtype):
        return "as_read"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_string_dtype(dtype):
        return "text"
    return "as_read"


def _is_numeric_dtype_name(name: str) -> bool:
    """Whether a recorded pandas dtype name (``float64``, ``Int64``, ``str``...) is numeric."""
    try:
        return bool(pd.api.types.is_numeric_dtype(pd.api.types.pandas_dtype(name)))
    except TypeError:
        return False


def _prepare_job(
    model: Any,
    metadata: dict[str, Any] | None,
    data_file: DataFile,
    *,
    feature_columns: Sequence[str] | None,
    id_columns: Sequence[str],
    passthrough: Sequence[str] | str,
    top_k: int,
    output_format: str,
) -> _Job:
    """Check the input's columns against the model, before any work."""
    classifier = classifier_of(model)
    file_columns = data_file.columns
    where = f"input file '{data_file.path}'"
    for key, names in (("id_columns", id_columns), ("passthrough", passthrough)):
        if isinstance(names, str):
            continue
        absent = [n for n in names if n not in file_columns]
        if absent:
            raise SchemaError(
                f"{key} names columns {absent} that are not in the {where}; its columns are "
                f"{_short_list(file_columns)}."
            )
    expected = getattr(model, "feature_names_in_", None)
    if feature_columns is not None:
        features = [str(c) for c in feature_columns]
        if expected is not None and features != [str(c) for c in expected]:
            raise SchemaError(
                f"feature_columns {_short_list(features)} differ from the features the model "
                f"was fitted on, {_short_list(list(expected))}; leave feature_columns unset "
                f"to use the model's."
            )
    elif expected is not None:
        features = [str(c) for c in expected]
    else:
        others = set(id_columns) | (set() if isinstance(passthrough, str) else set(passthrough))
        features = [c for c in file_columns if c not in others]
    n_expected = getattr(model, "n_features_in_", None)
    if expected is None and n_expected is not None and len(features) != n_expected:
        raise SchemaError(
            f"The model expects {n_expected} features (it was fitted without column names) "
            f"but {len(features)} columns are chosen from the {where}: "
            f"{_short_list(features)}. Give feature_columns, in training order."
        )
    present = set(file_columns)
    missing = [c for c in features if c not in present]
    if missing:
        raise SchemaError(
            f"The {where} lacks {len(missing)} of the model's {len(features)} feature "
            f"columns: {_short_list(missing)}. The model expects {_short_list(features)}; "
            f"the file has {_short_list(file_columns)}."
        )
    kinds = _feature_kinds(model, metadata, features, data_file)
    if passthrough == "all":
        passthrough = [c for c in file_columns if c not in features and c not in id_columns]
    elif isinstance(passthrough, str):
        raise SchemaError(
            f"passthrough must be a list of column names or 'all'; got {passthrough!r}."
        )
    copied = list(dict.fromkeys([*id_columns, *passthrough]))
    read_fields = {}
    file_types = {f.name: f.type for f in data_file.schema}
    for name in dict.fromkeys([*copied, *features]):
        file_type = file_types[name]
        if name in kinds:
            _check_feature_type(data_file, name, kinds[name], file_type)
        if data_file.format == "csv":
            # CSV ids and passthrough columns are copied as written ("007" stays "007").
            read_type = pa.float64() if kinds.get(name) == "number" else pa.string()
        else:
            read_type = file_type
        read_fields[name] = pa.field(name, read_type)
    read_schema = pa.schema(list(read_fields.values()))
    classes = _classes(classifier)
    dictionaries = tuple(_label_dictionary(c) for c in classes)
    levels = tuple(str(level) for level in classifier.levels_)
    return _Job(
        features=tuple(features),
        text_features=frozenset(n for n, k in kinds.items() if k == "text"),
        categorical_features=_category_value_kinds(
            model, metadata, [n for n in features if kinds[n] == "category"]
        ),
        empty_category_is_missing=data_file.format == "csv",
        named_features=expected is not None,
        copied_columns=tuple(copied),
        read_schema=read_schema,
        levels=levels,
        indexers=tuple(pd.Index(c) for c in classes),
        dictionaries=dictionaries,
        top_k=top_k,
        allow_nan=bool(get_tags(classifier).input_tags.allow_nan),
        output_schema=_output_schema(read_schema, copied, levels, dictionaries, top_k),
        output_format=output_format,
    )


def _check_feature_type(data_file: DataFile, name: str, kind: str, file_type: pa.DataType) -> None:
    if kind == "category":
        if data_file.format == "parquet" and not (_is_text(file_type) or _is_numeric(file_type)):
            raise SchemaError(
                f"Categorical feature column {name!r} of '{data_file.path}' has type "
                f"{file_type}; the model needs text or numbers there (its categories)."
            )
        return
    if kind == "number":
        if _is_numeric(file_type):
            return
        if data_file.format == "csv" or _is_text(file_type):
            found = find_unparsable_value(data_file, name)
            if found is None:
                return  # text that reads as numbers throughout: converted per chunk
            row, value = found
            raise SchemaError(
                f"Feature column {name!r} of '{data_file.path}' must hold numbers, but row "
                f"{row:,} (0-based, header excluded) has {value!r}. Fix or drop that row, "
                f"or write missing values as empty cells."
            )
        found = find_unparsable_value(data_file, name)
        first = f"; first value at row {found[0]:,}: {found[1]!r}" if found else ""
        raise SchemaError(
            f"Feature column {name!r} of '{data_file.path}' has type {file_type}, but the "
            f"model needs numbers there{first}."
        )
    if data_file.format == "parquet" and not _is_text(file_type):
        found = find_unparsable_value(data_file, name)
        first = f"; first value at row {found[0]:,}: {found[1]!r}" if found else ""
        raise SchemaError(
            f"Feature column {name!r} of '{data_file.path}' has type {file_type}, but the "
            f"model was trained on text there{first}."
        )


# ------------------------------------------------------------------ one chunk
def _take(dictionary: pa.Array, indices: np.ndarray) -> pa.Array:
    return dictionary.take(pa.array(indices, mask=indices < 0))


def _join_path(pieces: Sequence[pa.Array]) -> pa.Array:
    """Labels joined by " > ", stopping at the first null (a path's nulls are trailing)."""
    # Level by level rather than null_handling="skip", which drops rows in pyarrow 26.
    joined = pieces[0]
    for piece in pieces[1:]:
        longer = pc.binary_join_element_wise(joined, piece, _PATH_SEPARATOR)
        joined = pc.if_else(pc.is_valid(piece), longer, joined)
    return joined


def _float_column(column: pa.ChunkedArray, name: str, where: Callable[[int], str]) -> np.ndarray:
    if column.type == pa.float64() and column.num_chunks == 1:
        return column.chunk(0).to_numpy(zero_copy_only=False)  # no copy without nulls
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    try:
        column = pc.cast(column, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        values = column.combine_chunks()
        for position in range(len(values)):
            try:
                pc.cast(values.slice(position, 1), pa.float64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise SchemaError(
                    f"Feature column {name!r} must hold numbers, but {where(position)} has "
                    f"{values[position].as_py()!r}."
                ) from None
        raise
    return column.to_numpy()


def _category_values(column: pa.ChunkedArray, kind: str, empty_is_missing: bool) -> np.ndarray:
    """Values of a categorical column as the model saw them at fit (see ``_Job``).

    Returns an object array; NaN marks a missing value (and ``""`` with
    ``empty_is_missing``) or, for ``"integer"`` and ``"float"``, one that is not a
    number (never a category of such a column). Values the model has not seen stay
    as they are: its encoding makes them missing.
    """
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if empty_is_missing and _is_text(column.type):
        column = pc.if_else(pc.equal(column, ""), pa.scalar(None, column.type), column)
    if kind == "text":
        if not _is_text(column.type):
            column = pc.cast(column, pa.string())
        values = column.to_numpy(zero_copy_only=False)
    elif kind in ("integer", "float"):
        if _is_text(column.type):
            text = pd.Series(column.to_numpy(zero_copy_only=False), dtype=object)
            numbers = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
        else:
            numbers = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
        if kind == "float":
            values = numbers.astype(object)
        else:
            whole = np.isfinite(numbers) & (numbers == np.round(numbers))
            values = np.full(len(numbers), np.nan, dtype=object)
            values[whole] = numbers[whole].astype(np.int64).tolist()
    else:
        values = column.to_numpy(zero_copy_only=False)
    values = np.asarray(values, dtype=object)
    # One missing marker: scikit-learn's encoders match NaN with NaN but not None with NaN.
    values[pd.isna(values)] = np.nan
    return values


def _constant(message: str) -> Callable[[int], str]:
    return lambda row: message


def _row_namer(offset: int) -> Callable[[int], str]:
    """Name a chunk's row by its position in the input file (0-based, header excluded)."""
    return lambda position: f"row {offset + position:,}"


def _describe(value: float) -> str:
    return "missing (NaN)" if np.isnan(value) else f"infinite ({value})"


def _non_finite_rows(X: np.ndarray, allow_nan: bool) -> np.ndarray:
    """Rows with a value the model cannot take (NaN unless allowed, or infinite)."""
    if not allow_nan:
        # A sum is finite when every value is (or it overflowed: checked below); one
        # pass with no (n, d) temporary, and no per-row work in the usual clean chunk.
        if np.isfinite(X.sum()):
            return np.empty(0, dtype=np.intp)
        suspects = np.flatnonzero(~np.isfinite(X.sum(axis=1)))
        if not suspects.size:
            return suspects
        return suspects[~np.isfinite(X[suspects]).all(axis=1)]
    return np.flatnonzero(np.isinf(X).any(axis=1))


def _design_matrix(
    model: Any, job: _Job, table: pa.Table, where: Callable[[int], str]
) -> tuple[Any, np.ndarray, dict[int, str]]:
    """Build the classifier's input for the scorable rows.

    Returns the input, the positions of those rows, and the reason why each other
    row cannot be scored (row -> text).
    """
    n = table.num_rows
    classifier = classifier_of(model)
    reasons: dict[int, str] = {}
    unscorable = np.zeros(n, dtype=bool)

    def mark(rows: np.ndarray, message: Callable[[int], str]) -> None:
        for row in rows.tolist():
            if not unscorable[row]:
                unscorable[row] = True
                reasons[row] = message(row)

    if model is classifier:
        numeric = job.numeric_features
        X = np.empty((n, len(numeric)))
        for j, name in enumerate(numeric):
            X[:, j] = _float_column(table.column(name), name, where)
        bad_rows = _non_finite_rows(X, job.allow_nan)
        if bad_rows.size:
            bad = np.isinf(X[bad_rows]) if job.allow_nan else ~np.isfinite(X[bad_rows])
            first = dict(zip(bad_rows.tolist(), bad.argmax(axis=1).tolist(), strict=True))
            mark(
                bad_rows,
                lambda row: f"feature {numeric[first[row]]!r} is {_describe(X[row, first[row]])}",
            )
        good = np.flatnonzero(~unscorable) if bad_rows.size else np.arange(n)
        if job.categorical_features:
            # The classifier encodes categories into its fitted codes itself (unseen: missing).
            frame = pd.DataFrame(X, columns=numeric, copy=False)
            for name, kind in job.categorical_features.items():
                frame[name] = _category_values(
                    table.column(name), kind, job.empty_category_is_missing
                )
            frame = frame[list(job.features)]
            return (frame if good.size == n else frame.iloc[good]), good, reasons
        X_good = X if good.size == n else X[good]
        if job.named_features:
            X_good = pd.DataFrame(X_good, columns=list(job.features), copy=False)
        return X_good, good, reasons
    columns: dict[str, np.ndarray] = {}
    for name in job.features:
        column = table.column(name)
        if name in job.categorical_features:
            columns[name] = _category_values(
                column, job.categorical_features[name], job.empty_category_is_missing
            )
        elif name in job.text_features:
            if pa.types.is_dictionary(column.type):
                column = column.cast(column.type.value_type)
            missing = np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))
            mark(missing, _constant(f"missing value in text column {name!r}"))
            columns[name] = column.to_numpy(zero_copy_only=False)
        else:
            columns[name] = _float_column(column, name, where)
    numeric = job.numeric_features
    good = np.flatnonzero(~unscorable)
    frame = pd.DataFrame(columns, columns=list(job.features))
    if not good.size:
        return None, good, reasons
    transformed = model[:-1].transform(frame if good.size == n else frame.iloc[good])
    if not job.allow_nan:
        if sp.issparse(transformed):
            matrix = transformed.tocsr()
            row_of = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
            bad_local = np.unique(row_of[~np.isfinite(matrix.data)])
        else:
            bad_local = _non_finite_rows(np.asarray(transformed, dtype=float), False)
        if bad_local.size:
            inputs_nan = (
                np.column_stack([np.isnan(columns[c]) for c in numeric]) if numeric else None
            )

            def message(row: int) -> str:
                if inputs_nan is not None and inputs_nan[row].any():
                    return f"feature {numeric[int(inputs_nan[row].argmax())]!r} is missing (NaN)"
                return "non-finite value after the model's preprocessing steps"

            mark(good[bad_local], message)
            keep = np.setdiff1d(np.arange(len(good)), bad_local)
            transformed = (
                transformed.iloc[keep]  # a preprocessing step with set_output("pandas")
                if isinstance(transformed, pd.DataFrame)
                else transformed[keep]
            )
            good = good[keep]
    return transformed, good, reasons


def _label_column(values: np.ndarray, good: np.ndarray, n: int, data_type: pa.DataType) -> pa.Array:
    """Labels of the scored rows as an Arrow column of all ``n`` rows (null elsewhere)."""
    if good.size != n:
        full = np.full(n, None, dtype=object)
        full[good] = values
        values = full
    try:
        return pa.array(values, type=data_type, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # labels of mixed types, kept as text
        return pa.array([None if v is None else str(v) for v in values.tolist()], type=data_type)


def _score_chunk(model: Any, job: _Job, table: pa.Table, where: Callable[[int], str]) -> pa.Table:
    """Score one chunk; rows that cannot be scored get a reason instead of labels."""
    n = table.num_rows
    classifier = classifier_of(model)
    X, good, reasons = _design_matrix(model, job, table, where)
    n_levels = len(job.levels)
    level_proba = np.full((n, n_levels), np.nan)
    path_proba = np.full(n, np.nan)
    labels = None
    top = None
    if good.size:
        paths = classifier.predict_paths(X)
        labels = paths.labels
        if good.size == n:
            level_proba, path_proba = paths.level_proba, paths.path_proba
        else:
            level_proba[good] = paths.level_proba
            path_proba[good] = paths.path_proba
        if job.top_k:
            top = classifier.predict_top_k(X, k=job.top_k)
    arrays: list[Any] = [table.column(name) for name in job.copied_columns]
    depth = np.zeros(n, dtype=np.int64)
    if labels is None:
        labels = np.full((0, n_levels), None, dtype=object)
    for j, dictionary in enumerate(job.dictionaries):
        column = _label_column(labels[:, j], good, n, dictionary.type)
        depth += column.is_valid().to_numpy(zero_copy_only=False)
        arrays.append(column)
        arrays.append(pa.array(level_proba[:, j], from_pandas=True))
    arrays.append(pa.array(path_proba, from_pandas=True))
    arrays.append(_take(pa.array(job.levels), np.where(depth < n_levels, depth - 1, -1)))
    for i in range(job.top_k):
        slot_proba = np.full(n, np.nan)
        pieces = []
        for j, dictionary in enumerate(job.dictionaries):
            slot = labels[:, 0] if top is None else top.labels[:, i, j]  # all None without top
            column = _label_column(slot, good, n, dictionary.type)
            pieces.append(column if pa.types.is_string(column.type) else column.cast(pa.string()))
        if top is not None:
            slot_proba[good] = top.proba[:, i]
        empty = pa.array(np.isnan(slot_proba))
        arrays.append(pc.if_else(empty, pa.scalar(None, pa.string()), _join_path(pieces)))
        arrays.append(pa.array(slot_proba, from_pandas=True))
    if reasons:
        errors = np.full(n, None, dtype=object)
        errors[list(reasons)] = list(reasons.values())
        arrays.append(pa.array(errors, type=pa.string()))
    else:
        arrays.append(pa.nulls(n, pa.string()))
    return pa.Table.from_arrays(arrays, schema=job.output_schema)


# ------------------------------------------------------------------ tallies
@dataclass
class _Tally:
    """Counts over output parts; added up part by part."""

    rows: int
    failed: int
    stopped: int
    low_confidence: int
    counts: list[np.ndarray]

    @classmethod
    def empty(cls, job: _Job) -> _Tally:
        return cls(0, 0, 0, 0, [np.zeros(len(d), dtype=np.int64) for d in job.dictionaries])

    def add(self, other: _Tally) -> None:
        self.rows += other.rows
        self.failed += other.failed
        self.stopped += other.stopped
        self.low_confidence += other.low_confidence
        for mine, theirs in zip(self.counts, other.counts, strict=True):
            mine += theirs


def _tally_table(table: pa.Table, job: _Job, confidence: float) -> _Tally:
    counts = []
    for level, dictionary in zip(job.levels, job.dictionaries, strict=True):
        positions = pc.fill_null(pc.index_in(table.column(level), value_set=dictionary), -1)
        positions = positions.to_numpy()
        counts.append(np.bincount(positions[positions >= 0], minlength=len(dictionary)))
    low = pc.sum(pc.less(table.column("path_proba"), confidence)).as_py() or 0
    n = table.num_rows
    return _Tally(
        rows=n,
        failed=n - table.column("scoring_error").null_count,
        stopped=n - table.column("stopped_at_level").null_count,
        low_confidence=int(low),
        counts=counts,
    )


_TALLY_COLUMNS = ("path_proba", "stopped_at_level", "scoring_error")


def _read_part(path: Path, job: _Job) -> pa.Table:
    columns = [*job.levels, *_TALLY_COLUMNS]
    if job.output_format == "parquet":
        return pq.read_table(path, columns=columns, pre_buffer=False)
    types = {name: job.output_schema.field(name).type for name in columns}
    return pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(
            include_columns=columns, column_types=types, strings_can_be_null=True
        ),
    )


# ----------------------------------------------------------------- drift
_BASELINES = (
    ("predicted_class_counts", "the model's predictions on its training data"),
    ("class_counts", "the training labels"),
)


def _training_baseline(
    metadata: dict[str, Any] | None, job: _Job
) -> tuple[list[np.ndarray] | None, float | None, str | None]:
    """Return the baseline counts per level (aligned with the model's classes).

    Also returns the baseline share of paths ending above the last level, and what
    the baseline is (or, without one, why).
    """
    training = (metadata or {}).get("training_data") or {}
    found = [(key, description) for key, description in _BASELINES if training.get(key)]
    if not found:
        return None, None, "no training distribution in the artifact"
    key, description = found[0]
    levels = training[key]
    baseline = []
    for j, entry in enumerate(levels):
        keys = [str(as_python(label)) for label in job.indexers[j].tolist()]
        counts = entry.get("counts", {})
        baseline.append(np.array([counts.get(k, 0) for k in keys], dtype=np.int64))
    n_samples = training.get("n_samples") or 0
    stopped = levels[-1].get("n_missing", 0) / n_samples if n_samples else None
    return baseline, stopped, description


def _level_drift(
    level: str, labels: pd.Index, training: np.ndarray, predicted: np.ndarray
) -> LevelDrift:
    p_total, q_total = int(training.sum()), int(predicted.sum())
    p = training / p_total if p_total else np.zeros(len(training))
    q = predicted / q_total if q_total else np.zeros(len(predicted))
    present = (p > 0) | (q > 0)
    p_floor, q_floor = np.maximum(p[present], PSI_EPSILON), np.maximum(q[present], PSI_EPSILON)
    psi = (
        float(np.sum((q_floor - p_floor) * np.log(q_floor / p_floor))) if q_total else float("nan")
    )
    order = np.argsort(-np.abs(q - p), kind="stable")[:_TOP_CHANGES]
    changes = tuple(
        ClassShift(as_python(labels[i]), float(p[i]), float(q[i])) for i in order if p[i] != q[i]
    )
    return LevelDrift(level, psi, p_total, q_total, changes)


# -------------------------------------------------------------- manifest
def _part_name(index: int, output_format: str) -> str:
    return f"{_PART_PREFIX}{index:06d}.{output_format}"


def _model_fingerprint(model: Any) -> str:
    """SHA-256 of the model's pickle, streamed (no copy of a large model in memory)."""

    class _Digest:
        def __init__(self) -> None:
            self.sha = hashlib.sha256()

        def write(self, data: Any) -> int:
            view = memoryview(data)  # protocol 5 hands large arrays over as PickleBuffer
            self.sha.update(view)
            return view.nbytes

    sink = _Digest()
    pickle.Pickler(sink, protocol=5).dump(model)
    return sink.sha.hexdigest()


def _identity(
    data_file: DataFile, model_fingerprint: str, hierarchy: str, job: _Job, layout: dict[str, Any]
) -> dict[str, Any]:
    return {
        "input": {**file_identity(data_file.path), "format": data_file.format},
        "model": {"fingerprint": model_fingerprint, "hierarchy_fingerprint": hierarchy},
        "output": {
            "format": job.output_format,
            "columns": job.output_schema.names,
            "top_k": job.top_k,
            "features": list(job.features),
        },
        "layout": layout,
    }


def _differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    found = []
    old_input, new_input = old.get("input", {}), new["input"]
    if old_input.get("path") != new_input["path"]:
        found.append(f"input file '{old_input.get('path')}' -> '{new_input['path']}'")
    else:
        for key in ("size", "mtime_ns", "ends_sha256"):
            if old_input.get(key) != new_input[key]:
                found.append(
                    f"input file changed since the parts were written ({key} "
                    f"{old_input.get(key)} -> {new_input[key]})"
                )
                break
    old_model, new_model = old.get("model", {}), new["model"]
    if old_model.get("hierarchy_fingerprint") != new_model["hierarchy_fingerprint"]:
        found.append("a model with another class tree (hierarchy fingerprint differs)")
    elif old_model.get("fingerprint") != new_model["fingerprint"]:
        found.append(
            f"another model (fingerprint {str(old_model.get('fingerprint'))[:12]}... -> "
            f"{new_model['fingerprint'][:12]}...)"
        )
    for section in ("output", "layout"):
        old_part, new_part = old.get(section, {}), new[section]
        for key in sorted(set(old_part) | set(new_part)):
            if old_part.get(key) != new_part.get(key):
                found.append(
                    f"{section} setting {key}: {old_part.get(key)!r} -> {new_part.get(key)!r}"
                )
    return found


def _our_files(directory: Path) -> list[Path]:
    return [
        path
        for path in directory.iterdir()
        if path.name in (MANIFEST_FILE, SUMMARY_FILE)
        or path.name.startswith(_PART_PREFIX)
        or (
            path.name.startswith((f".{_PART_PREFIX}", f".{MANIFEST_FILE}", f".{SUMMARY_FILE}"))
            and path.name.endswith(".tmp")
        )
    ]


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on the output directory (released even on a kill)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    with open(directory / _LOCK_FILE, "a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise OutputConflictError(
                f"Another process is writing to '{directory}' right now; wait for it to "
                f"finish, or choose another output directory."
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _open_output(
    directory: Path, identity: dict[str, Any], overwrite: bool
) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
    """Return the manifest to continue (or a fresh one) and the parts it lists as written."""
    manifest_path = directory / MANIFEST_FILE
    previous = None
    if manifest_path.exists():
        try:
            previous = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            previous = {"kind": "unreadable"}
        if previous.get("kind") != _MANIFEST_KIND:
            problems = [f"its {MANIFEST_FILE} is not a readable hiercls manifest"]
        else:
            problems = _differences(previous["identity"], identity)
        if problems and not overwrite:
            raise OutputConflictError(
                f"'{directory}' holds the output of another job: {'; '.join(problems)}. The "
                f"parts already there are kept. Pass overwrite=True (overwrite=true on the "
                f"command line) to replace them, or choose another output directory."
            )
        if problems:
            previous = None
    else:
        foreign = [
            p.name
            for p in directory.iterdir()
            if p.name != _LOCK_FILE and p not in _our_files(directory)
        ]
        if (foreign or _our_files(directory)) and not overwrite:
            raise OutputConflictError(
                f"'{directory}' is not empty ({_short_list(sorted(foreign) or ['part files'], 5)}) "
                f"and has no {MANIFEST_FILE}; choose an empty or new output directory, or pass "
                f"overwrite=True (which deletes only part-*, {MANIFEST_FILE} and {SUMMARY_FILE})."
            )
    if previous is None:
        for path in _our_files(directory):
            path.unlink()
        return {
            "kind": _MANIFEST_KIND,
            "version": _MANIFEST_VERSION,
            "identity": identity,
            "parts": {},
            "complete": False,
            "n_parts": None,
            "rows": None,
        }, {}
    for path in directory.glob(".*.tmp"):  # leftovers of a killed run
        if path in _our_files(directory):
            path.unlink()
    previous["identity"] = identity
    return previous, {int(k): v for k, v in previous.get("parts", {}).items()}


# ------------------------------------------------------------ the runs
class _Run:
    """Bookkeeping shared by the engines: manifest, tallies, progress."""

    def __init__(
        self, directory: Path, manifest: dict[str, Any], job: _Job, confidence: float, progress: Any
    ) -> None:
        self.directory = directory
        self.manifest = manifest
        self.job = job
        self.confidence = confidence
        self.progress = progress
        self.tally = _Tally.empty(job)
        self.rows_now = 0
        self.parts_now = 0

    def save(self) -> None:
        self.manifest["updated_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        write_json_atomic(self.directory / MANIFEST_FILE, self.manifest)

    def reuse(self, done: dict[int, dict[str, Any]]) -> set[int]:
        """Tally parts written by an earlier run; return those that are intact."""
        intact = set()
        for index, entry in sorted(done.items()):
            path = self.directory / entry["file"]
            try:
                table = _read_part(path, self.job)
            except (OSError, pa.ArrowInvalid):
                table = None
            if table is None or table.num_rows != entry["rows"]:
                logger.warning("Part %s is missing or damaged; scoring it again", path.name)
                self.manifest["parts"].pop(str(index), None)
                continue
            self.tally.add(_tally_table(table, self.job, self.confidence))
            self.progress.update(entry["rows"])
            intact.add(index)
        return intact

    def record(self, index: int, table: pa.Table, first_row: int | None) -> None:
        self.tally.add(_tally_table(table, self.job, self.confidence))
        self.manifest["parts"][str(index)] = {
            "file": _part_name(index, self.job.output_format),
            "rows": table.num_rows,
            "first_row": first_row,
        }
        self.save()
        self.rows_now += table.num_rows
        self.parts_now += 1
        self.progress.update(table.num_rows)


def _csv_error(data_file: DataFile, job: _Job, error: Exception, start_row: int) -> SchemaError:
    """Turn an Arrow CSV conversion error into one naming the column and row."""
    column = csv_column_of_error(data_file, error, data_file.columns)
    candidates = [column] if column in job.numeric_features else job.numeric_features
    for name in candidates:
        found = find_unparsable_value(data_file, name, start_row=start_row)
        if found is not None:
            row, value = found
            return SchemaError(
                f"Feature column {name!r} of '{data_file.path}' must hold numbers, but row "
                f"{row:,} (0-based, header excluded) has {value!r}. Parts written so far are "
                f"kept; fix the file and run again with overwrite=True."
            )
    return SchemaError(f"Cannot read '{data_file.path}': {error}")


def _missing_runs(n_parts: int | None, intact: set[int]) -> list[tuple[int, int | None]]:
    """List runs (first, count) of parts to score; count None runs to the end of the file."""
    limit = n_parts if n_parts is not None else (max(intact) + 1 if intact else 0)
    runs: list[tuple[int, int | None]] = []
    index = 0
    while index < limit:
        if index in intact:
            index += 1
            continue
        start = index
        while index < limit and index not in intact:
            index += 1
        runs.append((start, index - start))
    if n_parts is None:
        runs.append((limit, None))
    return runs


def _read_ahead(chunks: Iterator[pa.Table]) -> Iterator[pa.Table]:
    """Yield from ``chunks`` while a thread already reads the next one.

    Arrow reads without the GIL, so on two cores the read hides behind the scoring of
    the previous chunk; one chunk waits at most, so memory stays bounded.
    """
    slot: queue.Queue[tuple[Any, BaseException | None]] = queue.Queue(maxsize=1)
    stop = threading.Event()
    end = object()

    def produce() -> None:
        try:
            while not stop.is_set():
                chunk = next(chunks, end)
                slot.put((chunk, None))
                if chunk is end:
                    return
        except BaseException as exc:  # noqa: BLE001 - handed over to the consumer
            slot.put((end, exc))

    thread = threading.Thread(target=produce, name="hiercls-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            chunk, error = slot.get()
            if error is not None:
                raise error
            if chunk is end:
                return
            yield chunk
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting to hand over a chunk
            with contextlib.suppress(queue.Empty):
                slot.get(timeout=0.01)
        chunks.close()  # type: ignore[attr-defined]


def _write_and_record(run: _Run, index: int, table: pa.Table, first_row: int) -> None:
    _write_part(table, run.directory / _part_name(index, run.job.output_format), run.job)
    run.record(index, table, first_row)


def _run_local(
    model: Any, job: _Job, data_file: DataFile, run: _Run, chunk_rows: int, intact: set[int]
) -> None:
    n_parts = (
        math.ceil(data_file.n_rows / chunk_rows)
        if data_file.n_rows is not None
        else run.manifest.get("n_parts")
    )
    last = -1
    pending: Future[None] | None = None

    def wait_for_pending() -> None:
        nonlocal pending
        if pending is not None:
            done, pending = pending, None
            done.result()

    # Parts are written (and recorded in the manifest) by one thread, in order, while
    # the next chunk is scored; one part is in flight at most.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="hiercls-write") as writer:
        try:
            for first, count in _missing_runs(n_parts, intact):
                chunks = _read_ahead(
                    iter_chunks(
                        data_file,
                        job.read_columns,
                        chunk_rows=chunk_rows,
                        start_row=first * chunk_rows,
                        column_types={f.name: f.type for f in job.read_schema},
                    )
                )
                index = first
                try:
                    for table in chunks:
                        offset = index * chunk_rows
                        scored = _score_chunk(model, job, table, _row_namer(offset))
                        wait_for_pending()
                        pending = writer.submit(_write_and_record, run, index, scored, offset)
                        last = max(last, index)
                        index += 1
                        if count is not None and index - first >= count:
                            break
                except pa.ArrowInvalid as exc:
                    if data_file.format != "csv":
                        raise SchemaError(
                            f"Cannot read '{data_file.path}' after row {index * chunk_rows:,} "
                            f"({exc}); the file is damaged. Parts written so far are kept."
                        ) from None
                    raise _csv_error(data_file, job, exc, index * chunk_rows) from None
                finally:
                    chunks.close()  # type: ignore[attr-defined]
            wait_for_pending()
        except BaseException:
            # The part in flight lands and is recorded before the error is reported.
            if pending is not None:
                with contextlib.suppress(Exception):
                    pending.result()
            raise
    total = max([last, *intact], default=-1) + 1
    run.manifest["n_parts"] = n_parts if n_parts is not None else total


def _write_part(table: pa.Table, path: Path, job: _Job) -> None:
    write_table_atomic(table, path, job.output_format)


def _score_partition(
    frame: pd.DataFrame, model: Any, job: _Job, directory: str, partition_info: Any = None
) -> pd.DataFrame:
    """Dask worker task: score one partition and write it as one part."""
    settle_worker_allocator()
    index = int(partition_info["number"]) if partition_info else 0
    table = pa.Table.from_pandas(frame, preserve_index=False).select(job.read_columns)
    table = table.cast(job.read_schema)
    scored = _score_chunk(
        model, job, table, lambda position: f"row {position:,} of partition {index}"
    )
    _write_part(scored, Path(directory) / _part_name(index, job.output_format), job)
    return pd.DataFrame({"part": [index], "rows": [scored.num_rows]})


def _dask_frame(dd: Any, data_file: DataFile, job: _Job, engine: DaskEngine) -> Any:
    if data_file.format == "parquet":
        return dd.read_parquet(
            str(data_file.path),
            columns=job.read_columns,
            split_row_groups=True,
            dtype_backend="pyarrow",
        )
    null_values = pacsv.ConvertOptions().null_values
    numbers = job.numeric_features
    # The same parsing as the local engine: Arrow's null markers for numbers only,
    # text kept as written, floats correctly rounded.
    # pandas < 3 rounds some decimals differently from Arrow unless told to round-trip;
    # pandas 3 does it by default and deprecates the option.
    precision = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}
    return dd.read_csv(
        str(data_file.path),
        blocksize=engine.blocksize,
        usecols=job.read_columns,
        dtype={c: ("float64" if c in numbers else "string") for c in job.read_columns},
        keep_default_na=False,
        na_values={c: null_values for c in numbers},
        **precision,
    )


def _dask_layout(data_file: DataFile, engine: DaskEngine) -> dict[str, Any]:
    if data_file.format == "parquet":
        return {"engine": "dask", "partitions": "parquet row groups"}
    return {"engine": "dask", "partitions": f"csv blocks of {engine.blocksize}"}


def _run_dask(
    model: Any, job: _Job, data_file: DataFile, run: _Run, engine: DaskEngine, intact: set[int]
) -> None:
    dd = import_optional("dask.dataframe", extra="dask")
    distributed = import_optional("distributed", extra="dask")
    frame = _dask_frame(dd, data_file, job, engine)
    n_parts = frame.npartitions
    if run.manifest.get("n_parts") not in (None, n_parts):
        raise OutputConflictError(
            f"'{run.directory}' was written in {run.manifest['n_parts']} parts but the input "
            f"now splits into {n_parts}; run again with overwrite=True."
        )
    run.manifest["n_parts"] = n_parts
    todo = [i for i in range(n_parts) if i not in intact]
    if not todo:
        return
    resources = contextlib.ExitStack()
    client = resources.enter_context(dask_client(engine))
    futures: list[Any] = []
    finished = False
    try:
        shared_model = client.scatter(model, broadcast=True, hash=False)
        meta = pd.DataFrame(
            {"part": pd.Series([], dtype="int64"), "rows": pd.Series([], dtype="int64")}
        )
        # Unoptimised: graph optimisation may fuse small Parquet partitions, and part i
        # must stay partition i of the input (one per row group or CSV block).
        results = frame.map_partitions(
            _score_partition, shared_model, job, str(run.directory), meta=meta
        ).to_delayed(optimize_graph=False)
        if len(results) != n_parts:
            raise RuntimeError(f"dask made {len(results)} partitions instead of {n_parts}")
        futures = client.compute([results[i] for i in todo])
        for future in distributed.as_completed(futures):
            try:
                done = future.result()
            except SchemaError:
                raise
            except (ValueError, pa.ArrowInvalid) as exc:
                if data_file.format == "csv":
                    raise _csv_error(data_file, job, exc, 0) from None
                raise
            index = int(done["part"].iloc[0])
            path = run.directory / _part_name(index, job.output_format)
            run.record(index, _read_part(path, job), None)
        finished = True
    finally:
        if futures and not finished:
            client.cancel(futures)  # parts already written stay; the rest is not started
        resources.close()


# ------------------------------------------------------------------ entry point
def _parameter_error(name: str, allowed: str, value: object) -> ValueError:
    return ValueError(
        f"The {name!r} parameter of predict_file must be {allowed}. Got {value!r} instead."
    )


def _check_int(name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise _parameter_error(name, f"an int in the range [{low}, inf)", value)
    return int(value)


def _check_names(name: str, value: object, *, allow_all: bool = False) -> list[str] | str:
    if value is None:
        return []
    if allow_all and value == "all":
        return "all"
    if isinstance(value, Sequence) and not isinstance(value, str):
        names = list(value)
        if all(isinstance(v, str) for v in names):
            return names
    allowed = "a list of column names" + (" or 'all'" if allow_all else "")
    raise _parameter_error(name, allowed, value)


def _resolve_engine(engine: Any) -> LocalEngine | DaskEngine:
    if isinstance(engine, (LocalEngine, DaskEngine)):
        return engine
    if engine == "local":
        return LocalEngine()
    if engine == "dask":
        return DaskEngine()
    raise _parameter_error("engine", "'local', 'dask', a LocalEngine or a DaskEngine", engine)


def _estimate_csv_rows(path: Path) -> int | None:
    size = path.stat().st_size
    with open(path, "rb") as handle:
        sample = handle.read(1 << 20)
    lines = sample.count(b"\n")
    if not lines:
        return None
    return max(0, round(size / (len(sample) / lines)) - 1)


def _progress_bar(total: int | None, quiet: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        unit=" rows",
        unit_scale=True,
        desc="hiercls-predict",
        smoothing=0.1,
        mininterval=1.0,
        disable=True if quiet else None,
        dynamic_ncols=True,
    )


def predict_file(
    model: Any,
    input_path: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    chunk_rows: int = 100_000,
    top_k: int = 0,
    id_columns: Sequence[str] | None = None,
    passthrough: Sequence[str] | str | None = None,
    feature_columns: Sequence[str] | None = None,
    input_format: str | None = None,
    output_format: str = "parquet",
    confidence: float = 0.5,
    overwrite: bool = False,
    quiet: bool = False,
    engine: str | LocalEngine | DaskEngine = "local",
) -> BatchSummary:
    """Score a CSV or Parquet file of any size into numbered, resumable output parts.

    The input is read in chunks of ``chunk_rows`` rows (local engine) or Dask
    partitions, so memory depends on the chunk size, not the file size. Every part
    is written under a temporary name and renamed, and ``_manifest.json`` ties the
    parts to the input file (path, size, modification time, a hash of its first and
    last MiB), the model (SHA-256 of its pickle) and the output settings. Running
    the same call again after a crash or kill scores only the missing parts; the
    result equals an uninterrupted run row for row. With another model, a changed
    input or other settings, the call refuses to mix outputs unless
    ``overwrite=True``. At the end ``_summary.json`` is written beside the parts and
    its one-line form is logged (logger ``hiercls.batch``).

    Before any work the input's columns are checked: feature columns missing from
    the file are listed by name with the model's features, a feature column that
    does not hold numbers is named with its first bad row, and other columns are
    ignored (or copied, see ``passthrough``). Rows that cannot be scored (a NaN or
    infinite feature when the model does not accept one, a missing text value) keep
    their place in the output with null labels and a ``scoring_error``.

    Categorical columns (a model fitted on a DataFrame with ``category`` or string
    columns, or a Pipeline whose artifact records ``category`` columns) are read with
    their values, converted to the type of the categories seen at fit (a CSV's
    ``"7"`` is the int category 7); a category not seen at fit, or an empty value, is
    scored as a missing value, not as an error.

    Parameters
    ----------
    model : HierarchicalClassifier, Pipeline or path-like
        A fitted model (a Pipeline must end with a HierarchicalClassifier), or the
        directory of an artifact written by :func:`hiercls.io.save_model`, which is
        loaded with :func:`hiercls.io.load_model` (a pickle: trusted sources only).
        Only an artifact carries the training class distribution for the drift
        report.
    input_path : path-like
        CSV or Parquet file.
    output_dir : path-like
        Directory for ``part-NNNNNN.<format>``, ``_manifest.json`` and
        ``_summary.json``; created if needed. It must be empty, or hold a previous
        run of the same job (which is resumed).
    chunk_rows : int, default=100_000
        Rows per chunk and per output part (local engine).
    top_k : int, default=0
        Also write the ``k`` most probable complete paths per row.
    id_columns, passthrough : list of str, default=None
        Input columns copied to the start of the output, ids first. ``passthrough``
        may be ``"all"``: every column that is neither a feature nor an id. CSV
        columns are copied as text, exactly as written.
    feature_columns : list of str, default=None
        Feature columns in training order. None uses the model's
        ``feature_names_in_``, or, for a model fitted without column names, every
        column that is not an id or passthrough column.
    input_format : {"parquet", "csv"} or None, default=None
        None infers it from the file extension.
    output_format : {"parquet", "csv"}, default="parquet"
        Format of the parts (each CSV part has its own header).
    confidence : float in [0, 1], default=0.5
        The summary reports the share of rows with ``path_proba`` below it.
    overwrite : bool, default=False
        Replace another job's output in ``output_dir`` (only ``part-*``,
        ``_manifest.json`` and ``_summary.json`` are deleted).
    quiet : bool, default=False
        No progress bar (for cron jobs); the summary is still logged.
    engine : {"local", "dask"}, LocalEngine or DaskEngine, default="local"
        ``"dask"`` is ``DaskEngine()``: a 2-worker LocalCluster.

    Returns
    -------
    summary : BatchSummary
        Rows, parts, time and throughput, failures, early stops, low-confidence
        share and drift per level.

    Raises
    ------
    SchemaError
        Missing feature, id or passthrough columns, or a feature column that does
        not hold numbers (before any part is written; for CSV, a bad value after the
        first block stops the run with the parts so far intact).
    OutputConflictError
        ``output_dir`` holds another job's output, or another process is writing
        to it.
    hiercls.io.ArtifactError
        ``model`` is a path to a damaged or foreign artifact.
    FileNotFoundError
        The input file or the model path does not exist.

    See Also
    --------
    hiercls.io.save_model : Write the artifact this function reads.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> from hiercls import HierarchicalClassifier
    >>> from hiercls.batch import predict_file
    >>> X = pd.DataFrame({"x": [-10.0, -6.0, 10.0]})
    >>> clf = HierarchicalClassifier().fit(X, [["a", "a1"], ["a", "a2"], ["b", "b1"]])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     X.assign(id=[1, 2, 3]).to_csv(f"{tmp}/in.csv", index=False)
    ...     summary = predict_file(clf, f"{tmp}/in.csv", f"{tmp}/out", id_columns=["id"],
    ...                            quiet=True)
    ...     scored = pd.read_parquet(f"{tmp}/out")
    >>> summary.rows
    3
    >>> scored[["id", "level0", "level1"]].values.tolist()
    [['1', 'a', 'a1'], ['2', 'a', 'a2'], ['3', 'b', 'b1']]
    """
    started = time.perf_counter()
    chunk_rows = _check_int("chunk_rows", chunk_rows, 1)
    top_k = _check_int("top_k", top_k, 0)
    if output_format not in ("parquet", "csv"):
        raise _parameter_error("output_format", "'parquet' or 'csv'", output_format)
    if input_format not in (None, "parquet", "csv"):
        raise _parameter_error("input_format", "'parquet', 'csv' or None", input_format)
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, (int, float))
        or not 0 <= confidence <= 1
    ):
        raise _parameter_error("confidence", "a float in the range [0, 1]", confidence)
    ids = _check_names("id_columns", id_columns)
    copied = _check_names("passthrough", passthrough, allow_all=True)
    features = None if feature_columns is None else _check_names("feature_columns", feature_columns)
    engine = _resolve_engine(engine)

    metadata = None
    if isinstance(model, (str, os.PathLike)):
        metadata = read_metadata(model)
        model = load_model(model)
    classifier = classifier_of(model)
    data_file = inspect_data_file(input_path, input_format)
    job = _prepare_job(
        model,
        metadata,
        data_file,
        feature_columns=features,
        id_columns=ids,  # type: ignore[arg-type]
        passthrough=copied,
        top_k=top_k,
        output_format=output_format,
    )
    layout = (
        {"engine": "local", "chunk_rows": chunk_rows}
        if isinstance(engine, LocalEngine)
        else _dask_layout(data_file, engine)
    )
    identity = _identity(
        data_file, _model_fingerprint(model), classifier.hierarchy_.fingerprint(), job, layout
    )
    directory = Path(output_dir)
    directory.mkdir(parents=True, exist_ok=True)
    with _locked(directory):
        manifest, done = _open_output(directory, identity, overwrite)
        manifest["complete"] = False  # until every part is checked or written again
        total = (
            data_file.n_rows
            if data_file.n_rows is not None
            else (manifest.get("rows") or _estimate_csv_rows(data_file.path))
        )
        with _progress_bar(total, quiet) as progress:
            run = _Run(directory, manifest, job, float(confidence), progress)
            run.save()
            intact = run.reuse(done)
            logger.info(
                "Scoring '%s' (%s rows) into '%s' with the %s engine%s",
                data_file.path,
                "?" if total is None else f"{total:,}",
                directory,
                engine.name,
                f"; {len(intact)} parts from an earlier run are kept" if intact else "",
            )
            if isinstance(engine, LocalEngine):
                _run_local(model, job, data_file, run, chunk_rows, intact)
            else:
                _run_dask(model, job, data_file, run, engine, intact)
        manifest["complete"] = True
        manifest["rows"] = run.tally.rows
        run.save()
        summary = _summary(run, metadata, data_file, directory, engine, started)
        write_json_atomic(directory / SUMMARY_FILE, summary.to_dict())
    logger.info(summary.line())
    return summary


def _summary(
    run: _Run,
    metadata: dict[str, Any] | None,
    data_file: DataFile,
    directory: Path,
    engine: LocalEngine | DaskEngine,
    started: float,
) -> BatchSummary:
    tally, job = run.tally, run.job
    seconds = time.perf_counter() - started
    scored = tally.rows - tally.failed
    baseline, baseline_stopped, note = _training_baseline(metadata, job)
    drift: tuple[LevelDrift, ...] = ()
    if baseline is not None:
        drift = tuple(
            _level_drift(level, indexer, base, counts)
            for level, indexer, base, counts in zip(
                job.levels, job.indexers, baseline, tally.counts, strict=True
            )
        )
    class_counts = tuple(
        {
            str(as_python(label)): int(n)
            for label, n in zip(indexer.tolist(), counts, strict=True)
            if n
        }
        for indexer, counts in zip(job.indexers, tally.counts, strict=True)
    )
    return BatchSummary(
        input=str(data_file.path),
        output=str(directory),
        engine=engine.name,
        rows=tally.rows,
        parts=len(run.manifest["parts"]),
        rows_scored_now=run.rows_now,
        parts_written_now=run.parts_now,
        seconds=seconds,
        rows_per_second=run.rows_now / seconds if seconds > 0 else 0.0,
        rows_failed=tally.failed,
        stopped_share=tally.stopped / scored if scored else 0.0,
        confidence=run.confidence,
        low_confidence_share=tally.low_confidence / scored if scored else 0.0,
        baseline_stopped_share=baseline_stopped,
        drift=drift,
        drift_baseline=note if baseline is not None else None,
        drift_note=None if baseline is not None else note,
        class_counts=class_counts,
    )
