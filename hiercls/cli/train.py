"""``hiercls-train``: fit, evaluate and save a HierarchicalClassifier as a Hydra run.

The Hydra entry point is a thin shell around :func:`train`, which tests call with a
composed config. Every run leaves in its output folder: ``model/`` (the artifact),
``metrics.json``, the sufficiency report, the rare-class report, and ``.hydra/``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
import warnings
from pathlib import Path
from typing import Any

import hydra
import numpy as np
import pandas as pd
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import hiercls

from .._atomic import write_atomic, write_json
from ..artifacts import find_classifier, save_model
from ..categorical import CategoricalColumns, categorical_node_settings, find_categorical_columns
from ..datasets import train_test_split_hierarchical
from ..estimator import HierarchicalClassifier
from ..exceptions import InsufficientSupportWarning
from ..metrics import (
    evaluate,
    label_propensities,
    multilabel_hierarchical_f1,
    multilabel_hierarchical_precision_recall_f1,
    precision_at_k,
    propensity_scored_precision_at_k,
    support_bucket_report,
)
from ..model_selection import is_auto
from ..multilabel import MultiLabelHierarchicalClassifier
from ..parallel import fit_backend
from ..reports import rare_class_report
from ..reports.features import class_features, feature_names_of
from ..reports.model_selection import write_model_selection_report
from ..reports.path_sets import write_path_bucket_report
from .config import (
    CONF_DIR,
    ConfigError,
    build_engine,
    check_booleans,
    check_required,
    check_targets,
)
from .errors import error_boundary, hydra_boundary
from .init_model import check_init_model, start_from, warm_start_metrics

__all__ = ["train", "main", "build_model", "load_dataset"]

logger = logging.getLogger(__name__)

_NOT_LOADER_ARGS = ("split", "tfidf", "threshold")


def load_dataset(data_cfg: DictConfig) -> Any:
    """Call the configured loader; returns a Bunch with ``data``, ``target``, ``text_column``."""
    loader_cfg = {k: v for k, v in data_cfg.items() if k not in _NOT_LOADER_ARGS}
    path = loader_cfg.get("path")
    if path is not None and not str(path).strip():
        raise ConfigError("data.path is empty; give the path of a data file, e.g. data.path=train.csv.")
    if path is not None and Path(path).is_dir():
        raise ConfigError(f"data.path={path!r} is a directory; give the path of a data file.")
    if path is not None and not Path(path).is_file():
        raise FileNotFoundError(f"data.path={path!r} does not exist; give the path of a data file.")
    try:
        dataset = instantiate(OmegaConf.create(loader_cfg), _convert_="all")
    except InstantiationException as exc:
        # The loaders' own errors name the column or file; Hydra's wrapper only hides them.
        if isinstance(exc.__cause__, (ValueError, OSError, ImportError)):
            raise exc.__cause__ from None
        raise
    target = dataset.target
    if target is None:  # several paths per row (target_sets)
        if not any(dataset.target_sets):
            raise ConfigError(f"data.paths_column={data_cfg.get('paths_column')!r} holds no path in any row.")
        return dataset
    empty = [c for c in target.columns if target[c].isna().all() or (target[c] == "").all()]
    if empty:
        raise ConfigError(
            f"Label level(s) {empty} are empty in every row of the data; drop them from data.label_columns."
        )
    return dataset


def _estimator_configs(model_cfg: DictConfig, level_names: list[str]) -> DictConfig:
    """Resolve per-level entries that give only parameters onto the base estimator.

    ``level_estimators.category: {n_estimators: 300}`` means "the base estimator with
    n_estimators=300 at level category". An entry that changes nothing (empty, or
    equal to the base estimator's values) is dropped, so a model config can list
    tunable levels without tying itself to one dataset's level names.
    """
    model_cfg = OmegaConf.create(OmegaConf.to_container(model_cfg, resolve=True))  # type: ignore[assignment]
    levels = model_cfg.get("level_estimators") or {}
    base = model_cfg.get("estimator") or {}
    resolved = {}
    for name, entry in levels.items():
        if entry is None:
            continue
        if "_target_" not in entry:
            if all(base.get(key) == value for key, value in entry.items()):
                continue
            entry = OmegaConf.merge(base, entry)
        resolved[name] = entry
    unknown = sorted(set(resolved) - set(level_names))
    if unknown:
        raise ConfigError(
            f"model.level_estimators has keys {unknown} that are not levels of the data; "
            f"the levels are {level_names}."
        )
    model_cfg.level_estimators = resolved
    return model_cfg


def build_model(
    model_cfg: DictConfig, dataset: Any, tfidf_cfg: DictConfig | None, threshold: float = 0.4
) -> Any:
    """The HierarchicalClassifier, behind a preprocessing Pipeline step when the data need one.

    Data with several paths per row (``target_sets``) get a
    :class:`~hiercls.MultiLabelHierarchicalClassifier` with the model config's node
    models and ``threshold``.

    A text column becomes TF-IDF features. Categorical columns (pandas ``category``
    or string dtype) reach node models that take categories (LightGBM,
    HistGradientBoosting) as they are; for other node models, or next to a text
    column, they are one-hot encoded, and numeric columns are then imputed (with
    missing-value indicators) and standardised.
    """
    multi_label = dataset.target is None
    level_names = (
        [f"level{j}" for j in range(max(len(path) for paths in dataset.target_sets for path in paths))]
        if multi_label
        else [str(c) for c in dataset.target.columns]
    )
    classifier = instantiate(_estimator_configs(model_cfg, level_names), _convert_="all")
    if multi_label:
        if getattr(classifier, "collapse_levels", None):
            raise ConfigError(
                "model.collapse_levels is set, but the data have several paths per row, and the "
                "multi-label model has no collapsed levels; set model.collapse_levels=null."
            )
        if is_auto(getattr(classifier, "estimator", None)):
            raise ConfigError(
                "model=auto chooses a node model per level for data with one path per row; "
                "these data have several paths per row (a MultiLabelHierarchicalClassifier, "
                "one binary model per child), for which there is no 'auto'. Use model=default "
                "(the linear model), model=lgbm or model=logreg."
            )
        shared = MultiLabelHierarchicalClassifier._get_param_names()
        params = {k: v for k, v in classifier.get_params(deep=False).items() if k in shared}
        classifier = MultiLabelHierarchicalClassifier(**params, threshold=threshold)
    text_column = getattr(dataset, "text_column", None)
    others = [c for c in dataset.data.columns if c != text_column]
    categorical = find_categorical_columns(dataset.data[others])
    # After a ColumnTransformer the classifier sees one numeric matrix: no categories left.
    one_hot = categorical is not None and (
        bool(text_column) or not _node_models_take_categories(classifier, categorical)
    )
    if not text_column and not one_hot:
        return classifier
    transformers: list[tuple[str, Any, Any]] = []
    if text_column:
        tfidf: dict[str, Any] = (
            OmegaConf.to_container(tfidf_cfg, resolve=True) if tfidf_cfg else {}  # type: ignore[assignment]
        )
        if "ngram_range" in tfidf:
            tfidf["ngram_range"] = tuple(tfidf["ngram_range"])
        transformers.append(("text", TfidfVectorizer(**tfidf), text_column))
    if one_hot and categorical is not None:
        names = list(categorical.names)
        numeric = [c for c in others if c not in names]
        transformers.append(("categorical", OneHotEncoder(handle_unknown="ignore"), names))
        if numeric:
            scaled = make_pipeline(SimpleImputer(add_indicator=True), StandardScaler())
            transformers.append(("numeric", scaled, numeric))
    elif others:
        transformers.append(("numeric", "passthrough", others))
    features = ColumnTransformer(transformers, sparse_threshold=1.0)
    return Pipeline([("features", features), ("classifier", classifier)])


def _node_models_take_categories(classifier: HierarchicalClassifier, columns: CategoricalColumns) -> bool:
    """Whether every node model of ``classifier`` can be told about categorical columns."""
    try:
        for template in classifier._templates():  # the same models fit() checks
            categorical_node_settings(template, columns)
    except ValueError:
        return False
    return True


def _split_groups(dataset: Any, data_cfg: DictConfig) -> Any:
    """The group key of each row for ``data.split.grouped=true``, or a clear error."""
    groups = dataset.get("groups")
    if groups is None:
        raise ValueError(
            f"data.split.grouped=true keeps groups of rows together, but the data set "
            f"{data_cfg.get('_target_')} defines no groups; data=oews does (its areas). "
            f"Set data.split.grouped=false."
        )
    return groups


def _check_split_sizes(n_rows: int, sizes: dict[str, int], split: dict[str, Any]) -> None:
    """Refuse, before any training, data too small to evaluate on."""
    empty = [name for name, size in sizes.items() if size == 0]
    if empty:
        raise ConfigError(
            f"The data have {n_rows} rows: too few for a {' and a '.join(empty)} split "
            f"(data.split.test_size={split.get('test_size')}, "
            f"data.split.validation_size={split.get('validation_size', 0.1)}); give more "
            f"labelled rows, or larger sizes."
        )


def _about(cfg: DictConfig, output_dir: Path, classifier: HierarchicalClassifier) -> dict[str, str]:
    """What a run's report describes: model, data, run folder, hiercls version."""
    model = " ".join(repr(classifier).split())
    data = cfg.data.get("path") or cfg.data.get("_target_")
    return {
        "model": model if len(model) <= 200 else model[:199] + "…",
        "data": str(data),
        "run": str(output_dir),
        "hiercls": hiercls.__version__,
    }


