"""Benchmark hiercls against its peers on real data (WordNet nouns, OEWS) and one synthetic set.

Every (dataset, model) pair runs in its own process under a time and memory limit and
appends one JSON line to a results file, with the CPU model and package versions; a
timeout or a memory error is recorded as a result. A summary step then writes a
Markdown and CSV table, the targets met or not, and a plot of leaf-class recall per
training-support bucket.

    python experiments/bench_real.py --quick                  # smoke test, results/quick/
    python experiments/bench_real.py                          # full run (~60 minutes)
    python experiments/bench_real.py --datasets oews --models hiercls_default hiercls_lgbm
    python experiments/bench_real.py --summary-only           # rebuild tables and plot

Times are only comparable between lines recorded on the same CPU model; the summary
keeps the newest line per (dataset, model) and says which CPU each came from.
All children run single-threaded (BLAS, OpenMP, LightGBM and napkinXC with one thread).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _real_data as rd  # noqa: E402
import _runner as runner  # noqa: E402
from _bench_utils import snapshot_package  # noqa: E402

# Rows used per dataset (None = all), chosen so the full run fits in about an hour on
# two cores: OEWS has 304,936 rows; 60,000 keep ~830 leaf classes with 4 to ~200 rows.
FULL_ROWS = {"wordnet": None, "oews": 60_000, "synthetic": 100_000}
QUICK_ROWS = {"wordnet": 2_000, "oews": 2_000, "synthetic": 2_000}

# LightGBM rounds per dataset. On WordNet a flat LightGBM grows one tree per class
# (1,845) per round, so it gets very few rounds.
LGBM_ROUNDS = {"wordnet": 50, "oews": 100, "synthetic": 100}
FLAT_LGBM_ROUNDS = {"wordnet": 10, "oews": 30, "synthetic": 30}

ALL_MODELS = (
    "hiercls_default", "hiercls_default_top1", "hiercls_lr", "hiercls_proposed", "hiercls_lgbm",
    "hiercls_lr_c10", "hiercls_lr_balanced", "hiclass_lcppn_lr", "hiclass_lcppn_lgbm", "hiclass_lcpn_lr", "hiclass_lcpl_lr",
    "flat_lr", "flat_lr_saga", "flat_lgbm", "napkinxc_plt",
    # hiercls + LightGBM diagnosis variants (OEWS)
    "hiercls_lgbm_mcs5", "hiercls_lgbm_balanced", "hiercls_lgbm_lr_small",
)
# hiclass LocalClassifierPerNode / PerLevel run last on each data set with short limits,
# so that the whole full run stays within about an hour.
FULL_PLAN = {
    "wordnet": ("hiercls_default", "hiclass_lcppn_lr", "napkinxc_plt", "hiercls_proposed",
                "hiercls_lr_balanced", "flat_lr_saga", "hiercls_lgbm", "hiclass_lcppn_lgbm",
                "flat_lgbm", "flat_lr", "hiclass_lcpn_lr"),
    "oews": ("hiercls_default", "hiercls_proposed", "hiercls_lgbm", "hiclass_lcppn_lr",
             "hiclass_lcppn_lgbm", "flat_lr_saga", "flat_lgbm", "napkinxc_plt", "flat_lr",
             "hiercls_lgbm_mcs5", "hiercls_lgbm_balanced", "hiercls_lgbm_lr_small",
             "hiclass_lcpn_lr", "hiclass_lcpl_lr"),
    "synthetic": ("hiercls_default", "hiclass_lcppn_lr", "hiercls_lgbm"),
}
QUICK_PLAN = {
    "wordnet": ("hiercls_default", "hiercls_lgbm", "hiclass_lcppn_lr", "flat_lr_saga",
                "flat_lgbm", "napkinxc_plt"),
    "oews": ("hiercls_default", "hiercls_lgbm", "hiclass_lcppn_lr", "flat_lr", "flat_lgbm"),
}
# Per-run time limits (seconds) in the full run where the default would waste the
# budget on a run that is known to time out; --timeout overrides them all.
# (flat lbfgs LR on OEWS converged in 789 s in an exploratory run; on WordNet it needs
# 1,845 x 38k coefficients per L-BFGS vector.)
FULL_TIME_LIMITS = {
    ("wordnet", "flat_lr"): 120, ("wordnet", "flat_lgbm"): 180, ("oews", "flat_lr"): 180,
    ("wordnet", "hiclass_lcpn_lr"): 240, ("oews", "hiclass_lcpn_lr"): 240,
    ("oews", "hiclass_lcpl_lr"): 240,
}
DEFAULT_TIMEOUT = 900.0


# ============================================================================ models
def feature_kind(model: str) -> str:
    return "tree" if "lgbm" in model else "linear"


def lgbm(dataset: str, categorical: list[int], rounds: int | None = None, **params: Any) -> Any:
    from lightgbm import LGBMClassifier

    extra = {"categorical_feature": categorical} if categorical else {}
    return LGBMClassifier(n_estimators=rounds or LGBM_ROUNDS[dataset], n_jobs=1, verbose=-1,
                          random_state=0, **extra, **params)


def linear_pipeline_on_tree_features(n_numeric: int, categorical: list[int]) -> Any:
    """A logistic regression that reads the LightGBM feature matrix (raw numbers with
    NaN, integer category codes), so it can sit at some nodes of a LightGBM tree."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    class ImputingPipeline(Pipeline):
        """Its imputers take NaN, but a Pipeline's tags follow its first step (here a
        ColumnTransformer, which does not say so) and hiercls refuses NaN unless every
        node model's tags allow it."""

        def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
            tags = super().__sklearn_tags__()
            tags.input_tags.allow_nan = True
            return tags

    numeric = list(range(n_numeric))
    return ImputingPipeline([
        ("features", ColumnTransformer([
            ("num", make_pipeline(FunctionTransformer(np.log1p),
                                  SimpleImputer(strategy="median", add_indicator=True),
                                  StandardScaler()), numeric),
            ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value=-1),
                                  OneHotEncoder(handle_unknown="ignore")), categorical),
        ])),
        ("model", LogisticRegression(max_iter=1000)),
    ])


