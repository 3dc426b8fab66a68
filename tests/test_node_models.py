"""Node models: fitting a sparse node on the columns its rows use gives the same model."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.svm import LinearSVC

from hiercls import HierarchicalClassifier
from hiercls.linear import OneVsRestLinearSVC, OneVsRestLogisticRegression
from hiercls.node_models import fit_node, take_rows
from hiercls.sparse_linear import SparseLinearModel


def _sparse_rows_using_few_columns(seed=0, n_rows=120, n_features=300):
    """Rows 0..59 use columns 0..49 only; the rest use columns 50..299."""
    rng = np.random.default_rng(seed)
    dense = np.zeros((n_rows, n_features))
    dense[:60, :50] = rng.random((60, 50)) * (rng.random((60, 50)) < 0.2)
    dense[60:, 50:] = rng.random((60, 250)) * (rng.random((60, 250)) < 0.05)
    y = np.r_[(dense[:60, :5].sum(axis=1) > 0.2).astype(int), rng.integers(0, 2, 60)] + 1
    y[:3] = [1, 2, 3]  # three outcomes at the node
    return sp.csr_matrix(dense), y


@pytest.mark.parametrize(
    "model",
    [
        LogisticRegression(max_iter=1000, tol=1e-10),
        LogisticRegression(C=10, max_iter=1000, tol=1e-10, class_weight="balanced"),
        LinearSVC(tol=1e-10, max_iter=100_000),
        RidgeClassifier(solver="sparse_cg", tol=1e-12),
        OneVsRestLinearSVC(tol=1e-10, max_iter=100_000, random_state=0),
        OneVsRestLogisticRegression(tol=1e-10, max_iter=100_000, random_state=0),
    ],
    ids=["logreg", "logreg_balanced", "linear_svc", "ridge", "ovr_svc", "ovr_logreg"],
)
def test_fit_on_used_columns_equals_fit_on_all_columns(model):
    from sklearn.base import clone

    X, y = _sparse_rows_using_few_columns()
    rows = np.arange(60)
    weights = np.linspace(0.5, 2.0, X.shape[0])
    narrow = fit_node(clone(model), X, rows, y[rows], weights)
    full = clone(model).fit(X[rows].toarray(), y[rows], sample_weight=weights[rows])
    assert isinstance(narrow, SparseLinearModel)
    assert narrow.origin == type(model).__name__
    assert narrow.coef_.shape == full.coef_.shape == (3, 300)
    assert narrow.n_features_in_ == 300
    assert np.all(narrow.columns_ < 50)  # only the columns rows 0..59 use
    np.testing.assert_allclose(narrow.coef_.toarray(), full.coef_, atol=1e-5)
    np.testing.assert_allclose(narrow.intercept_, full.intercept_, atol=1e-5)
    np.testing.assert_array_equal(narrow.predict(X), full.predict(X.toarray()))
    if hasattr(full, "predict_proba"):
        np.testing.assert_allclose(narrow.predict_proba(X), full.predict_proba(X.toarray()), atol=1e-5)


def test_take_rows_keeps_the_matrix_when_every_row_is_taken():
    X, _ = _sparse_rows_using_few_columns()
    assert take_rows(X, np.arange(X.shape[0])) is X
    assert take_rows(X, np.arange(5)).shape == (5, X.shape[1])
    assert take_rows(X, np.array([], dtype=np.intp)).shape == (0, X.shape[1])


def test_sparse_text_hierarchy_predicts_as_dense():
    """End to end: sparse input (fitted per node on used columns) predicts like dense."""
    X, y = _sparse_rows_using_few_columns(seed=1)
    Y = np.column_stack([np.where(np.arange(120) < 60, "a", "b"), y.astype(str)])
    sparse_fit = HierarchicalClassifier(LogisticRegression(tol=1e-10, max_iter=1000)).fit(X, Y)
    dense_fit = HierarchicalClassifier(LogisticRegression(tol=1e-10, max_iter=1000)).fit(X.toarray(), Y)
    np.testing.assert_array_equal(sparse_fit.predict(X), dense_fit.predict(X.toarray()))
    pairs = zip(sparse_fit.predict_proba(X), dense_fit.predict_proba(X.toarray()), strict=True)
    for p_sparse, p_dense in pairs:
        np.testing.assert_allclose(p_sparse, p_dense, atol=1e-6)


def test_lightgbm_nodes_get_a_minimum_hessian_unless_set():
    from lightgbm import LGBMClassifier

    from hiercls.node_models import make_node_estimator

    default = make_node_estimator(LGBMClassifier(), n_rows=1000, seed=0, n_threads=1)
    chosen = make_node_estimator(LGBMClassifier(min_child_weight=0.5), n_rows=1000, seed=0, n_threads=1)
    assert default.get_params()["min_child_weight"] == 1.0
    assert chosen.get_params()["min_child_weight"] == 0.5


def test_a_one_row_class_does_not_poison_a_large_lightgbm_node():
    """With LightGBM's own defaults, this node's accuracy falls from ~0.86 to ~0.7."""
    from lightgbm import LGBMClassifier
    from sklearn.datasets import make_classification

    X, y = make_classification(
        25_000,
        n_features=20,
        n_informative=10,
        n_classes=6,
        n_clusters_per_class=2,
        weights=[0.4, 0.3, 0.15, 0.1, 0.04, 0.01],
        random_state=1,
    )
    X_test, y_test, X, y = X[20_000:], y[20_000:], X[:20_000], y[:20_000]
    rng = np.random.default_rng(0)
    rare = rng.choice(len(X), 3, replace=False)
    X = np.vstack([X, X[rare] + rng.normal(0, 0.1, (3, 20))])
    y = np.r_[y, 6, 7, 7].astype(str)
    model = LGBMClassifier(n_estimators=60, random_state=0)
    clf = HierarchicalClassifier(model, sufficiency_policy="ignore").fit(X, y)
    assert (clf.predict(X_test) == y_test.astype(str)).mean() > 0.83


def test_default_node_model_follows_the_input():
    """The dual one-vs-rest model for TF-IDF rows; L-BFGS for anything else."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    words = ["red apple", "green apple", "ripe pear", "green pear", "oak tree", "pine tree"]
    texts = [f"{w} {i}" for i in range(20) for w in words]
    Y = [["fruit", w.split()[1]] if "tree" not in w else ["plant", "tree"] for w in words] * 20
    X = TfidfVectorizer().fit_transform(texts)
    text_model = HierarchicalClassifier(random_state=0).fit(X, Y)
    numeric_model = HierarchicalClassifier(random_state=0).fit(sp.csr_matrix(X.toarray() * 5 - 1), Y)
    fitted = [m for m in text_model.estimators_ if hasattr(m, "coef_")]
    assert fitted
    assert all(isinstance(m, SparseLinearModel) and m.origin == "OneVsRestLinearSVC" for m in fitted)
    fitted = [m for m in numeric_model.estimators_ if hasattr(m, "coef_")]
    assert fitted
    assert all(isinstance(m, SparseLinearModel) and m.origin == "LogisticRegression" for m in fitted)
    assert text_model.score(X, Y) == 1.0


def test_fit_on_used_columns_of_a_read_only_matrix():
    """joblib's workers see large X as read-only memory maps."""
    X, y = _sparse_rows_using_few_columns()
    # Rows of norm <= 1 (the default node model's input), columns in descending order
    # within each row (as TfidfVectorizer may leave them): scipy then wants to sort.
    indptr = X.indptr
    bounds = zip(indptr[:-1], indptr[1:], strict=True)
    order = np.concatenate([np.arange(b - 1, a - 1, -1) for a, b in bounds])
    X = sp.csr_matrix((X.data[order] / 10, X.indices[order], indptr), shape=X.shape)
    assert not X.has_sorted_indices
    for array in (X.data, X.indices, X.indptr):
        array.flags.writeable = False
    Y = np.column_stack([np.where(np.arange(120) < 60, "a", "b"), y.astype(str)])
    clf = HierarchicalClassifier(random_state=0).fit(X, Y)
    assert clf.predict(X).shape == Y.shape
