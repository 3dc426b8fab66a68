"""scikit-learn's estimator checks for MultiLabelHierarchicalClassifier.

Its ``predict`` returns a scipy sparse indicator over ``classes_`` (scikit-learn's
multi-label convention, and the only form that stays small for thousands of paths)
whatever the form of ``y``; scikit-learn's checks for classifiers fitted on 1-D ``y``
expect 1-D predictions, and its multi-label checks a dense array. Those are the
expected failures; every other check passes.
"""

from __future__ import annotations

import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from hiercls import MultiLabelHierarchicalClassifier

# Hundreds of scikit-learn checks: the full suite runs them, the fast loop does not.
pytestmark = pytest.mark.slow

SPARSE_INDICATOR = "predict returns a sparse indicator of paths, not 1-D labels or a dense array"
EXPECTED_FAILURES = {
    **dict.fromkeys(
        (
            "check_classifiers_train",
            "check_classifiers_classes",
            "check_classifiers_one_label",
            "check_classifier_data_not_an_array",
            "check_classifier_multioutput",
            "check_classifiers_multilabel_output_format_predict",
            "check_estimator_sparse_array",
            "check_estimator_sparse_matrix",
            "check_supervised_y_2d",
        ),
        SPARSE_INDICATOR,
    ),
    "check_classifiers_multilabel_representation_invariance": (
        "a list of lists is read as lists of paths; an indicator must be an array or a sparse matrix"
    ),
}


@parametrize_with_checks(
    [MultiLabelHierarchicalClassifier(LogisticRegression(), min_samples=1)],
    expected_failed_checks=lambda estimator: EXPECTED_FAILURES,
)
def test_sklearn_compatible_multilabel_estimator(estimator, check):
    check(estimator)
