"""Node fits on a Dask cluster: speed-up with 2 workers, and the models are the same.

Fits ``HierarchicalClassifier()`` (default linear base; dense X, so L-BFGS nodes) on
the synthetic generator three ways: sequentially (``n_jobs=1``), with joblib's local
process pool (``n_jobs=2``), and on a ``distributed.LocalCluster`` of 2 single-thread
worker processes through ``hiercls.parallel.fit_backend`` (joblib's dask backend).
Checks that the three fits give identical coefficients.

Run::

    python experiments/bench_dask.py [--quick]

writes ``experiments/results/dask.md`` / ``dask.json`` (``results/quick/dask_quick.*`` with ``--quick``: 5,000 rows).
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
import _runner as runner  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    args.out = args.out or runner.results_dir(args.quick)
    warnings.simplefilter("ignore")

    from hiercls import HierarchicalClassifier
    from hiercls.batch import DaskEngine
    from hiercls.datasets import make_hierarchical_classification
    from hiercls.parallel import fit_backend

    n_rows, branching = (5_000, (5, 5, 5)) if args.quick else (200_000, (10, 20, 20))
    X, Y = make_hierarchical_classification(
        n_rows, n_levels=3, branching=branching, n_features=20, random_state=0
    )
    X = np.asarray(X, dtype=np.float64)
    runs: dict[str, dict[str, Any]] = {}
    models = {}

    def timed(name: str, n_jobs: int, engine: Any = None) -> None:
        clf = HierarchicalClassifier(n_jobs=n_jobs, random_state=0, sufficiency_policy="ignore")
        with fit_backend(engine):
            start = time.perf_counter()
            clf.fit(X, Y)
            runs[name] = {"fit_s": time.perf_counter() - start, "n_jobs": n_jobs}
        models[name] = clf
        print(f"{name}: {runs[name]['fit_s']:.1f} s", flush=True)

    timed("sequential (n_jobs=1)", 1)
    timed("joblib processes (n_jobs=2)", 2)
    engine = DaskEngine(n_workers=2, threads_per_worker=1, processes=True)
    # The cluster's start-up is outside the timed fit, as with a long-lived cluster.
    timed("Dask LocalCluster, 2 workers", -1, engine)
    reference = models["sequential (n_jobs=1)"].estimators_
    for name, clf in models.items():
        runs[name]["same_models_as_sequential"] = all(
            (a is None and b is None)
            or (not hasattr(b, "coef_"))
            or (np.array_equal(a.coef_, b.coef_) and np.array_equal(a.intercept_, b.intercept_))
            for a, b in zip(clf.estimators_, reference, strict=True)
        )
        runs[name]["speedup"] = runs["sequential (n_jobs=1)"]["fit_s"] / runs[name]["fit_s"]
    n_models = sum(m is not None for m in reference)
    stem = "dask_quick" if args.quick else "dask"
    result = {"n_rows": n_rows, "branching": branching, "n_node_models": n_models,
              "runs": runs, "machine": runner.machine_info()}
    (args.out / f"{stem}.json").write_text(json.dumps(result, indent=1, default=str))
    lines = [
        "# Node fits on a Dask cluster" + (" (quick)" if args.quick else ""),
        "",
        f"Written by `experiments/bench_dask.py`. {result['machine'].get('cpu_model')}, "
        f"{result['machine'].get('logical_cpus')} logical CPUs. `HierarchicalClassifier()` "
        f"(dense X: `LogisticRegression` nodes) on {n_rows:,} synthetic rows, branching "
        f"{branching}, {n_models} node models. One BLAS thread per process. The Dask "
        "cluster (2 worker processes, 1 thread each) is started before the timed fit. "
        + runner.provenance_note([result["machine"]])[0],
        "",
        "| backend | fit s | speed-up | same coefficients as sequential |",
        "|---|---|---|---|",
    ]
    for name, run in runs.items():
        lines.append(f"| {name} | {run['fit_s']:.1f} | {run['speedup']:.2f}× | "
                     f"{'yes' if run['same_models_as_sequential'] else 'NO'} |")
    (args.out / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out / stem}.md")


if __name__ == "__main__":
    main()
