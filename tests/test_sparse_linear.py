"""Compact linear node models: memory follows the non-zero weights, scores do not change."""

import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.linear_model import SGDClassifier
from sklearn.svm import LinearSVC

from hiercls import HierarchicalClassifier
from hiercls.artifacts import load_model, save_model
from hiercls.exceptions import WeightPruningWarning
from hiercls.linear import OneVsRestLinearSVC, OneVsRestLogisticRegression
from hiercls.sparse_linear import SparseLinearModel, select_columns

LEGACY_TEXT_ARTIFACT = Path(__file__).parent / "data" / "legacy_text_model_2e35ab6"


def _wide_text(n_features=200_000, rows_per_leaf=30, seed=0):
    """TF-IDF-like rows: 2 groups x 3 leaves, each leaf with 4 words of its own among
    ``n_features`` columns, plus 2 group words and a few noise words per row."""
    rng = np.random.default_rng(seed)
    words = rng.choice(n_features, size=40, replace=False)
    leaf_words = words[:24].reshape(6, 4)
    group_words = words[24:28].reshape(2, 2)
    noise = words[28:]
    rows, cols, labels = [], [], []
    for leaf in range(6):
        group = leaf // 3
        for _ in range(rows_per_leaf):
            row = len(labels)
            chosen = np.r_[
                rng.choice(leaf_words[leaf], 2, replace=False),
                rng.choice(group_words[group], 1),
                rng.choice(noise, 2, replace=False),
            ]
            rows += [row] * len(chosen)
            cols += chosen.tolist()
            labels.append((f"g{group}", f"leaf{leaf}"))
    X = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(labels), n_features))
    X.sum_duplicates()
    X = sp.csr_matrix(X.multiply(1 / np.sqrt(X.multiply(X).sum(axis=1))))
    return X, np.array(labels, dtype=object)


def test_select_columns_equals_column_indexing():
    rng = np.random.default_rng(0)
    X = sp.random(40, 500, density=0.05, format="csr", random_state=1)
    for n_columns in (0, 1, 37, 500):
        columns = np.sort(rng.choice(500, n_columns, replace=False)).astype(np.int32)
        narrow = select_columns(X, columns)
        assert narrow.shape == (40, n_columns)
        assert_array_equal(narrow.toarray(), X[:, columns].toarray())
        assert_array_equal(select_columns(X.toarray(), columns), X[:, columns].toarray())


def test_node_weights_take_memory_of_their_non_zeros_not_of_the_width():
    X, Y = _wide_text(n_features=200_000)
    clf = HierarchicalClassifier(random_state=0, sufficiency_policy="ignore").fit(X, Y)
    linear = [m for m in clf.estimators_ if isinstance(m, SparseLinearModel)]
    assert len(linear) == 3  # the root and both groups
    for model in linear:
        assert model.n_features_in_ == 200_000
        assert len(model.columns_) <= 40  # only words that occur in the node's rows
        assert model.nbytes <= 16 * model.n_weights + 16 * len(model.classes_) + 64
    # Dense full-width weights would take 2 + 3 + 3 outputs x 200,000 x 8 bytes = 12.8 MB.
    assert len(pickle.dumps(clf)) < 200_000
    assert clf.score(X, Y) == 1.0


def test_compact_nodes_score_like_the_model_fitted_at_full_width():
    X, Y = _wide_text(n_features=3_000)
    model = OneVsRestLogisticRegression(tol=1e-10, max_iter=100_000, random_state=0)
    compact = HierarchicalClassifier(model, sufficiency_policy="ignore").fit(X, Y)
    dense = HierarchicalClassifier(model, sufficiency_policy="ignore").fit(X.toarray(), Y)
    assert isinstance(compact.estimators_[0], SparseLinearModel)
    assert isinstance(dense.estimators_[0], OneVsRestLogisticRegression)
    assert_array_equal(compact.predict(X), dense.predict(X.toarray()))
    for p_compact, p_dense in zip(compact.predict_proba(X), dense.predict_proba(X.toarray()), strict=True):
        assert_allclose(p_compact, p_dense, atol=1e-6)
    top_compact = compact.predict_top_k(X, k=3)
    top_dense = dense.predict_top_k(X.toarray(), k=3)
    assert_array_equal(top_compact.labels, top_dense.labels)
    assert_allclose(top_compact.proba, top_dense.proba, atol=1e-6)


