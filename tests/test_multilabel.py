"""MultiLabelHierarchicalClassifier: several label paths per row."""

from __future__ import annotations

import joblib
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import sparse
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.tree import DecisionTreeClassifier
from strategies import hierarchical_data

from hiercls import InsufficientSupportError, MultiLabelHierarchicalClassifier, check_sufficiency
from hiercls.exceptions import InsufficientSupportWarning
from hiercls.hierarchy import read_path_sets
from hiercls.model_selection import AutoNodeModel
from hiercls.sparse_linear import SparseLinearModel

# Two binary features decide two independent things: feature 0 which of a1/a2 (under
# "a", which every row has), feature 1 whether the row also has the one-level path "b".
X_GRID = np.array([[0, 0], [0, 1], [1, 0], [1, 1]] * 10, dtype=float)
Y_GRID = [[("a", "a1")], [("a", "a1"), ("b",)], [("a", "a2")], [("a", "a2"), ("b",)]] * 10


def tree() -> DecisionTreeClassifier:
    return DecisionTreeClassifier(random_state=0)


def test_each_row_gets_exactly_its_paths_on_a_separable_hierarchy():
    clf = MultiLabelHierarchicalClassifier(tree()).fit(X_GRID, Y_GRID)
    assert clf.classes_ == [("a", "a1"), ("a", "a2"), ("b",)]
    found = clf.predict_paths(X_GRID[:4])
    assert [sorted(paths) for paths in found.paths] == [sorted(paths) for paths in Y_GRID[:4]]
    assert all(np.all(p == 1.0) for p in found.path_proba)
    indicator = clf.predict(X_GRID[:4])
    assert sparse.issparse(indicator)
    assert indicator.toarray().tolist() == [[1, 0, 0], [1, 0, 1], [0, 1, 0], [0, 1, 1]]
    assert clf.score(X_GRID, Y_GRID) == 1.0


def test_a_path_that_ends_early_is_a_class_of_its_own():
    # "E" alone (a path ending at level 0) and ("E", "E11") below it are both classes.
    X = np.array([[0.0], [1.0], [2.0]] * 10)
    Y = [[("E",)], [("E", "E11")], [("J", "J45")]] * 10
    clf = MultiLabelHierarchicalClassifier(tree()).fit(X, Y)
    assert clf.classes_ == [("E",), ("E", "E11"), ("J", "J45")]
    assert clf.predict_paths([[0.0], [1.0], [2.0]]).paths == [[("E",)], [("E", "E11")], [("J", "J45")]]


def test_a_child_never_exceeds_its_parent():
    X = np.random.default_rng(0).normal(size=(60, 3))
    Y = [[("a",)] if i % 3 == 0 else [("a", "a1")] if i % 3 == 1 else [("a", "a1", "x")] for i in range(60)]
    proba = MultiLabelHierarchicalClassifier(LogisticRegression()).fit(X, Y).predict_proba(X)
    # P(a1 and stop there) + P(x) <= P(a1) <= P(a) <= 1, hence each class alone <= 1.
    assert proba.min() >= 0
    assert np.all(proba[:, 1] + proba[:, 2] <= 1 + 1e-12)


def test_indicator_with_paths_gives_the_same_model_as_lists_of_paths():
    paths = [("a", "a1"), ("a", "a2"), ("b",)]
    indicator = sparse.csr_matrix([[int(p in row) for p in paths] for row in Y_GRID], dtype=np.int8)
    from_lists = MultiLabelHierarchicalClassifier(LogisticRegression()).fit(X_GRID, Y_GRID)
    from_indicator = MultiLabelHierarchicalClassifier(LogisticRegression()).fit(
        X_GRID, indicator, paths=paths
    )
    assert from_lists.classes_ == from_indicator.classes_
    np.testing.assert_allclose(from_lists.predict_proba(X_GRID), from_indicator.predict_proba(X_GRID))


