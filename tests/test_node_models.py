"""Node models: fitting a sparse node on the columns its rows use gives the same model."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression, RidgeClassifier, SGDClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from hiercls import HierarchicalClassifier
from hiercls.linear import OneVsRestLinearSVC, OneVsRestLogisticRegression
from hiercls.node_models import (
    adapter_for,
    fit_node,
    make_node_estimator,
    node_rows,
    outcome_proba,
    outcome_scores,
    size_aware_params,
    take_rows,
)
from hiercls.sparse_linear import ColumnLookup, SparseLinearModel


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


@pytest.mark.parametrize(
    "rows",
    [np.arange(60), np.arange(120), np.array([61]), np.array([5, 70, 7])],
    ids=["block", "all", "one_row_few_values", "few_rows_few_values"],
)
def test_node_rows_keep_exactly_the_used_columns_in_order(rows):
    # Nodes with many stored values for the width are renumbered through a column
    # map, the others by sorting their indices: both give X[rows][:, used columns].
    X, _ = _sparse_rows_using_few_columns()
    X_node, columns = node_rows(OneVsRestLinearSVC(), X, rows)
    expected = np.unique(X[rows].indices)
    np.testing.assert_array_equal(columns, expected)
    assert columns.dtype == expected.dtype
    np.testing.assert_array_equal(X_node.toarray(), X[rows][:, expected].toarray())
    assert X_node.indices.dtype == np.int32


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

    default = make_node_estimator(LGBMClassifier(), n_rows=1000, seed=0, n_threads=1)
    chosen = make_node_estimator(LGBMClassifier(min_child_weight=0.5), n_rows=1000, seed=0, n_threads=1)
    assert default.get_params()["min_child_weight"] == 1.0
    assert chosen.get_params()["min_child_weight"] == 0.5


@pytest.mark.slow  # several seconds: in the full suite only
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


# ------------------------------------------------------------------ adapter table
class ThirdPartyCentroids:
    """A classifier from some other library: duck-typed, no scikit-learn base class."""

    def __init__(self, temperature=1.0, n_jobs=None):
        self.temperature = temperature
        self.n_jobs = n_jobs

    def get_params(self, deep=True):
        return {"temperature": self.temperature, "n_jobs": self.n_jobs}

    def set_params(self, **params):
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def fit(self, X, y, sample_weight=None):
        X, y = np.asarray(X), np.asarray(y)
        weights = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight)
        self.classes_ = np.unique(y)
        self.centroids_ = np.array(
            [np.average(X[y == c], axis=0, weights=weights[y == c]) for c in self.classes_]
        )
        return self

    def predict_proba(self, X):
        from scipy.special import softmax

        distances = ((np.asarray(X)[:, None, :] - self.centroids_[None]) ** 2).sum(axis=2)
        return softmax(-distances / self.temperature, axis=1)

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags, Tags, TargetTags

        return Tags(
            estimator_type="classifier",
            target_tags=TargetTags(required=True),
            classifier_tags=ClassifierTags(),
        )


class LogisticSubclass(LogisticRegression):
    """Keeps LogisticRegression's fit and scoring: the same kind of node model."""


class TemperedLogistic(LogisticRegression):
    """Redefines predict_proba: hiercls must call it, not score from the weights."""

    def predict_proba(self, X):
        from scipy.special import softmax

        scores = self.decision_function(X)
        scores = np.column_stack([-scores, scores]) / 2 if scores.ndim == 1 else scores
        return softmax(scores / 2, axis=1)


class UserLogistic(ClassifierMixin, BaseEstimator):
    """A user's own node model, unknown to hiercls, that delegates to LogisticRegression."""

    def __init__(self, tol=1e-4):
        self.tol = tol

    def fit(self, X, y, sample_weight=None):
        self.model_ = LogisticRegression(tol=self.tol, max_iter=1000).fit(X, y, sample_weight=sample_weight)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(X)

    def predict(self, X):
        return self.model_.predict(X)


