"""Multi-label hierarchies: hiercls's label tree against napkinXC's PLT and a flat one-vs-rest, in one run.

Data (``--data``, both by default): WordNet 3.0 nouns
(``load_wordnet_nouns(all_paths=True, max_depth=4)``): each synset's text (lemmas
and gloss), and every hypernym chain it has (cut to 4 levels below the root; 20,363
of 82,089 synsets have several). Rows split 75/25 at random (seed 0); TF-IDF
(sublinear tf, ``min_df=2``) fitted on the training rows. napkinXC gets the same
float32 rows and one integer label per distinct path; its tree is its own
(hierarchical k-means, its default), hiercls's is WordNet's. The synthetic set is
``make_hierarchical_text(80_000, branching=(10, 10, 20), max_paths=5)``: 2,000
leaves of Zipf sizes, 1-5 paths a row (most rows one), 50,000 TF-IDF columns;
rows split 75/25 the same way.

Peers: napkinXC's PLT (multi-label by design) and napkinXC's ``BR`` (binary
relevance: a flat one-vs-rest logistic regression over the paths, liblinear, in
C++), the flat model that fits in memory here.

Each model runs in its own child process (``_runner.run_spec``): fit (wall and CPU
seconds, peak RSS), model size on disk, top-5 of all test rows at once, thresholded
prediction (hiercls ``predict_paths`` at its default threshold; napkinXC
``predict(threshold=...)`` at the same value), single-row top-5 latency (p50/p99 over
300 rows after 50 warm-up calls), and quality: P@1, P@3, P@5, nDCG@5, PSP@5, the
set-based hierarchical F1 (micro) of the thresholded sets, and recall@5 of the paths
with under 100 training rows.

    python experiments/bench_multilabel.py            # results/multilabel.md
    python experiments/bench_multilabel.py --quick    # 20,000 rows, results/quick/
    python experiments/bench_multilabel.py --sweep    # results/multilabel_threshold.md

``--sweep`` measures the default ``threshold``: the default model is fitted on 90 % of
the training rows and its exact path probabilities on the other 10 % (never the test
rows) give example-based and micro F1 of the path sets at each threshold (a row with
none above it gets its most probable path, as ``min_paths=1`` does).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _real_data import WORDNET_TARBALL, require_data  # noqa: E402
from _runner import (  # noqa: E402
    git_commit,
    machine_info,
    markdown_table,
    package_versions,
    peak_rss,
    reset_peak_rss,
    results_dir,
    run_spec,
    write_table,
)

MODELS = ("hiercls_default", "napkinxc_plt", "napkinxc_br")
DATASETS = ("wordnet", "synthetic")
THRESHOLD = 0.4  # MultiLabelHierarchicalClassifier's default, from --sweep
SWEEP = (0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6)
RARE = 100


def load(dataset: str, n_max: int | None) -> dict[str, Any]:
    if dataset == "synthetic":
        from hiercls.datasets import make_hierarchical_text

        X, Y = make_hierarchical_text(
            n_max or 80_000, branching=(10, 10, 20), n_features=50_000, max_paths=5, random_state=0
        )
        cut = int(0.75 * X.shape[0])
        return {"X_train": X[:cut], "X_test": X[cut:], "Y_train": Y[:cut], "Y_test": Y[cut:]}
    from sklearn.feature_extraction.text import TfidfVectorizer

    from hiercls.datasets import load_wordnet_nouns

    bunch = load_wordnet_nouns(all_paths=True, max_depth=4, source=WORDNET_TARBALL)
    texts = bunch.data["text"].tolist()
    rng = np.random.default_rng(0)
    order = rng.permutation(len(texts))[: n_max or len(texts)]
    cut = int(0.75 * len(order))
    train, test = order[:cut], order[cut:]
    vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=2)
    return {
        "X_train": vectorizer.fit_transform([texts[i] for i in train]),
        "X_test": vectorizer.transform([texts[i] for i in test]),
        "Y_train": [bunch.target_sets[i] for i in train],
        "Y_test": [bunch.target_sets[i] for i in test],
    }


class NapkinXC:
    """napkinXC's PLT or BR (flat one-vs-rest) behind the calls the benchmark times; labels are path ids."""

    def __init__(self, Y_train: list[list[tuple]], kind: str) -> None:
        from napkinxc.models import BR, PLT

        self.paths = sorted({path for row in Y_train for path in row})
        self.index = {path: i for i, path in enumerate(self.paths)}
        self.output = tempfile.mkdtemp(prefix="napkinxc_")
        if kind == "plt":
            self.model = PLT(output=self.output, threads=1, seed=0)
        else:
            self.model = BR(output=self.output, threads=1)

    def fit(self, X: Any, Y: list[list[tuple]]) -> None:
        self.model.fit(X.astype(np.float32), [[self.index[p] for p in row] for row in Y])

    def top_k(self, X: Any, k: int) -> list[list[tuple]]:
        return [[self.paths[i] for i in row] for row in self.model.predict(X.astype(np.float32), top_k=k)]

    def above(self, X: Any, threshold: float) -> list[list[tuple]]:
        rows = self.model.predict(X.astype(np.float32), threshold=threshold)
        return [[self.paths[i] for i in row] for row in rows]

    def size_bytes(self, folder: Path) -> int:
        return sum(f.stat().st_size for f in Path(self.output).rglob("*") if f.is_file())


