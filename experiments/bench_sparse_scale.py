"""Text hierarchies at catalogue scale: hiercls's compact sparse node models against napkinXC PLT.

Data: WordNet nouns (4 levels, TF-IDF of lemmas + gloss, as in ``bench_real.py``) and
``hiercls.datasets.make_hierarchical_text`` (Zipf-sized leaves, TF-IDF rows). Each
(dataset, model) runs in its own process under a time and memory limit and appends
one JSON line; the summary writes ``results/sparse_scale.md``.

Models: ``hiercls_before`` (hiercls at commit ``--before``, whose node models keep
dense full-width weights), ``hiercls`` (the default: compact sparse weights pruned at
``weight_threshold=0.1``) and ``hiercls_prune<t>`` (``weight_threshold=t``), all with
``n_jobs=2``, ``hiercls_1job`` (the default with ``n_jobs=1``), against
``napkinxc_plt`` (``threads=2``). Measured per run: fit wall time, peak RSS of the whole
process tree (polled) and VmHWM of the child, model size on disk (hiercls:
``save_model``; napkinXC: its model folder), load time, predict rows/s on the whole
test set, leaf accuracy and macro recall of leaf classes with fewer than 100
training rows.

    python experiments/bench_sparse_scale.py --quick        # small data, < 3 minutes
    python experiments/bench_sparse_scale.py                # WordNet + 24k-leaf text
    python experiments/bench_sparse_scale.py --datasets text100k --models hiercls
    python experiments/bench_sparse_scale.py --summary-only
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

import _real_data as rd  # noqa: E402
import _runner as runner  # noqa: E402
from _bench_utils import snapshot_package  # noqa: E402

BEFORE = "2e35ab6"  # the last commit whose linear node models keep dense full-width weights
THRESHOLDS = (0, 0.01, 0.05, 0.2)  # besides the default, 0.1
# name -> make_hierarchical_text arguments (rows are split 80/20).
TEXT_SETS = {
    "text_quick": dict(n_samples=20_000, branching=(10, 10, 20), n_features=30_000),
    "text24k": dict(n_samples=250_000, branching=(20, 20, 60), n_features=200_000, leaf_exponent=0.8),
    "text100k": dict(n_samples=1_000_000, branching=(25, 40, 100), n_features=1_000_000,
                     leaf_exponent=0.6),
}
MODELS = ("hiercls_before", "hiercls", "hiercls_1job", *(f"hiercls_prune{t:g}" for t in THRESHOLDS),
          "napkinxc_plt")


# ---------------------------------------------------------------------------- data
def prepare(dataset: str, cache: Path, quick: bool) -> Path:
    """Featurize once and cache train/test matrices and paths for the children."""
    import pandas as pd
    import scipy.sparse as sp

    path = cache / dataset
    if (path / "done").exists():
        return path
    path.mkdir(parents=True, exist_ok=True)
    if dataset == "wordnet":
        X, Y, info = rd.load_raw("wordnet", n_max=15_000 if quick else None)
        X_train, X_test, Y_train, Y_test = rd.split(X, Y)
        X_train, X_test, feature_info = rd.featurize("wordnet", "linear", X_train, X_test)
        info.update(feature_info)
    else:
        from hiercls.datasets import make_hierarchical_text, train_test_split_hierarchical

        params = TEXT_SETS[dataset]
        X, Y = make_hierarchical_text(**params, random_state=0)
        X_train, X_test, Y_train, Y_test = train_test_split_hierarchical(
            X, pd.DataFrame(Y, columns=[f"level{j}" for j in range(Y.shape[1])]),
            test_size=0.2, random_state=0)
        info = {"generator": f"make_hierarchical_text({params}, random_state=0)"}
    sp.save_npz(path / "X_train.npz", sp.csr_matrix(X_train))
    sp.save_npz(path / "X_test.npz", sp.csr_matrix(X_test))
    # Object arrays keep None where a path ends (a DataFrame round trip may turn it to NaN).
    np.save(path / "Y_train.npy", rd.as_paths(Y_train), allow_pickle=True)
    np.save(path / "Y_test.npy", rd.as_paths(Y_test), allow_pickle=True)
    Y_train = rd.as_paths(Y_train)
    info.update(n_train=int(X_train.shape[0]), n_test=int(X_test.shape[0]),
                n_features=int(X_train.shape[1]),
                n_leaf_classes_train=int(len(np.unique(rd.path_keys(Y_train)))),
                levels=int(Y_train.shape[1]))
    (path / "info.json").write_text(json.dumps(info, default=str))
    (path / "done").write_text("")
    return path


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


# --------------------------------------------------------------------------- child
def run_child(spec: dict[str, Any], result_path: Path) -> None:
    import scipy.sparse as sp

    data = Path(spec["data"])
    result: dict[str, Any] = {"dataset": spec["dataset"], "model": spec["model"], "phase": "start"}

    def checkpoint(**values: Any) -> None:
        result.update(values)
        result["peak_rss_self_bytes"] = runner.peak_rss()
        result_path.write_text(json.dumps(result, default=float))

    X_train = sp.load_npz(data / "X_train.npz").tocsr()
    X_test = sp.load_npz(data / "X_test.npz").tocsr()
    Y_train = np.load(data / "Y_train.npy", allow_pickle=True)
    Y_test = np.load(data / "Y_test.npy", allow_pickle=True)
    checkpoint(phase="loaded", rss_before_fit_bytes=runner.current_rss())
    model_dir = Path(spec["scratch"]) / "model"
    shutil.rmtree(model_dir, ignore_errors=True)
    name = spec["model"]
    if name.startswith("hiercls"):
        import hiercls
        from hiercls import HierarchicalClassifier
        from hiercls.artifacts import load_model, save_model

        params: dict[str, Any] = {}
        if name.startswith("hiercls_prune"):
            from hiercls.linear import OneVsRestLinearSVC

            params["estimator"] = OneVsRestLinearSVC(weight_threshold=float(name[len("hiercls_prune"):]))
        n_jobs = 1 if name == "hiercls_1job" else 2
        clf = HierarchicalClassifier(**params, n_jobs=n_jobs, random_state=0, sufficiency_policy="ignore")
        start = time.perf_counter()
        clf.fit(X_train, Y_train)
        fit_s = time.perf_counter() - start
        checkpoint(phase="fitted", fit_s=fit_s, hiercls_file=hiercls.__file__)
        weights = [m for m in clf.estimators_ if m is not None and hasattr(m, "coef_")]
        stored = sum(int(np.asarray(m.coef_.size if not sp.issparse(m.coef_) else m.coef_.nnz))
                     for m in weights)
        non_zero = sum(int(m.coef_.nnz if sp.issparse(m.coef_) else np.count_nonzero(m.coef_))
                       for m in weights)
        save_model(clf, model_dir)
        del clf
        start = time.perf_counter()
        clf = load_model(model_dir)
        load_s = time.perf_counter() - start
        size = folder_bytes(model_dir)

        def predict(X: Any) -> np.ndarray:
            return np.asarray(clf.predict(X), dtype=object)
    else:
        from napkinxc.models import PLT

        leaf_to_path = rd.leaf_to_path_map(Y_train)
        leaves = np.array(sorted(leaf_to_path), dtype=object)
        leaf_index = {leaf: i for i, leaf in enumerate(leaves.tolist())}
        y = [[leaf_index[leaf]] for leaf in rd.leaf_labels(Y_train).tolist()]
        model = PLT(output=str(model_dir), threads=2, seed=0)
        X32 = X_train.astype(np.float32)
        start = time.perf_counter()
        model.fit(X32, y)
        fit_s = time.perf_counter() - start
        checkpoint(phase="fitted", fit_s=fit_s)
        stored = non_zero = None
        size = folder_bytes(model_dir)
        del model
        start = time.perf_counter()
        model = PLT(output=str(model_dir), threads=2, seed=0)
        model.load()
        load_s = time.perf_counter() - start

        def predict(X: Any) -> np.ndarray:
            top = model.predict(X.astype(np.float32), top_k=1)
            return rd.paths_from_leaves([leaves[row[0]] if row else None for row in top],
                                        leaf_to_path, Y_train.shape[1])
    checkpoint(phase="saved", model_bytes=size, load_s=load_s, weights_stored=stored,
               weights_non_zero=non_zero)
    predict(X_test[:100])  # warm up (napkinXC loads lazily)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        Y_pred = predict(X_test)
        best = min(best, time.perf_counter() - start)
    buckets, rare_recall, n_rare = rd.leaf_bucket_recall(Y_train, Y_test, Y_pred)
    leaf_accuracy = float(np.mean(rd.path_keys(Y_pred) == rd.path_keys(Y_test)))
    checkpoint(phase="done", predict_s=best, predict_rows_per_s=X_test.shape[0] / best,
               leaf_accuracy=leaf_accuracy, rare_recall_lt100=rare_recall,
               n_rare_leaf_classes_tested=n_rare, leaf_bucket_recall=buckets)


# ------------------------------------------------------------------------- summary
def summarize(lines_path: Path, out: Path) -> None:
    lines = [json.loads(line) for line in lines_path.read_text().splitlines() if line.strip()]
    newest: dict[tuple[str, str], dict] = {}
    for line in lines:
        newest[(line["dataset"], line["model"])] = line
    rows = list(newest.values())
    out_lines = [
        "# Text hierarchies at catalogue scale: compact sparse node weights",
        "",
        f"Generated by `experiments/bench_sparse_scale.py` from `{lines_path.name}` (newest run per "
        f"dataset × model). CPU: {rows[-1].get('cpu_model') if rows else '?'}; 2 cores. "
        f"`hiercls_before` is hiercls at {BEFORE}, before compact weights; the 'hiercls commit' "
        "column is the code each row measured. "
        + runner.provenance_note([{**r, "git_commit": r.get("hiercls_commit") or r.get("git_commit")}
                                  for r in rows])[0],
        "",
        "hiercls runs with `n_jobs=2` (`hiercls_1job`: 1), napkinXC PLT with `threads=2`. "
        "Peak RSS: the whole process tree, polled, including data loading "
        "(the data's own share is in 'RSS before fit'). "
        "Rare recall: macro recall of leaf classes with fewer than 100 training rows.",
        "",
    ]
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        info = rows_info = next((r.get("data_info") for r in rows if r["dataset"] == dataset), {})
        out_lines += [f"## {dataset}", "", f"Data: {json.dumps(rows_info)}", "",
                      "| model | hiercls commit | status | fit s | peak RSS MiB (before fit) | "
                      "model on disk MB | load s | predict rows/s | leaf acc | rare recall <100 | "
                      "weights stored / non-zero |",
                      "|---|---|---|---|---|---|---|---|---|---|---|"]
        del info
        for r in (r for r in rows if r["dataset"] == dataset):
            def f(key: str, fmt: str = "{:.3f}", scale: float = 1.0, r: dict = r) -> str:
                value = r.get(key)
                return "–" if value is None else fmt.format(value / scale)
            commit = "–" if r["model"] == "napkinxc_plt" else str(r.get("hiercls_commit"))[:7]
            weights = ("–" if r.get("weights_stored") is None
                       else f"{r['weights_stored']:,} / {r['weights_non_zero']:,}")
            out_lines.append(
                f"| `{r['model']}` | {commit} | {r['status']} | {f('fit_s', '{:.1f}')} | "
                f"{f('peak_rss_tree_bytes', '{:,.0f}', 2**20)} "
                f"({f('rss_before_fit_bytes', '{:,.0f}', 2**20)}) | "
                f"{f('model_bytes', '{:,.1f}', 1e6)} | {f('load_s', '{:.3f}')} | "
                f"{f('predict_rows_per_s', '{:,.0f}')} | {f('leaf_accuracy', '{:.4f}')} | "
                f"{f('rare_recall_lt100', '{:.4f}')} | {weights} |")
        out_lines.append("")
    out.write_text("\n".join(out_lines) + "\n")
    print(out.read_text())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small data, smoke test")
    parser.add_argument("--datasets", nargs="+", choices=("wordnet", *TEXT_SETS))
    parser.add_argument("--models", nargs="+", choices=MODELS)
    parser.add_argument("--before", default=BEFORE, help="git revision measured as hiercls_before")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--memory-limit-gib", type=float, default=20.0)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "hiercls_sparse_scale")
    parser.add_argument("--summary-only", action="store_true")
    parser.add_argument("--child")
    parser.add_argument("--result", type=Path)
    args = parser.parse_args(argv)
    if args.child:
        run_child(json.loads(args.child), args.result)
        return
    suffix = "_quick" if args.quick else ""
    results = runner.results_dir(args.quick)
    lines_path = results / f"sparse_scale{suffix}_runs.jsonl"
    if not args.summary_only:
        datasets = args.datasets or (["wordnet", "text_quick"] if args.quick else ["wordnet", "text24k"])
        datasets = rd.usable(datasets, quick=args.quick)
        models = args.models or MODELS
        machine = runner.machine_info()
        machine["versions"].pop("hiclass", None)
        machine["versions"].pop("networkx", None)
        with tempfile.TemporaryDirectory(prefix="bench_sparse_") as scratch:
            work = Path(scratch)
            sources = {}
            for label, revision in (("before", args.before), ("now", "worktree")):
                (work / label).mkdir()
                sources[label] = snapshot_package(work / label, source=revision)
            for dataset in datasets:
                data = prepare(dataset, args.cache / ("quick" if args.quick else "full"), args.quick)
                info = json.loads((data / "info.json").read_text())
                for model in models:
                    label = "before" if model == "hiercls_before" else "now"
                    env = {**os.environ, "PYTHONPATH": f"{work / label}:{HERE}",
                           "PYTHONWARNINGS": "ignore"}
                    spec = {"dataset": dataset, "model": model, "data": str(data), "scratch": scratch}
                    machine_row = {**machine, "git_commit": machine.get("git_commit")}
                    line = runner.run_spec(
                        __file__, spec, work / "result.json", timeout=args.timeout,
                        memory_limit=int(args.memory_limit_gib * 2**30), env=env, out=lines_path,
                        machine=machine_row)
                    # Record which code the row measured and the data it ran on.
                    line_all = lines_path.read_text().splitlines()
                    line.update(dataset=dataset, model=model, data_info=info, hiercls_source=sources[label],
                                hiercls_commit=(args.before if label == "before"
                                                else machine.get("git_commit")),
                                hiercls_dirty_files=machine.get("hiercls_dirty_files"))
                    lines_path.write_text("\n".join([*line_all[:-1], json.dumps(line, default=float)]) + "\n")
                    print(f"{dataset:10s} {model:18s} {line['status']:12s} fit {line.get('fit_s')} "
                          f"size {line.get('model_bytes')} acc {line.get('leaf_accuracy')}", flush=True)
    summarize(lines_path, results / f"sparse_scale{suffix}.md")


if __name__ == "__main__":
    main()
