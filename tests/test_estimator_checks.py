"""scikit-learn's own estimator checks, with three kinds of node model."""

from __future__ import annotations

from lightgbm import LGBMClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from hiercls import HierarchicalClassifier

ESTIMATORS = [
    HierarchicalClassifier(),
    HierarchicalClassifier(LGBMClassifier(n_estimators=20)),
    HierarchicalClassifier(LogisticRegression(C=10.0)),
]


# No expected failures: every check passes with each of these node models.
@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
