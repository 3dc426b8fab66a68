"""OEWS with a random split against a split grouped by area: how much do scores owe to seen areas?

A random split puts the other occupations of a test row's area (and industry) in
training; a split grouped by area (``load_oews().groups``, passed to
``train_test_split_hierarchical(..., groups=...)``) tests on areas never seen in
training, which is what scoring a new region looks like. Both splits hold out
about 20% of the rows, seed 0, and the same models are fitted on each:

- ``hiercls + LR``: ``HierarchicalClassifier()`` (its default for dense input,
  ``LogisticRegression``) on the linear features of ``_real_data.featurize``;
- ``hiercls + LightGBM``: ``bench_real.py``'s ``hiercls_lgbm`` settings (100 rounds,
  native categoricals) on the tree features.

Run::

    python experiments/bench_oews_split.py            # 100,000 seeded rows of OEWS, ~5 min
    python experiments/bench_oews_split.py --quick    # 3,000 rows, 5 LightGBM rounds

writes ``experiments/results/oews_split.md`` / ``.json`` (``results/quick/`` with ``--quick``).
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _real_data as rd  # noqa: E402
import _runner as runner  # noqa: E402
import bench_real  # noqa: E402


def load(n_rows: int, seed: int) -> tuple[Any, Any, np.ndarray]:
    from hiercls.datasets import load_oews

    bunch = load_oews(n_rows=n_rows, random_state=seed)
    Y = bunch.target.astype(object).where(bunch.target.notna(), None)
    return bunch.data.reset_index(drop=True), Y.reset_index(drop=True), bunch.groups


def split(X: Any, Y: Any, groups: np.ndarray | None, seed: int) -> tuple[Any, Any, Any, Any]:
    from hiercls.datasets import train_test_split_hierarchical

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parts = train_test_split_hierarchical(X, Y, test_size=0.2, random_state=seed, groups=groups)
    return tuple(part.reset_index(drop=True) for part in parts)  # type: ignore[return-value]


def run(name: str, kind: str, X_train_raw: Any, X_test_raw: Any, Y_train_df: Any,
        Y_test_df: Any, rounds: int | None = None) -> dict[str, Any]:
    from hiercls import HierarchicalClassifier

    X_train, X_test, info = rd.featurize("oews", kind, X_train_raw, X_test_raw)
    Y_train, Y_test = rd.as_paths(Y_train_df), rd.as_paths(Y_test_df)
    kwargs = {} if rounds is None else {"rounds": rounds}
    base = bench_real.lgbm("oews", info["categorical"], **kwargs) if kind == "tree" else None
    model = HierarchicalClassifier(base, random_state=0, sufficiency_policy="ignore")
    start = time.perf_counter()
    model.fit(X_train, Y_train)
    fit_s = time.perf_counter() - start
    Y_pred = model.predict(X_test)
    levels = list(Y_train_df.columns)
    scores = rd.score(Y_train, Y_test, Y_pred, levels)
    # The national area is one huge group: a grouped split puts it wholly in training or
    # wholly in test, so scores are also compared on the metropolitan and state rows alone.
    local = (X_test_raw["area_type"] != "N").to_numpy()
    local_scores = rd.score(Y_train, Y_test[local], Y_pred[local], levels)
    train_leaves = set(rd.path_keys(Y_train).tolist())
    test_keys = rd.path_keys(Y_test)
    unseen = np.array([key not in train_leaves for key in test_keys.tolist()])
    return {"model": name, "fit_s": fit_s, "n_train": len(Y_train), "n_test": len(Y_test),
            "test_rows_with_unseen_path": float(unseen.mean()),
            "test_area_types": X_test_raw["area_type"].value_counts(normalize=True).to_dict(),
            "local_test_rows": int(local.sum()), "local_hierarchical_f1": local_scores["hierarchical_f1"],
            "local_leaf_accuracy": local_scores["leaf_accuracy"], **scores}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    args.out = args.out or runner.results_dir(args.quick)
    rd.require_data("oews")
    warnings.simplefilter("ignore")
    n_rows, seed = (3_000 if args.quick else 100_000), 0
    X, Y, groups = load(n_rows, seed)
    results = []
    for split_name, split_groups in (("random", None), ("grouped by area", groups)):
        X_train, X_test, Y_train, Y_test = split(X, Y, split_groups, seed)
        for name, kind in (("hiercls + LR", "linear"), ("hiercls + LightGBM", "tree")):
            line = {"split": split_name, **run(name, kind, X_train, X_test, Y_train, Y_test,
                                                  rounds=5 if args.quick else None)}
            results.append(line)
            print(f"{split_name:16s} {name:20s} fit {line['fit_s']:6.1f}s hF1 "
                  f"{line['hierarchical_f1']:.4f} leaf {line['leaf_accuracy']:.4f}", flush=True)
    stem = "oews_split_quick" if args.quick else "oews_split"
    machine = runner.machine_info()
    (args.out / f"{stem}.json").write_text(json.dumps(
        {"n_rows": n_rows, "seed": seed, "results": results, "machine": machine},
        indent=1, default=float))
    lines = [
        "# OEWS: random split against a split grouped by area" + (" (quick)" if args.quick else ""),
        "",
        f"Written by `experiments/bench_oews_split.py`: {n_rows:,} seeded rows of OEWS "
        f"({len(set(groups)):,} areas), 20% held out with seed 0, either at random "
        "(stratified by path) or in whole areas (`groups=load_oews().groups`). "
        f"{machine.get('cpu_model')}, one thread. " + runner.provenance_note([machine])[0],
        "",
        "Test rows by area type: national (N), state (S), metropolitan (M). The national "
        "area is a single group, so the grouped split keeps it whole on one side; the last two "
        "columns score the metropolitan and state test rows only, like for like.",
        "",
        "| split | model | train / test rows | test N / S / M | test rows whose path is unseen "
        "| fit s | hF1 | leaf acc | per-level acc | recall <100 | hF1, S+M rows | leaf acc, S+M rows |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for line in results:
        per_level = " / ".join(f"{v:.3f}" for v in line["per_level_accuracy"].values())
        lines.append(
            f"| {line['split']} | {line['model']} | {line['n_train']:,} / {line['n_test']:,} | "
            + " / ".join(f"{line['test_area_types'].get(t, 0):.0%}" for t in "NSM") + " | "
            f"{line['test_rows_with_unseen_path']:.1%} | {line['fit_s']:.1f} | "
            f"{line['hierarchical_f1']:.4f} | {line['leaf_accuracy']:.4f} | {per_level} | "
            f"{line['rare_recall_lt100']:.3f} | {line['local_hierarchical_f1']:.4f} | "
            f"{line['local_leaf_accuracy']:.4f} |")
    (args.out / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out / stem}.md")


if __name__ == "__main__":
    main()
