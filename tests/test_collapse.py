"""Collapsed levels: a parent's model chooses among its grandchildren directly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from strategies import hierarchical_data

from hiercls import HierarchicalClassifier
from hiercls.artifacts import load_model, save_model
from hiercls.datasets import make_nested_regions
from hiercls.exceptions import HierarchyError
from hiercls.hierarchy import read_label_paths

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Region A holds a1 (near 0) and a2 (near 2), region B holds b1 (near 1). At x = 1.05
# the seven training rows vote 4 to 3 for A, but 3 to 2 to 2 for b1 among the leaves.
X_TINY = np.array([[0.0], [0.1], [1.9], [2.0], [0.9], [1.0], [1.1]])
Y_TINY = np.array([["A", "a1"], ["A", "a1"], ["A", "a2"], ["A", "a2"], ["B", "b1"], ["B", "b1"], ["B", "b1"]])
QUERY = np.array([[1.05]])


def tiny(collapse_levels=None):
    return HierarchicalClassifier(
        KNeighborsClassifier(n_neighbors=1),
        node_estimators={(): KNeighborsClassifier(n_neighbors=7)},
        collapse_levels=collapse_levels,
        min_samples=1,
    ).fit(X_TINY, Y_TINY)


def test_top_down_takes_the_region_with_more_votes():
    clf = tiny()
    assert_array_equal(clf.predict(QUERY), [["A", "a2"]])  # a2 is A's nearest leaf


@pytest.mark.parametrize("collapse_levels", [["level1"], [1], ("level1",)])
def test_collapsed_level_lets_the_root_choose_the_leaf(collapse_levels):
    clf = tiny(collapse_levels)
    assert clf.collapsed_levels_ == ("level1",)
    assert clf.estimators_[1] is None  # A and B get no model
    assert clf.estimators_[2] is None
    assert_array_equal(clf.predict(QUERY), [["B", "b1"]])
    level0, level1 = clf.predict_proba(QUERY)
    assert_allclose(level0, [[4 / 7, 3 / 7]])  # A = a1 + a2, summed exactly
    assert_allclose(level1, [[2 / 7, 2 / 7, 3 / 7]])
    paths = clf.predict_paths(QUERY, top_k=3)
    assert_allclose(paths.level_proba, [[3 / 7, 3 / 7]])
    assert_allclose(paths.path_proba, [3 / 7])
    assert_allclose(paths.top.proba, [[3 / 7, 2 / 7, 2 / 7]])
    assert paths.top.labels[0, 0].tolist() == ["B", "b1"]
    assert {tuple(p) for p in paths.top.labels[0, 1:].tolist()} == {("A", "a1"), ("A", "a2")}
    assert clf.score(QUERY, [["B", "b1"]]) == 1.0
    assert clf.n_paths_ == 3


@pytest.mark.parametrize("decoding", ["greedy", "best_path"])
def test_stop_threshold_cuts_a_merged_decision_above_the_unsure_level(decoding):
    clf = tiny(["level1"]).set_params(stop_threshold=0.5, decoding=decoding)
    # b1 (3/7) is under 0.5; level 0 is never cut, so the path ends at B.
    assert clf.predict(QUERY).tolist() == [["B", None]]
    paths = clf.predict_paths(QUERY)
    assert_allclose(paths.level_proba, [[3 / 7, np.nan]])
    assert_allclose(paths.path_proba, [3 / 7])


def test_best_path_decoding_agrees_with_greedy_on_a_flat_decision():
    clf = tiny(["level1"]).set_params(decoding="best_path")
    assert_array_equal(clf.predict(QUERY), [["B", "b1"]])
    assert_allclose(clf.predict_paths(QUERY).level_proba, [[3 / 7, 3 / 7]])


# A three-level tree whose middle level is collapsed, with a path that stops at the
# middle level: "stop at a2" is one outcome of the root's merged decision.
X3 = np.array([[0.0], [0.2], [3.0], [3.2], [6.0], [6.2], [9.0], [9.2]])
Y3 = np.array(
    [
        ["a", "a1", "x"],
        ["a", "a1", "x"],
        ["a", "a1", "y"],
        ["a", "a1", "y"],
        ["a", "a2", None],
        ["a", "a2", None],
        ["b", "b1", "z"],
        ["b", "b1", "z"],
    ],
    dtype=object,
)


def three_levels(collapse_levels, **params):
    return HierarchicalClassifier(
        LogisticRegression(C=100.0), collapse_levels=collapse_levels, min_samples=1, **params
    ).fit(X3, Y3)


@pytest.mark.parametrize("collapse_levels", [["level1"], ["level2"], ["level1", "level2"]])
def test_every_collapse_predicts_the_training_paths(collapse_levels):
    clf = three_levels(collapse_levels)
    predicted = clf.predict(X3)
    assert_array_equal(pd.DataFrame(predicted).fillna("-"), pd.DataFrame(Y3).fillna("-"))
    proba = clf.predict_proba(X3)
    assert_allclose(proba[0].sum(axis=1), 1.0)
    assert_allclose(proba[1].sum(axis=1), 1.0)
    # Level 2 is reached by every path except the stop at a2.
    stop_a2 = proba[2].sum(axis=1)
    assert np.all(stop_a2 <= 1 + 1e-12)
    assert_allclose(stop_a2[4:6], 0.0, atol=0.05)
    paths = clf.predict_paths(X3)
    assert np.all(np.isnan(paths.level_proba[4:6, 2]))  # the path ends at a2


def test_collapsing_every_level_gives_one_flat_model_at_the_root():
    clf = three_levels(["level1", "level2"])
    assert [i for i, m in enumerate(clf.estimators_) if m is not None] == [0]
    outcomes = clf.estimators_[0].classes_
    # The root's outcomes are the complete paths, the stop at a2 among them.
    assert sorted(clf.hierarchy_.node_path(int(o)) for o in outcomes) == [
        ("a", "a1", "x"),
        ("a", "a1", "y"),
        ("a", "a2"),
        ("b", "b1", "z"),
    ]


def test_explain_names_the_outcome_the_collapsed_model_chose():
    clf = three_levels(["level1"])
    explanation = clf.explain(X3, top=1)
    predicted = clf.predict(X3)
    root_steps = explanation[explanation["node"] == ""]
    assert set(root_steps["chosen"]) == {"a2", "b1"}  # positive contributions only (x > 0 pushes)
    # The root chose a level-1 node (its merged decision), never a level-0 one.
    assert root_steps["chosen"].tolist() == predicted[root_steps["row"], 1].tolist()
    assert set(explanation["node"]) <= {"", "a / a1"}  # a1's own model decides x or y


@pytest.mark.parametrize("ragged", [False, True])
def test_collapsing_all_but_level_0_equals_the_node_model_fitted_on_whole_paths(ragged):
    X, Y = make_nested_regions(600, grid=4, noise=0.4, random_state=0)
    if ragged:
        Y = Y.astype(object)
        Y[::5, 2] = None
    model = KNeighborsClassifier(n_neighbors=7, weights="distance")  # distances: no ties to break
    clf = HierarchicalClassifier(model, collapse_levels=[1, 2], min_samples=1).fit(X, Y)
    paths = [tuple(p) for p in pd.DataFrame(Y).fillna("").to_numpy().tolist()]
    order = sorted(set(paths))
    codes = np.array([order.index(p) for p in paths])
    flat = clone(model).fit(X, codes)
    X_test, _ = make_nested_regions(300, grid=4, noise=0.4, random_state=1)
    expected = [order[c] for c in flat.predict(X_test)]
    got = [tuple("" if v is None else v for v in row) for row in clf.predict(X_test).tolist()]
    assert got == expected
    # The finest level's probabilities are the flat model's, column for column.
    leaf_proba = flat.predict_proba(X_test)
    leaves = clf.classes_[2].tolist()
    for column, path in enumerate(order):
        if path[2]:
            assert_allclose(clf.predict_proba(X_test)[2][:, leaves.index(path[2])], leaf_proba[:, column])


def test_no_collapse_is_the_plain_model():
    X, Y = make_nested_regions(400, grid=4, random_state=0)
    plain = HierarchicalClassifier(min_samples=1, random_state=0).fit(X, Y)
    empty = HierarchicalClassifier(collapse_levels=[], min_samples=1, random_state=0).fit(X, Y)
    assert_array_equal(plain.predict(X), empty.predict(X))
    for a, b in zip(plain.predict_proba(X), empty.predict_proba(X), strict=True):
        assert_allclose(a, b)


def test_collapsed_model_survives_an_artifact_round_trip(tmp_path):
    clf = three_levels(["level1"])
    save_model(clf, tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    assert loaded.predict(X3).tolist() == clf.predict(X3).tolist()
    for a, b in zip(loaded.predict_proba(X3), clf.predict_proba(X3), strict=True):
        assert_allclose(a, b)


@pytest.mark.slow
@SETTINGS
@given(data=hierarchical_data(), pick=st.integers(0, 2**8), threshold=st.sampled_from([None, 0.5]))
def test_collapsed_outputs_stay_coherent(data, pick, threshold):
    X, Y = data
    n_levels = 1 if Y.ndim == 1 else Y.shape[1]
    collapse = [level for level in range(1, n_levels) if pick >> level & 1]
    clf = HierarchicalClassifier(
        collapse_levels=collapse, stop_threshold=threshold, random_state=0, min_samples=1
    ).fit(X, Y)
    proba = clf.predict_proba(X)
    proba = proba if isinstance(proba, list) else [proba]
    reach = [p.sum(axis=1) for p in proba]
    assert all(np.all(p >= 0) for p in proba)
    assert_allclose(reach[0], 1.0)
    for upper, lower in zip(reach[:-1], reach[1:], strict=True):
        assert np.all(lower <= upper + 1e-12)
    for decoding in ("greedy", "best_path"):
        clf.set_params(decoding=decoding)
        predicted = clf.predict(X)
        # Encoding against the fitted tree raises for any path the tree does not contain.
        clf.hierarchy_.encode(read_label_paths(predicted, check_paths=False))
        paths = clf.predict_paths(X)
        level_proba = paths.level_proba
        # A node is never more likely than its parent, and never more than its label's marginal.
        assert np.all(np.nan_to_num(np.diff(level_proba, axis=1), nan=0.0) <= 1e-12)
        labels = paths.labels
        for level in range(n_levels):
            present = np.flatnonzero(~np.isnan(level_proba[:, level]))
            columns = pd.Index(clf.hierarchy_.level_labels[level]).get_indexer(labels[present, level])
            assert np.all(level_proba[present, level] <= proba[level][present, columns] + 1e-9)
        assert np.all(paths.path_proba <= np.nan_to_num(level_proba, nan=1.0).min(axis=1) + 1e-12)
    top = clf.predict_top_k(X, k=3)
    assert np.all(np.diff(np.nan_to_num(top.proba, nan=-1.0), axis=1) <= 1e-15)
    if threshold is None:
        best = clf.set_params(decoding="best_path").predict_paths(X)
        assert_allclose(best.path_proba, top.proba[:, 0], atol=1e-12)


@pytest.mark.slow
@SETTINGS
@given(data=hierarchical_data(ragged=False), pick=st.integers(0, 2**8))
def test_collapsed_top_k_covers_every_path(data, pick):
    X, Y = data
    n_levels = 1 if Y.ndim == 1 else Y.shape[1]
    collapse = [level for level in range(1, n_levels) if pick >> level & 1]
    clf = HierarchicalClassifier(collapse_levels=collapse, random_state=0, min_samples=1).fit(X, Y)
    n_leaves = len({tuple(np.atleast_1d(row)) for row in Y.tolist()})
    top = clf.predict_top_k(X, k=n_leaves)
    assert_allclose(np.nansum(top.proba, axis=1), 1.0)


@pytest.mark.parametrize(
    ("collapse_levels", "error", "message"),
    [
        (["level0"], HierarchyError, "cannot collapse level 0 .'level0'.: it has no level above"),
        ([0], HierarchyError, "cannot collapse level 0"),
        (["leaf"], HierarchyError, "names the level 'leaf', which is not a level of Y; the levels are"),
        ([5], HierarchyError, "level index 5, but Y has 3 levels"),
        ([-1], HierarchyError, "level index -1"),
        (["level1", 1], HierarchyError, "names level 'level1' twice"),
        ([1.0], TypeError, "level names .str. or level indices .int.; got 1.0 of type float"),
        ([True], TypeError, "got True of type bool"),
        ([None], TypeError, "got None of type NoneType"),
        ("level1", ValueError, "The 'collapse_levels' parameter of HierarchicalClassifier must be"),
    ],
)
def test_bad_collapse_levels_are_refused_and_the_fitted_model_is_kept(collapse_levels, error, message):
    clf = three_levels(None)
    before = clf.predict_proba(X3)
    with pytest.raises(error, match=message):
        clf.set_params(collapse_levels=collapse_levels).fit(X3, Y3)
    for a, b in zip(before, clf.predict_proba(X3), strict=True):
        assert_allclose(a, b)
    with pytest.raises(error, match=message):
        HierarchicalClassifier(collapse_levels=collapse_levels, min_samples=1).fit(X3, Y3)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"level_estimators": {"level1": LogisticRegression()}},
            "level_estimators has a model for level 'level1', which collapse_levels merges into the "
            "decision of level 'level0'",
        ),
        (
            {"node_estimators": {("a",): LogisticRegression()}},
            "node_estimators has a model for the node \\('a',\\), but collapse_levels collapses "
            "level 'level1'",
        ),
    ],
)
def test_models_for_nodes_that_collapse_removes_are_refused(params, message):
    clf = HierarchicalClassifier(collapse_levels=["level1"], min_samples=1, **params)
    with pytest.raises(HierarchyError, match=message):
        clf.fit(X3, Y3)
    assert not hasattr(clf, "estimators_")


def test_collapse_of_a_one_level_target_is_level_0():
    with pytest.raises(HierarchyError, match="cannot collapse level 0"):
        HierarchicalClassifier(collapse_levels=[0], min_samples=1).fit(X_TINY, Y_TINY[:, 0])


@pytest.mark.slow
def test_hiercls_train_takes_collapse_levels_and_the_model_predicts_in_batch(tmp_path):
    from test_cli import SMALL, compose_train

    from hiercls.batch import predict_file
    from hiercls.cli.train import load_dataset, train

    run = tmp_path / "run"
    metrics = train(compose_train(run, [*SMALL, "model.collapse_levels=[block]"]))
    assert 0.3 < metrics["test"]["hierarchical_f1"] <= 1.0
    model = load_model(run / "model")
    assert model.collapsed_levels_ == ("block",)
    assert model.estimators_[1] is None  # chapters get no model: the root chooses blocks
    X = load_dataset(compose_train(run, SMALL).data).data.iloc[:200]
    X.to_parquet(tmp_path / "rows.parquet")
    predict_file(run / "model", tmp_path / "rows.parquet", tmp_path / "out")
    scored = pd.read_parquet(next((tmp_path / "out").glob("**/*.parquet")))
    assert scored[["chapter", "block", "category"]].to_numpy().tolist() == model.predict(X).tolist()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model.collapse_levels=[chapter]", "cannot collapse level 0 .'chapter'."),
        ("model.collapse_levels=[species]", "names the level 'species', which is not a level of Y"),
    ],
)
def test_hiercls_train_refuses_a_bad_collapse_before_writing(tmp_path, override, message):
    from test_cli import SMALL, compose_train

    from hiercls.cli.train import train

    with pytest.raises(HierarchyError, match=message):
        train(compose_train(tmp_path, [*SMALL, override]))
    assert not (tmp_path / "model").exists()


@pytest.mark.slow
def test_hiercls_train_refuses_collapse_levels_for_a_multilabel_run(tmp_path):
    from test_cli_multilabel import compose_multilabel

    from hiercls.cli.config import ConfigError
    from hiercls.cli.train import train

    with pytest.raises(ConfigError, match="multi-label model has no collapsed levels"):
        train(compose_multilabel(tmp_path, ["model.collapse_levels=[level1]"]))
    assert not (tmp_path / "run" / "model").exists()