def test_min_paths_gives_every_row_its_most_probable_paths():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 2))
    Y = [[("a", "a1")], [("a", "a2")], [("b", "b1")], [("b", "b2")]] * 20  # unrelated to X
    proba_of = MultiLabelHierarchicalClassifier(LogisticRegression()).fit(X, Y)
    for min_paths in (0, 1, 2):
        clf = clone(proba_of).set_params(threshold=0.9, min_paths=min_paths).fit(X, Y)
        counts = np.bincount(clf.predict_paths(X).row, minlength=len(X))
        assert counts.min() == min_paths
        assert counts.max() == min_paths
    found = clf.predict_paths(X)
    best_two = np.sort(np.argsort(-clf.predict_proba(X), axis=1)[:, :2], axis=1)
    np.testing.assert_array_equal(np.sort(found.class_index.reshape(-1, 2), axis=1), best_two)


@st.composite
def multilabel_data(draw):
    X, Y = draw(hierarchical_data())
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    paths = [
        tuple(label for label in row if label is not None)
        for row in np.asarray(Y, dtype=object).reshape(len(Y), -1)
    ]
    other = rng.permutation(len(paths))
    second = rng.random(len(paths)) < 0.4
    Y_sets = [[paths[i]] + ([paths[other[i]]] if second[i] else []) for i in range(len(paths))]
    return X, Y_sets


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=multilabel_data(), threshold=st.sampled_from([0.05, 0.3, 0.5, 0.9]), k=st.integers(1, 4))
def test_searches_agree_with_the_exact_probabilities(data, threshold, k):
    X, Y = data
    clf = MultiLabelHierarchicalClassifier(LogisticRegression(), threshold=threshold, min_paths=0).fit(X, Y)
    proba = clf.predict_proba(X)
    assert proba.min() >= 0
    assert proba.max() <= 1 + 1e-12
    found = clf.predict(X).toarray().astype(bool)
    np.testing.assert_array_equal(found, proba >= threshold * (1 - 1e-9))
    top = clf.predict_top_k(X, k)
    k = min(k, clf.n_paths_)
    expected = -np.sort(-proba, axis=1)[:, :k]
    np.testing.assert_allclose(top.proba, expected, rtol=1e-9)


def test_text_pipeline_keeps_compact_node_weights_and_round_trips(tmp_path):
    texts = ["wheeze asthma inhaler", "asthma attack night", "sugar insulin diabetes", "insulin glucose"] * 10
    Y = [[("J", "J45")], [("J", "J45"), ("R", "R06")], [("E", "E11")], [("E", "E11"), ("R", "R73")]] * 10
    model = make_pipeline(TfidfVectorizer(), MultiLabelHierarchicalClassifier(random_state=0)).fit(texts, Y)
    clf = model[-1]
    nodes = [node for node in clf.estimators_ if node is not None]
    # Every fitted binary model is compact, and a node's are kept as one.
    assert all(isinstance(m, float) for node in nodes for m in node.models.values())
    assert all(isinstance(node.stacked, SparseLinearModel) for node in nodes if len(node.stacked_at))
    found = clf.predict_paths(model[0].transform(["night asthma", "insulin"]))
    assert found.paths[0][0] == ("J", "J45")
    assert found.paths[1][0] == ("E", "E11")
    # "night" comes only with the second path R06 ("asthma attack night").
    expected = [[int(p in {("J", "J45"), ("R", "R06")}) for p in clf.classes_]]
    assert model.predict(["night asthma"]).toarray().tolist() == expected
    joblib.dump(model, tmp_path / "model.joblib")
    again = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(again.predict_proba(texts), model.predict_proba(texts))


