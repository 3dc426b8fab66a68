"""Model artifacts: save a fitted model with its metadata, check it, load it.

:func:`save_model` writes a directory holding the model file and ``metadata.json``
(versions, levels, features, fingerprints, training class counts). The model file is
``model.skops`` by default: scikit-learn's secure persistence format (skops), which
loads only the types on a trusted list (:data:`TRUSTED_TYPES` plus those the caller
names), so loading runs no code from the file. ``format="pickle"`` writes
``model.joblib`` instead, which :func:`load_model` reads only with
``allow_pickle=True``; :func:`convert_artifact` turns a pickle artifact (e.g. from
an earlier hiercls) into a skops one. :func:`read_metadata` reads the metadata
alone; :func:`find_classifier` finds the HierarchicalClassifier in a model or
Pipeline.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import warnings
import weakref
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from scipy import sparse as sp
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ._atomic import fsync_directory, json_text, sha256_file, stage
from ._model_file import MODEL_FILES, MODEL_FORMATS, TRUSTED_TYPES, read_model_file, trusted_names
from ._model_file import untrusted_types as _untrusted_types
from ._model_file import write_model_file as _write_model_file
from .estimator import BaseHierarchicalClassifier, HierarchicalClassifier
from .exceptions import (
    ArtifactError,
    ArtifactIntegrityError,
    ArtifactVersionWarning,
    NewerArtifactFormatError,
    PickleArtifactError,
    PickleArtifactWarning,
    UntrustedTypeError,
)
from .hierarchy import is_path_sets, label_texts, read_label_paths, read_path_sets
from .multilabel import MultiLabelHierarchicalClassifier

__all__ = [
    "ArtifactError",
    "ArtifactIntegrityError",
    "artifact_checksum",
    "ArtifactVersionWarning",
    "convert_artifact",
    "FORMAT_VERSION",
    "METADATA_FILE",
    "MODEL_FILE",
    "MODEL_FILES",
    "NewerArtifactFormatError",
    "PickleArtifactError",
    "PickleArtifactWarning",
    "TRUSTED_TYPES",
    "UntrustedTypeError",
    "find_classifier",
    "load_model",
    "read_metadata",
    "save_model",
]

#: The model file of the default (skops) format; ``MODEL_FILES`` maps each format to its file.
MODEL_FILE = MODEL_FILES["skops"]
METADATA_FILE = "metadata.json"
#: Version of the artifact layout; :func:`load_model` refuses newer ones. Version 1
#: artifacts (hiercls before the skops format) hold a pickle, ``model.joblib``; version
#: 3 skops files store long sequences (a vocabulary, label tables) as a few arrays,
#: which hiercls before it cannot decode.
FORMAT_VERSION = 3
_ARTIFACT_KIND = "hiercls-model"


def find_classifier(model: Any) -> Any:
    """Return the hiercls estimator in ``model``: itself, or a Pipeline's last step.

    Parameters
    ----------
    model : HierarchicalClassifier, MultiLabelHierarchicalClassifier or Pipeline
        A Pipeline must end with one of them (e.g. TF-IDF, then the classifier, as
        ``hiercls-train`` builds for text data).

    Returns
    -------
    classifier : HierarchicalClassifier or MultiLabelHierarchicalClassifier

    Raises
    ------
    TypeError
        When ``model`` is neither.
    """
    if isinstance(model, BaseHierarchicalClassifier):
        return model
    if isinstance(model, Pipeline) and isinstance(model.steps[-1][1], BaseHierarchicalClassifier):
        return model.steps[-1][1]
    raise TypeError(
        f"Expected a HierarchicalClassifier or a Pipeline ending with one; got "
        f"{type(model).__module__}.{type(model).__qualname__}."
    )


def _package_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _versions() -> dict[str, str | None]:
    import hiercls

    return {
        "hiercls": hiercls.__version__,
        "scikit-learn": _package_version("scikit-learn"),
        "lightgbm": _package_version("lightgbm"),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "joblib": joblib.__version__,
        "python": platform.python_version(),
    }


def _node_model_classes(classifier: HierarchicalClassifier) -> list[str]:
    return sorted(
        {f"{type(m).__module__}.{type(m).__qualname__}" for m in classifier.estimators_ if m is not None}
    )


def _hash_table_like(digest: Any, value: Any, name: str) -> None:
    """Feed shape, column names and content of X or Y into ``digest``."""
    if is_path_sets(value):  # several paths per row
        n_samples, rows, paths = read_path_sets(value)
        digest.update(repr((name, "path sets", n_samples, rows.tolist(), paths)).encode())
        return
    if sp.issparse(value):
        matrix = value.tocsr()
        digest.update(repr((name, "sparse", matrix.shape, str(matrix.dtype))).encode())
        for part in (matrix.data, matrix.indices, matrix.indptr):
            digest.update(np.ascontiguousarray(part).tobytes())
        return
    if isinstance(value, np.ndarray) and value.dtype != object:
        digest.update(repr((name, "array", value.shape, str(value.dtype))).encode())
        digest.update(np.ascontiguousarray(value).tobytes())
        return
    frame = value if isinstance(value, pd.DataFrame) else pd.DataFrame(np.asarray(value, dtype=object))
    digest.update(repr((name, "frame", frame.shape, [str(c) for c in frame.columns])).encode())
    for column in frame.columns:
        series = frame[column]
        digest.update(repr((str(column), str(series.dtype))).encode())
        if series.dtype.kind in "biufcmM" and not isinstance(series.dtype, pd.SparseDtype):
            digest.update(np.ascontiguousarray(series.to_numpy()).tobytes())
        else:
            # Object, string and sparse columns: pandas' stable per-value hash.
            values = series.sparse.to_dense() if isinstance(series.dtype, pd.SparseDtype) else series
            hashed = pd.util.hash_pandas_object(values.astype(object), index=False)
            digest.update(hashed.to_numpy().tobytes())


def _level_counts(classifier: Any, Y: Any) -> list[dict[str, Any]]:
    """Per level: label -> rows, and rows whose path ends above the level.

    For several paths per row (lists of paths, or the indicator ``predict`` returns),
    label -> rows in which it is on some path, and rows with no path reaching the level.
    """
    if isinstance(classifier, MultiLabelHierarchicalClassifier):
        return _path_set_level_counts(classifier, Y)
    paths = read_label_paths(Y)
    counts = []
    for level, (column, missing, known) in enumerate(
        zip(paths.columns, paths.missing.T, _classes_per_level(classifier), strict=True)
    ):
        labels = pd.Series(column[~missing])
        # Labels that are not classes of the model (e.g. merged into their parent by the
        # sufficiency policy) end their path here, as the model predicts them.
        is_class = labels.isin(known)
        tally = labels[is_class].value_counts(sort=False)
        texts = label_texts(list(known))
        counts.append(
            {
                "level": classifier.levels_[level],
                "n_missing": int(missing.sum() + (~is_class).sum()),
                "counts": {texts[k]: int(v) for k, v in tally.items()},
            }
        )
    return counts


def _path_set_level_counts(classifier: Any, Y: Any) -> list[dict[str, Any]]:
    n_samples, rows, paths = read_path_sets(Y)
    levels = read_label_paths(list(paths), check_paths=False)
    counts = []
    for level, known in enumerate(_classes_per_level(classifier)):
        present = ~levels.missing[:, level]
        # A label on two paths of one row counts once: rows in which it is active.
        pairs = pd.DataFrame({"row": rows[present], "label": levels.columns[level][present]})
        pairs = pairs.drop_duplicates()
        tally = pairs["label"][pairs["label"].isin(known)].value_counts(sort=False)
        texts = label_texts(list(known))
        counts.append(
            {
                "level": classifier.levels_[level],
                "n_missing": int(n_samples - pairs["row"].nunique()),
                "counts": {texts[k]: int(v) for k, v in tally.items()},
            }
        )
    return counts


def _training_summary(model: Any, classifier: HierarchicalClassifier, X: Any, Y: Any) -> dict[str, Any]:
    digest = hashlib.sha256()
    _hash_table_like(digest, X, "X")
    if Y is not None:
        _hash_table_like(digest, Y, "Y")
    return {
        "n_samples": int(X.shape[0] if hasattr(X, "shape") else len(X)),
        "fingerprint": digest.hexdigest(),
        "fingerprint_method": (
            "sha256 over shape, column names, dtypes and every value of X and Y "
            "(numeric data: raw bytes; other columns: pandas.util.hash_pandas_object)"
        ),
        "class_counts": None if Y is None else _level_counts(classifier, Y),
        # The drift baseline: a model's predictions lean towards large classes, so new
        # predictions are compared with predictions, not with true labels.
        "predicted_class_counts": _level_counts(classifier, _predicted_paths(model, classifier, X)),
    }


def _predicted_paths(model: Any, classifier: Any, X: Any) -> Any:
    """What batch scoring counts: the predicted path (a multi-label model's most probable one)."""
    if not isinstance(classifier, MultiLabelHierarchicalClassifier):
        return model.predict(X)
    X_classifier = model[:-1].transform(X) if isinstance(model, Pipeline) else X
    best = classifier.predict_top_k(X_classifier, 1).labels[:, 0, :]
    return [[tuple(label for label in path if label is not None)] for path in best]


def _classes_per_level(classifier: Any) -> list[np.ndarray]:
    return list(classifier.hierarchy_.level_labels)


def _input_features(model: Any, X: Any) -> list[dict[str, str]] | None:
    if isinstance(X, pd.DataFrame):
        features = []
        for position, name in enumerate(X.columns):
            dtype = X.dtypes.iloc[position]
            entry = {"name": str(name), "dtype": str(dtype)}
            if isinstance(dtype, pd.CategoricalDtype):
                # Batch prediction reads a CSV's "7" as 7 when the categories were ints.
                entry["categories_dtype"] = str(dtype.categories.dtype)
            features.append(entry)
        return features
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        return None
    return [{"name": str(c), "dtype": "unknown"} for c in names]


def _build_metadata(
    model: Any,
    classifier: HierarchicalClassifier,
    training_data: tuple[Any, Any] | None,
    extra_metadata: Mapping[str, Any] | None,
) -> dict[str, Any]:
    X, Y = (None, None) if training_data is None else training_data
    names = getattr(model, "feature_names_in_", None)
    return {
        "format": _ARTIFACT_KIND,
        "format_version": FORMAT_VERSION,
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "model_format": None,  # filled in when the model file is written
        "model_file": None,
        "model_sha256": None,
        "model_bytes": None,
        "types_to_trust": [],
        "versions": _versions(),
        "model_class": f"{type(model).__module__}.{type(model).__qualname__}",
        "node_model_classes": _node_model_classes(classifier),
        "levels": list(classifier.levels_),
        "flat_target": bool(getattr(classifier, "_is_flat", False)),
        "multi_label": isinstance(classifier, MultiLabelHierarchicalClassifier),
        "classes_per_level": [int(len(c)) for c in _classes_per_level(classifier)],
        "feature_names": None if names is None else [str(n) for n in names],
        "n_features": int(getattr(model, "n_features_in_", None) or classifier.n_features_in_),
        "input_features": _input_features(model, X),
        "hierarchy_fingerprint": classifier.hierarchy_.fingerprint(),
        "training_data": None if X is None else _training_summary(model, classifier, X, Y),
        "extra": dict(extra_metadata or {}),
    }


def save_model(
    model: Any,
    path: str | os.PathLike[str],
    *,
    training_data: tuple[Any, Any] | None = None,
    extra_metadata: Mapping[str, Any] | None = None,
    format: str = "skops",  # noqa: A002 - the word users know from file formats
) -> Path:
    """Save a fitted model as an artifact directory: the model file + ``metadata.json``.

    With ``format="skops"`` (the default) the model file is ``model.skops``, written
    with scikit-learn's secure persistence format (:mod:`skops.io`): a zip of JSON
    and numpy arrays that :func:`load_model` turns back into objects of trusted types
    only, without running code from the file. ``format="pickle"`` writes
    ``model.joblib`` (joblib's pickle) instead; **loading a pickle runs code chosen by
    whoever wrote it**, so :func:`load_model` reads it only with ``allow_pickle=True``.

    ``metadata.json`` records the format version, the creation time (UTC), the
    versions of hiercls, scikit-learn, LightGBM, numpy, pandas, joblib and Python, the
    model class and node model classes, level names, number of classes per level,
    feature names (or the number of features) and the input columns' dtypes (for a
    ``category`` column also its categories' dtype), the hierarchy fingerprint, the
    model file's format, name, SHA-256 and size, the types it holds that are not in
    :data:`TRUSTED_TYPES` (``types_to_trust``: a custom node model, say), and, when
    ``training_data`` is given, a fingerprint of the training data and the training
    class counts per level, from Y and from the model's own predictions on X (the
    baseline for the drift report of batch prediction).

    Writes are atomic: both files are written under temporary names in ``path``,
    then ``metadata.json`` is removed, the model file renamed into place and
    ``metadata.json`` renamed last (a model file of the other format left by an
    earlier save is removed after that). An artifact is complete exactly when its
    metadata exists and the model's SHA-256 matches it, so a crash at any point
    leaves either the previous artifact untouched or nothing that loads.

    Parameters
    ----------
    model : HierarchicalClassifier, MultiLabelHierarchicalClassifier or Pipeline
        Fitted; a Pipeline must end with one of them.
    path : path-like
        The artifact directory, e.g. ``<run>/model``; created if needed.
    training_data : tuple (X, Y), default=None
        The training features and label paths (Y may be None). Used for a SHA-256
        fingerprint over their shape, column names, dtypes and every value (numeric
        data by its raw bytes, other columns by ``pandas.util.hash_pandas_object``;
        about a second per GB), for per-level class counts from Y, and for the
        per-level counts of the model's predictions on X (one ``predict`` call).
    extra_metadata : mapping, default=None
        JSON-serialisable values stored under ``"extra"``.
    format : {"skops", "pickle"}, default="skops"
        The model file's format (see above).

    Returns
    -------
    path : Path
        The artifact directory.

    Raises
    ------
    TypeError
        When ``model`` is not a HierarchicalClassifier or a Pipeline ending with one,
        ``extra_metadata`` is not JSON-serialisable, or the model holds something the
        skops format cannot store (nothing is written then).
    ValueError
        When ``format`` is not "skops" or "pickle".
    sklearn.exceptions.NotFittedError
        When the model is not fitted.

    See Also
    --------
    load_model : Load and verify an artifact.
    read_metadata : Read ``metadata.json`` without loading the model.
    convert_artifact : Turn a pickle artifact into a skops one.

    Examples
    --------
    >>> import tempfile
    >>> from hiercls import HierarchicalClassifier
    >>> from hiercls.artifacts import load_model, save_model
    >>> X, Y = [[-10.0], [-6.0], [10.0]], [["a", "a1"], ["a", "a2"], ["b", "b1"]]
    >>> clf = HierarchicalClassifier().fit(X, Y)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     artifact = save_model(clf, f"{tmp}/model", training_data=(X, Y))
    ...     load_model(artifact).predict([[10.0]]).tolist()
    [['b', 'b1']]
    """
    if format not in MODEL_FORMATS:
        raise ValueError(
            f"format={format!r} is not an artifact format; choose 'skops' (default) or 'pickle'."
        )
    classifier = find_classifier(model)
    check_is_fitted(classifier)
    if training_data is not None and (
        not isinstance(training_data, (tuple, list)) or len(training_data) != 2
    ):
        raise TypeError(
            f"training_data must be a tuple (X, Y) (Y may be None); got {type(training_data).__name__}."
        )
    metadata = _build_metadata(model, classifier, training_data, extra_metadata)
    json_text(metadata)  # fail on bad extra_metadata before writing
    return _write_artifact(model, Path(path), metadata, format)


def _write_artifact(model: Any, directory: Path, metadata: dict[str, Any], model_format: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    model_path = directory / MODEL_FILES[model_format]
    metadata_path = directory / METADATA_FILE
    staged: list[Path] = []
    try:
        staged.append(stage(model_path, lambda tmp: _write_model_file(model, tmp, model_format)))
        metadata["model_format"] = model_format
        metadata["model_file"] = model_path.name
        metadata["model_sha256"] = sha256_file(staged[0])
        metadata["model_bytes"] = staged[0].stat().st_size
        if model_format == "skops":
            metadata["types_to_trust"] = _untrusted_types(staged[0], [])
        text = json_text(metadata) + "\n"
        staged.append(stage(metadata_path, lambda tmp: tmp.write_text(text, encoding="utf-8")))
        # Commit: without metadata nothing looks complete, so drop the old one first.
        metadata_path.unlink(missing_ok=True)
        os.replace(staged[0], model_path)
        os.replace(staged[1], metadata_path)
    finally:
        for temporary in staged:
            temporary.unlink(missing_ok=True)
    for other in set(MODEL_FILES.values()) - {model_path.name}:
        (directory / other).unlink(missing_ok=True)  # an earlier save's, in the other format
    fsync_directory(directory)
    return directory


#: Written by hiercls-train into the folder of a run that failed, with the reason.
FAILED_RUN_FILE = "FAILED.txt"


def _artifact_directory(path: str | os.PathLike[str]) -> Path:
    """The artifact directory of an artifact directory, a run folder or a file inside it."""
    path = Path(path)
    if path.is_dir():
        # A hiercls-train run folder holds its artifact in model/: accept the folder
        # that the end of the run points at.
        if not (path / METADATA_FILE).exists() and (path / "model" / METADATA_FILE).is_file():
            path = path / "model"
        failed = path / FAILED_RUN_FILE
        if failed.is_file() and not (path / "model").is_dir():
            reason = failed.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1]
            raise ArtifactError(
                f"'{path}' is a hiercls-train run that failed before saving its model: {reason}"
            )
        return path
    if not path.exists():
        raise FileNotFoundError(
            f"No model artifact at '{path}': the path does not exist. Give the directory "
            f"that save_model wrote (holding {MODEL_FILE} and {METADATA_FILE})."
        )
    if path.name != METADATA_FILE and path.name not in MODEL_FILES.values():
        raise ArtifactError(
            f"'{path}' is a file, not a hiercls model artifact; give the directory that "
            f"save_model wrote (holding {MODEL_FILE} and {METADATA_FILE}), or a hiercls-train run folder."
        )
    return path.parent


_REQUIRED_KEYS = ("format_version", "model_sha256", "versions", "levels", "hierarchy_fingerprint")


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check an artifact's ``metadata.json`` without loading the model.

    Parameters
    ----------
    path : path-like
        The artifact directory, or a file inside it.

    Returns
    -------
    metadata : dict
        See :func:`save_model` for the keys. Artifacts of format version 1 (hiercls
        before the skops format) get ``"model_format": "pickle"``.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    NewerArtifactFormatError
        When the artifact comes from a newer artifact format.
    ArtifactError
        When the metadata is missing, is not valid JSON, or is not a hiercls artifact's.
    """
    directory = _artifact_directory(path)
    metadata_path = directory / METADATA_FILE
    if not metadata_path.is_file():
        raise ArtifactError(
            f"'{directory}' is not a complete hiercls model artifact: it has no "
            f"{METADATA_FILE}. save_model writes it last, so the save did not finish or "
            f"this is not a hiercls artifact; save the model again."
        )
    try:
        metadata = json.loads(metadata_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(
            f"'{metadata_path}' is not valid JSON ({exc}); the artifact is damaged or not "
            f"a hiercls artifact. Save the model again."
        ) from None
    if not isinstance(metadata, dict) or metadata.get("format") != _ARTIFACT_KIND:
        raise ArtifactError(
            f"'{metadata_path}' is not hiercls model metadata (no \"format\": "
            f'"{_ARTIFACT_KIND}"); give the directory that hiercls.artifacts.save_model wrote.'
        )
    missing = [key for key in _REQUIRED_KEYS if key not in metadata]
    if missing:
        raise ArtifactError(
            f"'{metadata_path}' lacks the keys {missing}; the artifact is damaged. Save the model again."
        )
    if not isinstance(metadata["format_version"], int) or metadata["format_version"] > FORMAT_VERSION:
        raise NewerArtifactFormatError(
            f"'{directory}' has artifact format version {metadata['format_version']!r}; "
            f"this hiercls reads up to version {FORMAT_VERSION}. Upgrade hiercls."
        )
    if metadata["format_version"] < 2:  # before the skops format, every artifact was a pickle
        metadata.setdefault("model_format", "pickle")
        metadata.setdefault("model_file", MODEL_FILES["pickle"])
    if metadata.get("model_format") not in MODEL_FORMATS:
        raise ArtifactError(
            f"'{metadata_path}' names the model format {metadata.get('model_format')!r}; "
            f"hiercls artifacts are {' or '.join(MODEL_FORMATS)}. The artifact is damaged; "
            f"save the model again."
        )
    return metadata


def _version_mismatch(metadata: dict[str, Any]) -> str | None:
    saved = metadata.get("versions") or {}
    installed = _versions()
    uses_lightgbm = any(name.startswith("lightgbm.") for name in metadata.get("node_model_classes") or [])
    packages = ["scikit-learn"] + (["lightgbm"] if uses_lightgbm else [])
    differences = [
        f"{name} {saved.get(name)} when saved, {installed.get(name)} installed"
        for name in packages
        if saved.get(name) != installed.get(name)
    ]
    return "; ".join(differences) or None


def load_model(
    path: str | os.PathLike[str],
    *,
    trusted: Any = None,
    allow_pickle: bool = False,
    verify: bool = True,
) -> Any:
    """Load a model artifact written by :func:`save_model`, checking it first.

    A skops artifact (the default format) is loaded without running code from the
    file: only objects of trusted types are built, those of :data:`TRUSTED_TYPES`
    (hiercls's own classes, the scikit-learn, LightGBM, numpy and scipy types its
    models use) and those named in ``trusted``. A file holding any other type is
    refused with :class:`UntrustedTypeError` naming the types, before any of the
    model is built.

    A pickle artifact (``format="pickle"``, or any artifact of hiercls before the
    skops format) is refused with :class:`PickleArtifactError` before it is read,
    unless ``allow_pickle=True``: **unpickling runs code chosen by whoever wrote the
    file**. With ``allow_pickle=True`` it loads with a :class:`PickleArtifactWarning`
    saying how to convert it (:func:`convert_artifact`).

    Before loading, the metadata is read and, with ``verify=True``, the SHA-256 of
    the model file is compared with the one recorded at save time. Artifacts saved
    with another scikit-learn version (or LightGBM version, for LightGBM node
    models) load with one :class:`ArtifactVersionWarning` naming both versions
    (scikit-learn's own per-estimator ``InconsistentVersionWarning`` is then
    silenced).

    Parameters
    ----------
    path : path-like
        The artifact directory, or a file inside it.
    trusted : list of str or type, default=None
        Types to trust beyond :data:`TRUSTED_TYPES`, by fully qualified name
        (``"xgboost.sklearn.XGBClassifier"``) or as the type; trust only types whose
        construction from the file's data you trust (e.g. a node model class of your
        own). ``metadata.json`` lists under ``types_to_trust`` those a skops artifact
        needs.
    allow_pickle : bool, default=False
        Load a pickle artifact. Only for artifacts from a source you trust.
    verify : bool, default=True
        Compare the SHA-256 of the model file with the metadata (reads the file once
        more; turn off only for very large models from a verified source).

    Returns
    -------
    model : HierarchicalClassifier, MultiLabelHierarchicalClassifier or Pipeline
        As it was saved.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    TypeError
        When ``trusted`` holds something that is neither a type nor a type name.
    PickleArtifactError
        A pickle artifact, without ``allow_pickle=True``.
    UntrustedTypeError
        A skops artifact holding types that are not trusted.
    NewerArtifactFormatError
        An artifact from a newer hiercls artifact format.
    ArtifactIntegrityError
        A model file changed or truncated since it was saved, one that does not
        parse, or one that does not match the metadata's hierarchy.
    ArtifactError
        Missing or damaged metadata, a missing model file, or an object that is not
        a fitted hiercls model (all the errors above subclass it).

    See Also
    --------
    save_model, read_metadata, convert_artifact
    """
    names = trusted_names(trusted)
    directory = _artifact_directory(path)
    metadata = read_metadata(directory)
    model_format = metadata["model_format"]
    model_path = directory / MODEL_FILES[model_format]
    if model_format == "pickle" and not allow_pickle:
        raise PickleArtifactError(
            f"'{directory}' holds a pickle ({model_path.name}, written by hiercls before "
            f"the skops format or with format='pickle'). Loading a pickle runs code chosen "
            f"by whoever wrote it, so it is refused by default. If you trust its source, "
            f"load it with load_model(path, allow_pickle=True) (hiercls-predict: "
            f"allow_pickle=true), and convert it once with "
            f"hiercls.artifacts.convert_artifact(path, allow_pickle=True)."
        )
    if not model_path.is_file():
        raise ArtifactError(
            f"'{directory}' has {METADATA_FILE} but no {model_path.name}; the artifact is "
            f"incomplete. Save the model again."
        )
    if verify:
        actual = sha256_file(model_path)
        if actual != metadata["model_sha256"]:
            raise ArtifactIntegrityError(
                f"'{model_path}' does not match its metadata: SHA-256 {actual[:16]}... "
                f"instead of {str(metadata['model_sha256'])[:16]}... (file changed or "
                f"truncated since it was saved). Save the model again, or restore it."
            )
    mismatch = _version_mismatch(metadata)
    if mismatch:
        warnings.warn(
            f"The model in '{directory}' was saved with other library versions "
            f"({mismatch}). Predictions may differ or fail; retrain or re-save the "
            f"model with the installed versions, or install the saving versions.",
            ArtifactVersionWarning,
            stacklevel=2,
        )
    if model_format == "pickle":
        warnings.warn(
            f"'{directory}' is a pickle artifact, loaded because allow_pickle=True. "
            f"Convert it once to the skops format, which loads without running code: "
            f"hiercls.artifacts.convert_artifact('{directory}', allow_pickle=True).",
            PickleArtifactWarning,
            stacklevel=2,
        )
    with warnings.catch_warnings():
        if mismatch:
            from sklearn.exceptions import InconsistentVersionWarning

            warnings.simplefilter("ignore", InconsistentVersionWarning)
        model = read_model_file(model_path, model_format, names)
    try:
        classifier = find_classifier(model)
        check_is_fitted(classifier)
    except Exception:  # noqa: BLE001 - wrong type and unfitted read alike
        raise ArtifactError(
            f"'{model_path}' holds a {type(model).__module__}.{type(model).__qualname__}, "
            f"not a fitted HierarchicalClassifier (or a Pipeline ending with one)."
        ) from None
    if classifier.hierarchy_.fingerprint() != metadata["hierarchy_fingerprint"]:
        raise ArtifactIntegrityError(
            f"'{model_path}' holds a model whose hierarchy does not match {METADATA_FILE} "
            f"(fingerprint {classifier.hierarchy_.fingerprint()[:16]}... instead of "
            f"{str(metadata['hierarchy_fingerprint'])[:16]}...); the files come from "
            f"different saves. Save the model again."
        )
    _LOADED_CHECKSUMS[model] = metadata["model_sha256"]
    return model


def convert_artifact(
    path: str | os.PathLike[str],
    *,
    allow_pickle: bool = False,
    trusted: Any = None,
) -> Path:
    """Rewrite an artifact in place in the skops format, keeping its metadata.

    Meant for pickle artifacts, e.g. those of hiercls before the skops format: after
    conversion :func:`load_model` reads them without ``allow_pickle``. The training
    data summary (fingerprint, class counts, the drift baseline), the input features
    and ``extra`` are kept; ``converted_from`` records the old format, format version
    and SHA-256. The write is atomic, as in :func:`save_model`.

    Parameters
    ----------
    path : path-like
        The artifact directory, or a file inside it.
    allow_pickle : bool, default=False
        Required to read a pickle artifact (see :func:`load_model`).
    trusted : list of str or type, default=None
        Passed to :func:`load_model`.

    Returns
    -------
    path : Path
        The artifact directory.

    Raises
    ------
    PickleArtifactError, UntrustedTypeError, ArtifactIntegrityError, ArtifactError
        As :func:`load_model`; nothing is written then.
    TypeError
        The model holds something the skops format cannot store.
    """
    directory = _artifact_directory(path)
    old = read_metadata(directory)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PickleArtifactWarning)  # converting is what it asks for
        model = load_model(directory, trusted=trusted, allow_pickle=allow_pickle)
    metadata = _build_metadata(model, find_classifier(model), None, old.get("extra"))
    for key in ("training_data", "input_features", "created_utc"):
        if key in old:
            metadata[key] = old[key]
    metadata["converted_from"] = {
        "model_format": old["model_format"],
        "format_version": old["format_version"],
        "model_sha256": old["model_sha256"],
        "versions": old.get("versions"),
    }
    return _write_artifact(model, directory, metadata, "skops")


# The recorded SHA-256 of the artifact each loaded model came from: a model loaded in
# one process and its artifact path used in another name the same model (batch
# resume), which a hash of the model pickled again would not (its bytes vary).
_LOADED_CHECKSUMS: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def artifact_checksum(model: Any) -> str | None:
    """The SHA-256 recorded for the artifact that ``model`` was loaded from, if any.

    Parameters
    ----------
    model : object
        A model returned by :func:`load_model`, or any other object.

    Returns
    -------
    checksum : str or None
        None for a model not loaded by :func:`load_model` in this process.
    """
    try:
        return _LOADED_CHECKSUMS.get(model)
    except TypeError:  # an object that cannot be weakly referenced was never recorded
        return None
