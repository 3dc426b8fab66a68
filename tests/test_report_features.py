"""The most weighted features of classes (hiercls.reports.features) and their report section."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from separable import separable as separable_data
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline

from hiercls import HierarchicalClassifier
from hiercls.reports import rare_class_report
from hiercls.reports.features import class_features, feature_names_of

# Feature j marks one node each; "b" has one child only (b1), so no model chooses b1.
NAMES = ["f_a", "f_b", "f_a1", "f_a2", "f_a3", "noise"]
LEAVES = {("a", "a1"): [0, 2], ("a", "a2"): [0, 3], ("a", "a3"): [0, 4], ("b", "b1"): [1]}


def separable(n_per_leaf=30, seed=0):
    return separable_data(NAMES, LEAVES, n_per_leaf, seed)


def test_linear_weights_are_the_class_column_minus_its_siblings_mean():
    X, Y = separable()
    clf = HierarchicalClassifier(LogisticRegression(max_iter=1000), min_samples=1).fit(X, Y)
    table = class_features(clf, ["a / a2", "b", "b / b1", "a / nowhere"], top=3)
    # b1 is an only child and "a / nowhere" no class: neither gets rows.
    assert table["path"].unique().tolist() == ["a / a2", "b"]
    a2 = table[table["path"] == "a / a2"]
    assert (a2["level"] == "leaf").all()
    assert (a2["node"] == "a").all()
    assert a2["rank"].tolist() == list(range(1, len(a2) + 1))
    assert a2["feature"].iloc[0] == "f_a2"
    # From scratch: the model at "a" (three outcomes), a2's weights minus the mean of a1's and a3's.
    node_a = clf.hierarchy_.children(0)[0]
    model = clf.estimators_[node_a]
    coef = model.coef_.toarray() if hasattr(model.coef_, "toarray") else np.asarray(model.coef_)
    position = list(model.classes_).index(clf.hierarchy_.children(node_a)[1])
    expected = coef[position] - np.delete(coef, position, axis=0).mean(axis=0)
    order = np.argsort(-expected)[:3]
    order = order[expected[order] > 0]
    assert a2["feature"].tolist() == [NAMES[j] for j in order]
    np.testing.assert_allclose(a2["weight"], expected[order])
    # A binary root: "b"'s weights are the model's coef_ (a's are 0), so f_b leads.
    assert table.loc[table["path"] == "b", "feature"].iloc[0] == "f_b"
    assert (table["weight"] > 0).all()


def test_lightgbm_gain_names_each_class_defining_feature():
    lightgbm = pytest.importorskip("lightgbm")
    X, Y = separable(60)
    node_model = lightgbm.LGBMClassifier(n_estimators=20, min_child_samples=5, verbose=-1)
    clf = HierarchicalClassifier(node_model, min_samples=1).fit(X, Y)
    table = class_features(clf, ["a / a1", "a / a2", "a / a3"], top=1)
    # Each class's own trees split most on its own feature (one tree per class and iteration).
    assert table["feature"].tolist() == ["f_a1", "f_a2", "f_a3"]
    assert (table["basis"] == "split gain of the class's trees").all()


def test_models_without_per_class_weights_get_no_rows():
    X, Y = separable()
    clf = HierarchicalClassifier(KNeighborsClassifier(), min_samples=1).fit(X, Y)
    table = class_features(clf, ["a", "a / a1"])
    assert table.empty
    assert list(table.columns) == ["level", "path", "node", "basis", "rank", "feature", "weight"]


def test_a_text_pipeline_names_the_vocabulary_words():
    texts = ["wheeze asthma inhaler", "asthma attack night", "sugar insulin diabetes", "insulin glucose"] * 10
    Y = [["J", "J45"], ["J", "J46"], ["E", "E10"], ["E", "E11"]] * 10
    model = make_pipeline(TfidfVectorizer(), HierarchicalClassifier(min_samples=1)).fit(texts, Y)
    names = feature_names_of(model)
    assert "asthma" in names.tolist()
    table = class_features(model[-1], ["E", "J / J46"], feature_names=names, top=2)
    assert set(table.loc[table["path"] == "E", "feature"]) <= {"sugar", "insulin", "diabetes", "glucose"}
    assert table.loc[table["path"] == "J / J46", "feature"].iloc[0] in {"attack", "night"}


def test_the_report_shows_the_features_of_its_worst_classes():
    X, Y = separable()
    clf = HierarchicalClassifier(LogisticRegression(max_iter=1000), min_samples=1).fit(X, Y)
    report = rare_class_report(Y, clf.predict(X), Y_train=Y, n_worst=2)
    with pytest.raises(
        ValueError, match=r"no 'worst_class_features' table: add one with dataclasses\.replace"
    ):
        report.to_frame("worst_class_features")
    assert "Most weighted features" not in report.to_markdown()
    features = class_features(clf, report.worst_classes["path"].tolist(), top=2)
    with_features = dataclasses.replace(report, worst_class_features=features)
    markdown = with_features.to_markdown()
    assert "## Most weighted features of the worst classes" in markdown
    first = features.iloc[0]
    assert f"{first['feature']} ({first['weight']:.3g})" in markdown
    assert "<h2>Most weighted features of the worst classes</h2>" in with_features.to_html(figures=False)
    assert with_features.to_dict()["tables"]["worst_class_features"][0]["feature"] == first["feature"]
    empty = dataclasses.replace(report, worst_class_features=features.iloc[:0])
    assert "No node model of the worst classes keeps per-class weights" in empty.to_markdown()
