"""hiercls with its default linear base at scale: 10,000 leaves, 100k -> 1M rows.

The overhead benchmark (``bench_overhead.py``) measures the framework with a model
that costs nothing. This one trains real node models (hiercls's default
``LogisticRegression``) on the synthetic long-tailed generator, 3 levels with
10 x 20 x 50 = 10,000 leaves, and checks that fit and predict grow linearly in rows,
with peak memory, accuracy, and a pyinstrument profile of the largest size.

Every size runs in its own process (``_runner.run_child``) with a time limit,
so its peak RSS is its own and a timeout is a result.

Run::

    python experiments/bench_scale.py [--quick] [--sizes 100000 300000 1000000]

writes ``experiments/results/scale.md`` / ``scale.json`` (``results/quick/scale_quick.*``
with ``--quick``: 1,000 leaves, 20k and 50k rows, under a minute).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _runner as runner  # noqa: E402

FULL = {"sizes": [100_000, 300_000, 1_000_000], "branching": (10, 20, 50)}
QUICK = {"sizes": [20_000, 50_000], "branching": (10, 10, 10)}
TEST_SHARE = 0.1  # rows held out for accuracy (from the same generated set)


def child(spec: dict[str, Any], progress_path: str, result_path: str) -> None:
    """Generate, fit, predict and score one size; optionally profile it."""
    from hiercls import HierarchicalClassifier
    from hiercls.datasets import make_hierarchical_classification
    from hiercls.metrics import evaluate

    warnings.simplefilter("ignore")
    progress = runner.Progress(progress_path)
    n, branching = spec["n_rows"], tuple(spec["branching"])
    n_total = int(n / (1 - TEST_SHARE))
    started = time.perf_counter()
    X, Y = make_hierarchical_classification(
        n_total, n_levels=len(branching), branching=branching, n_features=20,
        tail_exponent=1.0, random_state=0,
    )
    X = np.asarray(X, dtype=np.float32)
    X_train, Y_train, X_test, Y_test = X[:n], Y[:n], X[n:], Y[n:]
    progress(phase="data", seconds=time.perf_counter() - started)
    result: dict[str, Any] = {"n_rows": n, "n_test": len(X_test), "branching": branching}

    clf = HierarchicalClassifier(n_jobs=1, random_state=0, sufficiency_policy="ignore")
    runner.reset_peak_rss()
    rss_before = runner.current_rss() or 0
    profiler = None
    if spec["profile"]:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.01)
        profiler.start()
    t0, c0 = time.perf_counter(), time.process_time()
    clf.fit(X_train, Y_train)
    result["fit_s"], result["fit_cpu_s"] = time.perf_counter() - t0, time.process_time() - c0
    if profiler is not None:
        profiler.stop()
        result["fit_profile"] = profiler.output_text(color=False, show_all=False)
    result["fit_extra_rss_bytes"] = (runner.peak_rss() or 0) - rss_before
    result["n_node_models"] = sum(m is not None for m in clf.estimators_)
    result["n_leaves"] = int(len(clf.classes_[-1]))
    progress(phase="fit", seconds=result["fit_s"])

    if spec["profile"]:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.001)
        profiler.start()
    t0, c0 = time.perf_counter(), time.process_time()
    predicted_train = clf.predict(X_train)
    result["predict_s"], result["predict_cpu_s"] = time.perf_counter() - t0, time.process_time() - c0
    if spec["profile"]:
        profiler.stop()
        result["predict_profile"] = profiler.output_text(color=False, show_all=False)
    result["predict_rows_per_s"] = n / result["predict_s"]
    del predicted_train
    progress(phase="predict", seconds=result["predict_s"])

    t0 = time.perf_counter()
    clf.predict_top_k(X_test, k=5)
    result["top5_s_test"] = time.perf_counter() - t0
    scores = evaluate(Y_test, clf.predict(X_test), hierarchy=clf.hierarchy_)
    result["per_level_accuracy"] = [float(v) for v in scores.per_level["accuracy"]]
    result["hierarchical_f1"] = float(scores.hierarchical_f1)
    result["leaf_accuracy"] = float(scores.leaf_accuracy)
    result["peak_rss_bytes"] = runner.peak_rss()
    Path(result_path).write_text(json.dumps(result, default=str))


def _exponent(rows: list[dict[str, Any]], key: str) -> float | None:
    done = [r for r in rows if r.get(key)]
    if len(done) < 2:
        return None
    a, b = done[-2], done[-1]
    return math.log(b[key] / a[key]) / math.log(b["n_rows"] / a["n_rows"])


def report(results: dict[str, Any], path: Path) -> None:
    rows = [r for r in results["runs"] if r["status"] == "ok"]
    lines = [
        "# hiercls at scale: default linear base, 10,000 leaves" if not results["quick"]
        else "# hiercls at scale (quick)",
        "",
        f"Written by `experiments/bench_scale.py`. {results['machine'].get('cpu_model')}, "
        f"{results['machine'].get('logical_cpus')} logical CPUs; `n_jobs=1`, one BLAS thread. "
        f"Data: `make_hierarchical_classification` (Zipf leaf sizes), 20 float32 features, "
        f"branching {tuple(results['branching'])}; accuracy on {TEST_SHARE:.0%} more rows "
        f"from the same generator. Base model: hiercls's default. "
        + runner.provenance_note([results["machine"]])[0],
        "",
        "| rows | status | fit s (CPU) | node models | fit +RSS MiB | peak RSS MiB | predict s (CPU) "
        "| predict rows/s | top-5 s (test rows) | per-level acc | hF1 | leaf acc |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in results["runs"]:
        r = run.get("result") or {}
        if run["status"] != "ok":
            lines.append(f"| {run['n_rows']:,} | {run['status']} ({run['wall_s']:.0f} s) |"
                         + " – |" * 10)
            continue
        lines.append(
            f"| {r['n_rows']:,} | ok | {r['fit_s']:.1f} ({r['fit_cpu_s']:.1f}) | "
            f"{r['n_node_models']:,} | {r['fit_extra_rss_bytes'] / 2**20:,.0f} | "
            f"{(run['peak_rss_bytes'] or 0) / 2**20:,.0f} | {r['predict_s']:.2f} "
            f"({r['predict_cpu_s']:.2f}) | {r['predict_rows_per_s']:,.0f} | "
            f"{r['top5_s_test']:.2f} ({r['n_test']:,}) | "
            f"{' / '.join(f'{v:.3f}' for v in r['per_level_accuracy'])} | "
            f"{r['hierarchical_f1']:.4f} | {r['leaf_accuracy']:.4f} |"
        )
    lines += ["", "Growth exponents between the two largest sizes (1.0 = linear in rows; "
              "CPU time): "
              f"fit {_fmt(_exponent([r['result'] for r in rows], 'fit_cpu_s'))}, "
              f"predict {_fmt(_exponent([r['result'] for r in rows], 'predict_cpu_s'))}."]
    largest = rows[-1]["result"] if rows else {}
    for key, title in (("fit_profile", "fit"), ("predict_profile", "predict")):
        if largest.get(key):
            lines += ["", f"## Profile of `{title}` at {largest['n_rows']:,} rows (pyinstrument)",
                      "", "```", _trim_profile(largest[key]), "```"]
    path.write_text("\n".join(lines) + "\n")


def _trim_profile(text: str, max_lines: int = 45) -> str:
    body = [line for line in text.splitlines() if line.strip()]
    return "\n".join(body[:max_lines])


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sizes", type=int, nargs="+", default=None)
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--progress", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.out = args.out or runner.results_dir(args.quick)
    if args.child:
        child(json.loads(args.child), args.progress, args.result)
        return
    plan = QUICK if args.quick else FULL
    sizes = args.sizes or plan["sizes"]
    stem = "scale_quick" if args.quick else "scale"
    work = args.out / f".{stem}_work"
    work.mkdir(parents=True, exist_ok=True)
    runs = []
    for n in sizes:
        spec = {"n_rows": n, "branching": plan["branching"], "profile": n == max(sizes)}
        print(f"[{time.strftime('%H:%M:%S')}] {n:,} rows ...", flush=True)
        outcome = runner.run_child(
            [sys.executable, __file__, "--child", json.dumps(spec),
             "--progress", str(work / f"{n}.progress"), "--result", str(work / f"{n}.json")],
            timeout=args.timeout, progress_path=work / f"{n}.progress",
            result_path=work / f"{n}.json", address_space_limit_bytes=16 * 2**30,
        )
        outcome["n_rows"] = n
        print(f"    -> {outcome['status']} in {outcome['wall_s']:.0f} s", flush=True)
        if outcome["status"] != "ok":
            print(outcome["stderr_tail"], flush=True)
        runs.append(outcome)
    results = {"quick": args.quick, "branching": plan["branching"], "machine": runner.machine_info(),
               "runs": runs}
    (args.out / f"{stem}.json").write_text(json.dumps(results, indent=1, default=str))
    report(results, args.out / f"{stem}.md")
    print(f"wrote {args.out / stem}.md")


if __name__ == "__main__":
    main()