class HiercLS:
    def __init__(self) -> None:
        from hiercls import MultiLabelHierarchicalClassifier

        self.model = MultiLabelHierarchicalClassifier(threshold=THRESHOLD, random_state=0)

    def fit(self, X: Any, Y: list[list[tuple]]) -> None:
        self.model.fit(X, Y)

    def top_k(self, X: Any, k: int) -> list[list[tuple]]:
        top = self.model.predict_top_k(X, k)
        return [
            [tuple(label for label in path if label is not None) for path in row if path[0] is not None]
            for row in top.labels
        ]

    def above(self, X: Any, threshold: float) -> list[list[tuple]]:
        return self.model.predict_paths(X).paths

    def size_bytes(self, folder: Path) -> int:
        import joblib

        joblib.dump(self.model, folder / "model.joblib")
        return (folder / "model.joblib").stat().st_size


def quality(Y_train: list, Y_test: list, ranked: list, sets: list) -> dict[str, float]:
    from hiercls import metrics

    out = {f"P@{k}": metrics.precision_at_k(Y_test, ranked, k=k) for k in (1, 3, 5)}
    out["nDCG@5"] = metrics.ndcg_at_k(Y_test, ranked, k=5)
    propensities = metrics.label_propensities(Y_train)
    for k in (3, 5):
        out[f"PSP@{k}"] = metrics.propensity_scored_precision_at_k(
            Y_test, ranked, propensities=propensities, k=k
        )
    out["hier_F1_micro"] = metrics.multilabel_hierarchical_f1(Y_test, sets)
    buckets = metrics.support_bucket_report(Y_test, ranked, Y_train, k=5, edges=(0, RARE, np.inf))
    out["rare_recall@5"] = float(buckets.iloc[0]["micro_recall_at_k"])
    out["n_rare_paths"] = int(buckets.iloc[0]["n_labels"])
    return out


def child(spec: dict[str, Any], result_path: Path) -> None:
    import warnings

    warnings.simplefilter("ignore")
    result = dict(spec)

    def progress(**phase: Any) -> None:  # rewritten after every phase: a killed run keeps what it did
        result.update(phase)
        result_path.write_text(json.dumps(result, default=float))

    data = load(spec["dataset"], spec["n_max"])
    model = HiercLS() if spec["model"] == "hiercls_default" else NapkinXC(data["Y_train"], spec["model"][9:])
    reset_peak_rss()
    cpu, wall = time.process_time(), time.perf_counter()
    model.fit(data["X_train"], data["Y_train"])
    progress(fit_s=time.perf_counter() - wall, fit_cpu_s=time.process_time() - cpu, fit_peak_rss=peak_rss())
    with tempfile.TemporaryDirectory() as folder:
        progress(model_bytes=model.size_bytes(Path(folder)))
    X_test = data["X_test"]
    start = time.perf_counter()
    ranked = model.top_k(X_test, 5)
    progress(top5_s=time.perf_counter() - start)
    start = time.perf_counter()
    sets = model.above(X_test, THRESHOLD)
    progress(threshold_s=time.perf_counter() - start, n_test=X_test.shape[0])
    rows = [X_test[i : i + 1] for i in range(350)]
    times = []
    for i, row in enumerate(rows):
        start = time.perf_counter()
        model.top_k(row, 5)
        if i >= 50:
            times.append(time.perf_counter() - start)
    progress(p50_ms=float(np.percentile(times, 50) * 1e3), p99_ms=float(np.percentile(times, 99) * 1e3))
    progress(**quality(data["Y_train"], data["Y_test"], ranked, sets), phase="done")
    if isinstance(model, NapkinXC):
        shutil.rmtree(model.output, ignore_errors=True)


def sweep(spec: dict[str, Any], result_path: Path) -> None:
    from hiercls import MultiLabelHierarchicalClassifier

    data = load("wordnet", spec["n_max"])
    cut = int(0.9 * data["X_train"].shape[0])
    clf = MultiLabelHierarchicalClassifier(random_state=0).fit(data["X_train"][:cut], data["Y_train"][:cut])
    Y_valid = data["Y_train"][cut:]
    proba = clf.predict_proba(data["X_train"][cut:])
    index = {path: j for j, path in enumerate(clf.classes_)}
    truth = np.zeros(proba.shape, dtype=bool)
    for i, row in enumerate(Y_valid):
        truth[i, [index[p] for p in row if p in index]] = True
    n_true = np.array([len(row) for row in Y_valid])
    rows = []
    for threshold in SWEEP:
        chosen = proba >= threshold
        empty = ~chosen.any(axis=1)
        chosen[empty, proba[empty].argmax(axis=1)] = True
        hits, n_pred = (chosen & truth).sum(axis=1), chosen.sum(axis=1)
        rows.append({
            "threshold": threshold,
            "example_f1": float(np.mean(2 * hits / (n_true + n_pred))),
            "micro_f1": float(2 * hits.sum() / (n_true.sum() + n_pred.sum())),
            "paths_per_row": float(n_pred.mean()),
        })
    result = {**spec, "rows": rows, "true_paths_per_row": float(n_true.mean()), "n_valid": len(Y_valid)}
    result_path.write_text(json.dumps({**result, "phase": "done"}))