def small_nodes(Y_train: np.ndarray, max_rows: int) -> list[tuple]:
    """Paths of the parent nodes with fewer than ``max_rows`` training rows."""
    keys: dict[tuple, int] = {(): len(Y_train)}
    for j in range(Y_train.shape[1] - 1):
        prefixes = [tuple(row[: j + 1]) for row in Y_train.tolist() if row[j + 1] is not None]
        for prefix, count in zip(*np.unique(np.array(
                ["\x1f".join(p) for p in prefixes], dtype=object), return_counts=True)):
            keys[tuple(prefix.split("\x1f"))] = int(count)
    return [path for path, count in keys.items() if count < max_rows and path]


def build_model(model: str, dataset: str, info: dict, Y_train: np.ndarray) -> Any:
    from sklearn.linear_model import LogisticRegression

    categorical = info["categorical"]
    if model.startswith("hiercls"):
        from hiercls import HierarchicalClassifier

        if model in ("hiercls_default", "hiercls_default_top1"):
            return HierarchicalClassifier(random_state=0)
        if model == "hiercls_lr":  # the very base model hiclass gets
            return HierarchicalClassifier(LogisticRegression(max_iter=1000), random_state=0)
        if model == "hiercls_proposed":
            # Session 1's proposal: C=10 (hiercls now fits every sparse linear node on the
            # columns its rows use, as the prototype of this line did).
            return HierarchicalClassifier(LogisticRegression(C=10, max_iter=1000), random_state=0)
        if model == "hiercls_lr_c10":
            return HierarchicalClassifier(LogisticRegression(C=10, max_iter=1000), random_state=0)
        if model == "hiercls_lr_balanced":
            return HierarchicalClassifier(
                LogisticRegression(class_weight="balanced", max_iter=1000), random_state=0)
        if model == "hiercls_lgbm":
            return HierarchicalClassifier(lgbm(dataset, categorical), random_state=0)
        if model == "hiercls_lgbm_mcs5":
            return HierarchicalClassifier(lgbm(dataset, categorical, min_child_samples=5),
                                          random_state=0)
        if model == "hiercls_lgbm_balanced":
            return HierarchicalClassifier(lgbm(dataset, categorical, class_weight="balanced"),
                                          random_state=0)
        if model == "hiercls_lgbm_lr_small":
            n_numeric = info["n_features"] - len(categorical)
            linear = linear_pipeline_on_tree_features(n_numeric, categorical)
            nodes = small_nodes(Y_train, max_rows=2000)
            info["n_nodes_on_lr"] = len(nodes)
            return HierarchicalClassifier(lgbm(dataset, categorical), random_state=0,
                                          node_estimators={p: linear for p in nodes})
    if model.startswith("hiclass"):
        import hiclass

        strategy = {"lcppn": hiclass.LocalClassifierPerParentNode,
                    "lcpn": hiclass.LocalClassifierPerNode,
                    "lcpl": hiclass.LocalClassifierPerLevel}[model.split("_")[1]]
        base = (lgbm(dataset, categorical) if model.endswith("lgbm")
                else LogisticRegression(max_iter=1000))
        return strategy(local_classifier=base, n_jobs=1)
    if model == "flat_lr":
        return LogisticRegression(max_iter=1000)
    if model == "flat_lr_saga":
        return LogisticRegression(solver="saga", max_iter=30, tol=1e-3, random_state=0)
    if model == "flat_lgbm":
        return lgbm(dataset, categorical, rounds=FLAT_LGBM_ROUNDS[dataset])
    if model == "napkinxc_plt":
        from napkinxc.models import PLT

        return PLT(output=tempfile.mkdtemp(prefix="napkinxc_"), threads=1, seed=0)
    raise ValueError(f"unknown model {model!r}")


