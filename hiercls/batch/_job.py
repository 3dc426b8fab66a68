"""The job: the input's columns checked against the model, and the output schema.

:func:`prepare_job` runs before any work and builds a small, picklable ``Job``
holding everything a worker needs besides the model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.pipeline import Pipeline

from .._compat import get_tags
from ..artifacts import find_classifier
from ..datasets.tables import unreadable_table
from ..estimator import HierarchicalClassifier
from ..exceptions import SchemaError
from ..hierarchy import label_texts
from .files import DataFile, csv_column_of_error, find_unparsable_value

#: Between the labels of a path written as text (``top1_path``, ``paths``).
PATH_SEPARATOR = " > "

_NUMERIC = (
    pa.types.is_integer,
    pa.types.is_floating,
    pa.types.is_boolean,
    pa.types.is_decimal,
    pa.types.is_null,
)


@dataclass(frozen=True)
class Job:
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
    #: Per level, label -> text for a level of mixed types (written as text), else None.
    label_texts: tuple[dict[Any, str] | None, ...]
    top_k: int
    #: Features per level in the ``<level>_explanation`` columns (0: no such columns).
    explain: int
    #: Several paths per row: the columns ``paths`` and ``paths_proba`` too, and the
    #: per-level columns describe each row's most probable path.
    multi_label: bool
    #: A multi-label model's classes as written in ``paths`` (labels joined by " > ").
    path_texts: tuple[str, ...]
    #: Names of the classifier's input columns for ``explain`` (a Pipeline's output
    #: names), None for the classifier's own.
    explained_features: tuple[str, ...] | None
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


def _label_dictionary(labels: np.ndarray) -> tuple[pa.Array, dict[Any, str] | None]:
    """A level's labels as Arrow values; a level of mixed types as text (and its texts)."""
    try:
        return pa.array(labels.tolist() if labels.dtype == object else labels), None
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        texts = label_texts(labels.tolist())  # the int 1 and the str '1' stay apart
        return pa.array([texts[label] for label in labels.tolist()]), texts


def _classes(classifier: Any) -> list[np.ndarray]:
    return list(classifier.hierarchy_.level_labels)


def _output_schema(
    read_schema: pa.Schema,
    copied: Sequence[str],
    levels: Sequence[str],
    dictionaries: Sequence[pa.Array],
    top_k: int,
    explain: int = 0,
    multi_label: bool = False,
    output_format: str = "parquet",
) -> pa.Schema:
    fields = [read_schema.field(name) for name in copied]
    for level, dictionary in zip(levels, dictionaries, strict=True):
        fields += [pa.field(level, dictionary.type), pa.field(f"{level}_proba", pa.float64())]
    fields += [pa.field("path_proba", pa.float64()), pa.field("stopped_at_level", pa.string())]
    if multi_label:  # every path above the model's threshold: lists, or joined text in CSV
        as_list = output_format == "parquet"
        fields += [
            pa.field("paths", pa.list_(pa.string()) if as_list else pa.string()),
            pa.field("paths_proba", pa.list_(pa.float64()) if as_list else pa.string()),
        ]
    for i in range(1, top_k + 1):
        fields += [pa.field(f"top{i}_path", pa.string()), pa.field(f"top{i}_proba", pa.float64())]
    if explain:
        fields += [pa.field(f"{level}_explanation", pa.string()) for level in levels]
    fields.append(pa.field("scoring_error", pa.string()))
    counts = Counter(f.name for f in fields)
    clashes = sorted(name for name, count in counts.items() if count > 1)
    if clashes:
        raise SchemaError(
            f"Output columns {clashes} would appear twice: an id or passthrough column has "
            f"the name of an output column (the model's levels are {list(levels)}). Drop "
            f"it from id_columns/passthrough, or rename it in the input."
        )
    return pa.schema(fields)


def _path_texts(classifier: Any) -> tuple[str, ...]:
    return tuple(PATH_SEPARATOR.join(map(str, path)) for path in classifier.classes_)


def _explained_features(model: Any) -> tuple[str, ...] | None:
    """A Pipeline's output column names (a TF-IDF vocabulary, say), once per job."""
    if isinstance(model, Pipeline) and hasattr(model[:-1], "get_feature_names_out"):
        return tuple(str(name) for name in model[:-1].get_feature_names_out())
    return None


def _is_numeric(data_type: pa.DataType) -> bool:
    return any(check(data_type) for check in _NUMERIC)