def sweep_table(run: dict[str, Any], quick: bool) -> list[str]:
    cells = [
        [f"{r['threshold']:g}", f"{r['example_f1']:.4f}", f"{r['micro_f1']:.4f}", f"{r['paths_per_row']:.2f}"]
        for r in run["rows"]
    ]
    return [
        "# The default threshold of MultiLabelHierarchicalClassifier (WordNet nouns, multi-label)",
        "",
        f"`python experiments/bench_multilabel.py --sweep{' --quick' * quick}`: default model fitted on "
        f"90 % of the training rows, F1 of the path sets on the other {run['n_valid']} rows "
        f"(true paths per row: {run['true_paths_per_row']:.2f}).",
        "",
        *markdown_table(["threshold", "example F1", "micro F1", "paths per row"], [run] * len(cells), cells),
    ]


def table(runs: list[dict[str, Any]], quick: bool) -> list[str]:
    columns = [
        "model", "fit s (CPU s)", "fit peak RSS MB", "model MB", "top-5 all rows s", "threshold s",
        "latency p50/p99 ms", "P@1", "P@3", "P@5", "nDCG@5", "PSP@3", "PSP@5", "hier F1",
        f"recall@5 (<{RARE} rows)",
    ]
    cells = []
    for r in runs:
        if r["status"] != "ok":
            cells.append([r["model"], r["status"], *[""] * (len(columns) - 2)])
            continue
        cells.append([
            r["model"], f"{r['fit_s']:.1f} ({r['fit_cpu_s']:.1f})", f"{r['fit_peak_rss'] / 2**20:.0f}",
            f"{r['model_bytes'] / 2**20:.1f}", f"{r['top5_s']:.2f}", f"{r['threshold_s']:.2f}",
            f"{r['p50_ms']:.2f} / {r['p99_ms']:.2f}",
            *(f"{r[m]:.4f}" for m in ("P@1", "P@3", "P@5", "nDCG@5", "PSP@3", "PSP@5", "hier_F1_micro")),
            f"{r['rare_recall@5']:.4f} ({r['n_rare_paths']} paths)",
        ])
    test_rows = runs[0].get("n_test", "?")
    return [
        f"## {runs[0]['dataset']}: {test_rows} test rows",
        "",
        *markdown_table(columns, runs, cells),
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 rows, results/quick/")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--sweep", action="store_true", help="measure the default threshold instead")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--data", nargs="+", choices=DATASETS, default=list(DATASETS))
    args = parser.parse_args()
    if args.child:
        spec = json.loads(args.child)
        (sweep if spec["model"] == "threshold_sweep" else child)(spec, Path(args.result))
        return
    if "wordnet" in args.data:
        require_data("wordnet")
    machine = {**machine_info(), "git_commit": git_commit(), "versions": package_versions()}
    out = results_dir(args.quick) / "multilabel_runs.jsonl"
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        if args.sweep:
            spec = {"model": "threshold_sweep", "n_max": 20000 if args.quick else None}
            run = run_spec(__file__, spec, Path(folder) / "sweep.json", timeout=args.timeout,
                           memory_limit=16 * 2**30, env=dict(os.environ), out=out, machine=machine)
            write_table(sweep_table(run, args.quick), "multilabel_threshold.md", args.quick)
            return
        tables = []
        for dataset in args.data:
            runs = []
            for name in MODELS:
                spec = {"model": name, "dataset": dataset, "n_max": 20000 if args.quick else None}
                runs.append(run_spec(
                    __file__, spec, Path(folder) / f"{dataset}_{name}.json", timeout=args.timeout,
                    memory_limit=16 * 2**30, env=dict(os.environ), out=out, machine=machine,
                ))
            tables += table(runs, args.quick)
    write_table([
        "# Multi-label hierarchies: hiercls's label tree, napkinXC's PLT and a flat one-vs-rest",
        "",
        f"`python experiments/bench_multilabel.py{' --quick' * args.quick}`: threshold {THRESHOLD} "
        f"(napkinXC's thresholded prediction at the same value), one thread each "
        f"(OMP_NUM_THREADS=1, napkinXC threads=1, hiercls n_jobs=None). The machine was shared "
        f"with other jobs: compare rows of one table, which ran one after the other.",
        "",
        *tables,
    ], "multilabel.md", args.quick)


if __name__ == "__main__":
    main()
