"""Generic CSV and Parquet tables with named feature and label columns."""

from __future__ import annotations

import os
from collections.abc import Sequence

import pandas as pd
from sklearn.utils import Bunch

from hiercls.exceptions import SchemaError

from ._bunch import label_frame, make_bunch, support_summary
from ._checks import check_options, parameter_error

__all__ = ["load_table"]


def load_table(
    path: str | os.PathLike[str],
    *,
    label_columns: Sequence[str],
    feature_columns: Sequence[str] | None = None,
    text_column: str | None = None,
    categorical_columns: Sequence[str] | None = None,
    format: str = "csv",
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

    Returns
    -------
    data : Bunch
        ``data``, ``target``, ``feature_names``, ``level_names``, ``text_column``
        and ``DESCR``.

    Raises
    ------
    SchemaError
        When a named column is not in the file.
    """
    func = "load_table"
    format = check_options(func, "format", format, ("csv", "parquet"))
    if isinstance(label_columns, str) or not label_columns:
        raise parameter_error(
            func, "label_columns", "a non-empty list of column names", label_columns
        )
    label_columns = list(label_columns)
    if categorical_columns is None:
        categorical_columns = []
    elif isinstance(categorical_columns, str):
        raise parameter_error(
            func, "categorical_columns", "a list of column names or None", categorical_columns
        )
    categorical_columns = list(categorical_columns)
    if format == "csv":
        frame = pd.read_csv(path)
        # Labels and codes again as plain strings: "NA" (North America) or "007" are
        # labels, not a missing value or the number 7; only an empty cell is missing.
        present = [c for c in label_columns + categorical_columns if c in frame.columns]
        labels = pd.read_csv(
            path, usecols=present, dtype=str, keep_default_na=False, na_values=[""]
        )
        frame[present] = labels[present].astype(object)
    else:
        frame = pd.read_parquet(path)
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
    target = frame[label_columns]
    descr = f"Table {str(path)!r} ({format}): {len(frame)} rows.\n" + support_summary(
        label_frame(target)
    )
    return make_bunch(frame[feature_columns], target, text_column=text_column, descr=descr)
