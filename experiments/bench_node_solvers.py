"""Which per-node linear model lets hiercls reach napkinXC's PLT on WordNet?

For each setting, fits ``hiercls.HierarchicalClassifier(estimator=<setting>)`` on the
WordNet training split of ``bench_real.py`` (same split, same TF-IDF features), then
scores two decodings of the same fitted model:

- ``greedy``: ``predict`` (top-down, most probable child at each node);
- ``top1``: ``predict_top_k(X, k=1)``, the exact most probable complete path.

napkinXC's PLT runs in the same process on the same data (``bench_real.py``'s adapter)
as the reference line. Every node model is fitted on the columns that are non-zero in
its rows only (``UsedColumnsLinear``; with an L2 penalty the dropped columns would get
zero weight anyway) and its coefficients are scattered back to full width.

    python experiments/bench_node_solvers.py --quick                      # 20k-row subsample
    python experiments/bench_node_solvers.py --settings lbfgs_C10 ovr_log_C10_tol0.1
    python experiments/bench_node_solvers.py --list

Results accumulate (per mode) in ``experiments/results/node_solvers_wordnet.json`` (``results/quick/`` with ``--quick``)
and the Markdown table next to it is rebuilt from all recorded runs. hiercls is imported
from a frozen copy of HEAD (``--source``), since the work tree is being edited.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")  # one thread, before numpy loads

import argparse
import gc
import json
import signal
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _real_data as rd  # noqa: E402
import _runner as runner  # noqa: E402
from _bench_utils import snapshot_package  # noqa: E402

QUICK_ROWS = 20_000


# ============================================================================ node model
def _class_weight_dict(kind: Any, y: np.ndarray, classes: np.ndarray) -> Any:
    """None, "balanced" (n / (K * count)), or "sqrt": the square root of balanced."""
    if kind is None or isinstance(kind, dict):
        return kind
    counts = np.array([(y == c).sum() for c in classes], dtype=float)
    balanced = len(y) / (len(classes) * counts)
    if kind == "balanced":
        weights = balanced
    elif kind == "sqrt":
        weights = np.sqrt(balanced)
    else:
        raise ValueError(f"unknown class_weight {kind!r}")
    return {c: float(w) for c, w in zip(classes.tolist(), weights)}


class OvRLinearNodeModel(ClassifierMixin, BaseEstimator):
    """Fitted one-vs-rest linear node model: per-row normalised sigmoids (or softmax).

    ``predict_proba`` does no input validation (hiercls validates X once), like the
    library's fast path for ``LogisticRegression``.
    """

    def __init__(self, proba: str = "sigmoid") -> None:
        self.proba = proba

    def fit(self, X: Any, y: Any) -> Any:
        """Fit as the "ovr_log" setting does (what ``UsedColumnsLinear`` builds)."""
        return UsedColumnsLinear(loss="ovr_log", proba=self.proba).fit(X, y)

    def decision_function(self, X: Any) -> np.ndarray:
        scores = X @ self.coef_.T
        scores = np.asarray(scores) + self.intercept_
        return scores

    def predict_proba(self, X: Any) -> np.ndarray:
        scores = self.decision_function(X)
        if scores.shape[1] == 1:
            positive = (np.clip((scores[:, 0] + 1) / 2, 0.0, 1.0) if self.proba == "hinge"
                        else expit(scores[:, 0]))
            return np.column_stack([1 - positive, positive])
        if self.proba == "softmax":
            scores -= scores.max(axis=1, keepdims=True)
            np.exp(scores, out=scores)
        elif self.proba == "hinge":
            # The squared hinge loss's population minimiser is f = 2p - 1 (Zhang 2004),
            # so (f + 1) / 2, clipped to [0, 1], estimates each class's probability.
            scores = np.clip((scores + 1) / 2, 1e-6, 1.0)
        else:
            scores = expit(scores)
        scores /= scores.sum(axis=1, keepdims=True)
        return scores

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class UsedColumnsLinear(ClassifierMixin, BaseEstimator):
    """A linear node model fitted on the columns that are non-zero in its rows.

    loss:
      - "multinomial": ``LogisticRegression(solver=...)`` (softmax, one model);
      - "ovr_log": liblinear L2-regularised logistic regression, dual (napkinXC's
        default node solver), one binary model per outcome;
      - "ovr_sqhinge": liblinear L2-loss SVM, dual (``LinearSVC``'s), one per outcome.
    class_weight: None, "balanced", or "sqrt" (square root of the balanced weights).
    float32: pass the node's X as float32 (whether it stays float32 depends on the solver).
    proba (OvR only): "sigmoid" (normalised per row), "softmax" of the OvR scores, or "hinge"
      ((f + 1) / 2 clipped to [0, 1], normalised per row; for the squared hinge loss).

    ``fit`` returns a plain ``LogisticRegression`` (multinomial; the library's fast
    predict path) or an ``OvRLinearNodeModel`` with coefficients at full width, in
    Fortran order so that ``coef_.T`` is C-contiguous for CSR @ dense.
    """

    def __init__(self, loss: str = "multinomial", C: float = 1.0, tol: float = 1e-4,
                 solver: str = "lbfgs", class_weight: Any = None, max_iter: int = 1000,
                 float32: bool = False, proba: str = "sigmoid", random_state: Any = None
                 ) -> None:
        self.loss = loss
        self.C = C
        self.tol = tol
        self.solver = solver
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.float32 = float32
        self.proba = proba
        self.random_state = random_state

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        from sklearn.linear_model import LogisticRegression

        n_features = X.shape[1]
        if sparse.issparse(X):
            X = X.tocsr()
            columns = np.unique(X.indices)
            X_used = X[:, columns]
        else:
            columns = np.arange(n_features)
            X_used = X
        X_used = X_used.astype(np.float32 if self.float32 else np.float64, copy=False)
        y = np.asarray(y)
        classes = np.unique(y)
        weights = _class_weight_dict(self.class_weight, y, classes)
        if self.loss == "multinomial":
            model = LogisticRegression(C=self.C, tol=self.tol, solver=self.solver,
                                       class_weight=weights, max_iter=self.max_iter,
                                       random_state=self.random_state)
            model.fit(X_used, y, sample_weight=sample_weight)
            n_iter = int(np.max(model.n_iter_))
        elif self.loss == "ovr_log_public":
            # The same model through public API only: one liblinear LogisticRegression per
            # outcome. liblinear's own OvR weights only the positive class's C, so the
            # positive label gets the outcome's weight and the rest 1 (both for 2 outcomes).
            model = OvRLinearNodeModel(proba=self.proba)
            targets = classes[1:] if len(classes) == 2 else classes
            coefs, intercepts, n_iter = [], [], 0
            for k in targets:
                if weights is None:
                    cw = None
                elif len(classes) == 2:
                    cw = {1: weights[classes[1]], 0: weights[classes[0]]}
                else:
                    cw = {1: weights[k], 0: 1.0}
                binary = LogisticRegression(solver="liblinear", dual=True, C=self.C,
                                            tol=self.tol, class_weight=cw,
                                            max_iter=self.max_iter,
                                            random_state=self.random_state)
                binary.fit(X_used, (y == k).astype(np.int8), sample_weight=sample_weight)
                coefs.append(binary.coef_[0])
                intercepts.append(binary.intercept_[0])
                n_iter = max(n_iter, int(np.max(binary.n_iter_)))
            model.classes_ = classes
            model.coef_ = np.vstack(coefs)
            model.intercept_ = np.asarray(intercepts, dtype=np.float64)
        else:
            from sklearn.svm._base import _fit_liblinear

            loss = {"ovr_log": "logistic_regression", "ovr_sqhinge": "squared_hinge"}[self.loss]
            model = OvRLinearNodeModel(proba=self.proba)
            # liblinear's own OvR (one call, K binary problems; 2 classes -> 1 problem),
            # intercept as a regularised constant feature like liblinear/napkinXC.
            coef, intercept, n_iter_ = _fit_liblinear(
                X_used, y, self.C, True, 1.0, weights, "l2", True, 0, self.max_iter,
                self.tol, self.random_state, "ovr", loss=loss, sample_weight=sample_weight)
            model.classes_ = classes
            model.coef_ = coef
            model.intercept_ = np.asarray(intercept, dtype=np.float64)
            n_iter = int(np.max(n_iter_))
        coef_full = np.zeros((model.coef_.shape[0], n_features), order="F")
        coef_full[:, columns] = model.coef_
        model.coef_ = coef_full
        model.intercept_ = np.asarray(model.intercept_, dtype=np.float64)
        model.n_features_in_ = n_features
        model.n_iter_max_ = n_iter
        model.columns_ = columns
        model.fit_dtype_ = str(X_used.dtype)
        self.model_ = model
        return model

    def predict(self, X: Any) -> np.ndarray:
        """The fitted model's prediction (hiercls calls the model ``fit`` returned)."""
        return self.model_.predict(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        """The fitted model's probabilities."""
        return self.model_.predict_proba(X)


# ============================================================================== settings
def _settings() -> dict[str, dict[str, Any]]:
    s: dict[str, dict[str, Any]] = {}
    for C in (4, 10, 30):
        for tol, tag in ((1e-4, ""), (1e-3, "_tol1e-3"), (3e-3, "_tol3e-3")):
            s[f"lbfgs_C{C}{tag}"] = {"C": C, "tol": tol}
    for solver in ("sag", "saga"):
        for tol, tag in ((1e-3, "1e-3"), (1e-2, "1e-2")):
            s[f"{solver}_C10_tol{tag}"] = {"solver": solver, "C": 10, "tol": tol, "max_iter": 300}
            s[f"{solver}_C10_tol{tag}_f32"] = {"solver": solver, "C": 10, "tol": tol,
                                              "max_iter": 300, "float32": True}
    s["newton-cg_C10_tol1e-3"] = {"solver": "newton-cg", "C": 10, "tol": 1e-3}
    s["newton-cg_C10_tol1e-2"] = {"solver": "newton-cg", "C": 10, "tol": 1e-2}
    s["lbfgs_C10_tol1e-3_f32"] = {"C": 10, "tol": 1e-3, "float32": True}
    for C in (1, 3, 10, 30):
        for tol, tag in ((0.1, "0.1"), (0.01, "0.01")):
            s[f"ovr_log_C{C}_tol{tag}"] = {"loss": "ovr_log", "C": C, "tol": tol}
            s[f"ovr_log_C{C}_tol{tag}_softmax"] = {"loss": "ovr_log", "C": C, "tol": tol,
                                                   "proba": "softmax"}
    for C in (0.3, 1, 3):
        s[f"ovr_sqhinge_C{C}_tol0.1"] = {"loss": "ovr_sqhinge", "C": C, "tol": 0.1}
        s[f"ovr_sqhinge_C{C}_tol0.1_softmax"] = {"loss": "ovr_sqhinge", "C": C, "tol": 0.1,
                                                 "proba": "softmax"}
        for cw in (None, "balanced", "sqrt"):
            s[f"ovr_sqhinge_C{C}_tol0.1_hingeproba" + (f"_{cw}" if cw else "")] = {
                "loss": "ovr_sqhinge", "C": C, "tol": 0.1, "proba": "hinge", "class_weight": cw}
    s["ovr_log_C20_tol0.1"] = {"loss": "ovr_log", "C": 20, "tol": 0.1}
    for C in (10, 20):
        for cw in (None, "balanced"):
            s[f"ovr_log_public_C{C}_tol0.1" + ("_balanced" if cw else "")] = {
                "loss": "ovr_log_public", "C": C, "tol": 0.1, "class_weight": cw}
    # class weights on the candidates
    for name in list(s):
        if name in ("lbfgs_C10_tol1e-3", "lbfgs_C30_tol1e-3", "lbfgs_C10", "sag_C10_tol1e-2",
                    "ovr_log_C10_tol0.1", "ovr_log_C3_tol0.1", "ovr_log_C30_tol0.1",
                    "ovr_log_C10_tol0.1_softmax", "saga_C10_tol1e-2", "ovr_log_C10_tol0.01",
                    "ovr_log_C20_tol0.1", "ovr_sqhinge_C0.3_tol0.1", "ovr_sqhinge_C1_tol0.1",
                    "ovr_sqhinge_C3_tol0.1"):
            for cw in ("balanced", "sqrt"):
                s[f"{name}_{cw}"] = {**s[name], "class_weight": cw}
    return s


SETTINGS = _settings()


# ================================================================================ running
class _Timeout(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Timeout()


def score_paths(Y_train: np.ndarray, Y_test: np.ndarray, Y_pred: np.ndarray,
                levels: list[str]) -> dict[str, Any]:
    s = rd.score(Y_train, Y_test, Y_pred, levels)
    return {k: s[k] for k in ("leaf_accuracy", "hierarchical_f1", "rare_recall_lt100",
                              "leaf_bucket_recall", "n_invalid_paths", "n_stopped_at_internal",
                              "n_rare_leaf_classes_tested")}


def run_hiercls(name: str, params: dict[str, Any], data: dict[str, Any], timeout: float
                ) -> dict[str, Any]:
    from hiercls import HierarchicalClassifier

    estimator = UsedColumnsLinear(**params)
    clf = HierarchicalClassifier(estimator, random_state=0)
    gc.collect()
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(int(timeout))
    load0 = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        clf.fit(data["X_train"], data["Y_train"])
    except _Timeout:
        return {"status": "timeout", "timeout_s": timeout,
                "fit_s": time.perf_counter() - t0, "fit_cpu_s": time.process_time() - c0}
    finally:
        signal.alarm(0)
    fit_s, fit_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    models = [m for m in clf.estimators_ if m is not None and hasattr(m, "n_iter_max_")]
    n_iters = np.array([m.n_iter_max_ for m in models])
    max_iter = params.get("max_iter", 1000)
    record: dict[str, Any] = {
        "status": "ok", "params": params, "estimator": repr(estimator),
        "fit_s": fit_s, "fit_cpu_s": fit_cpu_s, "load_avg_at_start": load0,
        "n_fitted_nodes": len(models), "n_at_max_iter": int((n_iters >= max_iter).sum()),
        "iterations_median": float(np.median(n_iters)) if len(n_iters) else None,
        "fit_dtypes": sorted({m.fit_dtype_ for m in models}),
        "coef_dtype_solver": None, "decodings": {},
    }
    X_test = data["X_test"]
    t0, c0 = time.perf_counter(), time.process_time()
    greedy = rd.as_paths(clf.predict(X_test))
    record["decodings"]["greedy"] = {"predict_s": time.perf_counter() - t0,
                                     "predict_cpu_s": time.process_time() - c0,
                                     **score_paths(data["Y_train"], data["Y_test"], greedy,
                                                   data["levels"])}
    t0, c0 = time.perf_counter(), time.process_time()
    top = clf.predict_top_k(X_test, k=1)
    top1 = rd.as_paths(top.labels[:, 0, :])
    record["decodings"]["top1"] = {"predict_s": time.perf_counter() - t0,
                                   "predict_cpu_s": time.process_time() - c0,
                                   **score_paths(data["Y_train"], data["Y_test"], top1,
                                                 data["levels"])}
    record["top1_differs_from_greedy"] = float(np.mean(rd.path_keys(greedy) != rd.path_keys(top1)))
    return record


def run_napkinxc(data: dict[str, Any]) -> dict[str, Any]:
    import bench_real

    model = bench_real.build_model("napkinxc_plt", "wordnet", {"categorical": []},
                                   data["Y_train"])
    adapter = bench_real.Adapter("napkinxc_plt", model, data["Y_train"])
    gc.collect()
    load0 = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    adapter.fit(data["X_train"], data["Y_train"])
    fit_s, fit_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    pred = adapter.predict(data["X_test"])
    return {"status": "ok", "params": {"napkinxc": "PLT(threads=1, seed=0), defaults"},
            "estimator": repr(model)[:300], "fit_s": fit_s, "fit_cpu_s": fit_cpu_s,
            "load_avg_at_start": load0,
            "decodings": {"top1": {"predict_s": time.perf_counter() - t0,
                                   "predict_cpu_s": time.process_time() - c0,
                                   **score_paths(data["Y_train"], data["Y_test"], pred,
                                                 data["levels"])}}}


def load_data(n_rows: int | None) -> dict[str, Any]:
    X_raw, Y, _ = rd.load_raw("wordnet", n_max=n_rows, seed=0)
    X_train_raw, X_test_raw, Y_train_df, Y_test_df = rd.split(X_raw, Y, seed=0)
    X_train, X_test, info = rd.featurize("wordnet", "linear", X_train_raw, X_test_raw)
    return {"X_train": X_train, "X_test": X_test, "Y_train": rd.as_paths(Y_train_df),
            "Y_test": rd.as_paths(Y_test_df), "levels": [str(c) for c in Y.columns],
            "featurizer": info["featurizer"]}


# ================================================================================ report
NOTES = [
    "- Accuracy and recall are deterministic per setting (repeats agree to the 4th digit; "
    "napkinXC moves by ±0.0002). Fit seconds are not: the other engineer's jobs pushed the "
    "load average to 4–6 on 2 cores during the later sessions, so wall time ran up to 3× CPU "
    "time and even CPU time moved by ±30% between repeats (SMT / cache sharing). Compare a "
    "setting with the napkinXC line of its own session, preferably on the medians of the "
    "interleaved `--repeat 3` session.",
    "- `ovr_sqhinge_*` (liblinear L2-loss SVM) scores are margins, not probabilities: per-row "
    "normalised sigmoids of them are nearly flat, so the most probable *path* is a short one "
    "(on an 8,000-row check, 65% of `top1` paths stopped at depth 1, where "
    "a few training paths end) – their `top1` rows are not a fair decoding, and "
    "`predict_proba` / `predict_top_k` / `stop_threshold` are meaningless for them. Their "
    "`greedy` rows are valid (greedy only compares outcomes within a node).",
    "- `top1` was checked to be exact: its path probability is ≥ the greedy path's on every "
    "test row.",
    "- sklearn 1.9 keeps float32 for lbfgs/sag/saga/newton-cg (coef_ float32); liblinear "
    "converts to float64. napkinXC gets float32 (bench_real's adapter).",
    "- `saga`/`sag` with class_weight='balanced' converge badly (52 nodes at max_iter=300, "
    "accuracy 0.43): the step size follows the largest sample weight.",
    "- lbfgs with tol ≥ 3e-3 stops after a few iterations at large nodes (accuracy 0.58).",
    "- newton-cholesky is not run: for a multinomial node it forms the (K·d)² Hessian, "
    "e.g. (38 outcomes × 28,345 used columns)² ≈ 1.2e12 entries at the largest node.",
    "- `ovr_log_public_*` is the same model as `ovr_log_*` built from public API only (one "
    "`LogisticRegression(solver='liblinear', dual=True, class_weight={1: w_k, 0: 1})` per "
    "outcome): same accuracy, ~10% more CPU.",
]

def _fmt(v: Any, spec: str = ".4f") -> str:
    return "–" if v is None or (isinstance(v, float) and np.isnan(v)) else format(v, spec)


def write_report(store: dict[str, Any], path: Path) -> None:
    runs = store["runs"]
    lines = [
        f"# Per-node linear models on WordNet ({store['mode']})", "",
        f"{store['n_train']:,} training rows, {store['n_test']:,} test rows, "
        f"{store['n_features']:,} TF-IDF features (`bench_real.py`'s split and featurizer). "
        "Produced by `experiments/bench_node_solvers.py`. Every hiercls setting is "
        "`HierarchicalClassifier(UsedColumnsLinear(...), random_state=0)`: one model per "
        "parent node, fitted on the columns non-zero in the node's rows. Single-threaded, on a "
        "shared 2-core machine: wall seconds move with the other engineer's load, CPU seconds "
        "(process time) less so. `greedy` = `predict`, `top1` = `predict_top_k(X, k=1)` (exact "
        "most probable path). Targets: leaf accuracy and rare (<100 training rows) recall "
        "≥ napkinXC's, fit ≤ 2× napkinXC's (wall and CPU), napkinXC measured in the same "
        "invocation (`session`).", "",
        "Commit and versions per session: " + "; ".join(
            f"{name}: {runner.provenance_note([info.get('machine', {})])[0][len('Every row: '):]}"
            for name, info in sorted(store.get("sessions", {}).items())), "",
        "| setting | dec. | session | fit s | fit CPU s | leaf acc | hF1 | rare<100 | <10 | "
        "10–99 | 100–999 | ≥1000 | pred s | top1≠greedy | nodes at max_iter | targets (acc/rare/time) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    napkin_by_session = {r["session"]: r for r in runs.values()
                         if r.get("kind") == "napkinxc" and r["status"] == "ok"}
    order = sorted(runs.items(), key=lambda kv: (kv[1]["kind"] != "napkinxc",
                                                  kv[1].get("session", ""), kv[0]))
    for key, r in order:
        name = r["setting"]
        if r["status"] != "ok":
            lines.append(f"| {name} | – | {r['session']} | >{r.get('timeout_s', 0):.0f} "
                         f"(timeout) | {_fmt(r.get('fit_cpu_s'), '.1f')} | "
                         + " | ".join(["–"] * 11) + " |")
            continue
        ref = napkin_by_session.get(r["session"])
        if ref is None and napkin_by_session:
            ref = napkin_by_session[max(napkin_by_session)]
        for dec, d in r["decodings"].items():
            b = d["leaf_bucket_recall"]
            targets = "–"
            if ref is not None and r["kind"] != "napkinxc":
                rd_ = ref["decodings"]["top1"]
                ok_acc = d["leaf_accuracy"] >= rd_["leaf_accuracy"]
                ok_rare = d["rare_recall_lt100"] >= rd_["rare_recall_lt100"]
                ok_time = r["fit_s"] <= 2 * ref["fit_s"]
                ok_cpu = r["fit_cpu_s"] <= 2 * ref["fit_cpu_s"]
                mark = lambda ok: "✔" if ok else "✘"  # noqa: E731
                targets = (f"{mark(ok_acc)}/{mark(ok_rare)}/{mark(ok_time)} wall, "
                           f"{mark(ok_cpu)} CPU")
            lines.append(
                f"| {name} | {dec} | {r['session']} | {r['fit_s']:.1f} | {r['fit_cpu_s']:.1f} | "
                f"{d['leaf_accuracy']:.4f} | {d['hierarchical_f1']:.4f} | "
                f"{d['rare_recall_lt100']:.3f} | "
                + " | ".join(_fmt(b[k]["macro_recall"], ".3f") for k in rd.BUCKETS)
                + f" | {d['predict_s']:.2f} | "
                f"{_fmt(r.get('top1_differs_from_greedy') if dec == 'top1' else None, '.3f')} | "
                f"{r.get('n_at_max_iter', '–')} | {targets} |")
    lines += ["", "## Fit time relative to napkinXC in the same session", "",
              "Median over the runs of a session (interleaved repeats with `--repeat`).", "",
              "| session | setting | runs | median fit s | median fit CPU s | ratio wall | "
              "ratio CPU |", "|---|---|---|---|---|---|---|"]
    for session in sorted({r["session"] for r in runs.values()}):
        group: dict[str, list] = {}
        for r in runs.values():
            if r["session"] == session and r["status"] == "ok":
                group.setdefault(r["setting"], []).append(r)
        ref = group.get("napkinXC PLT")
        if not ref:
            continue
        ref_wall = float(np.median([r["fit_s"] for r in ref]))
        ref_cpu = float(np.median([r["fit_cpu_s"] for r in ref]))
        for setting, rs in sorted(group.items(), key=lambda kv: kv[0] != "napkinXC PLT"):
            wall = float(np.median([r["fit_s"] for r in rs]))
            cpu = float(np.median([r["fit_cpu_s"] for r in rs]))
            lines.append(f"| {session} | {setting} | {len(rs)} | {wall:.1f} | {cpu:.1f} | "
                         f"{wall / ref_wall:.2f} | {cpu / ref_cpu:.2f} |")
    lines += ["", "## Notes", "", *NOTES, "", "## Settings", ""]
    described = {r["setting"]: r for r in runs.values()
                 if r.get("kind") != "napkinxc" and r.get("estimator")}
    for _, r in sorted(described.items()):
        if True:
            lines.append(f"- `{r['setting']}`: `{r['estimator']}`; input dtype at the solver "
                         f"{r.get('fit_dtypes')}, median iterations {r.get('iterations_median')}")
    lines += ["", "Buckets: macro recall of leaf classes (full paths) by training rows; "
              "`rare<100` pools the two lowest buckets.", ""]
    path.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"seeded {QUICK_ROWS:,}-row subsample of WordNet")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--settings", nargs="+", default=["lbfgs_C10", "ovr_log_C10_tol0.1"])
    parser.add_argument("--no-napkinxc", action="store_true")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run napkinXC and the settings this many times, interleaved "
                             "(fit-time noise on a shared machine)")
    parser.add_argument("--timeout", type=float, default=180.0, help="fit seconds per setting")
    parser.add_argument("--source", choices=("head", "worktree", "installed"), default="head")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    if args.list:
        for name, params in SETTINGS.items():
            print(f"{name:40s} {params}")
        return
    unknown = [s for s in args.settings if s not in SETTINGS]
    if unknown:
        parser.error(f"unknown settings {unknown}; see --list")
    warnings.filterwarnings("ignore")
    rd.require_data("wordnet")

    snapshot: dict[str, Any] = {"source": "installed"}
    scratch = tempfile.mkdtemp(prefix="bench_node_solvers_")
    if args.source != "installed":
        snapshot = snapshot_package(Path(scratch), source=args.source)
        sys.path.insert(0, snapshot["path"])
    import hiercls

    mode = "quick" if args.quick else ("full" if args.rows is None else f"rows{args.rows}")
    n_rows = QUICK_ROWS if args.quick else args.rows
    data = load_data(n_rows)
    session = time.strftime("%H:%M:%S")
    out = runner.results_dir(mode != "full") / ("node_solvers_wordnet" + ("" if mode == "full" else f"_{mode}") + ".json")
    store = json.loads(out.read_text()) if out.exists() else {"runs": {}}
    store.update(mode=mode, n_train=int(data["X_train"].shape[0]),
                 n_test=int(data["X_test"].shape[0]), n_features=int(data["X_train"].shape[1]),
                 featurizer=data["featurizer"])
    store.setdefault("sessions", {})[session] = {
        "machine": runner.machine_info(), "hiercls_snapshot": snapshot, "hiercls_file": hiercls.__file__,
        "settings": args.settings, "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S")}
    print(f"# {mode}: {data['X_train'].shape} train; hiercls {hiercls.__file__}", flush=True)

    def save(key: str, record: dict[str, Any]) -> None:
        store["runs"][key] = record
        out.write_text(json.dumps(store, indent=1, default=float))
        write_report(store, out.with_suffix(".md"))

    jobs = ([] if args.no_napkinxc else ["napkinxc"]) + list(args.settings)
    for rep, name in [(r, n) for r in range(args.repeat) for n in jobs]:
        if name == "napkinxc":
            record = run_napkinxc(data)
            record.update(kind="napkinxc", setting="napkinXC PLT")
        else:
            record = run_hiercls(name, dict(SETTINGS[name]), data, args.timeout)
            record.update(kind="hiercls", setting=name)
        record["session"] = session
        record["repeat"] = rep
        save(f"{session} {name}" + (f" #{rep}" if args.repeat > 1 else ""), record)
        msg = f"{name:36s} {record['status']:7s} fit {record['fit_s']:6.1f}s cpu {record['fit_cpu_s']:6.1f}s"
        for dec, d in record.get("decodings", {}).items():
            msg += (f" | {dec}: acc {d['leaf_accuracy']:.4f} hF1 {d['hierarchical_f1']:.4f} "
                    f"rare {d['rare_recall_lt100']:.3f}")
        if "n_at_max_iter" in record:
            msg += f" | max_iter hits {record['n_at_max_iter']}"
        print(msg, flush=True)
    print(f"wrote {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
