"""Class-count checks before training and the four sufficiency policies."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from conftest import clustered
from lightgbm import LGBMClassifier
from numpy.testing import assert_array_equal
from sklearn.base import BaseEstimator, ClassifierMixin

from hiercls import HierarchicalClassifier, InsufficientSupportError, check_sufficiency
from hiercls.exceptions import InsufficientSupportWarning

# Support: J45 has 8 rows, J46 4, K1 8, K2 4 (under K), L 4 (top level, rare): 8 classes.
SPEC = [
    (("J", "J45"), (-10, 10)),
    (("J", "J45"), (-10, 9)),
    (("J", "J46"), (-10, -10)),
    (("K", "K1"), (10, 10)),
    (("K", "K1"), (10, 9)),
    (("K", "K2"), (10, -10)),
    (("L", "L1"), (0, 0)),
]


@pytest.fixture
def data():
    X, Y, centres = clustered(SPEC, rows_per_leaf=4)
    return X, Y, centres


def test_report_counts_support_per_class(data):
    _, Y, _ = data
    report = check_sufficiency(Y, min_samples=10, estimator=LGBMClassifier(), n_splits=5)
    table = report.table.set_index("path")
    assert table.loc["J", "support"] == 12
    assert table.loc["J / J45", "support"] == 8
    assert table.loc["J / J46", "support"] == 4
    assert table.loc["J", "n_children_below"] == 2
    assert report.n_insufficient == 6  # J45, J46, K1, K2 have < 10; L and L1 have 4
    assert "fewer rows than the model's min_child_samples=20" in table.loc["J / J46", "notes"]
    assert "fewer rows than n_splits=5" in table.loc["L / L1", "notes"]
    assert "single child" in table.loc["L", "notes"]
    assert list(report.insufficient["support"]) == sorted(report.insufficient["support"])


def test_report_writes_csv_json_markdown(tmp_path, data):
    _, Y, _ = data
    paths = check_sufficiency(Y, min_samples=5).write(tmp_path)
    assert json.loads(paths["json"].read_text())["n_insufficient"] == 4
    assert "J / J46" in paths["md"].read_text()
    assert paths["csv"].read_text().startswith("level,")


def test_no_rare_classes_says_so(data):
    _, Y, _ = data
    report = check_sufficiency(Y, min_samples=1)
    assert report.summary() == "All 8 classes have at least min_samples=1 training samples."


def test_warn_policy_warns_once_with_counts(data):
    X, Y, _ = data
    with pytest.warns(InsufficientSupportWarning) as record:
        HierarchicalClassifier(min_samples=5).fit(X, Y)
    assert len(record) == 1
    assert "4 of 8 classes have fewer than min_samples=5" in str(record[0].message)
    assert "'J46' at level 'level1' (4 samples, under 'J')" in str(record[0].message)


class _MustNotFit(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        raise AssertionError("a node model was trained")

    def predict(self, X):
        return np.zeros(len(X))


def test_raise_policy_raises_before_training(data):
    X, Y, _ = data
    with pytest.raises(InsufficientSupportError, match="Class 'J46' at level 'level1' has 4 "
                       "training samples, below min_samples=5; lower the threshold or use "
                       "sufficiency_policy='merge' to fold it into 'J'"):
        HierarchicalClassifier(_MustNotFit(), min_samples=5, sufficiency_policy="raise").fit(
            X[:12], Y[:12]
        )
    with pytest.raises(InsufficientSupportError, match="4 of 8 classes"):
        HierarchicalClassifier(_MustNotFit(), min_samples=5, sufficiency_policy="raise").fit(X, Y)


def test_merge_policy_folds_rare_children_into_parents(data):
    X, Y, centres = data
    message = "Top-level classes .* cannot be merged.*'L' \\(4 samples\\)"
    with pytest.warns(InsufficientSupportWarning, match=message):
        clf = HierarchicalClassifier(min_samples=5, sufficiency_policy="merge").fit(X, Y)
    # J46, K2 and L1 are gone from the classes and from predict_proba.
    assert list(clf.classes_[1]) == ["J45", "K1"]
    assert clf.predict_proba(centres)[1].shape == (len(centres), 2)
    merged = clf.sufficiency_report_.merged.set_index("path")["merged_into"].to_dict()
    assert merged == {"J / J46": "J", "K / K2": "K", "L / L1": "L"}
    # The rare rows now predict the parent (a stop), never the merged class.
    predicted = clf.predict(centres)
    assert_array_equal(predicted[[2, 5, 6]], [["J", None], ["K", None], ["L", None]])
    assert_array_equal(predicted[[0, 3]], [["J", "J45"], ["K", "K1"]])


def test_merge_makes_a_node_whose_children_are_all_rare_a_leaf(data):
    X, Y, _ = data
    clf = HierarchicalClassifier(min_samples=5, sufficiency_policy="merge").fit(X[-4:], Y[-4:])
    assert clf.hierarchy_.n_children.tolist() == [1, 0]


def test_ignore_policy_is_silent(data):
    X, Y, _ = data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = HierarchicalClassifier(min_samples=50, sufficiency_policy="ignore").fit(X, Y)
    assert clf.sufficiency_report_.n_insufficient == 8


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_samples": 0}, "min_samples must be an integer >= 1"),
        ({"min_samples": 2.5}, "min_samples must be an integer >= 1"),
        ({"n_splits": 1}, "n_splits must be an integer >= 2"),
    ],
)
def test_check_sufficiency_rejects_bad_arguments(kwargs, message, data):
    _, Y, _ = data
    with pytest.raises(ValueError, match=message):
        check_sufficiency(Y, **kwargs)


def test_estimator_rejects_bad_policy(data):
    X, Y, _ = data
    with pytest.raises(ValueError, match="'sufficiency_policy' parameter .* must be a str among"):
        HierarchicalClassifier(sufficiency_policy="drop").fit(X, Y)
    with pytest.raises(ValueError, match="'min_samples' parameter .* must be an int in the range"):
        HierarchicalClassifier(min_samples=0).fit(X, Y)