@pytest.mark.slow  # several seconds: in the full suite only
def test_fits_are_reproducible_whatever_n_jobs():
    X = np.random.default_rng(2).normal(size=(60, 4))
    Y = [[("a", "a1"), ("b",)], [("a", "a2")], [("b",)]] * 20
    one = MultiLabelHierarchicalClassifier(n_jobs=1, random_state=3).fit(X, Y).predict_proba(X)
    two = MultiLabelHierarchicalClassifier(n_jobs=2, random_state=3).fit(X, Y).predict_proba(X)
    np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize(
    ("Y", "kwargs", "message"),
    [
        (["J45", "E11"] * 20, {}, r"Row 0 of Y is 'J45', not a list of paths"),
        ([[("a",)], ["a"]] * 20, {}, r"Y row 1 item 0 is 'a', which is not a path"),
        ([[("a", None, "c")]] * 40, {}, r"has a gap: no label at level 1"),
        ([[{"a": 1}]] * 40, {}, r"which is not a path"),
        (sparse.csr_matrix(np.full((40, 2), 2)), {}, r"0/1 indicator"),
        (np.linspace(0, 1, 40), {}, r"Unknown label type: Y holds continuous values"),
        (sparse.csr_matrix(np.ones((40, 2))), {"paths": [("a",)]}, r"2 columns but 1 paths"),
        (sparse.csr_matrix(np.full((40, 1), 2)), {"paths": [("a",)]}, r"0/1 indicator"),
        ([[]] * 40, {}, r"holds no path in any row"),
        ([[("a",)]] * 39, {}, r"X has 40 rows but Y has 39"),
        ("abc", {}, r"must be a list with, per row, a list of label paths"),
    ],
)
def test_bad_targets_are_refused_with_what_is_allowed(Y, kwargs, message):
    X = np.zeros((40, 2))
    with pytest.raises(ValueError, match=message):
        MultiLabelHierarchicalClassifier().fit(X, Y, **kwargs)


@pytest.mark.parametrize(
    ("estimator", "error", "message"),
    [
        ("auto", ValueError, r"does not take 'auto': estimator='auto' .* offered by HierarchicalClassifier"),
        ("auto", ValueError, r"Use estimator=None \(the linear default\), a classifier"),
        (
            AutoNodeModel(candidates=["linear"]),
            ValueError,
            r"does not take AutoNodeModel\(candidates=\['linear'\]\)",
        ),
        (
            "lightgbm",
            ValueError,
            r"'estimator' parameter of MultiLabelHierarchicalClassifier must be",
        ),
    ],
)
def test_bad_estimators_are_refused_with_what_to_use_instead(estimator, error, message):
    clf = MultiLabelHierarchicalClassifier(estimator)
    with pytest.raises(error, match=message):
        clf.fit(X_GRID, Y_GRID)
    assert not hasattr(clf, "estimators_")


def test_a_class_weight_dict_is_refused():
    with pytest.raises(ValueError, match=r"class_weight='balanced' or None"):
        MultiLabelHierarchicalClassifier(LogisticRegression(class_weight={0: 2})).fit(X_GRID, Y_GRID)


def test_read_path_sets_counts_a_repeated_path_once():
    n_samples, rows, paths = read_path_sets([[("a", 1), ("a", 1), ("b", None)]])
    assert (n_samples, rows.tolist(), paths) == (1, [0, 0], [("a", 1), ("b",)])


def test_sufficiency_counts_rows_in_which_a_class_is_active():
    # "a" is on both paths of row 0 but counts once; ("b",) has 2 rows, below min_samples=3.
    X = np.random.default_rng(0).normal(size=(6, 2))
    Y = [[("a", "a1"), ("a", "a2")], [("a", "a1")], [("a", "a2")], [("a", "a1")], [("b",)], [("b",)]]
    with pytest.warns(InsufficientSupportWarning, match=r"'b'"):
        clf = MultiLabelHierarchicalClassifier(LogisticRegression(), min_samples=3).fit(X, Y)
    table = clf.sufficiency_report_.table
    support = dict(zip(table["path"], table["support"], strict=True))
    assert support == {"a": 4, "b": 2, "a / a1": 3, "a / a2": 2}
    assert check_sufficiency(Y, min_samples=3).table["support"].tolist() == [4, 2, 3, 2]
    with pytest.raises(InsufficientSupportError, match=r"2 of 4 classes have fewer than min_samples=3"):
        MultiLabelHierarchicalClassifier(min_samples=3, sufficiency_policy="raise").fit(X, Y)


