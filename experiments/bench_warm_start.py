"""Warm start on WordNet nouns: refit only what new rows changed, against a full refit.

Data: WordNet 3.0 nouns (``load_wordnet_nouns(max_depth=d)`` for each ``--depths``
value, 4 and 6 by default), split once (test 0.2, seed 0) and featurized with TF-IDF
fitted on the training rows (``experiments/_real_data.py``; the vectorizer stays
fixed, as it would in production). New classes: the training rows of the largest classes below level 0
(whole subtrees, a class per parent at most) are held back, largest first, until
they are 5 % of the training rows, among parents that are fewer than 1 % of the
tree's parents. The base model is fitted without them (``warm_start=True``); the
held-back rows are then appended and the same estimator is fitted again (the warm
refit), and a fresh estimator is fitted on the same rows (the full refit). Both fits
use the default node model (``OneVsRestLinearSVC`` on TF-IDF), ``random_state=0``,
one thread.

The table gives both fit times (with the CPU time of fingerprinting and of the node
models' own fits inside each), the speed-up, the speed-up a warm refit could reach if
everything but its node fits cost nothing (full CPU / warm node-fit CPU), how many
node models the warm refit fitted and reused, and whether the two models agree: test
rows whose predicted path differs, largest difference of ``predict_proba``.

    python experiments/bench_warm_start.py            # results/warm_start.md
    python experiments/bench_warm_start.py --quick    # 20,000 rows, results/quick/
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _real_data import WORDNET_TARBALL, featurize, require_data, split  # noqa: E402
from _runner import (  # noqa: E402
    SINGLE_THREAD_ENV,
    git_commit,
    machine_info,
    markdown_table,
    package_versions,
    peak_rss,
    run_spec,
    write_table,
)

NEW_ROW_SHARE = 0.05
PARENT_SHARE = 0.01


def held_back_rows(Y: np.ndarray) -> tuple[np.ndarray, int, int, int]:
    """Rows of whole classes below level 0 to hold back: ~5 % of rows, under < 1 % of parents.

    Returns the rows, the number of parents the classes sit under, the number of
    parents in the tree, and the number of classes held back.
    """
    from hiercls import HierarchicalClassifier
    from hiercls.hierarchy import Hierarchy, read_label_paths

    hierarchy, codes = Hierarchy.from_label_paths(read_label_paths(Y))
    del HierarchicalClassifier
    n_parents = int((hierarchy.n_children > 0).sum())
    budget_rows = NEW_ROW_SHARE * len(Y)
    budget_parents = int(np.ceil(PARENT_SHARE * n_parents)) - 1  # strictly fewer than 1 %
    candidates = []
    for level in range(1, codes.shape[1]):
        nodes, counts = np.unique(codes[:, level][codes[:, level] >= 0], return_counts=True)
        for node, count in zip(nodes.tolist(), counts.tolist(), strict=True):
            parent = int(hierarchy.parent[node])
            parent_rows = int((codes[:, level - 1] == parent).sum())
            if count < parent_rows:  # the parent keeps rows of its own: it stays a parent
                candidates.append((count, node, parent, level))
    candidates.sort(reverse=True)
    chosen, parents, total = [], set(), 0
    taken_levels: dict[int, int] = {}
    for count, node, parent, level in candidates:
        if total >= budget_rows:
            break
        if parent in parents or len(parents) >= budget_parents or total + count > 1.2 * budget_rows:
            continue
        if any(
            _is_ancestor(hierarchy, other, node) or _is_ancestor(hierarchy, node, other) for other in chosen
        ):
            continue
        chosen.append(node)
        parents.add(parent)
        taken_levels[node] = level
        total += count
    rows = np.flatnonzero(np.isin(codes, chosen).any(axis=1))
    return rows, len(parents), n_parents, len(chosen)


def _is_ancestor(hierarchy: Any, ancestor: int, node: int) -> bool:
    while node > 0:
        node = int(hierarchy.parent[node])
        if node == ancestor:
            return True
    return False


def load_wordnet(max_depth: int, n_max: int | None) -> tuple[Any, Any]:
    """WordNet nouns' texts and paths (None below a path's end), as ``_real_data.load_raw`` gives them."""
    from hiercls.datasets import load_wordnet_nouns

    bunch = load_wordnet_nouns(source=WORDNET_TARBALL, max_depth=max_depth)
    X = bunch.data[bunch.text_column].reset_index(drop=True)
    Y = bunch.target.reset_index(drop=True).astype(object)
    Y = Y.where(Y.notna(), None)
    if n_max is not None and n_max < len(Y):
        keep = np.sort(np.random.default_rng(0).choice(len(Y), n_max, replace=False))
        X, Y = X.iloc[keep].reset_index(drop=True), Y.iloc[keep].reset_index(drop=True)
    return X, Y


def child(spec: dict[str, Any], result_path: Path) -> None:
    from hiercls import HierarchicalClassifier
    from hiercls.hierarchy import Hierarchy, read_label_paths

    warnings.simplefilter("ignore")
    result = dict(spec)

    def progress(**phase: Any) -> None:  # rewritten after every phase: a killed run keeps what it did
        result.update(phase)
        result_path.write_text(json.dumps(result, default=float))

    X_raw, Y = load_wordnet(spec["max_depth"], spec["n_max"])
    X_train_raw, X_test_raw, Y_train, Y_test = split(X_raw, Y)
    X_train, X_test, _ = featurize("wordnet", "linear", X_train_raw, X_test_raw)
    Y_train = Y_train.to_numpy(dtype=object)
    new, n_new_parents, n_parents, n_new_classes = held_back_rows(Y_train)
    old = np.setdiff1d(np.arange(len(Y_train)), new)
    order = np.r_[old, new]  # the new rows come last, as appended data would
    X_all, Y_all = X_train[order], Y_train[order]
    progress(
        n_train=len(order),
        n_new_rows=len(new),
        n_new_classes=n_new_classes,
        n_new_parents=n_new_parents,
        n_parents=n_parents,
        n_test=X_test.shape[0],
        n_nodes=Hierarchy.from_label_paths(read_label_paths(Y_all))[0].n_nodes,
    )

    import hiercls.estimator

    # CPU time spent fingerprinting (and deciding what to reuse) inside each fit: CPU,
    # like the fit times it is part of, so that other jobs on the machine do not count.
    planning = {"s": 0.0}
    plan = hiercls.estimator.plan_node_fits

    def timed_plan(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return plan(*args, **kwargs)
        finally:
            planning["s"] += time.process_time() - start

    hiercls.estimator.plan_node_fits = timed_plan  # type: ignore[assignment]

    # CPU time of the node models' own fits (the part a warm refit cannot skip).
    fitting = {"s": 0.0}
    fit_node = hiercls.estimator.fit_node_collecting_convergence

    def timed_fit_node(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return fit_node(*args, **kwargs)
        finally:
            fitting["s"] += time.process_time() - start

    hiercls.estimator.fit_node_collecting_convergence = timed_fit_node  # type: ignore[assignment]

    def make() -> HierarchicalClassifier:
        return HierarchicalClassifier(random_state=0, min_samples=1, warm_start=True)

    warm = make()
    start = time.perf_counter()
    warm.fit(X_all[: len(old)], Y_all[: len(old)])
    progress(base_fit_s=time.perf_counter() - start)
    cpu, start, planning["s"], fitting["s"] = time.process_time(), time.perf_counter(), 0.0, 0.0
    warm.fit(X_all, Y_all)
    progress(
        warm_fit_s=time.perf_counter() - start,
        warm_planning_s=planning["s"],
        warm_node_fits_cpu_s=fitting["s"],
        warm_fit_cpu_s=time.process_time() - cpu,
        n_nodes_refitted=warm.n_nodes_refitted_,
        n_nodes_reused=warm.n_nodes_reused_,
    )
    full = make()
    cpu, start, planning["s"], fitting["s"] = time.process_time(), time.perf_counter(), 0.0, 0.0
    full.fit(X_all, Y_all)
    progress(
        full_fit_s=time.perf_counter() - start,
        full_planning_s=planning["s"],
        full_node_fits_cpu_s=fitting["s"],
        full_fit_cpu_s=time.process_time() - cpu,
        full_n_nodes_refitted=full.n_nodes_refitted_,
    )
    differing = int((warm.predict(X_test) != full.predict(X_test)).any(axis=1).sum())
    same = differing == 0
    proba_diff = max(
        float(np.abs(a - b).max())
        for a, b in zip(warm.predict_proba(X_test), full.predict_proba(X_test), strict=True)
    )
    progress(
        same_predictions=same,
        n_predictions_differing=differing,
        max_proba_diff=proba_diff,
        peak_rss=peak_rss(),
        phase="done",
    )


def table(runs: list[dict[str, Any]], quick: bool) -> list[str]:
    columns = [
        "WordNet depth",
        "training rows (new)",
        "new classes (under parents of all)",
        "node models refitted / reused",
        "full refit s: wall, CPU (fingerprints, node fits)",
        "warm refit s: wall, CPU (fingerprints, node fits)",
        "speed-up: wall, CPU",
        "CPU speed-up bound (full CPU / warm node fits)",
        "test predictions differing",
        "max |Δ predict_proba|",
    ]
    cells = []
    for run in runs:
        if run["status"] != "ok":
            cells.append([str(run["max_depth"]), run["status"], *[""] * (len(columns) - 2)])
            continue
        cells.append(
            [
                str(run["max_depth"]),
                f"{run['n_train']:,} ({run['n_new_rows']:,}, {run['n_new_rows'] / run['n_train']:.1%})",
                f"{run['n_new_classes']} (under {run['n_new_parents']} of {run['n_parents']:,} parents)",
                f"{run['n_nodes_refitted']:,} / {run['n_nodes_reused']:,}",
                f"{run['full_fit_s']:.1f}, {run['full_fit_cpu_s']:.1f} "
                f"({run['full_planning_s']:.2f}, {run['full_node_fits_cpu_s']:.1f})",
                f"{run['warm_fit_s']:.1f}, {run['warm_fit_cpu_s']:.1f} "
                f"({run['warm_planning_s']:.2f}, {run['warm_node_fits_cpu_s']:.1f})",
                f"{run['full_fit_s'] / run['warm_fit_s']:.1f}×, "
                f"{run['full_fit_cpu_s'] / run['warm_fit_cpu_s']:.1f}×",
                f"{run['full_fit_cpu_s'] / run['warm_node_fits_cpu_s']:.1f}×",
                f"{run['n_predictions_differing']:,} of {run['n_test']:,}",
                f"{run['max_proba_diff']:.1e}",
            ]
        )
    return [
        "# Warm start: refitting after new rows that add classes (WordNet nouns)",
        "",
        f"`python experiments/bench_warm_start.py{' --quick' * quick}`: TF-IDF WordNet nouns "
        f"(paths cut at the given depth), default node model, random_state=0, one thread; "
        f"{runs[0].get('n_test', '?'):,} test rows. The base model is fitted without the new rows, "
        f"then fitted again with them appended (warm refit, `warm_start=True`); the full refit "
        f"is a fresh estimator on the same rows.",
        "",
        *markdown_table(columns, runs, cells),
        "",
        *NOTES,
    ]


NOTES = [
    "What bounds the speed-up: appending rows changes the rows of the root and of every "
    "ancestor of a new row, and the new classes bring nodes the earlier tree did not have "
    "(the subtree of the held-back class: most of the refitted nodes at depth 6). Those "
    "fits are the same in both refits and cannot be skipped without changing the model; "
    "the bound column is the speed-up with everything else free. At depth 4 the root "
    "(all 65,691 rows) and its largest child (~29,000 rows) alone are about a quarter of "
    "the full refit, so the issue's 10× cannot be reached with identical predictions.",
    "",
    "Fingerprinting (the `fingerprints` figure, CPU s of `plan_node_fits`) was 0.9 s (depth 4) "
    "and 5.5 s (depth 6) wall in the warm refit at commit 81e167f: a SHA-256 and Python work "
    "per node and outcome, and a `copy.copy` of every renamed compact model through its "
    "`__getstate__`. X is now hashed once per fit and every node's digest is one segment sum "
    "over all nodes' rows (`np.add.reduceat` of mixed per-row keys: content, position, "
    "the outcome's path key, weight).",
    "",
    "Tried and dropped: starting a refitted node's optimiser from its earlier coefficients "
    "(outcomes mapped by path, a new outcome at zero). scikit-learn's liblinear wrapper, which "
    "the default `OneVsRestLinearSVC` uses (dual coordinate descent), takes no starting point, "
    "so a prototype solved the same primal squared-hinge problem with L-BFGS from the earlier "
    "weights for refitted nodes of ≥ 10,000 rows. At depth 4, in one run, the root took 1.36 s "
    "CPU against liblinear's 1.16 s from zero, and 896 of 16,423 test predictions differed from the full "
    "refit (max |Δ predict_proba| 0.999): slower and not identical, so it is not in hiercls.",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 rows, results/quick/")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--depths", type=int, nargs="+", default=[4, 6], help="WordNet max_depth values")
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child), Path(args.result))
        return
    require_data("wordnet")
    machine = {**machine_info(), "git_commit": git_commit(), "versions": package_versions()}
    from _runner import results_dir

    out = results_dir(args.quick) / "warm_start_runs.jsonl"
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        for depth in args.depths:
            spec = {"n_max": 20000 if args.quick else None, "max_depth": depth}
            runs.append(
                run_spec(
                    __file__,
                    spec,
                    Path(folder) / f"warm_{depth}.json",
                    timeout=args.timeout,
                    memory_limit=16 * 2**30,
                    env={**os.environ, **SINGLE_THREAD_ENV},
                    out=out,
                    machine=machine,
                )
            )
    write_table(table(runs, args.quick), "warm_start.md", args.quick)


if __name__ == "__main__":
    main()