def test_pruning_drops_small_weights_and_keeps_clear_decisions():
    X, Y = _wide_text(n_features=5_000)
    full = HierarchicalClassifier(OneVsRestLinearSVC(random_state=0), sufficiency_policy="ignore").fit(X, Y)
    pruned = HierarchicalClassifier(
        OneVsRestLinearSVC(weight_threshold=0.3, random_state=0), sufficiency_policy="ignore"
    ).fit(X, Y)
    assert_array_equal(pruned.predict(X), full.predict(X))
    n_full = sum(m.n_weights for m in full.estimators_ if isinstance(m, SparseLinearModel))
    n_pruned = sum(m.n_weights for m in pruned.estimators_ if isinstance(m, SparseLinearModel))
    assert n_pruned < n_full
    for model in pruned.estimators_:
        if isinstance(model, SparseLinearModel):
            assert model.weight_threshold == 0.3
            kept = model.coef_.data
            assert np.all(np.abs(kept) >= 0.3)


def test_a_threshold_that_would_empty_a_node_is_reported_by_path_and_not_applied():
    X, Y = _wide_text(n_features=5_000)
    full = HierarchicalClassifier(OneVsRestLinearSVC(random_state=0), sufficiency_policy="ignore").fit(X, Y)
    too_high = HierarchicalClassifier(
        OneVsRestLinearSVC(weight_threshold=100.0, random_state=0), sufficiency_policy="ignore"
    )
    with pytest.warns(WeightPruningWarning, match=r"\(\), \('g0',\), \('g1',\) \(3 of 3 node models\)"):
        too_high.fit(X, Y)
    assert_array_equal(too_high.predict(X), full.predict(X))


def test_one_vs_rest_pruning_standalone():
    X = np.array([[1.0, 0.01], [0.9, 0.02], [0.0, 1.0], [0.1, 0.9]])
    model = OneVsRestLinearSVC(weight_threshold=0.2, random_state=0).fit(X, [0, 0, 1, 1])
    assert model.weight_threshold_ == 0.2
    assert np.all((model.coef_ == 0) | (np.abs(model.coef_) >= 0.2))
    with pytest.raises(ValueError, match="'weight_threshold' parameter of OneVsRestLinearSVC must be"):
        OneVsRestLinearSVC(weight_threshold=-1.0).fit(X, [0, 0, 1, 1])


def test_int64_indexed_sparse_input_is_accepted():
    X, Y = _wide_text(n_features=5_000)
    X64 = X.copy()
    X64.indices = X64.indices.astype(np.int64)
    X64.indptr = X64.indptr.astype(np.int64)
    reference = HierarchicalClassifier(random_state=0, sufficiency_policy="ignore").fit(X, Y)
    clf = HierarchicalClassifier(random_state=0, sufficiency_policy="ignore").fit(X64, Y)
    assert_array_equal(clf.predict(X64), reference.predict(X))
    assert_allclose(clf.predict_proba(X64)[1], reference.predict_proba(X)[1])


def test_saved_model_is_the_compact_model_and_predicts_exactly_the_same(tmp_path):
    X, Y = _wide_text(n_features=200_000)
    clf = HierarchicalClassifier(random_state=0, sufficiency_policy="ignore").fit(X, Y)
    save_model(clf, tmp_path / "model")
    assert (tmp_path / "model" / "model.skops").stat().st_size < 100_000
    loaded = load_model(tmp_path / "model")
    assert_array_equal(loaded.predict(X), clf.predict(X))
    for before, after in zip(clf.predict_proba(X), loaded.predict_proba(X), strict=True):
        assert_array_equal(after, before)