def test_merge_ends_rare_paths_at_their_parent():
    X = np.random.default_rng(0).normal(size=(6, 2))
    Y = [[("a", "a1"), ("b",)], [("a", "a1")], [("a", "a1")], [("a", "a2")], [("b",)], [("b",)]]
    clf = MultiLabelHierarchicalClassifier(LogisticRegression(), min_samples=2, sufficiency_policy="merge")
    clf.fit(X, Y)
    assert clf.classes_ == [("a",), ("a", "a1"), ("b",)]  # a2 (1 row) now ends at "a"


def test_classes_sort_labels_by_value_not_text():
    X = np.zeros((3, 1))
    clf = MultiLabelHierarchicalClassifier(tree(), sufficiency_policy="ignore")
    assert clf.fit(X, [[(10,)], [(9,)], [(9, 2)]]).classes_ == [(9,), (9, 2), (10,)]


def test_grid_search_and_cross_validation_work_on_lists_of_paths():
    from sklearn.model_selection import GridSearchCV, KFold, cross_validate

    # scikit-learn cannot stratify lists of lists (its "legacy multi-label" error): KFold.
    search = GridSearchCV(
        MultiLabelHierarchicalClassifier(tree(), sufficiency_policy="ignore"),
        {"threshold": [0.3, 0.7], "estimator__max_depth": [1, None]},
        cv=KFold(2),
    ).fit(X_GRID, Y_GRID)
    assert search.best_score_ == 1.0
    assert len(search.cv_results_["params"]) == 4  # each binary model needs one split only
    scores = cross_validate(MultiLabelHierarchicalClassifier(tree()), X_GRID, Y_GRID, cv=KFold(4))
    assert scores["test_score"].tolist() == [1.0] * 4


def test_a_saved_model_loads_and_predicts_the_same(tmp_path):
    from hiercls.artifacts import load_model, read_metadata, save_model

    clf = MultiLabelHierarchicalClassifier(tree(), sufficiency_policy="ignore").fit(X_GRID, Y_GRID)
    save_model(clf, tmp_path / "model", training_data=(X_GRID, Y_GRID))
    again = load_model(tmp_path / "model")
    np.testing.assert_array_equal(again.predict_proba(X_GRID), clf.predict_proba(X_GRID))
    metadata = read_metadata(tmp_path / "model")
    assert metadata["multi_label"] is True
    assert metadata["classes_per_level"] == [2, 2]  # a, b; a1, a2
    counts = metadata["training_data"]["class_counts"]
    # 40 rows: every row has "a"; 20 have "b"; a1 and a2 20 each; b's paths end at level 0.
    assert counts[0]["counts"] == {"a": 40, "b": 20}
    assert counts[1] == {"level": "level1", "n_missing": 0, "counts": {"a1": 20, "a2": 20}}
    # The drift baseline counts each row's most probable path, as batch scoring does;
    # rows with two paths of probability 1 (a, a1 or a2; b) break the tie toward b.
    predicted = metadata["training_data"]["predicted_class_counts"]
    assert predicted[0]["counts"] == {"a": 20, "b": 20}
    assert predicted[1] == {"level": "level1", "n_missing": 20, "counts": {"a1": 10, "a2": 10}}


