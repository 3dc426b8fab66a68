"""One-vs-rest linear node models: class weights and probabilities."""

import numpy as np
import pytest
from scipy import sparse
from sklearn.utils.class_weight import compute_class_weight

from hiercls import HierarchicalClassifier
from hiercls.linear import OneVsRestLinearSVC, OneVsRestLogisticRegression, _squared_hinge_proba

X_LINE = np.array([[0.0], [0.2], [0.4], [5.0], [5.3], [10.0], [10.4], [10.8], [11.0], [11.5]])
Y_LINE = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 2])


@pytest.mark.parametrize("model", [OneVsRestLinearSVC(), OneVsRestLogisticRegression()])
def test_probabilities_keep_the_order_of_the_scores(model):
    rng = np.random.default_rng(0)
    model.fit(X_LINE, Y_LINE)
    X = rng.uniform(-20, 30, size=(500, 1))
    scores, proba = model.decision_function(X), model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all(proba > 0)  # even classes far on the wrong side keep some mass
    # Equal order row by row: the most probable class is the best-scored one, and so on.
    np.testing.assert_array_equal(np.argsort(proba, axis=1), np.argsort(scores, axis=1))
    np.testing.assert_array_equal(model.predict(X), model.classes_[np.argmax(proba, axis=1)])


def test_squared_hinge_probability_follows_its_link():
    """Away from the soft floor, a class's probability is proportional to ((f + 1) / 2)**2."""
    model = OneVsRestLinearSVC(random_state=0).fit(X_LINE, Y_LINE)
    X = np.array([[0.1], [5.1], [10.9]])
    scores = model.decision_function(X)
    link = np.maximum(scores + 1, 0) ** 2
    expected = link / link.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(model.predict_proba(X), expected, atol=0.02)


def test_squared_hinge_binary_probability_crosses_one_half_at_score_zero():
    X = np.array([[0.0], [1.0], [2.0], [3.0], [7.0], [8.0], [9.0], [10.0]])
    model = OneVsRestLinearSVC(random_state=0).fit(X, [0, 0, 0, 0, 1, 1, 1, 1])
    grid = np.linspace(-5, 15, 201)[:, None]
    scores, proba = model.decision_function(grid), model.predict_proba(grid)
    np.testing.assert_array_equal(proba[:, 1] > 0.5, scores > 0)
    np.testing.assert_allclose(proba[scores > 3, 1], 1.0, atol=1e-6)


def test_scores_all_below_minus_one_still_rank_the_classes():
    # Where the link max(f + 1, 0) ** 2 is 0 for every class, the soft floor keeps order.
    scores = np.array([[-5.0, -3.0, -2.0], [-1.5, -40.0, -1.2], [0.5, -0.2, -3.0]])
    proba = _squared_hinge_proba(scores.copy())
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(np.argsort(proba, axis=1), np.argsort(scores, axis=1))
    # Away from the floor: (1.5 ** 2, 0.8 ** 2, ~0) normalised.
    np.testing.assert_allclose(proba[2], [2.25 / 2.89, 0.64 / 2.89, 0.0], atol=1e-3)


def test_sqrt_class_weight_is_the_square_root_of_balanced():
    weights = np.sqrt(compute_class_weight("balanced", classes=np.unique(Y_LINE), y=Y_LINE))
    as_dict = dict(enumerate(weights))
    for cls in (OneVsRestLinearSVC, OneVsRestLogisticRegression):
        named = cls(class_weight="sqrt", tol=1e-8, max_iter=100_000, random_state=0).fit(X_LINE, Y_LINE)
        explicit = cls(class_weight=as_dict, tol=1e-8, max_iter=100_000, random_state=0).fit(X_LINE, Y_LINE)
        np.testing.assert_allclose(named.coef_, explicit.coef_)
        np.testing.assert_allclose(named.intercept_, explicit.intercept_)


def test_unknown_class_weight_names_the_allowed_values():
    with pytest.raises(ValueError, match="class_weight.*'balanced'.*'sqrt'|class_weight.*'sqrt'.*'balanced'"):
        OneVsRestLinearSVC(class_weight="inverse").fit(X_LINE, Y_LINE)


def test_default_text_model_gives_rare_children_a_share():
    """On TF-IDF rows, a child with 3 rows among 60 is still predicted for its own text."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [f"apple fruit sweet {i}" for i in range(30)] + [f"pear fruit green {i}" for i in range(27)]
    texts += ["quince fruit hard", "quince fruit yellow", "quince fruit jam"]
    Y = [["fruit", "apple"]] * 30 + [["fruit", "pear"]] * 27 + [["fruit", "quince"]] * 3
    vectorizer = TfidfVectorizer().fit(texts)
    clf = HierarchicalClassifier(random_state=0, sufficiency_policy="ignore")
    clf.fit(vectorizer.transform(texts), Y)
    predicted = clf.predict(vectorizer.transform(["quince fruit", "apple", "pear green"]))
    np.testing.assert_array_equal(predicted[:, 1], ["quince", "apple", "pear"])


@pytest.mark.parametrize(
    "model",
    [OneVsRestLinearSVC(random_state=0), OneVsRestLogisticRegression(class_weight=None, random_state=0)],
)
def test_fit_binary_columns_equals_one_fit_per_column(model):
    from sklearn.base import clone

    from hiercls.linear import fit_binary_columns

    rng = np.random.default_rng(0)
    X = sparse.random(120, 30, density=0.2, random_state=0, format="csr")
    Y = (rng.random((120, 3)) < [0.1, 0.5, 0.8]).astype(np.int8)
    weights = rng.uniform(0.5, 2.0, size=120)
    together = fit_binary_columns(clone(model), X, Y, weights)
    assert together.classes_.tolist() == [0, 1, 2]
    for j in range(3):
        alone = clone(model).fit(X, Y[:, j], sample_weight=weights)
        np.testing.assert_allclose(together.coef_[j], alone.coef_[0], atol=1e-12)
        np.testing.assert_allclose(together.intercept_[j], alone.intercept_[0], atol=1e-12)
