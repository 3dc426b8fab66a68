"""Explanations along the predicted path (HierarchicalClassifier.explain)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline

from hiercls import HierarchicalClassifier
from hiercls.explain import STOP, explain_predictions

# Feature j defines one node each: f_a/f_b pick the group, f_a1/f_a2/f_b1/f_b2 the leaf.
NAMES = ["f_a", "f_b", "f_a1", "f_a2", "f_b1", "f_b2", "noise"]
LEAVES = {("a", "a1"): [0, 2], ("a", "a2"): [0, 3], ("b", "b1"): [1, 4], ("b", "b2"): [1, 5]}


def separable(n_per_leaf=30, seed=0):
    rng = np.random.default_rng(seed)
    X, Y = [], []
    for path, on in LEAVES.items():
        block = rng.uniform(0.0, 0.2, size=(n_per_leaf, len(NAMES)))
        block[:, on] += 1.0
        X.append(block)
        Y += [list(path)] * n_per_leaf
    return pd.DataFrame(np.vstack(X), columns=NAMES), pd.DataFrame(Y, columns=["group", "leaf"])


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


def test_other_node_models_and_bad_arguments_are_refused():
    X, Y = separable()
    clf = HierarchicalClassifier(KNeighborsClassifier(), min_samples=1).fit(X, Y)
    with pytest.raises(TypeError, match=r"KNeighborsClassifier is neither"):
        clf.explain(X.iloc[[0]])
    linear = HierarchicalClassifier(LogisticRegression(), min_samples=1).fit(X, Y)
    with pytest.raises(ValueError, match=r"top must be a positive integer; got 0"):
        linear.explain(X.iloc[[0]], top=0)
    with pytest.raises(ValueError, match=r"feature_names has 2 names for 7 columns"):
        linear.explain(sparse.csr_matrix(X.iloc[[0]].to_numpy()), feature_names=["a", "b"])