def _lgbm():
    from lightgbm import LGBMClassifier

    return LGBMClassifier(n_estimators=10, min_child_samples=5, verbose=-1)


GENERIC = "scikit-learn estimator"
# id, node model, its adapter, what the adapter says of it: fitted on the used columns
# of sparse X, n_jobs=None means every core, takes sample_weight, takes categories.
CAPABILITIES = [
    ("logreg", lambda: LogisticRegression(), "logistic regression", {"used_columns", "weights"}),
    ("logreg_subclass", lambda: LogisticSubclass(), "logistic regression", {"used_columns", "weights"}),
    ("tempered_logreg", lambda: TemperedLogistic(), GENERIC, {"weights"}),
    ("linear_svc", lambda: LinearSVC(), "linear SVM", {"used_columns", "weights"}),
    ("ridge", lambda: RidgeClassifier(), "ridge", {"used_columns", "weights"}),
    ("sgd", lambda: SGDClassifier(random_state=0), GENERIC, {"weights"}),
    ("ovr_svc", lambda: OneVsRestLinearSVC(), "one-vs-rest linear SVM", {"used_columns", "weights"}),
    (
        "ovr_logreg",
        lambda: OneVsRestLogisticRegression(),
        "one-vs-rest logistic regression",
        {"used_columns", "weights"},
    ),
    ("lightgbm", _lgbm, "LightGBM", {"all_cores", "weights", "categories"}),
    (
        "hist_gb",
        lambda: HistGradientBoostingClassifier(max_iter=10),
        "histogram gradient boosting",
        {"weights", "categories"},
    ),
    ("knn", lambda: KNeighborsClassifier(n_neighbors=3), "k-nearest neighbours", set()),
    ("pipeline", lambda: make_pipeline(StandardScaler(), LogisticRegression()), GENERIC, set()),
    ("calibrated", lambda: CalibratedClassifierCV(LinearSVC(), cv=3), GENERIC, {"weights"}),
    ("third_party", lambda: ThirdPartyCentroids(), GENERIC, {"weights"}),
    ("user", lambda: UserLogistic(), GENERIC, {"weights"}),
]


@pytest.mark.parametrize(
    ("make", "name", "capabilities"),
    [row[1:] for row in CAPABILITIES],
    ids=[row[0] for row in CAPABILITIES],
)
def test_each_kind_of_node_model_states_what_it_can_take(make, name, capabilities):
    model = make()
    adapter = adapter_for(model)
    stated = {
        "used_columns": adapter.fits_on_used_columns,
        "all_cores": adapter.all_cores_by_default,
        "weights": adapter.accepts_sample_weight(model),
        "categories": adapter.accepts_categories,
    }
    assert adapter.name == name
    assert {capability for capability, yes in stated.items() if yes} == capabilities
    assert adapter_for(make()) is adapter  # one answer per class


def _binary_or_three_classes(n_classes):
    from sklearn.datasets import make_classification

    return make_classification(
        90, n_features=6, n_informative=4, n_redundant=0, n_classes=n_classes, random_state=0
    )


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("make", [row[1] for row in CAPABILITIES], ids=[row[0] for row in CAPABILITIES])
def test_adapter_scores_as_the_model_does(make, n_classes):
    X, y = _binary_or_three_classes(n_classes)
    model = make().fit(X, y)
    adapter = adapter_for(model)
    proba = outcome_proba(model, X)
    if hasattr(model, "predict_proba"):
        np.testing.assert_allclose(proba, model.predict_proba(X), atol=1e-12)
    else:
        np.testing.assert_array_equal(proba, model.predict(X)[:, None] == model.classes_[None, :])
    scores = outcome_scores(model, X)
    assert scores.shape == (len(X), n_classes)
    if adapter.scores is not adapter.proba:  # decision values
        own = model.decision_function(X)
        own = np.column_stack([np.zeros(len(X)), own]) if own.ndim == 1 else own
        np.testing.assert_allclose(scores, own, atol=1e-12)
    np.testing.assert_array_equal(model.classes_[scores.argmax(axis=1)], model.predict(X))


