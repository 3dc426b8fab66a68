"""warm_start: a second fit reuses the node models whose training problem is unchanged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import clustered
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, SGDClassifier

from hiercls import HierarchicalClassifier, MultiLabelHierarchicalClassifier
from hiercls.exceptions import WarmStartWarning
from hiercls.warm_start import row_hashes


def _assert_same_model(warm, scratch, X):
    np.testing.assert_array_equal(warm.predict(X), scratch.predict(X))
    for a, b in zip(warm.predict_proba(X), scratch.predict_proba(X), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    assert warm.node_fingerprints_ == scratch.node_fingerprints_
    assert [list(c) for c in warm.classes_] == [list(c) for c in scratch.classes_]


def _fit(X, Y, **params):
    return HierarchicalClassifier(**{"min_samples": 1, "random_state": 0, "warm_start": True, **params}).fit(
        X, Y
    )


def _with_rows(X, Y, paths_and_centres, seed=1):
    X_new, Y_new, _ = clustered(paths_and_centres, seed=seed)
    Y_all = np.empty((len(Y) + len(Y_new), Y.shape[1]), dtype=object)
    Y_all[: len(Y)], Y_all[len(Y) :] = Y, Y_new
    return np.vstack([X, X_new]), Y_all


# ------------------------------------------------------------------ what is reused
def test_the_same_data_again_reuses_every_node_model(three_levels):
    X, Y, _ = three_levels
    clf = _fit(X, Y)
    assert (clf.n_nodes_refitted_, clf.n_nodes_reused_) == (5, 0)
    first = list(clf.estimators_)
    clf.fit(X, Y)
    assert (clf.n_nodes_refitted_, clf.n_nodes_reused_) == (0, 5)
    fitted = [node for node, model in enumerate(first) if type(model).__name__ != "ConstantNodeModel"]
    assert all(first[node] is clf.estimators_[node] for node in fitted)
    _assert_same_model(clf, _fit(X, Y), X)


@pytest.mark.parametrize(
    ("added", "refitted", "reused"),
    [
        # Fitted before: root, animal, plant, animal/mammal, plant/tree (animal/bird
        # and plant/flower have one child: constant models, no fit).
        # A new leaf under plant/flower: root and plant see new rows, flower is now fitted.
        ([(("plant", "flower", "tulip"), (4, -4))], 3, 3),
        # A new branch at level 0: only the root sees new rows (the branch is constant).
        ([(("fungus", "mushroom", "cep"), (0, 0))], 1, 4),
        # A new child of animal/bird: root, animal, and bird, now fitted.
        ([(("animal", "bird", "crow"), (-4, -4))], 3, 3),
    ],
)
def test_new_classes_refit_only_the_nodes_that_see_them(three_levels, added, refitted, reused):
    X, Y, _ = three_levels
    clf = _fit(X, Y)
    X2, Y2 = _with_rows(X, Y, added)
    clf.fit(X2, Y2)
    assert (clf.n_nodes_refitted_, clf.n_nodes_reused_) == (refitted, reused)
    _assert_same_model(clf, _fit(X2, Y2), np.vstack([X2, X2 + 0.5]))


def test_a_removed_class_refits_its_ancestors_and_keeps_the_rest(three_levels):
    X, Y, _ = three_levels
    clf = _fit(X, Y)
    kept = Y[:, 2] != "pine"  # plant/tree then has one child: a constant model, no fit
    clf.fit(X[kept], Y[kept])
    assert (clf.n_nodes_refitted_, clf.n_nodes_reused_) == (2, 2)
    assert "pine" not in clf.classes_[2]
    _assert_same_model(clf, _fit(X[kept], Y[kept]), X)


def test_reused_models_answer_with_the_new_node_ids(three_levels):
    X, Y, _ = three_levels
    clf = _fit(X, Y)
    # "cat" < "cow": a new leaf under mammal shifts the ids of every later node.
    X2, Y2 = _with_rows(X, Y, [(("animal", "mammal", "cow"), (-10, 6.5))])
    clf.fit(X2, Y2)
    assert clf.n_nodes_reused_ == 2  # plant's and plant/tree's models, renamed
    path = clf.hierarchy_.node_path
    outcomes = {path(node): [path(o) for o in m.classes_] for node, m in enumerate(clf.estimators_) if m}
    assert outcomes[("plant", "tree")] == [("plant", "tree", "oak"), ("plant", "tree", "pine")]
    assert outcomes[("animal",)] == [("animal", "bird"), ("animal", "mammal")]
    expected = [["plant", "tree", "pine"], ["animal", "bird", "eagle"], ["animal", "mammal", "cow"]]
    np.testing.assert_array_equal(clf.predict([[10, 3], [-4, -10], [-10, 6.5]]), expected)


def test_paths_that_end_early_keep_their_stop_outcome(ragged):
    X, Y, _ = ragged
    clf = _fit(X, Y)
    X2, Y2 = _with_rows(X, Y, [(("B", "B0", "B0x"), (0, -10))])  # B0 < B1: ids under B shift
    clf.fit(X2, Y2)
    assert clf.n_nodes_reused_ == 2  # A and A/A1 (which has a stop), untouched
    _assert_same_model(clf, _fit(X2, Y2), np.vstack([X2, X2 - 0.5]))
    assert clf.predict([[-10, 10]])[0].tolist() == ["A", "A1", None]


def test_changed_rows_weights_and_parameters_refit(three_levels):
    X, Y, _ = three_levels
    clf = _fit(X, Y)
    X_moved = X.copy()
    X_moved[Y[:, 0] == "plant"] += 0.1  # plant's rows change: root, plant and plant/tree
    clf.fit(X_moved, Y)
    assert (clf.n_nodes_refitted_, clf.n_nodes_reused_) == (3, 2)
    weights = np.where(Y[:, 1] == "bird", 2.0, 1.0)
    clf.fit(X_moved, Y, sample_weight=weights)  # weights are new everywhere
    assert clf.n_nodes_reused_ == 0
    clf.fit(X_moved, Y, sample_weight=weights)
    assert clf.n_nodes_reused_ == 5
    clf.set_params(estimator=LogisticRegression(C=0.5)).fit(X_moved, Y, sample_weight=weights)
    assert clf.n_nodes_reused_ == 0
    clf.set_params(estimator=LogisticRegression(C=0.5, n_jobs=2)).fit(X_moved, Y, sample_weight=weights)
    assert clf.n_nodes_reused_ == 5  # threads are no part of the model
    clf.set_params(random_state=1).fit(X_moved, Y, sample_weight=weights)
    assert clf.n_nodes_reused_ == 0  # every node's random_state is seeded anew


def test_the_order_of_rows_is_part_of_the_problem(three_levels):
    X, Y, _ = three_levels
    clf = _fit(X, Y)
    order = np.r_[np.flatnonzero(Y[:, 0] == "plant"), np.flatnonzero(Y[:, 0] == "animal")]
    clf.fit(X[order], Y[order])
    # Within each level-0 subtree the rows keep their order: only the root changes.
    assert (clf.n_nodes_refitted_, clf.n_nodes_reused_) == (1, 4)


def test_seeded_models_equal_a_scratch_fit_after_ids_shift(three_levels):
    X, Y, _ = three_levels
    params = {"estimator": SGDClassifier(loss="log_loss", random_state=0), "random_state": 3}
    clf = _fit(X, Y, **params)
    X2, Y2 = _with_rows(X, Y, [(("animal", "ape", "gorilla"), (-4, 4))])
    clf.fit(X2, Y2)
    assert clf.n_nodes_reused_ == 3
    _assert_same_model(clf, _fit(X2, Y2, **params), X2)


def test_sparse_text_like_input_with_compact_models(three_levels):
    X, Y, _ = three_levels
    rng = np.random.default_rng(0)
    X_text = sparse.csr_matrix(
        np.abs(X) / np.abs(X).sum(axis=1, keepdims=True) * rng.uniform(0.5, 1, (len(X), 1))
    )
    X_text = sparse.hstack([X_text, sparse.random(len(X), 30, density=0.1, random_state=0) * 0.1]).tocsr()
    clf = _fit(X_text, Y)
    assert type(clf.estimators_[0]).__name__ == "SparseLinearModel"
    kept = Y[:, 2] != "eagle"
    clf.fit(X_text[kept], Y[kept])
    assert clf.n_nodes_reused_ == 3  # root changes, animal becomes a one-child node
    _assert_same_model(clf, _fit(X_text[kept], Y[kept]), X_text)


def _text_like(X):
    rng = np.random.default_rng(0)
    X_text = sparse.csr_matrix(
        np.abs(X) / np.abs(X).sum(axis=1, keepdims=True) * rng.uniform(0.5, 1, (len(X), 1))
    )
    noise = sparse.random(len(X), 30, density=0.1, random_state=0) * 0.1
    return sparse.hstack([X_text, noise]).tocsr()


def test_rows_added_in_one_branch_refit_its_ancestors_and_equal_a_scratch_fit(three_levels):
    X, Y, _ = three_levels
    X2, Y2 = _with_rows(
        X, Y, [(("animal", "mammal", "dog"), (-9, 9)), (("animal", "mammal", "cat"), (-9, 4))]
    )
    X_text = _text_like(X2)
    old = np.arange(len(X))
    clf = _fit(X_text[old], Y2[old])
    assert type(clf.estimators_[0]).__name__ == "SparseLinearModel"
    clf.fit(X_text, Y2)
    # root, animal and animal/mammal see the new rows; plant and plant/tree do not.
    assert (clf.n_nodes_refitted_, clf.n_nodes_reused_) == (3, 2)
    _assert_same_model(clf, _fit(X_text, Y2), X_text)


def test_labels_of_another_type_are_other_classes(int_labels):
    X, Y, _ = int_labels
    clf = _fit(X, Y)
    assert (clf.n_nodes_refitted_, clf.n_nodes_reused_) == (3, 0)
    as_text = Y.astype(str).astype(object)  # 1 and "1" are two labels: every outcome is new
    clf.fit(X, as_text)
    assert (clf.n_nodes_refitted_, clf.n_nodes_reused_) == (3, 0)
    clf.fit(X, as_text)
    assert (clf.n_nodes_refitted_, clf.n_nodes_reused_) == (0, 3)
    _assert_same_model(clf, _fit(X, as_text), X)


def test_mixed_label_types_in_one_level_keep_their_fingerprints(int_labels):
    X, Y, _ = int_labels
    mixed = Y.astype(object)
    mixed[Y[:, 2] == 101, 2] = "100"  # the int 100 and the str "100" side by side under (1, 10)
    clf = _fit(X, mixed)
    clf.fit(X, mixed)
    assert (clf.n_nodes_refitted_, clf.n_nodes_reused_) == (0, 3)
    _assert_same_model(clf, _fit(X, mixed), X)


@pytest.mark.slow
@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=4), st.integers(0, 2**16))
def test_a_warm_fit_after_appended_rows_equals_a_scratch_fit(leaves, seed):
    from conftest import THREE_LEVELS

    X, Y, _ = clustered(THREE_LEVELS)
    X2, Y2 = _with_rows(X, Y, [THREE_LEVELS[leaf] for leaf in leaves], seed=seed)
    clf = _fit(X, Y)
    clf.fit(X2, Y2)
    scratch = _fit(X2, Y2)
    _assert_same_model(clf, scratch, X2)
    assert clf.n_nodes_refitted_ + clf.n_nodes_reused_ == scratch.n_nodes_refitted_


@pytest.mark.slow
def test_fingerprints_are_the_same_in_another_process(three_levels):
    import json
    import os
    import subprocess
    import sys

    X, Y, _ = three_levels
    mixed = Y.copy()
    mixed[:6, 2] = 7  # an int among the strs of one level
    code = (
        "import json, sys, numpy as np\n"
        "from hiercls import HierarchicalClassifier\n"
        "X, Y = json.loads(sys.stdin.read())\n"
        "clf = HierarchicalClassifier(min_samples=1, random_state=0)\n"
        "clf.fit(np.array(X), np.array(Y, dtype=object))\n"
        "print(json.dumps(sorted((repr(k), v) for k, v in clf.node_fingerprints_.items())))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps([X.tolist(), mixed.tolist()]),
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )
    here = _fit(X, mixed).node_fingerprints_
    assert json.loads(done.stdout) == [list(item) for item in sorted((repr(k), v) for k, v in here.items())]


def test_categorical_frames(three_levels):
    X, Y, _ = three_levels
    frame = pd.DataFrame(
        {"x0": X[:, 0], "x1": X[:, 1], "kind": pd.Categorical(np.where(X[:, 1] > 0, "up", "down"))}
    )
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(max_iter=3, min_samples_leaf=2, early_stopping=False)
    params = {"estimator": model}
    clf = _fit(frame, Y, **params)
    clf.fit(frame, Y)
    assert (clf.n_nodes_refitted_, clf.n_nodes_reused_) == (0, 5)
    _assert_same_model(clf, _fit(frame, Y, **params), frame)


def test_lightgbm_models_are_refitted_when_their_ids_shift(three_levels):
    lightgbm = pytest.importorskip("lightgbm")
    X, Y, _ = three_levels
    params = {"estimator": lightgbm.LGBMClassifier(n_estimators=5, min_child_samples=2, verbose=-1)}
    clf = _fit(X, Y, **params)
    clf.fit(X, Y)
    assert clf.n_nodes_reused_ == 5  # same ids: taken over as they are
    X2, Y2 = _with_rows(X, Y, [(("animal", "ape", "gorilla"), (-4, 4))])
    clf.fit(X2, Y2)
    # animal/bird keeps its problem but not its ids, and LightGBM keeps its own label
    # encoder: fitted again. mammal's ids shift too; only plant's subtree keeps its ids? No:
    # every node after the new one is renumbered, so only nodes whose outcomes kept their ids stay.
    assert clf.n_nodes_reused_ < 3
    _assert_same_model(clf, _fit(X2, Y2, **params), X2)


def test_warm_start_false_never_reuses(three_levels):
    X, Y, _ = three_levels
    clf = HierarchicalClassifier(min_samples=1).fit(X, Y)
    clf.fit(X, Y)
    assert (clf.n_nodes_refitted_, clf.n_nodes_reused_) == (5, 0)
    assert clone(clf.set_params(warm_start=True)).get_params()["warm_start"] is True


# ------------------------------------------------------------- differing input
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda X, Y: (np.c_[X, X[:, :1]], Y), "X has 3 features where the earlier fit had 2"),
        (
            lambda X, Y: (X, pd.DataFrame(Y, columns=["kingdom", "order", "species"])),
            r"the levels are \['kingdom', 'order', 'species'\] where the earlier fit had \['level0'",
        ),
    ],
)
def test_another_feature_count_or_level_names_refit_everything_and_say_why(three_levels, change, message):
    X, Y, _ = three_levels
    clf = _fit(X, Y)
    X2, Y2 = change(X, Y)
    with pytest.warns(WarmStartWarning, match=message):
        clf.fit(X2, Y2)
    assert (clf.n_nodes_refitted_, clf.n_nodes_reused_) == (5, 0)
    _assert_same_model(clf, _fit(X2, Y2), X2)


def test_a_failed_fit_leaves_nothing_to_match(three_levels):
    X, Y, _ = three_levels
    clf = _fit(X, Y)
    with pytest.raises(ValueError, match="rows"):
        clf.fit(X[:-1], Y)
    assert not hasattr(clf, "node_fingerprints_")
    clf.fit(X, Y)
    assert clf.n_nodes_reused_ == 0


# ------------------------------------------------------------------- multi-label
def test_multilabel_reuses_and_equals_a_scratch_fit():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1], [2, 2]] * 6, dtype=float)
    X += np.random.default_rng(0).normal(scale=0.05, size=X.shape)
    Y = [[("a", "a1")], [("a", "a1"), ("b",)], [("a", "a2")], [("a", "a2"), ("b", "b1")], [("c", "c1")]] * 6

    def fit(X, Y):
        return MultiLabelHierarchicalClassifier(min_samples=1, random_state=0, warm_start=True).fit(X, Y)

    clf = fit(X, Y)
    clf.fit(X, Y)
    assert (clf.n_nodes_refitted_, clf.n_nodes_reused_) == (0, 4)  # root, a, b (stop and b1), c
    X2 = np.vstack([X, [[3, 0]] * 4])
    Y2 = Y + [[("a", "a0")]] * 4  # a new leaf before a1: ids after it shift
    clf.fit(X2, Y2)
    assert (clf.n_nodes_refitted_, clf.n_nodes_reused_) == (2, 2)  # root and a see new rows
    scratch = fit(X2, Y2)
    np.testing.assert_allclose(clf.predict_proba(X2), scratch.predict_proba(X2), rtol=0, atol=1e-12)
    assert (clf.predict(X2) != scratch.predict(X2)).nnz == 0
    assert clf.classes_ == scratch.classes_


@pytest.mark.parametrize("cls", [HierarchicalClassifier, MultiLabelHierarchicalClassifier])
def test_models_saved_before_warm_start_existed_load_without_it(cls):
    X, Y = [[0.0], [1.0]] * 4, ([["a"], ["b"]] if cls is HierarchicalClassifier else [[("a",)], [("b",)]]) * 4
    state = cls(min_samples=1).fit(X, Y).__getstate__()
    for name in ("warm_start", "node_fingerprints_", "n_nodes_refitted_", "n_nodes_reused_"):
        del state[name]
    old = cls.__new__(cls)
    old.__setstate__(state)
    assert old.get_params()["warm_start"] is False
    old.set_params(warm_start=True).fit(X, Y)  # nothing to match: a full fit
    assert old.n_nodes_reused_ == 0


# ------------------------------------------------------------------ row hashes
@settings(max_examples=30, deadline=None)
@given(st.integers(1, 40), st.integers(1, 6), st.integers(0, 2**16), st.booleans())
def test_row_hashes_follow_rows_not_positions(n, p, seed, as_sparse):
    rng = np.random.default_rng(seed)
    X = rng.integers(-2, 3, size=(n, p)).astype(float)
    X[rng.random(X.shape) < 0.1] = np.nan
    X_in = sparse.csr_matrix(np.nan_to_num(X)) if as_sparse else X
    hashes = row_hashes(X_in)
    order = rng.permutation(n)
    np.testing.assert_array_equal(row_hashes(X_in[order]), hashes[order])
    rows = np.nan_to_num(X) if as_sparse else X
    distinct_rows = len({tuple(np.where(np.isnan(r), np.inf, r)) for r in rows})
    assert len({tuple(h) for h in hashes.tolist()}) == distinct_rows


def test_row_hashes_of_dense_chunks_and_sparse_storage_order():
    X = np.arange(12.0).reshape(4, 3)
    X[1, 1] = np.nan
    from hiercls import warm_start

    whole = row_hashes(X)
    small_chunks, warm_start._DENSE_CHUNK = warm_start._DENSE_CHUNK, 3
    try:
        np.testing.assert_array_equal(row_hashes(X), whole)
    finally:
        warm_start._DENSE_CHUNK = small_chunks
    csr = sparse.csr_matrix(np.array([[0, 1.5, 2.0], [2.0, 0, 1.5]]))
    unsorted = sparse.csr_matrix(
        (csr.data[[1, 0, 3, 2]], csr.indices[[1, 0, 3, 2]], csr.indptr), shape=csr.shape
    )
    np.testing.assert_array_equal(row_hashes(unsorted), row_hashes(csr))
    assert not np.array_equal(row_hashes(csr)[0], row_hashes(csr)[1])