@pytest.mark.parametrize("output_format", ["parquet", "csv"])
def test_batch_scoring_writes_every_path_above_the_threshold(tmp_path, output_format):
    import pandas as pd

    from hiercls.artifacts import save_model
    from hiercls.batch import predict_file

    X = pd.DataFrame(X_GRID, columns=["x0", "x1"])
    clf = MultiLabelHierarchicalClassifier(tree(), sufficiency_policy="ignore").fit(X, Y_GRID)
    save_model(clf, tmp_path / "model", training_data=(X, Y_GRID))
    rows = X.iloc[:4].copy()
    rows.loc[3, "x0"] = np.nan  # cannot be scored: keeps its place with a reason
    rows.to_csv(tmp_path / "rows.csv", index=False)
    summary = predict_file(
        tmp_path / "model",
        tmp_path / "rows.csv",
        tmp_path / "out",
        top_k=2,
        output_format=output_format,
        quiet=True,
    )
    assert summary.rows_scored_now == 4
    part = next((tmp_path / "out").glob(f"part-*.{output_format}"))
    out = pd.read_parquet(part) if output_format == "parquet" else pd.read_csv(part, keep_default_na=False)
    expected = [["a > a1"], ["a > a1", "b"], ["a > a2"]]  # paths of probability 1, as the grid is separable
    if output_format == "parquet":
        assert [sorted(paths) for paths in out["paths"][:3]] == expected
        assert [list(p) for p in out["paths_proba"][:3]] == [[1.0], [1.0, 1.0], [1.0]]
        assert out["paths"][3] is None
    else:
        assert [sorted(text.split(" | ")) for text in out["paths"][:3]] == expected
        assert out["paths"][3] == ""
    # The per-level columns are the most probable path's; top-k as for one path per row.
    assert out["level0"][[0, 2]].tolist() == ["a", "a"]  # row 1's two paths tie at 1.0
    assert out["scoring_error"][3] == "feature 'x0' is missing (NaN)"
    assert {out["top1_path"][1], out["top2_path"][1]} == {"a > a1", "b"}


def test_the_long_form_gives_the_same_model_as_lists_of_paths():
    import pandas as pd

    from hiercls.hierarchy import path_sets_from_long

    lines = [(i, *path, None)[:4] for i, paths in enumerate(Y_GRID) for path in paths]
    long = pd.DataFrame(lines, columns=["row", "level0", "level1", "unused"])
    Y_long = path_sets_from_long(long, row="row", levels=["level0", "level1"], n_rows=len(Y_GRID))
    assert Y_long == [list(paths) for paths in Y_GRID]
    from_lists = MultiLabelHierarchicalClassifier(LogisticRegression()).fit(X_GRID, Y_GRID)
    from_long = MultiLabelHierarchicalClassifier(LogisticRegression()).fit(X_GRID, Y_long)
    np.testing.assert_array_equal(from_long.predict_proba(X_GRID), from_lists.predict_proba(X_GRID))
    with pytest.raises(ValueError, match=r"names row 40, but X has 40 rows"):
        path_sets_from_long(pd.DataFrame({"row": [40], "a": ["x"]}), row="row", levels=["a"], n_rows=40)
    with pytest.raises(ValueError, match=r"must hold row numbers"):
        path_sets_from_long(pd.DataFrame({"row": ["r1"], "a": ["x"]}), row="row", levels=["a"])


def _text_like_sets(seed: int) -> tuple[sparse.csr_matrix, list[list[tuple]]]:
    """Sparse non-negative rows with 1-2 paths each; some paths end above the leaves."""
    from hiercls.datasets import make_hierarchical_classification

    X, Y = make_hierarchical_classification(
        240, n_levels=3, branching=3, n_features=30, sparse=True, ragged=0.2, random_state=seed
    )
    paths = [tuple(label for label in row if label is not None) for row in Y]
    rng = np.random.default_rng(seed)
    other = rng.permutation(len(paths))
    return X, [[paths[i]] + ([paths[other[i]]] if i % 3 == 0 else []) for i in range(len(paths))]


