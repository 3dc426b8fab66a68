"""Scoring of one chunk: an Arrow table of input rows in, a table of output columns out.

Both engines score through :func:`score_chunk`; rows that cannot be scored keep
their place with a ``scoring_error``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse as sp

from ..artifacts import find_classifier
from ..exceptions import SchemaError
from ._job import PATH_SEPARATOR, Job, is_text
from .files import first_uncastable


def _take(dictionary: pa.Array, indices: np.ndarray) -> pa.Array:
    return dictionary.take(pa.array(indices, mask=indices < 0))


def _join_path(pieces: Sequence[pa.Array]) -> pa.Array:
    """Labels joined by " > ", stopping at the first null (a path's nulls are trailing)."""
    # Level by level rather than null_handling="skip", which drops rows in pyarrow 26.
    joined = pieces[0]
    for piece in pieces[1:]:
        longer = pc.binary_join_element_wise(joined, piece, PATH_SEPARATOR)
        joined = pc.if_else(pc.is_valid(piece), longer, joined)
    return joined


def _float_column(column: pa.ChunkedArray, name: str, where: Callable[[int], str]) -> np.ndarray:
    if column.type == pa.float64() and column.num_chunks == 1:
        return column.chunk(0).to_numpy(zero_copy_only=False)  # no copy without nulls
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    try:
        return pc.cast(column, pa.float64()).to_numpy()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        values = column.combine_chunks()
        position = first_uncastable(values)
        if position is None:  # the column as a whole failed, but no one value does
            raise
        raise SchemaError(
            f"Feature column {name!r} must hold numbers, but {where(position)} has "
            f"{values[position].as_py()!r}."
        ) from None


def _category_values(column: pa.ChunkedArray, kind: str, empty_is_missing: bool) -> np.ndarray:
    """Values of a categorical column as the model saw them at fit (see ``Job``).

    Returns an object array; NaN marks a missing value (and ``""`` with
    ``empty_is_missing``) or, for ``"integer"`` and ``"float"``, one that is not a
    number (never a category of such a column). Values the model has not seen stay
    as they are: its encoding makes them missing.
    """
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if empty_is_missing and is_text(column.type):
        column = pc.if_else(pc.equal(column, ""), pa.scalar(None, column.type), column)
    if kind == "text":
        if not is_text(column.type):
            column = pc.cast(column, pa.string())
        values = column.to_numpy(zero_copy_only=False)
    elif kind in ("integer", "float"):
        if is_text(column.type):
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


def row_namer(offset: int) -> Callable[[int], str]:
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
    model: Any, job: Job, table: pa.Table, where: Callable[[int], str]
) -> tuple[Any, np.ndarray, dict[int, str]]:
    """Build the classifier's input for the scorable rows.

    Returns the input, the positions of those rows, and the reason why each other
    row cannot be scored (row -> text).
    """
    n = table.num_rows
    classifier = find_classifier(model)
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
                frame[name] = _category_values(table.column(name), kind, job.empty_category_is_missing)
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
            inputs_nan = np.column_stack([np.isnan(columns[c]) for c in numeric]) if numeric else None

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


def _label_column(
    values: np.ndarray, good: np.ndarray, n: int, data_type: pa.DataType, texts: dict[Any, str] | None
) -> pa.Array:
    """Labels of the scored rows as an Arrow column of all ``n`` rows (null elsewhere).

    ``texts`` writes the labels of a level of mixed types (see ``Job.label_texts``).
    """
    if good.size != n:
        full = np.full(n, None, dtype=object)
        full[good] = values
        values = full
    if texts is not None:
        return pa.array([None if v is None else texts[v] for v in values.tolist()], type=data_type)
    return pa.array(values, type=data_type, from_pandas=True)


def _explanations(classifier: Any, X: Any, good: np.ndarray, n: int, job: Job) -> list[pa.Array]:
    """Per level, "feature (+contribution); ..." of each scored row (null where none).

    A multi-label row can take several steps at one level (one per path): each is
    written "outcome: feature (+contribution); ...", and the steps joined by " | ".
    """
    columns = {level: np.full(n, None, dtype=object) for level in job.levels}
    if good.size:
        explained = classifier.explain(X, top=job.explain, feature_names=job.explained_features)
        if len(explained):
            amounts = explained["contribution"].map("{:+.3g}".format)
            text = explained["feature"].astype(str) + " (" + amounts + ")"
            keys = [explained["row"], explained["level"]]
            if job.multi_label:
                step_keys = [*keys, explained["node"], explained["chosen"]]
                steps = text.groupby(step_keys, sort=False).agg("; ".join)
                chosen = steps.index.get_level_values("chosen").astype(str)
                text = pd.Series(chosen + ": " + steps.to_numpy(), index=steps.index)
                keys = [text.index.get_level_values("row"), text.index.get_level_values("level")]
            # One string per (row, level), then one column per level.
            joiner = " | ".join if job.multi_label else "; ".join
            table = text.groupby(keys, sort=False).agg(joiner).unstack()
            for level in table.columns:
                present = table[level].notna().to_numpy()
                columns[level][good[table.index.to_numpy()[present]]] = table[level].to_numpy()[present]
    return [pa.array(columns[level], type=pa.string()) for level in job.levels]