@pytest.mark.parametrize(
    "model",
    [LogisticRegression(max_iter=1000), OneVsRestLinearSVC(random_state=0), LinearSVC()],
    ids=["logreg", "ovr_svc", "linear_svc"],
)
def test_compact_models_score_as_the_models_they_came_from(model):
    X, y = _sparse_rows_using_few_columns()
    rows = np.arange(60)
    compact = fit_node(clone(model), X, rows, y[rows], None)
    full = fit_node(clone(model), X.toarray(), rows, y[rows], None)  # dense: kept as it is
    assert adapter_for(compact).name == "compact linear"
    lookup = ColumnLookup(X.shape[1])
    expected = outcome_proba(full, X.toarray())
    for scored in (X, X.toarray()):
        np.testing.assert_allclose(outcome_proba(compact, scored), expected, atol=1e-5)
        np.testing.assert_allclose(outcome_proba(compact, scored, lookup), expected, atol=1e-5)
        # Ranking scores: decision values, whose order is the probabilities' order.
        best = outcome_scores(compact, scored, lookup).argmax(axis=1)
        np.testing.assert_array_equal(best, expected.argmax(axis=1))


def test_a_subclass_that_keeps_the_methods_is_compacted_and_one_that_does_not_is_kept():
    """Subclasses match a row only if they keep the fit and scoring methods it replaces."""
    X, y = _sparse_rows_using_few_columns()
    rows = np.arange(60)
    plain = fit_node(LogisticSubclass(max_iter=1000), X, rows, y[rows], None)
    assert isinstance(plain, SparseLinearModel)
    assert (plain.origin, plain.link) == ("LogisticSubclass", "softmax")
    tempered = fit_node(TemperedLogistic(max_iter=1000), X, rows, y[rows], None)
    assert isinstance(tempered, TemperedLogistic)
    np.testing.assert_allclose(outcome_proba(tempered, X), tempered.predict_proba(X))
    assert not np.allclose(outcome_proba(tempered, X), outcome_proba(plain, X), atol=1e-3)


def test_a_users_own_node_model_works_through_the_generic_adapter():
    X, y = _sparse_rows_using_few_columns(seed=1)
    Y = np.column_stack([np.where(np.arange(120) < 60, "a", "b"), y.astype(str)])
    weights = np.linspace(0.5, 2.0, len(Y))
    user = HierarchicalClassifier(UserLogistic(tol=1e-10)).fit(X, Y, sample_weight=weights)
    known = HierarchicalClassifier(LogisticRegression(tol=1e-10, max_iter=1000))
    known.fit(X, Y, sample_weight=weights)
    assert all(isinstance(m, UserLogistic) for m in user.estimators_ if hasattr(m, "model_"))
    assert any(isinstance(m, UserLogistic) for m in user.estimators_)
    np.testing.assert_array_equal(user.predict(X), known.predict(X))
    for p_user, p_known in zip(user.predict_proba(X), known.predict_proba(X), strict=True):
        np.testing.assert_allclose(p_user, p_known, atol=1e-6)
    third_party = HierarchicalClassifier(ThirdPartyCentroids())
    third_party.fit(X.toarray(), Y, sample_weight=weights)
    assert (third_party.predict(X.toarray()) == Y).all(axis=1).mean() > 0.5


def test_lightgbm_subclasses_outside_lightgbm_are_lightgbm_nodes():
    """Matched by class, not by module name: a user's subclass is capped and quietened too."""
    from lightgbm import LGBMClassifier

    class QuietLGBM(LGBMClassifier):
        pass

    assert not QuietLGBM.__module__.startswith("lightgbm")
    node = make_node_estimator(QuietLGBM(), n_rows=100, seed=0, n_threads=2)
    assert adapter_for(node).name == "LightGBM"
    params = node.get_params()
    assert (params["n_jobs"], params["verbose"], params["min_child_weight"]) == (2, -1, 1.0)


