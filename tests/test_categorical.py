"""Categorical DataFrame columns reach tree node models as categories."""

import numpy as np
import pandas as pd
import pytest
from lightgbm import LGBMClassifier
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from hiercls import HierarchicalClassifier
from hiercls.categorical import categorical_node_settings, find_categorical_columns

STATES = [f"s{i:02d}" for i in range(24)]
# Region of each state, deliberately not monotone in the state's code.
REGION = {state: ("north", "south", "east")[(i * 7) % 3] for i, state in enumerate(STATES)}


def _frame(n=1200, seed=0, dtype="category"):
    rng = np.random.default_rng(seed)
    state = rng.choice(STATES, n)
    frame = pd.DataFrame({"noise": rng.normal(size=n), "state": state})
    frame["state"] = frame["state"].astype(dtype)
    region = np.array([REGION[s] for s in state])
    # Level 1 depends on the noise column, so both kinds of column matter.
    Y = pd.DataFrame({"region": region, "area": np.char.add(region, np.where(frame["noise"] > 0, "+", "-"))})
    return frame, Y


def _lgbm():
    return LGBMClassifier(n_estimators=20, min_child_samples=5, verbose=-1, random_state=0)


@pytest.mark.parametrize("dtype", ["category", "str", object])
def test_lightgbm_nodes_split_on_categories(dtype):
    X, Y = _frame(dtype=dtype)
    clf = HierarchicalClassifier(_lgbm(), random_state=0).fit(X, Y)
    assert clf.categorical_columns_.names == ("state",)
    assert clf.categorical_columns_.positions == (1,)
    root = clf.estimators_[0]
    trees = root.booster_.dump_model()["tree_info"]

    def decision_types(node):
        if "split_index" not in node:
            return set()
        below = decision_types(node["left_child"]) | decision_types(node["right_child"])
        return {node["decision_type"]} | below

    assert "==" in set().union(*(decision_types(t["tree_structure"]) for t in trees))
    X_test, Y_test = _frame(seed=1, dtype=dtype)
    assert (clf.predict(X_test)[:, 0] == Y_test["region"].to_numpy()).mean() == 1.0


def test_unseen_and_missing_categories_are_treated_as_missing():
    X, Y = _frame()
    clf = HierarchicalClassifier(_lgbm(), random_state=0).fit(X, Y)
    unseen = pd.DataFrame({"noise": [0.5, 0.5], "state": pd.Categorical(["zz", None])})
    missing = pd.DataFrame({"noise": [0.5], "state": pd.Categorical([None], categories=STATES)})
    predicted = clf.predict(unseen)
    assert (predicted[0] == predicted[1]).all()
    assert (predicted[0] == clf.predict(missing)[0]).all()


def test_category_order_at_predict_does_not_matter():
    X, Y = _frame()
    clf = HierarchicalClassifier(_lgbm(), random_state=0).fit(X, Y)
    X_test, _ = _frame(seed=2)
    reordered = X_test.assign(state=X_test["state"].cat.reorder_categories(STATES[::-1]))
    as_strings = X_test.assign(state=X_test["state"].astype(str))
    expected = clf.predict(X_test)
    np.testing.assert_array_equal(clf.predict(reordered), expected)
    np.testing.assert_array_equal(clf.predict(as_strings), expected)
    for a, b in zip(clf.predict_proba(reordered), clf.predict_proba(X_test), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_hist_gradient_boosting_nodes_get_categorical_features():
    X, Y = _frame()
    clf = HierarchicalClassifier(HistGradientBoostingClassifier(max_iter=20, random_state=0)).fit(X, Y)
    assert list(clf.estimators_[0].is_categorical_) == [False, True]
    X_test, Y_test = _frame(seed=1)
    assert (clf.predict(X_test)[:, 0] == Y_test["region"].to_numpy()).mean() == 1.0


def test_model_without_categories_is_refused_before_training():
    X, Y = _frame()
    clf = HierarchicalClassifier(LogisticRegression(), level_estimators={"area": _lgbm()})
    message = r"categorical columns \['state'\].*LogisticRegression.*OneHotEncoder"
    with pytest.raises(ValueError, match=message):
        clf.fit(X, Y)
    assert not hasattr(clf, "estimators_")


def test_numeric_frames_have_no_categorical_columns():
    frame = pd.DataFrame(
        {"a": [1.0, 2.0], "b": [1, 2], "c": [True, False], "d": pd.Series([1, 2], dtype=object)}
    )
    assert find_categorical_columns(frame) is None


class _TakesCategoriesInFit(LogisticRegression):
    """An unknown model whose fit takes LightGBM's keyword: the generic adapter finds it."""

    def fit(self, X, y, sample_weight=None, categorical_feature=None):
        self.categorical_feature_ = categorical_feature
        return super().fit(X, y, sample_weight=sample_weight)


class _LightGBMSubclass(LGBMClassifier):
    pass


@pytest.mark.parametrize(
    ("template", "params", "fit_params"),
    [
        (_lgbm(), {}, {"categorical_feature": [1]}),
        (_LightGBMSubclass(), {}, {"categorical_feature": [1]}),
        (HistGradientBoostingClassifier(), {"categorical_features": [1]}, {}),
        (HistGradientBoostingClassifier(categorical_features=None), {"categorical_features": [1]}, {}),
        (HistGradientBoostingClassifier(categorical_features=[0]), {}, {}),  # the user's choice
        (_TakesCategoriesInFit(), {}, {"categorical_feature": [1]}),
    ],
    ids=["lightgbm", "lightgbm_subclass", "hist_gb", "hist_gb_none", "hist_gb_set", "unknown_with_keyword"],
)
def test_node_models_are_told_about_categories_their_way(template, params, fit_params):
    columns = find_categorical_columns(_frame(n=20)[0])
    assert categorical_node_settings(template, columns) == (params, fit_params)


def test_an_unknown_model_with_the_keyword_fits_on_categories():
    X, Y = _frame(n=300)
    clf = HierarchicalClassifier(_TakesCategoriesInFit(max_iter=1000)).fit(X, Y)
    assert clf.estimators_[0].categorical_feature_ == [1]