@pytest.mark.parametrize("seed", range(4))
def test_small_batches_score_the_whole_tree_exactly_as_the_search_does(seed):
    # Up to 64 rows, a linear label tree is scored whole (label_tree); larger batches
    # are searched. Both are exact: the same paths with the same probabilities.
    from hiercls.label_tree import WHOLE_TREE_MAX_ROWS, LinearLabelTree

    X, Y = _text_like_sets(seed)
    clf = MultiLabelHierarchicalClassifier(min_samples=1, threshold=0.3).fit(X, Y)
    node_of = {clf.hierarchy_.node_path(v): v for v in range(1, clf.hierarchy_.n_nodes)}
    class_of_node = np.full(clf.hierarchy_.n_nodes, -1)
    class_of_node[[node_of[path] for path in clf.classes_]] = np.arange(clf.n_paths_)
    assert LinearLabelTree.from_models(clf.estimators_, clf.hierarchy_.depth, class_of_node) is not None

    step = WHOLE_TREE_MAX_ROWS // 2
    searched = clf.predict_top_k(X, 4)
    whole = [clf.predict_top_k(X[i : i + step], 4) for i in range(0, X.shape[0], step)]
    np.testing.assert_allclose(np.concatenate([t.proba for t in whole]), searched.proba, rtol=1e-12)
    np.testing.assert_allclose(
        np.concatenate([t.level_proba for t in whole]), searched.level_proba, rtol=1e-12
    )
    labels = np.concatenate([t.labels for t in whole])
    proba = searched.proba
    untied = np.ones_like(proba, dtype=bool)  # tied paths may come in either order
    untied[:, 1:] &= ~np.isclose(proba[:, 1:], proba[:, :-1], rtol=1e-12)
    untied[:, :-1] &= ~np.isclose(proba[:, :-1], proba[:, 1:], rtol=1e-12)
    np.testing.assert_array_equal(labels[untied], searched.labels[untied])

    found = clf.predict_paths(X)
    pieces = [clf.predict_paths(X[i : i + step]) for i in range(0, X.shape[0], step)]
    assert sum((sorted(p) for piece in pieces for p in piece.paths), []) == sum(
        (sorted(p) for p in found.paths), []
    )
    np.testing.assert_allclose(np.concatenate([p.proba for p in pieces]), found.proba, rtol=1e-12)
    # predict_proba scores the whole tree for any batch: the searched paths' values.
    exact = clf.predict_proba(X)
    np.testing.assert_allclose(exact[found.row, found.class_index], found.proba, rtol=1e-12)
    np.testing.assert_allclose(-np.sort(-exact, axis=1)[:, :4], proba, rtol=1e-12)


def test_a_tree_with_other_node_models_is_left_to_the_search():
    from hiercls.label_tree import LinearLabelTree

    clf = MultiLabelHierarchicalClassifier(tree()).fit(X_GRID, Y_GRID)
    class_of_node = np.arange(clf.hierarchy_.n_nodes)
    assert LinearLabelTree.from_models(clf.estimators_, clf.hierarchy_.depth, class_of_node) is None


def test_scikit_learn_forms_of_y_are_one_level_paths():
    # An indicator without paths: column j is the path (j,); 1-D labels: one path a row.
    X = X_GRID
    indicator = np.array([[int("b" in {p[0] for p in row}), int(len(row) == 1)] for row in Y_GRID])
    from_indicator = MultiLabelHierarchicalClassifier(tree()).fit(X, indicator)
    from_paths = MultiLabelHierarchicalClassifier(tree()).fit(X, indicator, paths=[(0,), (1,)])
    assert from_indicator.classes_ == from_paths.classes_ == [(0,), (1,)]
    np.testing.assert_array_equal(from_indicator.predict(X).toarray(), indicator)
    labels = np.array(["x", "y", "y", "z"] * 10)
    clf = MultiLabelHierarchicalClassifier(tree()).fit(X, labels)
    assert clf.classes_ == [("x",), ("y",), ("z",)]
    assert clf.predict_paths(X[:4]).paths == [[("x",)], [("y",)], [("y",)], [("z",)]]


