"""Explanations along the predicted path (HierarchicalClassifier.explain)."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from separable import separable as separable_data
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline

from hiercls import HierarchicalClassifier
from hiercls.exceptions import UnexplainableModelError
from hiercls.explain import STOP, explain_predictions

# Feature j defines one node each: f_a/f_b pick the group, f_a1/f_a2/f_b1/f_b2 the leaf.
NAMES = ["f_a", "f_b", "f_a1", "f_a2", "f_b1", "f_b2", "noise"]
LEAVES = {("a", "a1"): [0, 2], ("a", "a2"): [0, 3], ("b", "b1"): [1, 4], ("b", "b2"): [1, 5]}


def separable(n_per_leaf=30, seed=0):
    return separable_data(NAMES, LEAVES, n_per_leaf, seed)


def test_each_nodes_top_feature_is_the_one_that_defines_it():
    X, Y = separable()
    clf = HierarchicalClassifier(LogisticRegression(max_iter=1000), min_samples=1).fit(X, Y)
    rows = X.iloc[[0, 30, 60, 90]]  # one row of each leaf
    explanation = clf.explain(rows, top=1)
    assert explanation["row"].tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert explanation["level"].tolist() == ["group", "leaf"] * 4
    assert explanation["node"].tolist() == ["", "a", "", "a", "", "b", "", "b"]
    assert explanation["chosen"].tolist() == ["a", "a1", "a", "a2", "b", "b1", "b", "b2"]
    assert explanation["runner_up"].tolist() == ["b", "a2", "b", "a1", "a", "b2", "a", "b1"]
    assert explanation["feature"].tolist() == ["f_a", "f_a1", "f_a", "f_a2", "f_b", "f_b1", "f_b", "f_b2"]
    assert (explanation["contribution"] > 0).all()


def test_steps_are_listed_from_the_root_down_whatever_the_level_names():
    X, Y = separable()
    Y = Y.rename(columns={"group": "zone", "leaf": "area"})  # "area" sorts before "zone"
    clf = HierarchicalClassifier(LogisticRegression(max_iter=1000), min_samples=1).fit(X, Y)
    explanation = clf.explain(X.iloc[[0, 90]], top=2)
    assert explanation["level"].tolist() == ["zone"] * 2 + ["area"] * 2 + ["zone"] * 2 + ["area"] * 2
    assert explanation["row"].tolist() == [0] * 4 + [1] * 4


def test_linear_contributions_add_up_to_the_decision_value_difference():
    X, Y = separable()
    clf = HierarchicalClassifier(LogisticRegression(max_iter=1000), min_samples=1).fit(X, Y)
    row = X.iloc[[31]]
    every = clf.explain(row, top=len(NAMES))
    root = clf.estimators_[0]  # binary (a, b): scores 0 for a, coef . x + intercept for b
    score_b = float(row.to_numpy()[0] @ root.coef_[0] + root.intercept_[0])
    # Only positive contributions are listed; with the others, their sum plus the
    # intercepts' difference is the decision difference. Rebuild it by hand.
    weights = -root.coef_[0]  # a over b
    contribution = row.to_numpy()[0] * weights
    listed = every[every["level"] == "group"].set_index("feature")["contribution"]
    for name, value in zip(NAMES, contribution, strict=True):
        if value > 0:
            assert listed[name] == pytest.approx(value)
        else:
            assert name not in listed.index
    total = contribution.sum() + 0.0 - root.intercept_[0]
    assert total == pytest.approx(0.0 - score_b)


def test_a_text_pipeline_names_the_vocabulary():
    texts = ["wheeze asthma inhaler", "asthma attack night", "sugar insulin diabetes", "insulin glucose"] * 10
    Y = [["J", "J45"], ["J", "J46"], ["E", "E10"], ["E", "E11"]] * 10
    model = make_pipeline(TfidfVectorizer(), HierarchicalClassifier(min_samples=1)).fit(texts, Y)
    explanation = explain_predictions(model, ["night asthma attack"], top=2)
    group = explanation[explanation["level"] == "level0"]
    assert group["chosen"].tolist() == ["J", "J"]
    assert set(group["feature"]) <= {"asthma", "attack", "night"}


def test_lightgbm_nodes_use_their_own_contributions():
    lightgbm = pytest.importorskip("lightgbm")
    X, Y = separable(60)
    node_model = lightgbm.LGBMClassifier(n_estimators=20, min_child_samples=5, verbose=-1)
    clf = HierarchicalClassifier(node_model, min_samples=1).fit(X, Y)
    explanation = clf.explain(X.iloc[[0]], top=1)
    assert explanation["feature"].tolist() == ["f_a", "f_a1"]


def test_a_path_that_ends_early_shows_the_stop():
    # f_end marks paths that end at "a"; f_a1 those that go on to a1; f_b the group b.
    rows = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]] * 20
    X = pd.DataFrame(rows, columns=["f_end", "f_a1", "f_b"])
    Y = [["a", None], ["a", "a1"], ["b", "b1"]] * 20
    clf = HierarchicalClassifier(LogisticRegression(), min_samples=1).fit(X, Y)
    explanation = clf.explain(X.iloc[[0]], top=1)
    assert explanation[["level", "node", "chosen", "runner_up", "feature"]].values.tolist() == [
        ["level0", "", "a", "b", "f_end"],
        ["level1", "a", STOP, "a1", "f_end"],
    ]


def test_bad_arguments_are_refused():
    X, Y = separable()
    linear = HierarchicalClassifier(LogisticRegression(), min_samples=1).fit(X, Y)
    with pytest.raises(ValueError, match=r"top must be a positive integer; got 0"):
        linear.explain(X.iloc[[0]], top=0)
    with pytest.raises(ValueError, match=r"feature_names has 2 names for 7 columns"):
        linear.explain(sparse.csr_matrix(X.iloc[[0]].to_numpy()), feature_names=["a", "b"])


def _fitted(node_model):
    X, Y = separable()
    return X, HierarchicalClassifier(node_model, min_samples=1).fit(X, Y)


@pytest.mark.parametrize(
    ("node_model", "call", "error", "message"),
    [
        (LogisticRegression, {"top": 0}, ValueError, r"top must be a positive integer; got 0"),
        (LogisticRegression, {"top": -1}, ValueError, r"top must be a positive integer; got -1"),
        (LogisticRegression, {"top": 1.5}, ValueError, r"top must be a positive integer; got 1\.5"),
        (LogisticRegression, {"top": True}, ValueError, r"top must be a positive integer; got True"),
        (LogisticRegression, {"feature_names": ["a"]}, ValueError, r"feature_names has 1 names for 7"),
        (
            LogisticRegression,
            {"background": np.zeros((3, 2))},
            ValueError,
            r"^background: X has 2 features, but HierarchicalClassifier is expecting 7",
        ),
        (
            GaussianNB,
            {},
            UnexplainableModelError,
            r"GaussianNB is not a tree ensemble shap can read.* it does not keep .* pass background=",
        ),
    ],
)
def test_explain_refuses_bad_input_and_changes_nothing(node_model, call, error, message):
    if node_model is GaussianNB:
        pytest.importorskip("shap")
    X, clf = _fitted(node_model())
    before = clf.predict_proba(X)
    with pytest.raises(error, match=message):
        clf.explain(X.iloc[[0, 1]], **call)
    after = clf.predict_proba(X)  # the model is as it was (k-NN's tree counts its queries)
    assert all(np.array_equal(b, a) for b, a in zip(before, after, strict=True))


def test_explain_before_fit_is_refused():
    with pytest.raises(NotFittedError, match=r"not fitted yet"):
        HierarchicalClassifier().explain([[0.0, 1.0]])


def test_without_shap_the_error_names_the_model_and_the_extra(monkeypatch):
    X, clf = _fitted(HistGradientBoostingClassifier(max_iter=5))
    monkeypatch.setitem(sys.modules, "shap", None)  # import shap now raises ImportError
    with pytest.raises(UnexplainableModelError, match=r"HistGradientBoostingClassifier .*hiercls\[explain\]"):
        clf.explain(X.iloc[[0]])
    with pytest.raises(TypeError, match=r"neither"):  # also the TypeError it was before
        clf.explain(X.iloc[[0]])


TREE_MODELS = [
    pytest.param(lambda: HistGradientBoostingClassifier(max_iter=30, random_state=0), "margin", id="hgb"),
    pytest.param(lambda: RandomForestClassifier(n_estimators=20, random_state=0), "probability", id="forest"),
]


@pytest.mark.slow  # shap's first explanation in a process compiles its kernels (seconds)
@pytest.mark.parametrize(("make", "space"), TREE_MODELS)
def test_tree_nodes_top_feature_is_the_one_that_defines_the_branch(make, space):
    pytest.importorskip("shap")
    X, clf = _fitted(make())
    explanation = clf.explain(X.iloc[[0, 30, 60, 90]], top=1)
    assert explanation["chosen"].tolist() == ["a", "a1", "a", "a2", "b", "b1", "b", "b2"]
    # A tree splits on one of two redundant features: a row of a2 may be told apart from
    # a1 by f_a2's presence or by f_a1's absence. Either defines the branch; noise and
    # the group's own feature do not.
    defining = {"": {"f_a", "f_b"}, "a": {"f_a1", "f_a2"}, "b": {"f_b1", "f_b2"}}
    for node, feature in zip(explanation["node"], explanation["feature"], strict=True):
        assert feature in defining[node]
    assert (explanation["contribution"] > 0).all()


@pytest.mark.slow
@pytest.mark.parametrize(("make", "space"), TREE_MODELS)
def test_tree_contributions_are_shap_values_chosen_minus_runner_up_and_add_up(make, space):
    shap = pytest.importorskip("shap")
    X, clf = _fitted(make())
    row = X.iloc[[45]]  # a2
    listed = clf.explain(row, top=len(NAMES))
    node = clf.hierarchy_.children(0)[0]  # "a"
    model = clf.estimators_[node]
    outcomes = list(model.classes_)
    chosen, runner_up = (
        outcomes.index(clf.hierarchy_.children(node)[1]),
        outcomes.index(clf.hierarchy_.children(node)[0]),
    )
    explainer = shap.TreeExplainer(model)
    values = np.asarray(explainer.shap_values(row.to_numpy()))
    base = np.atleast_1d(explainer.expected_value)
    if values.ndim == 2:  # binary boosting: the positive class's margin; the other's is 0
        values = np.stack([np.zeros_like(values), values], axis=2)
        base = np.array([0.0, base[0]])
    difference = values[0, :, chosen] - values[0, :, runner_up]
    at_leaf = listed[listed["level"] == "leaf"].set_index("feature")["contribution"]
    for name, value in zip(NAMES, difference, strict=True):
        if value > 0:
            assert at_leaf[name] == pytest.approx(value)
        else:
            assert name not in at_leaf.index
    # Additivity: all contributions plus the base values' difference is the difference of
    # the two outcomes' outputs, in the explainer's space.
    if space == "margin":
        margin = model.decision_function(row.to_numpy())[0]
        output = np.array([0.0, margin]) if np.ndim(margin) == 0 else margin
    else:
        output = model.predict_proba(row.to_numpy())[0]
    assert difference.sum() + base[chosen] - base[runner_up] == pytest.approx(
        output[chosen] - output[runner_up], abs=1e-6
    )


@pytest.mark.slow
def test_other_models_are_explained_against_background_rows_and_add_up():
    pytest.importorskip("shap")
    X, clf = _fitted(KNeighborsClassifier())
    background = X.iloc[::15]  # 8 rows, two of each leaf
    rows = X.iloc[[0, 90]]  # a1, b2
    explanation = clf.explain(rows, top=1, background=background)
    assert explanation["chosen"].tolist() == ["a", "a1", "b", "b2"]
    defining = {"": {"f_a", "f_b"}, "a": {"f_a1", "f_a2"}, "b": {"f_b1", "f_b2"}}
    for node, feature in zip(explanation["node"], explanation["feature"], strict=True):
        assert feature in defining[node]
    # Exact SHAP values of predict_proba against the background: at the root, the listed
    # (positive) contributions are at least the probability gap over the background's mean.
    every = clf.explain(rows.iloc[[0]], top=len(NAMES), background=background)
    root = clf.estimators_[0]
    gap = root.predict_proba(rows.iloc[[0]].to_numpy())[0] - root.predict_proba(background.to_numpy()).mean(0)
    positive = every.loc[every["level"] == "group", "contribution"].sum()
    assert positive >= gap[0] - gap[1] - 1e-9
    # A row's explanation does not depend on the other rows of the batch.
    alone = clf.explain(rows.iloc[[1]], top=1, background=background)
    together = explanation[explanation["row"] == 1].drop(columns="row").reset_index(drop=True)
    pd.testing.assert_frame_equal(alone.drop(columns="row"), together)


@pytest.mark.slow
def test_knn_nodes_are_their_own_background():
    pytest.importorskip("shap")
    X, Y = separable(n_per_leaf=25)  # 100 rows: the root keeps all, each group's node its 50
    clf = HierarchicalClassifier(KNeighborsClassifier(), min_samples=1).fit(X, Y)
    row = X.iloc[[0]]  # a, a1
    own = clf.explain(row, top=len(NAMES))
    by_hand = pd.concat(
        [
            clf.explain(row, top=len(NAMES), background=X).query("level == 'group'"),
            clf.explain(row, top=len(NAMES), background=X[Y["group"] == "a"]).query("level == 'leaf'"),
        ],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(own, by_hand, check_exact=False, rtol=1e-9, atol=1e-12)
    top = own.groupby("level")["feature"].first()
    assert top["group"] in {"f_a", "f_b"}  # the defining features
    assert top["leaf"] in {"f_a1", "f_a2"}
    # More rows than the background takes: a seeded sample, the same on every call.
    X, clf = _fitted(KNeighborsClassifier())  # 120 rows
    before = clf.predict_proba(X)
    first, again = (clf.explain(X.iloc[[0, 90]], top=2) for _ in range(2))
    pd.testing.assert_frame_equal(first, again)
    assert all(np.array_equal(b, a) for b, a in zip(before, clf.predict_proba(X), strict=True))


@pytest.mark.slow
def test_a_pipeline_transforms_the_background_too():
    pytest.importorskip("shap")
    texts = ["wheeze asthma inhaler", "asthma attack night", "sugar insulin diabetes", "insulin glucose"] * 10
    Y = [["J", "J45"], ["J", "J46"], ["E", "E10"], ["E", "E11"]] * 10
    model = make_pipeline(
        TfidfVectorizer(), HierarchicalClassifier(KNeighborsClassifier(n_neighbors=3), min_samples=1)
    ).fit(texts, Y)
    explanation = explain_predictions(model, ["sugar insulin"], top=1, background=texts[:8])
    assert explanation["chosen"].tolist()[0] == "E"
    assert explanation["feature"].tolist()[0] in {"sugar", "insulin"}


@pytest.mark.slow
def test_many_features_are_sampled_with_permutations_and_the_global_generator_is_kept():
    pytest.importorskip("shap")
    X, Y = separable()
    wide = pd.concat([X, X.add_prefix("copy_") * 0.0], axis=1)  # 14 columns: past exact enumeration
    clf = HierarchicalClassifier(KNeighborsClassifier(), min_samples=1).fit(wide, Y)
    # shap's Permutation explainer seeds numpy's legacy global generator; the caller's is kept.
    legacy = np.random
    legacy.seed(7)  # noqa: NPY002
    expected_next = legacy.random_sample()  # noqa: NPY002
    legacy.seed(7)  # noqa: NPY002
    explanation = clf.explain(wide.iloc[[0]], top=1, background=wide.iloc[::15])
    assert legacy.random_sample() == expected_next  # noqa: NPY002
    assert explanation["feature"].tolist()[0] in {"f_a", "f_b"}
    again = clf.explain(wide.iloc[[0]], top=1, background=wide.iloc[::15])
    pd.testing.assert_frame_equal(explanation, again)  # seeded: the same values each call


@pytest.mark.parametrize(
    ("node_model", "hide_shap", "message"),
    [
        (GaussianNB, False, r"GaussianNB is not a tree ensemble shap can read"),
        (
            lambda: HistGradientBoostingClassifier(max_iter=5),
            True,
            r"HistGradientBoostingClassifier is neither, .*pip install \"hiercls\[explain\]\"",
        ),
    ],
)
def test_batch_explain_refuses_unexplainable_node_models_before_writing(
    tmp_path, monkeypatch, node_model, hide_shap, message
):
    from hiercls.artifacts import save_model
    from hiercls.batch import predict_file

    if hide_shap:
        monkeypatch.setitem(sys.modules, "shap", None)
    else:
        pytest.importorskip("shap")
    X, clf = _fitted(node_model())
    save_model(clf, tmp_path / "model")
    X.iloc[:10].to_parquet(tmp_path / "rows.parquet")
    with pytest.raises(UnexplainableModelError, match=message):
        predict_file(tmp_path / "model", tmp_path / "rows.parquet", tmp_path / "out", explain=2, quiet=True)
    assert not (tmp_path / "out").exists()
    predict_file(tmp_path / "model", tmp_path / "rows.parquet", tmp_path / "out", quiet=True)  # explain=0
    assert len(pd.read_parquet(tmp_path / "out")) == 10


@pytest.mark.slow
@pytest.mark.parametrize(
    "node_model",
    [lambda: RandomForestClassifier(n_estimators=10, random_state=0), KNeighborsClassifier],
    ids=["trees", "knn"],
)
def test_batch_explain_reads_tree_and_knn_node_models(tmp_path, node_model):
    pytest.importorskip("shap")
    from hiercls.artifacts import save_model
    from hiercls.batch import predict_file

    X, clf = _fitted(node_model())
    save_model(clf, tmp_path / "model")
    X.iloc[[0, 60]].to_csv(tmp_path / "rows.csv", index=False)
    predict_file(tmp_path / "model", tmp_path / "rows.csv", tmp_path / "out", explain=1, quiet=True)
    out = pd.read_parquet(tmp_path / "out")
    expected = clf.explain(X.iloc[[0, 60]], top=1)
    written = [text.split(" (")[0] for text in (*out["group_explanation"], *out["leaf_explanation"])]
    assert written == [
        *expected.loc[expected["level"] == "group", "feature"],
        *expected.loc[expected["level"] == "leaf", "feature"],
    ]