class Adapter:
    """Fit / predict paths / predict one row, the same way for every family."""

    def __init__(self, model_name: str, model: Any, Y_train: np.ndarray) -> None:
        self.name = model_name
        self.model = model
        self.n_levels = Y_train.shape[1]
        self.family = model_name.split("_")[0]
        if self.family in ("flat", "napkinxc"):
            self.leaf_to_path = rd.leaf_to_path_map(Y_train)
            self.y_leaf = rd.leaf_labels(Y_train)
            self.leaves = np.array(sorted(self.leaf_to_path), dtype=object)
            self.leaf_index = {leaf: i for i, leaf in enumerate(self.leaves.tolist())}

    def fit(self, X: Any, Y_train: np.ndarray) -> None:
        if self.family == "hiercls":
            self.model.fit(X, Y_train)
        elif self.family == "hiclass":
            # hiclass wants a rectangular string matrix, "" where a path has ended.
            Y = np.where(Y_train == None, "", Y_train).astype(str)  # noqa: E711
            self.model.fit(self._hiclass_X(X), Y)
        elif self.family == "flat":
            self.model.fit(X, self.y_leaf.astype(str))
        else:  # napkinxc: labels are integer ids, one list per row
            X32 = X.astype(np.float32)
            self.model.fit(X32, [[self.leaf_index[leaf]] for leaf in self.y_leaf.tolist()])

    def predict(self, X: Any) -> np.ndarray:
        return self.paths(self.predict_raw(X))

    def predict_raw(self, X: Any) -> Any:
        """The library's own prediction call, and nothing else (this is what is timed)."""
        if self.name.endswith("_top1"):  # the most probable complete path, found exactly
            return self.model.predict_top_k(X, k=1)
        if self.family == "hiclass":
            return self.model.predict(self._hiclass_X(X))
        if self.family == "napkinxc":
            return self.model.predict(X.astype(np.float32), top_k=1)
        return self.model.predict(X)

    def paths(self, raw: Any) -> np.ndarray:
        """Turn :meth:`predict_raw`'s output into an object array of label paths."""
        if self.name.endswith("_top1"):
            return rd.as_paths(raw.labels[:, 0, :])
        if self.family in ("hiercls", "hiclass"):
            return rd.as_paths(np.asarray(raw, dtype=object))
        if self.family == "flat":
            return rd.paths_from_leaves(raw.tolist(), self.leaf_to_path, self.n_levels)
        leaves = [self.leaves[p[0]] if len(p) else None for p in raw]
        return rd.paths_from_leaves(leaves, self.leaf_to_path, self.n_levels)

    @staticmethod
    def _hiclass_X(X: Any) -> Any:
        """hiclass refuses NaN: for trees, missing values become -1 (all values are >= 0,
        and LightGBM reads a negative category code as missing)."""
        if isinstance(X, np.ndarray) and np.isnan(X).any():
            return np.where(np.isnan(X), -1.0, X)
        return X

    def predict_one(self, row: Any) -> Any:
        if self.name.endswith("_top1"):
            return self.model.predict_top_k(row, k=1)
        if self.family == "napkinxc":
            return self.model.predict(row, top_k=1)
        out = self.model.predict(row)
        if self.family == "flat":
            return self.leaf_to_path.get(out[0])
        return out


