"""Generic CSV and Parquet tables with named feature and label columns."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

import pandas as pd
from sklearn.utils import Bunch

from hiercls.exceptions import SchemaError

from ._bunch import label_frame, make_bunch, support_summary
from ._checks import check_options, parameter_error

__all__ = ["load_table"]


_PARQUET_MAGIC = b"PAR1"


def _read_table(path: str | os.PathLike[str], format: str, text_columns: list[str]) -> pd.DataFrame:
    if format == "parquet":
        return pd.read_parquet(path)
    header = pd.read_csv(path, header=None, nrows=1, dtype=str).iloc[0].tolist()
    repeated = sorted({str(name) for name in header if header.count(name) > 1})
    if repeated:  # pandas would rename the copies (a.1) and train on them silently
        raise SchemaError(
            f"{str(path)!r} has more than one column named {', '.join(map(repr, repeated))}; "
            f"column names must be unique: rename or drop the copies."
        )
    frame = pd.read_csv(path)
    # Labels and codes again as plain strings: "NA" (North America) or "007" are
    # labels, not a missing value or the number 7; only an empty cell is missing.
    present = [c for c in text_columns if c in frame.columns]
    labels = pd.read_csv(path, usecols=present, dtype=str, keep_default_na=False, na_values=[""])
    frame[present] = labels[present].astype(object)
    return frame


def unreadable_table(
    path: str | os.PathLike[str], format: str, error: Exception, format_option: str
) -> SchemaError:
    """The error for a file that cannot be read as ``format``: which file, why, what to do.

    ``format_option`` is how the caller's user names the format, e.g. ``"input_format="``.
    """
    if isinstance(error, SchemaError):
        return error
    with open(path, "rb") as file:
        head = file.read(len(_PARQUET_MAGIC))
    if not head:
        return SchemaError(f"{str(path)!r} is empty; give a file with a header line of column names.")
    if format == "csv" and head == _PARQUET_MAGIC:
        return SchemaError(f"{str(path)!r} is a Parquet file, not CSV; use {format_option}parquet.")
    if format == "parquet":
        return SchemaError(
            f"{str(path)!r} is not a Parquet file ({error}); if it is CSV text, use {format_option}csv."
        )
    if isinstance(error, UnicodeDecodeError) or "invalid UTF8" in str(error):
        return SchemaError(
            f"{str(path)!r} is not UTF-8 text ({str(error).splitlines()[0]}); save it as UTF-8, "
            f"e.g. iconv -f latin1 -t utf-8."
        )
    # A parser's message may quote the offending line, which for a binary file is noise.
    detail = re.sub(r"(got \d+|saw \d+):.*", r"\1", str(error).splitlines()[0])
    return SchemaError(
        f"{str(path)!r} cannot be read as CSV ({detail}); give comma-separated text with a header "
        f"line of column names, every line with as many fields."
    )


def load_table(
    path: str | os.PathLike[str],
    *,
    label_columns: Sequence[str] | None = None,
    feature_columns: Sequence[str] | None = None,
    text_column: str | None = None,
    categorical_columns: Sequence[str] | None = None,
    format: str = "csv",
    paths_column: str | None = None,
    path_separator: str = "|",
    level_separator: str = "/",
) -> Bunch:
    """Load a CSV or Parquet file with named feature and label columns.

    Parameters
    ----------
    path : path-like
        The file.
    label_columns : sequence of str
        Label columns, coarse (level 0) to fine. Empty cells are missing levels
        (``None``). CSV labels are read as strings, so codes like ``"007"`` keep
        their zeros.
    feature_columns : sequence of str or None, default=None
        Feature columns; ``None`` means every column that is not a label column.
    text_column : str or None, default=None
        A column of free text among the features, for a text vectorizer.
    categorical_columns : sequence of str or None, default=None
        Feature columns of codes to treat as categories (pandas ``category`` dtype),
        such as a state or an industry code. CSV values are read as strings, like
        labels. Feature columns of text other than ``text_column`` are categories
        too, listed or not.
    format : {"csv", "parquet"}, default="csv"
        File format.
    paths_column : str or None, default=None
        Instead of ``label_columns``: a column holding several label paths per row
        (a multi-label target), e.g. ``"J/J45/J45.9|E/E11"``; an empty cell is a row
        without paths.
    path_separator : str, default="|"
        Between the paths of a ``paths_column`` cell.
    level_separator : str, default="/"
        Between the labels of one path, coarse to fine.

    Returns
    -------
    data : Bunch
        ``data``, ``target``, ``feature_names``, ``level_names``, ``text_column``
        and ``DESCR``. With ``paths_column``: ``target_sets`` (per row, a list of
        paths as tuples) instead of ``target`` and ``level_names`` (both None).

    Raises
    ------
    SchemaError
        When a named column is not in the file.
    """
    func = "load_table"
    format = check_options(func, "format", format, ("csv", "parquet"))
    if paths_column is not None:
        if label_columns:
            raise ValueError(
                "load_table takes label_columns (one path per row) or paths_column (several "
                "paths per row), not both."
            )
        if not path_separator or not level_separator or path_separator == level_separator:
            raise ValueError(
                f"path_separator and level_separator must be two different non-empty strings; "
                f"got {path_separator!r} and {level_separator!r}."
            )
        label_columns = [paths_column]
    elif isinstance(label_columns, str) or not label_columns:
        raise parameter_error(
            func, "label_columns", "a non-empty list of column names (or paths_column)", label_columns
        )
    label_columns = list(label_columns)
    if categorical_columns is None:
        categorical_columns = []
    elif isinstance(categorical_columns, str):
        raise parameter_error(
            func, "categorical_columns", "a list of column names or None", categorical_columns
        )
    categorical_columns = list(categorical_columns)
    try:
        frame = _read_table(path, format, label_columns + categorical_columns)
    except (ValueError, OSError) as exc:
        if isinstance(exc, (FileNotFoundError, PermissionError)):
            raise
        raise unreadable_table(path, format, exc, "format=") from None
    if feature_columns is None:
        feature_columns = [c for c in frame.columns if c not in label_columns]
    feature_columns = list(feature_columns)
    wanted = (
        label_columns
        + feature_columns
        + ([text_column] if text_column else [])
        + categorical_columns
    )
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{str(path)!r} has no column(s) {missing}; its columns are {list(frame.columns)}. "
            "Fix label_columns, feature_columns or text_column."
        )
    if text_column and text_column not in feature_columns:
        feature_columns.append(text_column)
    for name in feature_columns:
        column = frame[name]
        # HierarchicalClassifier treats text columns as categories anyway; the dtype
        # says so to the preprocessing of hiercls-train and to batch prediction.
        if name in categorical_columns or (
            name != text_column
            and not isinstance(column.dtype, pd.CategoricalDtype)
            and (
                pd.api.types.is_string_dtype(column)
                and pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty")
            )
        ):
            frame[name] = column.astype("category")
    if paths_column is not None:
        sets = [_split_paths(cell, path_separator, level_separator) for cell in frame[paths_column]]
        n_paths = sum(len(paths) for paths in sets)
        descr = (
            f"Table {str(path)!r} ({format}): {len(frame)} rows, {n_paths} (row, path) pairs in "
            f"column {paths_column!r}, {len({p for paths in sets for p in paths})} distinct paths."
        )
        return Bunch(
            data=frame[feature_columns],
            target=None,
            target_sets=sets,
            feature_names=list(feature_columns),
            level_names=None,
            text_column=text_column,
            DESCR=descr,
        )
    target = frame[label_columns]
    descr = f"Table {str(path)!r} ({format}): {len(frame)} rows.\n" + support_summary(
        label_frame(target)
    )
    return make_bunch(frame[feature_columns], target, text_column=text_column, descr=descr)


def _split_paths(cell: object, path_separator: str, level_separator: str) -> list[tuple[str, ...]]:
    """``"J/J45|E"`` -> ``[("J", "J45"), ("E",)]``; an empty or missing cell -> ``[]``."""
    if not isinstance(cell, str):
        return []
    paths = []
    for text in cell.split(path_separator):
        labels = tuple(label.strip() for label in text.split(level_separator))
        if any(labels) and labels not in paths:
            paths.append(labels)
    return paths
