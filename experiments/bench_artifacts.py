"""Artifact formats: file size, save time and load time of skops (default) against pickle.

Two models, each fitted once in a child process and saved in both formats
(``save_model(..., format="skops")`` and ``format="pickle"``):

- ``wordnet``: the default text model of ``hiercls-train``, a Pipeline of
  ``TfidfVectorizer(min_df=2, max_features=50000, sublinear_tf=True)`` and
  ``HierarchicalClassifier()`` (compact sparse logistic node models), on the WordNet
  nouns training split of ``bench_real.py`` (65,691 rows, 1,845 leaf paths);
- ``lightgbm``: ``HierarchicalClassifier(LGBMClassifier(n_estimators=50))`` on
  synthetic dense data (20,000 rows, 40 features, 10 x 10 x 5 classes).

Each model is saved three times per format in its fitting process (skops and joblib
imported before the clock; the table gives the median). Each load runs in a fresh
process (hiercls, skops, joblib and LightGBM imported before the clock starts), five
times per format; the table gives the median and the range, the child's peak RSS, and
whether the loaded model's predictions (labels and path probabilities on the test rows)
are identical to the fitted model's. Importing ``skops.io`` (it imports much of
scikit-learn to list its trusted types) is timed apart, once per load process.

    python experiments/bench_artifacts.py           # WordNet (~2 min) and LightGBM
    python experiments/bench_artifacts.py --quick   # 3,000 WordNet rows, small LightGBM

Writes ``experiments/results/artifacts.md`` (``results/quick/`` with ``--quick``).
"""

from __future__ import annotations

import argparse
import json
import statistics
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

FORMATS = ("skops", "pickle")
N_LOADS = 5
N_SAVES = 3


# ------------------------------------------------------------------ children
def _fit(case: str, quick: bool) -> tuple[Any, Any, dict[str, Any]]:
    """(fitted model, test rows, data description)."""
    from lightgbm import LGBMClassifier

    from hiercls import HierarchicalClassifier

    if case == "wordnet":
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import make_pipeline

        X, Y, info = rd.load_raw("wordnet", n_max=3_000 if quick else None, seed=0)
        X_train, X_test, Y_train, _ = rd.split(X, Y, seed=0)
        model = make_pipeline(
            TfidfVectorizer(min_df=2, max_features=50_000, sublinear_tf=True),
            HierarchicalClassifier(random_state=0, sufficiency_policy="ignore"),
        )
        model.fit(X_train.tolist(), rd.as_paths(Y_train))
        return model, X_test.tolist(), {**info, "n_train": len(X_train), "n_test": len(X_test)}
    from hiercls.datasets import make_hierarchical_classification

    n_rows = 2_000 if quick else 20_000
    X, Y = make_hierarchical_classification(
        n_rows, n_levels=3, branching=(10, 10, 5), n_features=40, n_informative=20, random_state=0
    )
    lightgbm = LGBMClassifier(n_estimators=10 if quick else 50, verbose=-1, n_jobs=1)
    model = HierarchicalClassifier(lightgbm, random_state=0, sufficiency_policy="ignore")
    n_train = int(0.8 * n_rows)
    model.fit(X[:n_train], Y[:n_train])
    return model, X[n_train:], {"n_train": n_train, "n_test": n_rows - n_train}


def _predictions(model: Any, X: Any) -> tuple[np.ndarray, np.ndarray]:
    from hiercls.artifacts import find_classifier

    X_classifier = model[:-1].transform(X) if hasattr(model, "steps") else X
    paths = find_classifier(model).predict_paths(X_classifier)
    return paths.labels.astype(str), paths.path_proba


def build_child(case: str, quick: bool, directory: Path) -> dict[str, Any]:
    """Fit, save in both formats (N_SAVES times each), keep the test rows and the reference predictions."""
    import warnings

    import joblib  # noqa: F401 - imported before the clock, as for the loads
    import skops.io  # noqa: F401

    from hiercls.artifacts import save_model

    warnings.simplefilter("ignore")
    start = time.perf_counter()
    model, X_test, info = _fit(case, quick)
    fit_s = time.perf_counter() - start
    result: dict[str, Any] = {"case": case, "fit_s": fit_s, "data": info}
    for model_format in FORMATS:
        times = []
        for _ in range(N_SAVES):
            start = time.perf_counter()
            artifact = save_model(model, directory / model_format, format=model_format)
            times.append(time.perf_counter() - start)
        result[f"{model_format}_save_s"] = times
        metadata = json.loads((artifact / "metadata.json").read_text())
        result[f"{model_format}_bytes"] = metadata["model_bytes"]
    labels, proba = _predictions(model, X_test)
    np.save(directory / "labels.npy", labels)
    np.save(directory / "proba.npy", proba)
    with open(directory / "X_test.json", "w") as handle:
        json.dump(X_test if isinstance(X_test, list) else np.asarray(X_test).tolist(), handle)
    return result