def is_text(data_type: pa.DataType) -> bool:
    if pa.types.is_dictionary(data_type):
        data_type = data_type.value_type
    return pa.types.is_string(data_type) or pa.types.is_large_string(data_type) or pa.types.is_null(data_type)


def short_list(names: Sequence[str], limit: int = 20) -> str:
    shown = list(names)[:limit]
    more = f" ... ({len(names) - limit} more)" if len(names) > limit else ""
    return f"{shown}{more}"


def _feature_kinds(
    model: Any, metadata: dict[str, Any] | None, features: Sequence[str], data_file: DataFile
) -> dict[str, str]:
    """Map every feature column to ``"number"``, ``"text"`` or ``"category"``."""
    classifier = find_classifier(model)
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
    classifier = find_classifier(model)
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


def prepare_job(
    model: Any,
    metadata: dict[str, Any] | None,
    data_file: DataFile,
    *,
    feature_columns: Sequence[str] | None,
    id_columns: Sequence[str],
    passthrough: Sequence[str] | str,
    top_k: int,
    output_format: str,
    explain: int = 0,
) -> Job:
    """Check the input's columns against the model, before any work."""
    classifier = find_classifier(model)
    file_columns = data_file.columns
    where = f"input file '{data_file.path}'"
    for key, names in (("id_columns", id_columns), ("passthrough", passthrough)):
        if isinstance(names, str):
            continue
        absent = [n for n in names if n not in file_columns]
        if absent:
            raise SchemaError(
                f"{key} names columns {absent} that are not in the {where}; its columns are "
                f"{short_list(file_columns)}."
            )
    expected = getattr(model, "feature_names_in_", None)
    if feature_columns is not None:
        features = [str(c) for c in feature_columns]
        if expected is not None and features != [str(c) for c in expected]:
            raise SchemaError(
                f"feature_columns {short_list(features)} differ from the features the model "
                f"was fitted on, {short_list(list(expected))}; leave feature_columns unset "
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
            f"{short_list(features)}. Give feature_columns, in training order."
        )
    present = set(file_columns)
    missing = [c for c in features if c not in present]
    if missing:
        raise SchemaError(
            f"The {where} lacks {len(missing)} of the model's {len(features)} feature "
            f"columns: {short_list(missing)}. The model expects {short_list(features)}; "
            f"the file has {short_list(file_columns)}."
        )
    kinds = _feature_kinds(model, metadata, features, data_file)
    if passthrough == "all":
        passthrough = [c for c in file_columns if c not in features and c not in id_columns]
    elif isinstance(passthrough, str):
        raise SchemaError(f"passthrough must be a list of column names or 'all'; got {passthrough!r}.")
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
    dictionaries, texts = zip(*(_label_dictionary(c) for c in classes), strict=True)
    multi_label = not isinstance(classifier, HierarchicalClassifier)
    levels = tuple(str(level) for level in classifier.levels_)
    return Job(
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
        label_texts=texts,
        top_k=top_k,
        explain=explain,
        multi_label=multi_label,
        path_texts=_path_texts(classifier) if multi_label else (),
        explained_features=_explained_features(model) if explain else None,
        allow_nan=bool(get_tags(classifier).input_tags.allow_nan),
        output_schema=_output_schema(
            read_schema, copied, levels, dictionaries, top_k, explain, multi_label, output_format
        ),
        output_format=output_format,
    )


def _check_feature_type(data_file: DataFile, name: str, kind: str, file_type: pa.DataType) -> None:
    if kind == "category":
        if data_file.format == "parquet" and not (is_text(file_type) or _is_numeric(file_type)):
            raise SchemaError(
                f"Categorical feature column {name!r} of '{data_file.path}' has type "
                f"{file_type}; the model needs text or numbers there (its categories)."
            )
        return
    if kind == "number":
        if _is_numeric(file_type):
            return
        if data_file.format == "csv" or is_text(file_type):
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
    if data_file.format == "parquet" and not is_text(file_type):
        found = find_unparsable_value(data_file, name)
        first = f"; first value at row {found[0]:,}: {found[1]!r}" if found else ""
        raise SchemaError(
            f"Feature column {name!r} of '{data_file.path}' has type {file_type}, but the "
            f"model was trained on text there{first}."
        )


def csv_error(data_file: DataFile, job: Job, error: Exception, start_row: int) -> SchemaError:
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
    return unreadable_table(data_file.path, "csv", error, "input_format=")