def single_rows(X: Any, n: int, *, float32: bool = False) -> list[Any]:
    rows = []
    for i in range(min(n, X.shape[0])):
        row = X[i : i + 1]
        rows.append(row.astype(np.float32) if float32 else row)
    return rows


# ============================================================================ child
def child(spec: dict[str, Any], result_path: Path) -> None:
    import warnings

    warnings.filterwarnings("ignore")
    result: dict[str, Any] = {"dataset": spec["dataset"], "model": spec["model"],
                              "phase": "start"}

    def save(**fields: Any) -> None:
        result.update(fields)
        result_path.write_text(json.dumps(result, default=float))

    dataset, model_name = spec["dataset"], spec["model"]
    try:
        import hiercls

        result["hiercls_file"] = hiercls.__file__
        start = time.perf_counter()
        X_raw, Y, data_info = rd.load_raw(dataset, n_max=spec["n_rows"], seed=0)
        X_train_raw, X_test_raw, Y_train_df, Y_test_df = rd.split(X_raw, Y, seed=0)
        levels = [str(c) for c in Y.columns]
        Y_train, Y_test = rd.as_paths(Y_train_df), rd.as_paths(Y_test_df)
        load_s = time.perf_counter() - start
        start = time.perf_counter()
        kind = feature_kind(model_name)
        X_train, X_test, info = rd.featurize(dataset, kind, X_train_raw, X_test_raw)
        del X_raw, X_train_raw, X_test_raw
        info["n_features"] = X_train.shape[1]
        featurize_s = time.perf_counter() - start
        leaves = rd.path_keys(Y_train)
        save(phase="data", load_s=load_s, featurize_s=featurize_s, **data_info,
             n_train=int(X_train.shape[0]), n_test=int(X_test.shape[0]),
             n_features=int(X_train.shape[1]), features=kind, featurizer=info["featurizer"],
             levels=levels, n_leaf_classes_train=int(len(set(leaves.tolist()))),
             n_classes_per_level=[int(len(set(rd.path_keys(Y_train, j).tolist())
                                           - {""})) for j in range(len(levels))])

        model = build_model(model_name, dataset, info, Y_train)
        adapter = Adapter(model_name, model, Y_train)
        save(phase="built", params=repr(model)[:600],
             n_nodes_on_lr=info.get("n_nodes_on_lr"))
        import gc

        gc.collect()
        rss_before = runner.current_rss()
        runner.reset_peak_rss()
        start, cpu_start = time.perf_counter(), time.process_time()
        adapter.fit(X_train, Y_train)
        fit_s = time.perf_counter() - start
        fit_cpu_s = time.process_time() - cpu_start
        fit_peak = runner.peak_rss()
        save(phase="fit", fit_s=fit_s, fit_cpu_s=fit_cpu_s, rss_before_fit_bytes=rss_before,
             fit_peak_rss_bytes=fit_peak,
             fit_extra_rss_bytes=None if fit_peak is None else fit_peak - rss_before)

        # Best of a few passes (one when a pass is slow): one 50 ms pass is too
        # noisy on a shared machine to compare libraries with.
        walls, cpus = [], []
        while len(walls) < spec["predict_repeats"]:
            start, cpu_start = time.perf_counter(), time.process_time()
            raw = adapter.predict_raw(X_test)
            walls.append(time.perf_counter() - start)
            cpus.append(time.process_time() - cpu_start)
            if sum(walls) > 20:
                break
        predict_s = min(walls)
        Y_pred = adapter.paths(raw)
        save(phase="predict", predict_s=predict_s, predict_cpu_s=min(cpus),
             predict_passes_s=walls, predict_rows_per_s=X_test.shape[0] / predict_s)

        X_rows = adapter._hiclass_X(X_test) if adapter.family == "hiclass" else X_test
        rows = single_rows(X_rows, spec["latency_calls"], float32=adapter.family == "napkinxc")
        adapter.predict_one(rows[0])  # warm-up
        times, cpu_times = [], []
        deadline = time.perf_counter() + spec["latency_budget_s"]
        for row in rows:
            c0 = time.thread_time()
            t0 = time.perf_counter()
            adapter.predict_one(row)
            times.append(time.perf_counter() - t0)
            cpu_times.append(time.thread_time() - c0)
            if time.perf_counter() > deadline:
                break
        ms = np.asarray(times) * 1e3
        cpu_ms = np.asarray(cpu_times) * 1e3
        # Wall time is what a caller sees; the thread's CPU time leaves out the time
        # slices other jobs on this shared machine took (a 2-core box under load).
        save(phase="latency", latency_n_calls=len(times),
             latency_p50_ms=float(np.percentile(ms, 50)),
             latency_p99_ms=float(np.percentile(ms, 99)),
             latency_mean_ms=float(ms.mean()),
             latency_cpu_p50_ms=float(np.percentile(cpu_ms, 50)),
             latency_cpu_p99_ms=float(np.percentile(cpu_ms, 99)))

        start = time.perf_counter()
        scores = rd.score(Y_train, Y_test, Y_pred, levels)
        save(phase="done", score_s=time.perf_counter() - start, **scores)
        if model_name.startswith("hiercls") and hasattr(model, "sufficiency_report_"):
            save(n_insufficient_classes=int(model.sufficiency_report_.n_insufficient))
        if model_name.startswith("hiercls_lgbm") and dataset == "oews":
            save(node_diagnosis=diagnose_lgbm_nodes(model, X_test, Y_test, Y_pred))
        save(peak_rss_self_bytes=runner.peak_rss())  # since the reset before fit
    except MemoryError:
        save(error="MemoryError", child_status="memory_error",
             traceback=traceback.format_exc()[-2000:])
        sys.exit(3)
    except Exception as exc:  # recorded as a result, then a non-zero exit
        save(error=repr(exc)[:500], traceback=traceback.format_exc()[-3000:])
        sys.exit(2)