def _command_line_spelling(message: str) -> str:
    """A sufficiency message with the options spelled as hiercls-train takes them."""
    for python, command_line in (
        ("use sufficiency_policy='merge'", "run with sufficiency=merge"),
        ("Lower the threshold", "Lower sufficiency.min_samples"),
        ("lower the threshold", "lower sufficiency.min_samples"),
        ("(see sufficiency_report_)", "(see sufficiency_report.md in the run folder)"),
    ):
        message = message.replace(python, command_line)
    return message


def _fit(cfg: DictConfig, model: Any, X: Any, Y: Any) -> float:
    """Fit on the configured engine; sufficiency warnings in command-line words. Returns seconds."""
    started = time.perf_counter()
    with fit_backend(build_engine(cfg)), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InsufficientSupportWarning)
        model.fit(X, Y)
    for warning in caught:
        if issubclass(warning.category, InsufficientSupportWarning):
            logger.warning(_command_line_spelling(str(warning.message)))
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return time.perf_counter() - started


def _log_reuse(cfg: DictConfig, model: Any) -> None:
    reuse = warm_start_metrics(cfg.get("init_model"), model)
    if reuse["init_model"] is None:
        logger.info("Fitted %d node models", reuse["n_nodes_refitted"])
        return
    logger.info(
        "Fitted %d node models and reused %d unchanged ones of init_model=%s",
        reuse["n_nodes_refitted"],
        reuse["n_nodes_reused"],
        reuse["init_model"],
    )