def _path_set_columns(found: Any, good: np.ndarray, n: int, job: Job) -> list[pa.Array]:
    """``paths`` and ``paths_proba``: every path above the threshold, most probable first.

    Lists in Parquet; in CSV, paths joined by " | " (labels by " > ") and their
    probabilities likewise. Rows that were not scored hold null.
    """
    counts = np.zeros(n, dtype=np.int64)
    texts = pa.array(job.path_texts, type=pa.string())
    values, proba = texts.take(pa.array([], type=pa.int64())), pa.array([], type=pa.float64())
    if found is not None:
        counts = np.bincount(good[found.row], minlength=n)
        values, proba = texts.take(pa.array(found.class_index)), pa.array(found.proba, type=pa.float64())
    offsets = pa.array(np.concatenate(([0], np.cumsum(counts))).astype(np.int32))
    unscored = np.ones(n, dtype=bool)
    unscored[good] = False
    mask = pa.array(unscored)
    path_lists = pa.ListArray.from_arrays(offsets, values, mask=mask)
    proba_lists = pa.ListArray.from_arrays(offsets, proba, mask=mask)
    if job.output_format == "parquet":
        return [path_lists, proba_lists]
    as_text = pa.ListArray.from_arrays(offsets, pc.cast(proba, pa.string()), mask=mask)
    return [pc.binary_join(path_lists, " | "), pc.binary_join(as_text, " | ")]


def score_chunk(model: Any, job: Job, table: pa.Table, where: Callable[[int], str]) -> pa.Table:
    """Score one chunk; rows that cannot be scored get a reason instead of labels."""
    n = table.num_rows
    classifier = find_classifier(model)
    X, good, reasons = _design_matrix(model, job, table, where)
    n_levels = len(job.levels)
    level_proba = np.full((n, n_levels), np.nan)
    path_proba = np.full(n, np.nan)
    labels = None
    top = None
    found = None
    if good.size and job.multi_label:
        # The per-level columns describe each row's most probable path (exact top-1).
        ranked = classifier.predict_top_k(X, max(1, job.top_k))
        labels = ranked.labels[:, 0, :]
        level_proba[good] = ranked.level_proba[:, 0, :]
        path_proba[good] = ranked.proba[:, 0]
        top = ranked if job.top_k else None
        found = classifier.predict_paths(X)
    elif good.size:
        paths = classifier.predict_paths(X, top_k=job.top_k)
        labels = paths.labels
        if good.size == n:
            level_proba, path_proba = paths.level_proba, paths.path_proba
        else:
            level_proba[good] = paths.level_proba
            path_proba[good] = paths.path_proba
        top = paths.top
    arrays: list[Any] = [table.column(name) for name in job.copied_columns]
    depth = np.zeros(n, dtype=np.int64)
    if labels is None:
        labels = np.full((0, n_levels), None, dtype=object)
    for j, dictionary in enumerate(job.dictionaries):
        column = _label_column(labels[:, j], good, n, dictionary.type, job.label_texts[j])
        depth += column.is_valid().to_numpy(zero_copy_only=False)
        arrays.append(column)
        arrays.append(pa.array(level_proba[:, j], from_pandas=True))
    arrays.append(pa.array(path_proba, from_pandas=True))
    arrays.append(_take(pa.array(job.levels), np.where(depth < n_levels, depth - 1, -1)))
    if job.multi_label:
        arrays += _path_set_columns(found, good, n, job)
    for i in range(job.top_k):
        slot_proba = np.full(n, np.nan)
        pieces = []
        for j, dictionary in enumerate(job.dictionaries):
            slot = labels[:, 0] if top is None else top.labels[:, i, j]  # all None without top
            column = _label_column(slot, good, n, dictionary.type, job.label_texts[j])
            pieces.append(column if pa.types.is_string(column.type) else column.cast(pa.string()))
        if top is not None:
            slot_proba[good] = top.proba[:, i]
        empty = pa.array(np.isnan(slot_proba))
        arrays.append(pc.if_else(empty, pa.scalar(None, pa.string()), _join_path(pieces)))
        arrays.append(pa.array(slot_proba, from_pandas=True))
    if job.explain:
        arrays += _explanations(classifier, X, good, n, job)
    if reasons:
        errors = np.full(n, None, dtype=object)
        errors[list(reasons)] = list(reasons.values())
        arrays.append(pa.array(errors, type=pa.string()))
    else:
        arrays.append(pa.nulls(n, pa.string()))
    return pa.Table.from_arrays(arrays, schema=job.output_schema)