def diagnose_lgbm_nodes(model: Any, X_test: Any, Y_test: np.ndarray, Y_pred: np.ndarray
                        ) -> dict[str, Any]:
    """Per level: node models by classes and smallest class, and accuracy at the nodes
    with and without a class below LightGBM's min_child_samples."""
    hierarchy = model.hierarchy_
    records = []
    for node, estimator in enumerate(model.estimators_):
        if estimator is None or not hasattr(estimator, "n_classes_") and not hasattr(
                estimator, "classes_"):
            continue
        depth = int(hierarchy.depth[node]) if node else -1
        records.append({"node": node, "depth": depth,
                        "n_outcomes": int(len(getattr(estimator, "classes_", [0]))),
                        "constant": type(estimator).__name__ == "ConstantNodeModel"})
    out: dict[str, Any] = {"n_node_models": len(records),
                           "n_constant": int(sum(r["constant"] for r in records))}
    # Accuracy of the choice made at each level, among rows whose parent was right.
    per_level = []
    for j in range(Y_test.shape[1]):
        parent_ok = np.ones(len(Y_test), dtype=bool) if j == 0 else (
            rd.path_keys(Y_test, j - 1) == rd.path_keys(Y_pred, j - 1))
        reach = np.array([v is not None for v in Y_test[:, j].tolist()]) & parent_ok
        ok = rd.path_keys(Y_test, j)[reach] == rd.path_keys(Y_pred, j)[reach]
        per_level.append({"level": j, "rows_with_right_parent": int(reach.sum()),
                          "conditional_accuracy": float(ok.mean()) if reach.any() else None})
    out["conditional_accuracy"] = per_level
    return out