def _timed_predict(model: Any, X: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    predicted = model.predict(X)
    return predicted, time.perf_counter() - started


#: The numbers of metrics.json's "validation" block that ``optimized_metric`` may name.
OPTIMIZABLE_METRICS = (
    "hierarchical_f1",
    "hierarchical_precision",
    "hierarchical_recall",
    "leaf_accuracy",
    "predict_seconds",
    "predict_rows_per_second",
)


def _scores(Y: pd.DataFrame, predicted: Any, seconds: float, Y_train: pd.DataFrame) -> dict[str, Any]:
    levels = list(Y.columns)
    scores = evaluate(Y, predicted, Y_train=Y_train, levels=levels)
    out: dict[str, Any] = {
        "hierarchical_precision": scores.hierarchical_precision,
        "hierarchical_recall": scores.hierarchical_recall,
        "hierarchical_f1": scores.hierarchical_f1,
        "leaf_accuracy": scores.leaf_accuracy,
        "per_level": json.loads(scores.per_level.reset_index().to_json(orient="records")),
    }
    out["predict_seconds"] = seconds
    out["predict_rows_per_second"] = len(Y) / seconds if seconds > 0 else float("inf")
    out["n_rows"] = len(Y)
    return out


def train(cfg: DictConfig) -> dict[str, Any]:
    """Run one experiment: load, split, fit, evaluate, write every artifact.

    Parameters
    ----------
    cfg : DictConfig
        A composed ``train`` config.

    Returns
    -------
    metrics : dict
        What ``metrics.json`` holds.

    Raises
    ------
    ConfigError
        For a missing required value, a ``_target_`` that does not import, or
        per-level estimators that name levels the data do not have; raised before any
        training.
    """
    check_required(cfg)
    if cfg.get("optimized_metric") not in OPTIMIZABLE_METRICS:
        raise ConfigError(
            f"optimized_metric={cfg.get('optimized_metric')!r} is no metric of the validation "
            f"split; choose one of {', '.join(OPTIMIZABLE_METRICS)}."
        )
    check_booleans(cfg, "report.figures")
    check_targets(cfg, "model")
    check_targets(cfg, "data")
    output_dir = (
        Path(HydraConfig.get().runtime.output_dir)
        if HydraConfig.initialized()
        else Path(cfg.paths.output_dir)
    )
    output_dir.mkdir(parents=True, exist_ok=True)
    dataset = load_dataset(cfg.data)
    model = build_model(cfg.model, dataset, cfg.data.get("tfidf"), cfg.data.get("threshold", 0.4))
    model = start_from(cfg.get("init_model"), model)
    if dataset.target is None:
        return train_multilabel(cfg, dataset, model, output_dir)
    split: dict[str, Any] = OmegaConf.to_container(cfg.data.split, resolve=True)  # type: ignore[assignment]
    if split.pop("grouped", False):
        split["groups"] = _split_groups(dataset, cfg.data)
    X_train, X_val, X_test, Y_train, Y_val, Y_test = train_test_split_hierarchical(
        dataset.data, dataset.target, **{"validation_size": 0.1, **split}
    )
    _check_split_sizes(len(dataset.target), {"validation": len(Y_val), "test": len(Y_test)}, split)
    logger.info(
        "Training on %d rows (%d validation, %d test), %d levels: %s",
        len(Y_train),
        len(Y_val),
        len(Y_test),
        Y_train.shape[1],
        list(Y_train.columns),
    )
    check_init_model(cfg.get("init_model"), model, X_train, list(Y_train.columns))
    fit_seconds = _fit(cfg, model, X_train, Y_train)
    _log_reuse(cfg, model)
    # The model first: a report that fails to write (a full disk) must not lose it.
    save_model(model, output_dir / "model", training_data=(X_train, Y_train))
    classifier = find_classifier(model)
    classifier.sufficiency_report_.write(output_dir)
    val_predicted, val_seconds = _timed_predict(model, X_val)
    test_predicted, test_seconds = _timed_predict(model, X_test)
    metrics: dict[str, Any] = {
        "fit_seconds": fit_seconds,
        **warm_start_metrics(cfg.get("init_model"), model),
        "n_train": len(Y_train),
        "levels": list(Y_train.columns),
        "n_classes": [len(c) for c in classifier.classes_],
        "validation": _scores(Y_val, val_predicted, val_seconds, Y_train),
        "test": _scores(Y_test, test_predicted, test_seconds, Y_train),
    }
    _write_predictions(output_dir / "test_predictions.csv", Y_test, test_predicted)
    proba = model.predict_proba(X_test) if hasattr(model, "predict_proba") else None
    report = rare_class_report(
        Y_test,
        test_predicted,
        Y_train=Y_train,
        levels=list(Y_train.columns),
        min_samples=int(classifier.min_samples),
        proba=proba,
        classes=classifier.classes_ if proba is not None else None,
        about=_about(cfg, output_dir, classifier),
    )
    # What the model leans on for its worst classes, named as the featurizer names them
    # (a TF-IDF vocabulary's words).
    worst_features = class_features(
        classifier, report.worst_classes["path"].tolist(), feature_names=feature_names_of(model)
    )
    report = dataclasses.replace(report, worst_class_features=worst_features)
    report.write(output_dir, figures=cfg.report.figures)
    selection = getattr(classifier, "model_selection_", None)
    if selection is not None:  # estimator="auto": which node model each level got, and why
        write_model_selection_report(selection, output_dir, about=_about(cfg, output_dir, classifier))
        metrics["model_selection"] = json.loads(selection.to_json(orient="records"))
    write_json(output_dir / "metrics.json", metrics)  # last: a run is complete when it exists
    logger.info(
        "Done in %.1fs: test hierarchical F1 %.4f, leaf accuracy %.4f. Artifacts in %s "
        "(model/, metrics.json, sufficiency_report.*, rare_class_report.*, .hydra/)",
        fit_seconds,
        metrics["test"].get("hierarchical_f1", float("nan")),
        metrics["test"].get("leaf_accuracy", float("nan")),
        output_dir,
    )
    return metrics


#: What metrics.json's "validation" block holds for several paths per row.
MULTILABEL_METRICS = ("hierarchical_f1", "hierarchical_precision", "hierarchical_recall", "precision_at_1")


def train_multilabel(cfg: DictConfig, dataset: Any, model: Any, output_dir: Path) -> dict[str, Any]:
    """:func:`train` for data with several paths per row (``data=multilabel``).

    The split is random (rows with several paths cannot be stratified by one); the
    report is the support-bucket table of
    :func:`~hiercls.multilabel_metrics.support_bucket_report`.
    """
    if cfg.optimized_metric not in MULTILABEL_METRICS:
        raise ConfigError(
            f"optimized_metric={cfg.optimized_metric!r} is no metric of a multi-label run; "
            f"choose one of {', '.join(MULTILABEL_METRICS)}."
        )
    split: dict[str, Any] = OmegaConf.to_container(cfg.data.split, resolve=True)  # type: ignore[assignment]
    if split.pop("grouped", False):
        raise ConfigError("data.split.grouped=true needs groups, which data=multilabel does not define.")
    n_rows = len(dataset.target_sets)
    rows = np.random.default_rng(split.get("random_state")).permutation(n_rows)
    n_test = int(round(split.get("test_size", 0.2) * n_rows))
    n_val = int(round(split.get("validation_size", 0.1) * n_rows))
    _check_split_sizes(n_rows, {"validation": n_val, "test": n_test}, split)
    parts = {
        "test": rows[:n_test],
        "validation": rows[n_test : n_test + n_val],
        "train": rows[n_test + n_val :],
    }
    X = {name: dataset.data.iloc[np.sort(at)] for name, at in parts.items()}
    Y = {name: [dataset.target_sets[i] for i in np.sort(at)] for name, at in parts.items()}
    logger.info(
        "Training on %d rows (%d validation, %d test), several paths per row", len(Y["train"]), n_val, n_test
    )
    check_init_model(cfg.get("init_model"), model, X["train"], None)
    fit_seconds = _fit(cfg, model, X["train"], Y["train"])
    _log_reuse(cfg, model)
    save_model(model, output_dir / "model", training_data=(X["train"], Y["train"]))
    classifier = find_classifier(model)
    classifier.sufficiency_report_.write(output_dir)
    features = model[:-1] if isinstance(model, Pipeline) else None
    metrics: dict[str, Any] = {
        "fit_seconds": fit_seconds,
        **warm_start_metrics(cfg.get("init_model"), model),
        "n_train": len(Y["train"]),
        "levels": list(classifier.levels_),
        "n_classes": [len(c) for c in classifier.hierarchy_.level_labels],
        "n_paths": classifier.n_paths_,
    }
    propensities = label_propensities(Y["train"]) if len(Y["train"]) >= 3 else None
    for name in ("validation", "test"):
        X_part = X[name] if features is None else features.transform(X[name])
        started = time.perf_counter()
        found = classifier.predict_paths(X_part)
        seconds = time.perf_counter() - started
        ranked = classifier.predict_top_k(X_part, 5).labels
        metrics[name] = _multilabel_scores(Y[name], found.paths, ranked, propensities, seconds)
        if name == "test":
            bucket_report = support_bucket_report(Y[name], ranked, Y["train"], k=5)
            test_paths = found
    write_path_bucket_report(
        bucket_report, output_dir, about=_about(cfg, output_dir, classifier), k=5, figures=cfg.report.figures
    )
    table = pd.DataFrame(
        {
            "row": X["test"].index,
            "true_paths": [_joined(paths, cfg.data) for paths in Y["test"]],
            "predicted_paths": [_joined(paths, cfg.data) for paths in test_paths.paths],
        }
    )
    write_atomic(output_dir / "test_predictions.csv", lambda tmp: table.to_csv(tmp, index=False))
    write_json(output_dir / "metrics.json", metrics)  # last: a run is complete when it exists
    logger.info(
        "Done in %.1fs: test hierarchical F1 %.4f, precision@1 %.4f. Artifacts in %s "
        "(model/, metrics.json, sufficiency_report.*, rare_class_report.*, .hydra/)",
        fit_seconds,
        metrics["test"]["hierarchical_f1"],
        metrics["test"]["precision_at_1"],
        output_dir,
    )
    return metrics


def _joined(paths: list[tuple[Any, ...]], data_cfg: DictConfig) -> str:
    return data_cfg.path_separator.join(data_cfg.level_separator.join(map(str, p)) for p in paths)


def _multilabel_scores(
    Y: list[Any], found: list[Any], ranked: Any, propensities: Any, seconds: float
) -> dict[str, Any]:
    precision, recall, f1 = multilabel_hierarchical_precision_recall_f1(Y, found, zero_division=0.0)
    out: dict[str, Any] = {
        "hierarchical_precision": precision,
        "hierarchical_recall": recall,
        "hierarchical_f1": f1,
        "hierarchical_f1_samples": multilabel_hierarchical_f1(Y, found, average="samples", zero_division=0.0)
        if all(Y)
        else None,
    }
    for k in (1, 3, 5):
        out[f"precision_at_{k}"] = precision_at_k(Y, ranked, k=k)
    out["psp_at_5"] = (
        propensity_scored_precision_at_k(Y, ranked, propensities=propensities, k=5) if propensities else None
    )
    out["predict_seconds"] = seconds
    out["n_rows"] = len(Y)
    return out


def _write_predictions(path: Path, Y_true: pd.DataFrame, Y_pred: Any) -> None:
    """Test rows (by their index in the data) with true and predicted labels per level."""
    table = pd.DataFrame({"row": Y_true.index})
    for j, level in enumerate(Y_true.columns):
        table[f"true_{level}"] = Y_true[level].to_numpy()
        table[f"pred_{level}"] = Y_pred[:, j]
    write_atomic(path, lambda tmp: table.to_csv(tmp, index=False))


@hydra.main(config_path=str(CONF_DIR), config_name="train", version_base="1.3")
def _run(cfg: DictConfig) -> float:
    """Hydra's task: returns the validation metric named by ``optimized_metric``."""
    with error_boundary("hiercls-train", run_dir=Path(HydraConfig.get().runtime.output_dir)):
        metrics = train(cfg)
    return float(metrics["validation"].get(cfg.optimized_metric, float("nan")))


def main() -> None:
    """``hiercls-train``: compose the config from the command line and run :func:`train`.

    An expected failure, including a command line Hydra cannot compose, ends with one
    line on stderr (see ``errors``); a failed run's folder holds ``FAILED.txt``.
    """
    with hydra_boundary("hiercls-train"):
        _run()


if __name__ == "__main__":
    main()
