"""Greedy decoding (``predict``) against the most probable path (``predict_top_k(k=1)``).

Same data, split and features as ``bench_real.py``; default logistic node models (on
WordNet fitted on each node's used columns, which gives the same model faster). For
each data set: hierarchical F1, leaf accuracy and recall of leaf classes with < 100
training rows, for the greedy path and for the exact best path, with the time of each.

    python experiments/bench_real_decode.py           # OEWS (60k rows) and WordNet
    python experiments/bench_real_decode.py --quick   # 5,000 synthetic rows, seconds

Writes ``experiments/results/real_decode.md`` (``results/quick/`` with ``--quick``).
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _real_data as rd  # noqa: E402
import _runner as runner  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5,000 synthetic rows")
    args = parser.parse_args(argv)
    plan = (("synthetic", 5_000),) if args.quick else (("oews", 60_000), ("wordnet", None))
    for dataset, _ in plan:
        rd.require_data(dataset)
    warnings.filterwarnings("ignore")
    from sklearn.linear_model import LogisticRegression

    from hiercls import HierarchicalClassifier

    lines = ["# Greedy path against the most probable path", "",
             "Produced by `experiments/bench_real_decode.py`; default LogisticRegression node "
             "models; times are thread CPU seconds on a shared machine. "
             + runner.provenance_note([runner.machine_info()])[0], "",
             "| dataset | decoding | CPU s | hF1 | leaf acc | recall <100 | per-level acc |",
             "|---|---|---|---|---|---|---|"]
    for dataset, n_rows in plan:
        X_raw, Y, _ = rd.load_raw(dataset, n_max=n_rows, seed=0)
        levels = [str(c) for c in Y.columns]
        X_train_raw, X_test_raw, Y_train_df, Y_test_df = rd.split(X_raw, Y, seed=0)
        X_train, X_test, _ = rd.featurize(dataset, "linear", X_train_raw, X_test_raw)
        Y_train, Y_test = rd.as_paths(Y_train_df), rd.as_paths(Y_test_df)
        base = LogisticRegression(max_iter=1000) if dataset == "wordnet" else None
        clf = HierarchicalClassifier(base, random_state=0).fit(X_train, Y_train)
        for name, decode in (("greedy (`predict`)", lambda: rd.as_paths(clf.predict(X_test))),
                             ("best path (`predict_top_k(k=1)`)",
                              lambda: rd.as_paths(clf.predict_top_k(X_test, k=1).labels[:, 0]))):
            start = time.thread_time()
            Y_pred = decode()
            seconds = time.thread_time() - start
            s = rd.score(Y_train, Y_test, Y_pred, levels)
            lines.append(
                f"| {dataset} | {name} | {seconds:.2f} | {s['hierarchical_f1']:.4f} | "
                f"{s['leaf_accuracy']:.4f} | {s['rare_recall_lt100']:.3f} | "
                + " / ".join(f"{v:.3f}" for v in s["per_level_accuracy"].values()) + " |")
            print(lines[-1], flush=True)
    out = runner.results_dir(args.quick) / "real_decode.md"
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