def test_explain_names_the_feature_behind_each_step_of_each_path():
    # Feature k marks path k: each step's top feature is the one that defines its branch.
    X = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [1.0, 0, 1.0]] * 15)
    Y = [[("a", "a1")], [("a", "a2")], [("b",)], [("a", "a1"), ("b",)]] * 15
    clf = MultiLabelHierarchicalClassifier(LogisticRegression(C=100.0), min_samples=1).fit(X, Y)
    assert [sorted(p) for p in clf.predict_paths(X[:4]).paths] == [
        [("a", "a1")],
        [("a", "a2")],
        [("b",)],
        [("a", "a1"), ("b",)],
    ]
    steps = clf.explain(X[:4], top=1, feature_names=["f_a1", "f_a2", "f_b"])
    assert set(steps.columns) == {
        "row",
        "level",
        "node",
        "chosen",
        "runner_up",
        "feature",
        "value",
        "contribution",
    }
    by_step = {(r.row, r.level, r.chosen): r.feature for r in steps.itertuples()}
    assert by_step[(0, "level1", "a1")] == "f_a1"
    assert by_step[(1, "level1", "a2")] == "f_a2"
    assert by_step[(2, "level0", "b")] == "f_b"
    assert by_step[(3, "level0", "b")] == "f_b"
    assert by_step[(3, "level1", "a1")] == "f_a1"
    assert (steps["runner_up"] == "(inactive)").all()


def test_explained_contributions_add_up_to_the_decision_value():
    from hiercls.metrics import PATH_SEPARATOR

    X, Y = _text_like_sets(0)
    clf = MultiLabelHierarchicalClassifier(min_samples=1).fit(X, Y)
    hierarchy = clf.hierarchy_
    node_of = {PATH_SEPARATOR.join(hierarchy.node_path(v)): v for v in range(1, hierarchy.n_nodes)}
    steps = clf.explain(X[:20], top=X.shape[1])
    assert len(steps)
    for (row, node_text, chosen), step in steps.groupby(["row", "node", "chosen"]):
        node = node_of.get(node_text, 0)
        model = clf.estimators_[node]
        if chosen == "(path ends here)":
            outcome = node
        else:
            outcome = next(v for v in model.classes_ if v != node and hierarchy.node_path(v)[-1] == chosen)
        column = int(np.flatnonzero(model.stacked_at == list(model.classes_).index(outcome))[0])
        decision = model.stacked.decision_function(X[row : row + 1])[0, column]
        pushes = X[row].multiply(model.stacked.coef_[column]).toarray()
        # explain keeps the features that pushed toward the outcome; the rest pulled away.
        assert step["contribution"].sum() == pytest.approx(pushes[pushes > 0].sum())
        total = pushes.sum() + model.stacked.intercept_[column]
        assert total == pytest.approx(decision)


def test_explain_refuses_a_bad_top():
    clf = MultiLabelHierarchicalClassifier(LogisticRegression()).fit(X_GRID, Y_GRID)
    for top in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="top must be a positive integer"):
            clf.explain(X_GRID, top=top)


@pytest.mark.slow  # shap's first explanation in a process compiles its kernels (seconds)
def test_explain_reads_tree_node_models_with_shap():
    pytest.importorskip("shap")
    from sklearn.ensemble import RandomForestClassifier

    X = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [1.0, 0, 1.0]] * 15)
    Y = [[("a", "a1")], [("a", "a2")], [("b",)], [("a", "a1"), ("b",)]] * 15
    forest = RandomForestClassifier(n_estimators=10, random_state=0)
    clf = MultiLabelHierarchicalClassifier(forest, min_samples=1).fit(X, Y)
    steps = clf.explain(X[:4], top=1, feature_names=["f_a1", "f_a2", "f_b"])
    by_step = {(r.row, r.level, r.chosen): r.feature for r in steps.itertuples()}
    assert by_step[(2, "level0", "b")] == "f_b"
    assert by_step[(3, "level0", "b")] == "f_b"
    assert by_step[(1, "level1", "a2")] in {"f_a1", "f_a2"}  # a2 is "f_a2 present" or "f_a1 absent"
    assert (steps["contribution"] > 0).all()


def test_check_explainable_passes_linear_label_trees():
    from hiercls.explain import check_explainable

    X, Y = _text_like_sets(0)
    clf = MultiLabelHierarchicalClassifier(min_samples=1).fit(X, Y)  # every outcome stacked
    check_explainable(clf)  # no error: nothing to refuse
    assert len(clf.explain(X[:2], top=1))
