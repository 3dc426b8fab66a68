"""The one search over the tree of node models, seen through the estimator's predict methods."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from hiercls import HierarchicalClassifier
from hiercls.datasets import make_hierarchical_classification


class RowRecorder(ClassifierMixin, BaseEstimator):
    """Logistic regression that notes which rows (by the id in column 0) it scored."""

    def __init__(self, C: float = 1.0) -> None:
        self.C = C

    def fit(self, X, y):
        self.model_ = LogisticRegression(C=self.C).fit(X[:, 1:], y)
        self.classes_ = self.model_.classes_
        self.calls_: list[np.ndarray] = []
        return self

    def predict_proba(self, X):
        self.calls_.append(np.asarray(X[:, 0]).copy())
        return self.model_.predict_proba(X[:, 1:])

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


@pytest.fixture(scope="module")
def recorded_problem():
    X, Y = make_hierarchical_classification(
        600, n_levels=3, branching=3, n_features=6, class_sep=0.6, random_state=3
    )
    ids = np.arange(len(X), dtype=float)[:, None]
    return np.hstack([ids, X]), Y


def _fit(problem, **params):
    X, Y = problem
    return HierarchicalClassifier(RowRecorder(), min_samples=1, **params).fit(X, Y)


def _node_models(clf):
    return [m for m in clf.estimators_ if isinstance(m, RowRecorder)]


def _forget(clf):
    for model in _node_models(clf):
        model.calls_.clear()


def _scored(clf):
    """Per node model: how many calls, and how many times its most-scored row was scored."""
    calls = [len(m.calls_) for m in _node_models(clf)]
    repeats = [
        max(Counter(np.concatenate(m.calls_).tolist()).values()) for m in _node_models(clf) if m.calls_
    ]
    return calls, repeats


# A node model is called once per pass over the tree that reaches it, and only for
# rows that no earlier pass scored: best path = one exact pass; top-k = beam + exact
# pass; paths with top-k = the decoding's pass + beam + exact pass.
@pytest.mark.parametrize(
    ("method", "params", "passes"),
    [
        (lambda clf, X: clf.predict(X), {"decoding": "best_path"}, 1),
        (lambda clf, X: clf.predict_paths(X), {"decoding": "best_path", "stop_threshold": 0.3}, 1),
        (lambda clf, X: clf.predict_top_k(X, 4), {}, 2),
        (lambda clf, X: clf.predict_paths(X, top_k=4), {}, 3),
        (lambda clf, X: clf.predict_paths(X, top_k=4), {"decoding": "best_path"}, 3),
    ],
)
def test_no_node_model_scores_a_row_twice(recorded_problem, method, params, passes):
    clf = _fit(recorded_problem, **params)
    _forget(clf)
    method(clf, recorded_problem[0])
    calls, repeats = _scored(clf)
    assert max(repeats) == 1
    assert max(calls) <= passes


class CountingLogisticRegression(LogisticRegression):
    """Logistic regression that counts its ``predict_proba`` calls."""

    def fit(self, X, y, sample_weight=None):
        self.n_calls_ = 0
        return super().fit(X, y, sample_weight=sample_weight)

    def predict_proba(self, X):
        self.n_calls_ += 1
        return super().predict_proba(X)


def test_best_path_calls_each_visited_node_once_where_greedy_goes_astray():
    # x0 chooses between A and B, x1 between A's children, x2 between B's children.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    top = np.where(X[:, 0] < 0, "A", "B")
    below = np.where(top == "A", np.where(X[:, 1] < 0, "a1", "a2"), np.where(X[:, 2] < 0, "b1", "b2"))
    Y = np.column_stack([top, below])
    params = {"min_samples": 1, "random_state": 0}
    best = HierarchicalClassifier(CountingLogisticRegression(), decoding="best_path", **params).fit(X, Y)
    greedy = HierarchicalClassifier(CountingLogisticRegression(), **params).fit(X, Y)
    # Row 1 leans to A, where the children are a toss-up, while B's best child is sure:
    # its best path goes through B although greedy descent takes A.
    X_test = np.array([[-3.0, -3.0, 0.0], [0.05, -0.2, -6.0], [3.0, 0.0, 3.0]])
    assert_array_equal(greedy.predict(X_test)[:2, 0], ["A", "A"])
    for model in best.estimators_:
        if model is not None:
            model.n_calls_ = 0
    assert_array_equal(best.predict(X_test), [["A", "a1"], ["B", "b1"], ["B", "b2"]])
    calls = [model.n_calls_ for model in best.estimators_ if isinstance(model, CountingLogisticRegression)]
    assert calls == [1, 1, 1]  # the root, A and B: every node with a model is visited, once


def test_greedy_calls_each_visited_node_once(recorded_problem):
    clf = _fit(recorded_problem)
    _forget(clf)
    clf.predict_paths(recorded_problem[0])
    calls, repeats = _scored(clf)
    assert max(calls) == 1
    assert max(repeats) == 1


@pytest.mark.parametrize("decoding", ["greedy", "best_path"])
def test_paths_with_top_k_equal_the_separate_calls(recorded_problem, decoding):
    X = recorded_problem[0]
    clf = _fit(recorded_problem, decoding=decoding)
    together = clf.predict_paths(X, top_k=5)
    alone = clf.predict_paths(X)
    top = clf.predict_top_k(X, 5)
    assert alone.top is None
    assert_array_equal(together.labels, alone.labels)
    assert_allclose(together.level_proba, alone.level_proba, rtol=1e-12)
    assert_allclose(together.path_proba, alone.path_proba, rtol=1e-12)
    assert_array_equal(together.top.labels, top.labels)
    assert_allclose(together.top.proba, top.proba, rtol=1e-12)


def test_best_path_is_the_top_1_path_with_its_level_probabilities(recorded_problem):
    X = recorded_problem[0]
    clf = _fit(recorded_problem, decoding="best_path")
    paths = clf.predict_paths(X)
    top = clf.predict_top_k(X, 1)
    assert_array_equal(paths.labels, top.labels[:, 0, :])
    assert_allclose(paths.path_proba, top.proba[:, 0], rtol=1e-12)
    # Each level's probability is the marginal of that node, which predict_proba gives
    # exactly (labels here are unique per level).
    marginals = clf.predict_proba(X)
    for j, level_proba in enumerate(marginals):
        column = np.searchsorted(clf.classes_[j], paths.labels[:, j])
        assert_allclose(paths.level_proba[:, j], level_proba[np.arange(len(X)), column], rtol=1e-10)


def test_top_k_rejects_a_negative_k(recorded_problem):
    clf = _fit(recorded_problem)
    with pytest.raises(ValueError, match="k must be a non-negative integer; got -1"):
        clf.predict_paths(recorded_problem[0], top_k=-1)


@pytest.mark.parametrize("decoding", ["greedy", "best_path"])
def test_rows_interleaved_across_nodes_keep_their_own_scores(three_levels, decoding):
    # Sparse X: each level's rows are gathered node by node into one matrix. Here the
    # gathered order is a permutation of all rows that starts at row 0 and ends at the
    # last row, which must not be mistaken for X itself.
    X, Y, centres = three_levels
    clf = HierarchicalClassifier(decoding=decoding, min_samples=1).fit(sparse.csr_matrix(X), Y)
    order = [0, 3, 1, 4, 2, 5]  # animal, plant, animal, plant, ...: row 0 first, row 5 last
    X_test = sparse.csr_matrix(centres[order])
    together = clf.predict_paths(X_test)
    one_by_one = [clf.predict_paths(X_test[i]) for i in range(len(order))]
    assert_array_equal(together.labels, np.vstack([p.labels for p in one_by_one]))
    assert_allclose(together.path_proba, [p.path_proba[0] for p in one_by_one], rtol=1e-12)
    assert_array_equal(clf.predict(X_test)[:, 0], ["animal", "plant"] * 3)