def test_a_text_model_saved_before_compact_weights_loads_compact(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # saved with whatever versions were installed then
        model = load_model(LEGACY_TEXT_ARTIFACT, allow_pickle=True)
    # Re-saved in the default format, it loads with hiercls's own trust list alone.
    model = load_model(save_model(model, tmp_path / "converted"))
    assert [type(m).__name__ for m in model.estimators_ if m is not None] == [
        "SparseLinearModel", "SparseLinearModel", "ConstantNodeModel"
    ]
    X = sp.load_npz(LEGACY_TEXT_ARTIFACT / "X.npz")
    expected = np.load(LEGACY_TEXT_ARTIFACT / "proba_level1.npy")
    assert_allclose(model.predict_proba(X)[1], expected, atol=1e-6)


@pytest.mark.parametrize(
    ("node_model", "kept_as"),
    [(LinearSVC(random_state=0), SparseLinearModel), (SGDClassifier(random_state=0), SGDClassifier)],
    ids=["liblinear_svc", "sgd"],
)
def test_other_linear_models_are_compact_only_when_their_optimum_ignores_unused_columns(node_model, kept_as):
    X, Y = _wide_text(n_features=2_000)
    clf = HierarchicalClassifier(node_model, sufficiency_policy="ignore").fit(X, Y)
    fitted = [m for m in clf.estimators_ if m is not None]
    assert all(isinstance(m, kept_as) for m in fitted)
    assert clf.score(X, Y) > 0.9


@pytest.mark.parametrize("weight_threshold", [0.0, 0.5], ids=["dense_block", "sparse_block"])
def test_every_batch_size_scores_like_the_full_width_product(weight_threshold):
    """Single rows, small batches and large batches take different paths; all agree."""
    from hiercls.node_models import fit_node
    from hiercls.sparse_linear import ColumnLookup

    rng = np.random.default_rng(3)
    X = sp.random(3_000, 4_000, density=0.004, format="csr", random_state=4)
    X.data = rng.random(X.nnz)
    y = rng.integers(0, 12, X.shape[0])
    model = fit_node(
        OneVsRestLinearSVC(weight_threshold=weight_threshold, random_state=0), X, np.arange(3_000), y, None
    )
    assert isinstance(model, SparseLinearModel)
    assert sp.issparse(model.weights_) == (weight_threshold > 0)
    expected = (X @ model.coef_.T).toarray() + model.intercept_
    assert_allclose(model.decision_function(X), expected, atol=1e-12)
    assert_allclose(model.decision_function(X, ColumnLookup(X.shape[1])), expected, atol=1e-12)
    assert_allclose(model.decision_function(X.toarray()), expected, atol=1e-12)
    for start, stop in [(0, 1), (7, 8), (10, 40), (100, 103)]:
        assert_allclose(model.decision_function(X[start:stop]), expected[start:stop], atol=1e-12)
    empty_rows = sp.csr_matrix((5, X.shape[1]))
    assert_allclose(model.decision_function(empty_rows), np.tile(model.intercept_, (5, 1)))
    restored = pickle.loads(pickle.dumps(model))
    assert sp.issparse(restored.weights_) == sp.issparse(model.weights_)
    assert_array_equal(restored.decision_function(X), model.decision_function(X))


def test_a_node_whose_rows_hold_no_values_scores_by_its_intercepts():
    X = sp.csr_matrix(np.vstack([np.zeros((4, 6)), np.eye(6)[:4]]))
    Y = [["a", "a1"], ["a", "a1"], ["a", "a2"], ["a", "a2"],
         ["b", "b1"], ["b", "b1"], ["b", "b2"], ["b", "b2"]]
    clf = HierarchicalClassifier(OneVsRestLinearSVC(weight_threshold=0.0), sufficiency_policy="ignore")
    clf.fit(X, Y)
    node_a = [m for m in clf.estimators_ if isinstance(m, SparseLinearModel) and len(m.columns_) == 0]
    assert len(node_a) == 1  # 'a' saw only empty rows
    assert clf.predict(X[:1]).shape == (1, 2)
    assert clf.predict(X).shape == (8, 2)


@pytest.mark.parametrize("link", ["sigmoid", "softmax", "squared_hinge", "argmax"])
def test_positive_proba_is_the_positive_column_of_each_binary_link(link):
    from hiercls.sparse_linear import positive_proba

    scores = np.random.default_rng(0).normal(scale=3.0, size=(40, 5))
    # A model without weights scores every row by its intercept alone.
    no_weights = np.zeros(0, np.int32), np.zeros((1, 1))
    expected = [
        SparseLinearModel(np.array([0, 1]), *no_weights, np.array([s]), 3, link, "x").predict_proba(
            np.zeros((1, 3))
        )[0, 1]
        for s in scores.ravel()
    ]
    np.testing.assert_allclose(positive_proba(scores, link), np.reshape(expected, scores.shape), atol=1e-15)