def load_child(directory: Path, model_format: str) -> dict[str, Any]:
    """Time one load_model in this fresh process; compare its predictions."""
    import warnings

    import joblib  # noqa: F401 - imported before the clock, as in a serving process
    import lightgbm  # noqa: F401

    from hiercls.artifacts import load_model

    start = time.perf_counter()
    import skops.io  # noqa: F401 - once per process: reported apart from the load

    import_s = time.perf_counter() - start
    warnings.simplefilter("ignore")
    before = runner.peak_rss()
    start = time.perf_counter()
    model = load_model(directory / model_format, allow_pickle=model_format == "pickle")
    load_s = time.perf_counter() - start
    peak = runner.peak_rss()
    X_test = json.loads((directory / "X_test.json").read_text())
    if not isinstance(X_test[0], str):
        X_test = np.asarray(X_test)
    labels, proba = _predictions(model, X_test)
    identical = bool(
        np.array_equal(labels, np.load(directory / "labels.npy"))
        and np.array_equal(proba, np.load(directory / "proba.npy"))
    )
    return {
        "load_s": load_s,
        "skops_import_s": import_s,
        "rss_before_bytes": before,
        "peak_rss_bytes": peak,
        "identical": identical,
    }


# -------------------------------------------------------------------- parent
def _run(argv: list[str], result: Path, timeout: float) -> dict[str, Any]:
    outcome = runner.run_child(
        [sys.executable, __file__, *argv, "--result", str(result)], timeout=timeout, result_path=result
    )
    if outcome["status"] != "ok" or outcome["result"] is None:
        raise SystemExit(f"child {argv} failed ({outcome['status']}):\n{outcome['stderr_tail']}")
    return outcome["result"]


def _mib(value: float | None) -> str:
    return "–" if value is None else f"{value / 2**20:,.1f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3,000 WordNet rows, a small LightGBM model")
    parser.add_argument("--child", choices=("build", "load"))
    parser.add_argument("--case")
    parser.add_argument("--format", choices=FORMATS)
    parser.add_argument("--dir", type=Path)
    parser.add_argument("--result", type=Path)
    args = parser.parse_args(argv)
    if args.child:
        if args.child == "build":
            out = build_child(args.case, args.quick, args.dir)
        else:
            out = load_child(args.dir, args.format)
        args.result.write_text(json.dumps({**out, "phase": "done"}))
        return

    cases = [*rd.usable(["wordnet"], quick=args.quick), "lightgbm"]
    machine = runner.machine_info()
    machine["versions"] = {**machine["versions"], "skops": runner.package_version("skops")}
    rows, cells, import_times = [], [], []
    with tempfile.TemporaryDirectory(prefix="bench_artifacts_") as tmp:
        for case in cases:
            directory = Path(tmp) / case
            directory.mkdir()
            quick = ["--quick"] if args.quick else []
            built = _run(
                ["--child", "build", "--case", case, "--dir", str(directory), *quick],
                Path(tmp) / "build.json",
                timeout=3600,
            )
            print(f"{case}: fitted in {built['fit_s']:.1f} s; {built['data']}", flush=True)
            for model_format in FORMATS:
                loads = [
                    _run(
                        ["--child", "load", "--format", model_format, "--dir", str(directory)],
                        Path(tmp) / "load.json",
                        timeout=600,
                    )
                    for _ in range(N_LOADS)
                ]
                times = [load["load_s"] for load in loads]
                import_times += [load["skops_import_s"] for load in loads]
                row = {**machine, "case": case, "format": model_format, "loads": loads, "build": built}
                rows.append(row)
                cells.append(
                    [
                        case,
                        f"`{model_format}`",
                        f"{built[f'{model_format}_bytes'] / 1e6:,.2f}",
                        f"{statistics.median(built[f'{model_format}_save_s']):.2f}",
                        f"{statistics.median(times):.3f}",
                        f"{min(times):.3f}–{max(times):.3f}",
                        _mib(
                            statistics.median(
                                load["peak_rss_bytes"] - load["rss_before_bytes"] for load in loads
                            )
                        ),
                        "yes" if all(load["identical"] for load in loads) else "**no**",
                    ]
                )
                print(" | ".join(cells[-1]), flush=True)
    columns = [
        "model",
        "format",
        "file MB",
        f"save s (median of {N_SAVES})",
        f"load s (median of {N_LOADS})",
        "load s range",
        "load peak RSS growth MiB",
        "predictions identical",
    ]
    lines = [
        "# Artifact formats: skops (default) against pickle",
        "",
        "Produced by `experiments/bench_artifacts.py`"
        + (" --quick (smoke test, not a result)" if args.quick else "")
        + f"; CPU: {machine['cpu_model']}; each load in a fresh process, libraries imported "
        "before the clock (importing `skops.io`, once per process, took "
        f"{statistics.median(import_times):.1f} s: median over the load processes); wall times "
        "on a shared machine.",
        "",
        *runner.markdown_table(columns, rows, cells),
    ]
    runner.write_table(lines, "artifacts.md", args.quick)


if __name__ == "__main__":
    main()
