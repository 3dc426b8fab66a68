"""What ``estimator=None`` means: chosen by the input's kind and size."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.linear_model import LogisticRegression

from hiercls import HierarchicalClassifier
from hiercls.datasets import make_hierarchical_classification, make_hierarchical_text
from hiercls.estimator import DEFAULT_SELECTION_MIN_ROWS

COMMON = {"random_state": 0, "sufficiency_policy": "ignore", "n_jobs": 1}


def dense_data(n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    return make_hierarchical_classification(
        n_rows, n_levels=2, branching=[2, 3], n_features=4, random_state=0
    )


@pytest.mark.slow
def test_dense_input_with_enough_rows_selects_each_levels_model_as_auto_does() -> None:
    X, Y = dense_data(DEFAULT_SELECTION_MIN_ROWS)
    default = HierarchicalClassifier(**COMMON).fit(X, Y)
    auto = HierarchicalClassifier("auto", **COMMON).fit(X, Y)

    assert list(default.model_selection_["level"].unique()) == list(default.levels_)
    assert default.model_selection_.drop(columns="fit_seconds").equals(
        auto.model_selection_.drop(columns="fit_seconds")
    )
    assert_array_equal(default.predict(X[:500]), auto.predict(X[:500]))


def test_dense_input_below_the_threshold_is_logistic_regression() -> None:
    X, Y = dense_data(DEFAULT_SELECTION_MIN_ROWS - 1)
    default = HierarchicalClassifier(**COMMON).fit(X, Y)
    logistic = HierarchicalClassifier(LogisticRegression(max_iter=1000), **COMMON).fit(X, Y)

    assert not hasattr(default, "model_selection_")
    assert_array_equal(default.predict(X), logistic.predict(X))
    np.testing.assert_allclose(default.predict_proba(X)[-1], logistic.predict_proba(X)[-1], rtol=1e-12)


@pytest.mark.slow
def test_text_input_keeps_the_linear_model_whatever_its_size() -> None:
    X, Y = make_hierarchical_text(DEFAULT_SELECTION_MIN_ROWS, random_state=0)
    clf = HierarchicalClassifier(**COMMON).fit(X, Y)

    assert not hasattr(clf, "model_selection_")
    fitted = {type(m).__name__ for m in clf.estimators_ if m is not None}
    assert fitted <= {"SparseLinearModel", "ConstantNodeModel"}
    assert "SparseLinearModel" in fitted


@pytest.mark.slow
def test_a_refit_on_fewer_rows_forgets_the_earlier_selection() -> None:
    X, Y = dense_data(DEFAULT_SELECTION_MIN_ROWS)
    clf = HierarchicalClassifier(**COMMON).fit(X, Y)
    assert hasattr(clf, "model_selection_")

    clf.fit(X[:1000], Y[:1000])
    logistic = HierarchicalClassifier(LogisticRegression(max_iter=1000), **COMMON).fit(X[:1000], Y[:1000])

    assert not hasattr(clf, "model_selection_")
    assert_array_equal(clf.predict(X), logistic.predict(X))