# ============================================================================ parent
def run_one(dataset: str, model: str, *, mode: str, timeout: float, memory_limit: int,
            out_path: Path, snapshot: dict, machine: dict, workdir: Path) -> dict[str, Any]:
    n_rows = (QUICK_ROWS if mode == "quick" else FULL_ROWS)[dataset]
    spec = {"dataset": dataset, "model": model, "n_rows": n_rows,
            "latency_calls": 50 if mode == "quick" else 1000,
            "predict_repeats": 1 if mode == "quick" else 5,
            "latency_budget_s": 10.0 if mode == "quick" else 60.0}
    result_path = workdir / f"{dataset}_{model}.json"
    env = dict(os.environ)
    if snapshot.get("path"):
        env["PYTHONPATH"] = snapshot["path"] + os.pathsep + env.get("PYTHONPATH", "")
    load_before = list(os.getloadavg())
    outcome = runner.run_child(
        [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec),
         "--result", str(result_path)],
        timeout=timeout, memory_limit_bytes=memory_limit, env=env, result_path=result_path,
    )
    result = outcome["result"] or {}
    status = outcome["status"]
    if status in ("ok", "error") and result.get("phase") != "done":
        status = "memory_error" if result.get("child_status") == "memory_error" else "error"
    stderr_tail = ""
    if status != "ok":
        stderr_tail = result_path.with_suffix(".stderr").read_text(errors="replace")[-1500:]
    line = {
        "dataset": dataset, "model": model, "mode": mode, "status": status,
        "timeout_s": timeout, "wall_s": outcome["wall_s"],
        "peak_rss_tree_bytes": outcome["peak_rss_bytes"],
        "cpu_model": machine["cpu_model"], "logical_cpus": machine["logical_cpus"],
        "load_average_before": load_before, "load_average_after": list(os.getloadavg()),
        "versions": machine["versions"], "git_commit": machine.get("git_commit"),
        "hiercls_sources_sha256": snapshot.get("hiercls_sources_sha256"),
        "n_rows_requested": n_rows, "stderr_tail": stderr_tail,
        **{k: v for k, v in result.items() if k not in ("dataset", "model")},
    }
    return runner.append_run(out_path, line)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny subsamples, smoke test")
    parser.add_argument("--datasets", nargs="+", choices=("wordnet", "oews", "synthetic"))
    parser.add_argument("--models", nargs="+", choices=ALL_MODELS)
    parser.add_argument("--timeout", type=float, default=None,
                        help=f"seconds per run (default {DEFAULT_TIMEOUT:g}; quick 120)")
    parser.add_argument("--memory-limit-gib", type=float, default=12.0,
                        help="kill a run whose process tree exceeds this RSS")
    parser.add_argument("--out", type=Path, default=None, help="JSON-lines results file")
    parser.add_argument("--source", choices=("worktree", "head", "installed"), default="worktree",
                        help="hiercls code to measure: a frozen copy of the work tree "
                             "(default), of HEAD, or the installed package")
    parser.add_argument("--summary-only", action="store_true")
    parser.add_argument("--no-summary", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        child(json.loads(args.child), args.result)
        return

    import bench_real_summary

    mode = "quick" if args.quick else "full"
    results = runner.results_dir(args.quick)
    out_path = args.out or results / ("real_quick_runs.jsonl" if args.quick else "real_runs.jsonl")
    if not args.summary_only:
        plan = QUICK_PLAN if args.quick else FULL_PLAN
        datasets = rd.usable(args.datasets or list(plan), quick=args.quick)
        machine = runner.machine_info()
        out_path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="bench_real_") as scratch:
            workdir = Path(scratch)
            snapshot: dict[str, Any] = {"source": "installed"}
            if args.source != "installed":
                (workdir / "src").mkdir()
                snapshot = snapshot_package(workdir / "src", source=args.source)
            print(f"# hiercls from {snapshot}; CPU {machine['cpu_model']}; results -> {out_path}",
                  flush=True)
            t_total = time.perf_counter()
            for dataset in datasets:
                models = args.models or plan.get(dataset, ())
                for model in models:
                    timeout = args.timeout or (120.0 if args.quick else FULL_TIME_LIMITS.get(
                        (dataset, model), DEFAULT_TIMEOUT))
                    line = run_one(dataset, model, mode=mode, timeout=timeout,
                                   memory_limit=int(args.memory_limit_gib * 2**30),
                                   out_path=out_path, snapshot=snapshot, machine=machine,
                                   workdir=workdir)
                    print(f"{dataset:9s} {model:22s} {line['status']:12s} wall "
                          f"{line['wall_s']:7.1f}s fit {line.get('fit_s', float('nan')):8.2f}s "
                          f"hF1 {line.get('hierarchical_f1', float('nan')):.4f} "
                          f"leaf {line.get('leaf_accuracy', float('nan')):.4f} "
                          f"p99 {line.get('latency_p99_ms', float('nan')):.3f}ms "
                          f"[{time.perf_counter() - t_total:.0f}s total]", flush=True)
                    if line["status"] not in ("ok", "timeout"):
                        print("   " + (line.get("error") or line["stderr_tail"][-400:]),
                              flush=True)
    if not args.no_summary:
        stem = "real_quick" if args.quick else "real"
        bench_real_summary.write_summary(out_path, results, stem=stem, mode=mode)


if __name__ == "__main__":
    main()