def test_xgboost_nodes_use_their_share_of_threads():
    xgboost = pytest.importorskip("xgboost")
    node = make_node_estimator(xgboost.XGBClassifier(), n_rows=100, seed=0, n_threads=2)
    assert adapter_for(node).name == "XGBoost"
    assert node.get_params()["n_jobs"] == 2


@pytest.mark.parametrize(
    ("template", "n_jobs"),
    [
        (_lgbm(), 2),  # None means every core in LightGBM
        (_lgbm().set_params(n_jobs=1), 1),
        (LogisticRegression(), None),  # and one core in scikit-learn
        (LogisticRegression(n_jobs=-1), 2),
        (LogisticRegression(n_jobs=8), 2),
        (KNeighborsClassifier(n_jobs=1), 1),
        (ThirdPartyCentroids(n_jobs=-1), 2),
    ],
    ids=["lgbm_default", "lgbm_1", "logreg_default", "logreg_all", "logreg_8", "knn_1", "third_party_all"],
)
def test_node_fits_in_parallel_share_the_threads(template, n_jobs):
    node = make_node_estimator(template, n_rows=100, seed=None, n_threads=2)
    assert node.get_params()["n_jobs"] == n_jobs


def test_node_settings_follow_the_kind_and_the_size():
    from lightgbm import LGBMClassifier

    assert size_aware_params(KNeighborsClassifier(n_neighbors=10), 3) == {"n_neighbors": 3}
    assert size_aware_params(KNeighborsClassifier(n_neighbors=2), 3) == {}
    assert size_aware_params(LGBMClassifier(), 3) == {"verbose": -1, "min_child_weight": 1.0}
    assert size_aware_params(LGBMClassifier(verbose=1, min_child_weight=0.5), 3) == {}
    assert size_aware_params(LogisticRegression(), 3) == {}


# ------------------------------------------ LightGBM scored through its booster
def _lightgbm_node(n_classes: int, **params):
    from lightgbm import LGBMClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6))
    X[rng.random(X.shape) < 0.05] = np.nan
    y = np.argmax(X[:, :n_classes] + rng.normal(scale=0.5, size=(300, n_classes)), axis=1)
    y[np.isnan(X[:, :n_classes]).any(axis=1)] = 0
    model = LGBMClassifier(n_estimators=15, min_child_samples=5, verbose=-1, **params).fit(X, y)
    return model, X


@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("n_jobs", [None, 1, -1])
@pytest.mark.parametrize("n_rows", [1, 64, 65, 300])
def test_lightgbm_node_probabilities_equal_its_own_predict_proba(n_classes, n_jobs, n_rows):
    model, X = _lightgbm_node(n_classes, n_jobs=n_jobs)

    proba = outcome_proba(model, X[:n_rows])

    np.testing.assert_array_equal(proba, model.predict_proba(X[:n_rows]))
    np.testing.assert_array_equal(outcome_scores(model, X[:n_rows]), proba)


def test_lightgbm_node_probabilities_on_sparse_rows_equal_its_own():
    model, X = _lightgbm_node(3)
    rows = sp.csr_matrix(np.nan_to_num(X[:40]))

    np.testing.assert_array_equal(outcome_proba(model, rows), model.predict_proba(rows))


def test_lightgbm_models_that_change_prediction_keep_their_own_predict_proba():
    from lightgbm import LGBMClassifier

    class Sharpened(LGBMClassifier):
        def predict_proba(self, X, **kwargs):
            p = super().predict_proba(X, **kwargs) ** 2
            return p / p.sum(axis=1, keepdims=True)

    model, X = _lightgbm_node(3)
    sharpened = Sharpened(**model.get_params()).fit(X, np.argmax(model.predict_proba(X), axis=1))
    extra, _ = _lightgbm_node(3, pred_early_stop=True, pred_early_stop_margin=0.5)

    np.testing.assert_array_equal(outcome_proba(sharpened, X), sharpened.predict_proba(X))
    np.testing.assert_array_equal(outcome_proba(extra, X), extra.predict_proba(X))
