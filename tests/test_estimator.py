"""Behaviour of HierarchicalClassifier through its public API on tiny hierarchies."""

from __future__ import annotations

import re
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import INT_LABELS, RAGGED, REPEATED_NAMES, THREE_LEVELS
from lightgbm import LGBMClassifier
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone, is_classifier
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from hiercls import HierarchicalClassifier, Hierarchy, HierarchyError


def expected_paths(spec):
    out = np.empty((len(spec), len(spec[0][0])), dtype=object)
    out[:] = [list(p) for p, _ in spec]
    return out


def test_three_levels_exact_predictions(three_levels):
    X, Y, centres = three_levels
    clf = HierarchicalClassifier().fit(X, Y)
    assert_array_equal(clf.predict(centres), expected_paths(THREE_LEVELS))
    assert clf.levels_ == ["level0", "level1", "level2"]
    assert [list(c) for c in clf.classes_] == [
        ["animal", "plant"],
        ["bird", "flower", "mammal", "tree"],
        ["cat", "dog", "eagle", "oak", "pine", "rose"],
    ]


def test_repeated_names_are_distinct_nodes(repeated_names):
    X, Y, centres = repeated_names
    clf = HierarchicalClassifier().fit(X, Y)
    assert_array_equal(clf.predict(centres), expected_paths(REPEATED_NAMES))
    # "Other" sits under three parents, "NA" is both a level-0 and a level-1 class.
    assert clf.hierarchy_.n_nodes == 1 + 2 + 4 + 4
    assert list(clf.classes_[2]) == ["Other", "Paris"]
    # The level-2 marginal of "Other" adds up its three nodes.
    proba = clf.predict_proba(centres)
    assert_allclose(proba[2].sum(axis=1), 1.0)
    assert proba[2][0, 0] > 0.9


def test_ragged_paths_stop_at_internal_nodes(ragged):
    X, Y, centres = ragged
    clf = HierarchicalClassifier().fit(X, Y)
    predicted = clf.predict(centres)
    assert predicted.dtype == object
    assert_array_equal(predicted, expected_paths(RAGGED))
    proba = clf.predict_proba(centres)
    # Row 3 stops at B: level 1 and 2 probabilities are nearly zero, level 0 sums to 1.
    assert_allclose(proba[0].sum(axis=1), 1.0)
    assert proba[1][3].sum() < 0.2
    assert np.all(proba[1].sum(axis=1) >= proba[2].sum(axis=1) - 1e-12)


def test_single_child_chain_uses_constant_models(single_child_chain):
    X, Y, centres = single_child_chain
    clf = HierarchicalClassifier().fit(X, Y)
    assert_array_equal(clf.predict(centres), Y[:: len(Y) // 3])
    x_node = clf.hierarchy_.level_ptr[0]  # "X" is the first level-0 node
    assert type(clf.estimators_[x_node]).__name__ == "ConstantNodeModel"


def test_int_labels_keep_int_dtype(int_labels):
    X, Y, centres = int_labels
    clf = HierarchicalClassifier().fit(X, Y)
    predicted = clf.predict(centres)
    assert predicted.dtype.kind == "i"
    assert_array_equal(predicted, np.array([p for p, _ in INT_LABELS]))


def test_flat_target_is_plain_multiclass(three_levels):
    X, Y, centres = three_levels
    y = Y[:, 2].astype(str)
    clf = HierarchicalClassifier().fit(X, y)
    assert clf.classes_.tolist() == sorted(set(y))
    assert_array_equal(clf.predict(centres), [p[-1] for p, _ in THREE_LEVELS])
    proba = clf.predict_proba(centres)
    assert proba.shape == (6, 6)
    assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(centres))


def test_dataframe_target_names_levels_and_per_level_estimators(three_levels):
    X, Y, centres = three_levels
    frame = pd.DataFrame(Y, columns=["kingdom", "group", "species"])
    clf = HierarchicalClassifier(level_estimators={"kingdom": DummyClassifier(strategy="most_frequent")}).fit(
        X, frame
    )
    assert clf.levels_ == ["kingdom", "group", "species"]
    assert isinstance(clf.estimators_[0], DummyClassifier)
    assert isinstance(clf.estimators_[1], LogisticRegression)  # the default for dense X
    # The dummy root sends everything to the more frequent kingdom.
    assert set(clf.predict(centres)[:, 0]) == {"animal"}


def test_node_estimators_override_by_path(three_levels):
    X, Y, _ = three_levels
    clf = HierarchicalClassifier(node_estimators={("plant",): DummyClassifier(strategy="most_frequent")}).fit(
        X, Y
    )
    plant = int(np.flatnonzero(clf.hierarchy_.label_index[1:3] == 1)[0]) + 1
    assert isinstance(clf.estimators_[plant], DummyClassifier)
    assert isinstance(clf.estimators_[0], LogisticRegression)


def test_grid_search_reaches_level_parameters(three_levels):
    X, Y, _ = three_levels
    frame = pd.DataFrame(Y, columns=["kingdom", "group", "species"])
    clf = HierarchicalClassifier(level_estimators={"species": LogisticRegression()})
    assert "species__C" in clf.get_params()
    search = GridSearchCV(clf, {"species__C": [0.1, 1.0]}, cv=3).fit(X, frame)
    assert search.best_params_["species__C"] in (0.1, 1.0)
    assert np.isfinite(search.best_score_)
    # The original estimator is left untouched by the search.
    assert clf.level_estimators["species"].C == 1.0


def test_set_params_replaces_a_level_estimator():
    clf = HierarchicalClassifier(level_estimators={"a": LogisticRegression()})
    clf.set_params(a=DummyClassifier(), a__strategy="prior")
    assert isinstance(clf.level_estimators["a"], DummyClassifier)
    assert clf.level_estimators["a"].strategy == "prior"


def test_cross_validate_default_score_is_finite(three_levels):
    X, Y, _ = three_levels
    leaf = Y[:, -1].astype(str)
    scores = cross_validate(HierarchicalClassifier(), X, Y, cv=StratifiedKFold(3).split(X, leaf))
    assert np.all(np.isfinite(scores["test_score"]))
    assert scores["test_score"].mean() == 1.0


def test_pipeline_clone_and_joblib_roundtrip(tmp_path, three_levels):
    X, Y, centres = three_levels
    pipe = make_pipeline(StandardScaler(), HierarchicalClassifier(random_state=0))
    pipe.fit(X, Y)
    assert is_classifier(pipe)
    path = tmp_path / "model.joblib"
    joblib.dump(pipe, path)
    reloaded = joblib.load(path)
    assert_array_equal(reloaded.predict(centres), pipe.predict(centres))
    for a, b in zip(reloaded.predict_proba(centres), pipe.predict_proba(centres), strict=True):
        assert_array_equal(a, b)
    assert clone(pipe).get_params()["hierarchicalclassifier__random_state"] == 0


def test_sparse_and_dataframe_inputs_match_dense(three_levels):
    X, Y, centres = three_levels
    shift = X - X.min() + 1  # non-negative, like TF-IDF
    dense = HierarchicalClassifier().fit(shift, Y)
    sparse = HierarchicalClassifier().fit(sp.csr_matrix(shift), Y)
    frame = HierarchicalClassifier().fit(pd.DataFrame(shift, columns=["a", "b"]), Y)
    test = centres - X.min() + 1
    assert_array_equal(sparse.predict(sp.csr_matrix(test)), dense.predict(test))
    assert_array_equal(frame.predict(pd.DataFrame(test, columns=["a", "b"])), dense.predict(test))
    assert list(frame.feature_names_in_) == ["a", "b"]


@pytest.mark.slow  # several seconds: in the full suite only
def test_lightgbm_base_and_reproducible_across_n_jobs(three_levels):
    X, Y, centres = three_levels
    X = np.vstack([X] * 5)
    Y = np.vstack([Y] * 5)
    base = LGBMClassifier(n_estimators=10, subsample=0.7, subsample_freq=1)
    one = HierarchicalClassifier(base, random_state=3, n_jobs=1).fit(X, Y)
    two = HierarchicalClassifier(base, random_state=3, n_jobs=2).fit(X, Y)
    assert_array_equal(one.predict(centres), two.predict(centres))
    for a, b in zip(one.predict_proba(centres), two.predict_proba(centres), strict=True):
        assert_allclose(a, b, rtol=0, atol=1e-12)
    assert_array_equal(one.predict(centres), expected_paths(THREE_LEVELS))
    # Node models never take more threads than n_jobs allows.
    assert all(m.get_params()["n_jobs"] == 1 for m in two.estimators_ if isinstance(m, LGBMClassifier))


def test_sample_weight_reaches_node_models(three_levels):
    X, Y, centres = three_levels
    weights = np.where(Y[:, 2] == "dog", 1000.0, 1.0)
    weighted = HierarchicalClassifier(DummyClassifier(strategy="prior")).fit(X, Y, sample_weight=weights)
    # With prior-only node models the heavy "dog" rows dominate every decision on the way.
    assert_array_equal(weighted.predict(centres[:1]), [["animal", "mammal", "dog"]])


def test_sample_weight_refused_by_model_that_cannot_take_it(three_levels):
    X, Y, _ = three_levels
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    with pytest.raises(ValueError, match="does not accept sample_weight"):
        HierarchicalClassifier(pipe).fit(X, Y, sample_weight=np.ones(len(X)))


def test_models_without_predict_proba_predict_but_have_no_proba(three_levels):
    X, Y, centres = three_levels
    clf = HierarchicalClassifier(LinearSVC()).fit(X, Y)
    assert_array_equal(clf.predict(centres), expected_paths(THREE_LEVELS))
    assert not hasattr(clf, "predict_proba")


def test_explicit_hierarchy_knows_classes_without_rows(three_levels):
    X, Y, centres = three_levels
    edges = [(p[i], p[i + 1]) for p, _ in THREE_LEVELS for i in range(2)]
    edges += [("animal", "fish"), ("fish", "trout")]
    clf = HierarchicalClassifier(hierarchy=edges).fit(X, Y)
    assert "trout" in clf.classes_[2]
    proba = clf.predict_proba(centres)
    trout = list(clf.classes_[2]).index("trout")
    assert_array_equal(proba[2][:, trout], 0.0)
    assert_array_equal(clf.predict(centres), expected_paths(THREE_LEVELS))


def test_explicit_hierarchy_takes_dataframe_level_names(three_levels):
    X, Y, _ = three_levels
    edges = {p[i + 1]: p[i] for p, _ in THREE_LEVELS for i in range(2)}
    frame = pd.DataFrame(Y, columns=["kingdom", "group", "species"])
    clf = HierarchicalClassifier(hierarchy=edges).fit(X, frame)
    assert clf.levels_ == ["kingdom", "group", "species"]


def test_stop_threshold_stops_when_unsure(three_levels):
    X, Y, centres = three_levels
    between = np.array([[-10.0, 6.5]])  # halfway between dog and cat
    sure = HierarchicalClassifier().fit(X, Y)
    unsure = HierarchicalClassifier(stop_threshold=0.9).fit(X, Y)
    assert sure.predict(between)[0, 2] in ("dog", "cat")
    assert_array_equal(unsure.predict(between), [["animal", "mammal", None]])
    # Confident rows still go all the way down.
    assert_array_equal(unsure.predict(centres), expected_paths(THREE_LEVELS))
    paths = unsure.predict_paths(between)
    assert np.isnan(paths.level_proba[0, 2])
    assert paths.path_proba[0] == paths.level_proba[0, 1]


def test_predict_paths_probabilities_multiply_down(three_levels):
    X, Y, centres = three_levels
    clf = HierarchicalClassifier().fit(X, Y)
    paths = clf.predict_paths(centres)
    assert_array_equal(paths.labels, clf.predict(centres))
    assert np.all(np.diff(paths.level_proba, axis=1) <= 0)
    assert_allclose(paths.path_proba, paths.level_proba[:, -1])


def test_top_k_paths_are_exact_and_sorted(three_levels):
    X, Y, centres = three_levels
    clf = HierarchicalClassifier(LogisticRegression(C=0.01)).fit(X, Y)
    top = clf.predict_top_k(centres, k=6)
    leaf_proba = clf.predict_proba(centres)[2]  # leaf names are unique here
    expected = -np.sort(-leaf_proba, axis=1)
    assert_allclose(top.proba, expected, rtol=1e-10)
    assert_allclose(top.proba.sum(axis=1), 1.0)
    assert_array_equal(top.labels[:, 0, :], clf.predict(centres))
    # k beyond the 6 possible paths is lowered to 6, however large (no k-wide arrays).
    for k in (8, 10**9):
        more = clf.predict_top_k(centres, k=k)
        assert more.proba.shape == (len(centres), 6)
        assert_allclose(more.proba, top.proba)


def test_fitted_model_keeps_no_copy_of_training_data(three_levels):
    X, Y, _ = three_levels
    clf = HierarchicalClassifier().fit(X, Y)
    dumped = joblib.dumps if hasattr(joblib, "dumps") else None
    del dumped
    for value in vars(clf).values():
        assert not (isinstance(value, np.ndarray) and value.shape[0] == X.shape[0])


@pytest.mark.parametrize(
    ("params", "fit_args", "error", "message"),
    [
        ({}, (np.zeros((3, 2)), [["a", "b"]] * 4), ValueError, "X has 3 rows but y has 4"),
        ({}, (np.zeros((2, 2)), [["a", None, "c"], ["a", "b", "c"]]), HierarchyError, "after an empty level"),
        ({}, (np.zeros((2, 2)), [[None, "b"], ["a", "b"]]), HierarchyError, "no label at the first level"),
        ({}, (np.zeros((2, 2)), [["a", None], ["b", None]]), HierarchyError, "empty in every row"),
        (
            {"hierarchy": [("a", "x"), ("b", "x")]},
            (np.zeros((2, 2)), [["a", "x"], ["b", "x"]]),
            HierarchyError,
            "'x' is listed under two parents, 'a' and 'b'",
        ),
        (
            {"hierarchy": [("a", "b"), ("b", "c"), ("c", "a"), ("r", "s")]},
            (np.zeros((2, 2)), [["r", "s"], ["r", "s"]]),
            HierarchyError,
            "cycle",
        ),
        (
            {"hierarchy": [("a", "x"), ("b", "y")]},
            (np.zeros((2, 2)), [["a", "x"], ["a", "y"]]),
            HierarchyError,
            "places 'y' .* under 'a', but the given hierarchy places it under 'b'",
        ),
        (
            {"hierarchy": [("a", "x")]},
            (np.zeros((2, 2)), [["a", "x"], ["a", "q"]]),
            HierarchyError,
            "'q' in row 1 of Y is not a class of level 'level1'",
        ),
        (
            {"stop_threshold": 2.0},
            (np.zeros((2, 2)), [["a"], ["b"]]),
            ValueError,
            "'stop_threshold' parameter of HierarchicalClassifier must be",
        ),
        ({"estimator": "lgbm"}, (np.zeros((2, 2)), [["a"], ["b"]]), ValueError, "'estimator' parameter"),
        (
            {"level_estimators": {"nope": LogisticRegression()}},
            (np.zeros((2, 2)), [["a"], ["b"]]),
            ValueError,
            r"keys \['nope'\] that are not levels",
        ),
        (
            {"node_estimators": {("no-such-node",): LogisticRegression()}},
            (np.zeros((2, 2)), [["a", "x"], ["b", "y"]]),
            ValueError,
            r"key \('no-such-node',\), which is not a node with children .* e\.g\. \(\), \('a',\)",
        ),
        (
            {"node_estimators": {("a", "x"): LogisticRegression()}},
            (np.zeros((2, 2)), [["a", "x"], ["b", "y"]]),
            ValueError,
            r"node_estimators keys must be tuples of labels naming a parent node",
        ),
        ({}, (np.array([[np.nan, 1.0], [0.0, 1.0]]), ["a", "b"]), ValueError, "contains NaN"),
        ({}, (np.zeros((2, 2)), [0.5, 1.5]), ValueError, "Unknown label type"),
        ({}, (np.zeros((2, 2)), None), ValueError, "requires y to be passed"),
        (
            {},
            (np.zeros((2, 2)), [["a", "b"], "c"]),
            ValueError,
            r"y mixes label paths \(lists or tuples\) with single labels",
        ),
    ],
)
def test_fit_rejects_bad_input(params, fit_args, error, message):
    X, y = fit_args
    with pytest.raises(error, match=message):
        HierarchicalClassifier(**params).fit(X, y)


def test_predict_rejects_bad_input(three_levels):
    from sklearn.exceptions import NotFittedError

    X, Y, centres = three_levels
    with pytest.raises(NotFittedError, match="not fitted yet"):
        HierarchicalClassifier().predict(centres)
    clf = HierarchicalClassifier().fit(pd.DataFrame(X, columns=["a", "b"]), Y)
    with pytest.raises(ValueError, match="X has 3 features, but HierarchicalClassifier is expecting 2"):
        clf.predict(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="feature names should match"):
        clf.predict(pd.DataFrame(centres, columns=["a", "c"]))
    with pytest.raises(ValueError, match="contains infinity"):
        clf.predict(pd.DataFrame([[np.inf, 0.0]], columns=["a", "b"]))
    with pytest.raises(ValueError, match="k must be a positive integer"):
        clf.predict_top_k(pd.DataFrame(centres, columns=["a", "b"]), k=0)


def test_lightgbm_takes_nan_in_x(three_levels):
    X, Y, centres = three_levels
    X = np.vstack([X] * 4)
    Y = np.vstack([Y] * 4)
    X[::7, 0] = np.nan
    clf = HierarchicalClassifier(LGBMClassifier(n_estimators=5)).fit(X, Y)
    assert clf.predict(np.array([[np.nan, 10.0]])).shape == (1, 3)


def test_explicit_hierarchy_object(three_levels):
    X, Y, centres = three_levels
    tree = Hierarchy.from_edges([(p[i], p[i + 1]) for p, _ in THREE_LEVELS for i in range(2)])
    clf = HierarchicalClassifier(hierarchy=tree).fit(X, Y)
    assert clf.hierarchy_ == tree
    assert_array_equal(clf.predict(centres), expected_paths(THREE_LEVELS))


def test_calibrated_node_models(three_levels):
    from sklearn.calibration import CalibratedClassifierCV

    X, Y, centres = three_levels
    clf = HierarchicalClassifier(CalibratedClassifierCV(LogisticRegression(), cv=2)).fit(X, Y)
    assert_array_equal(clf.predict(centres), expected_paths(THREE_LEVELS))
    proba = clf.predict_proba(centres)
    assert_allclose(proba[0].sum(axis=1), 1.0)
    assert isinstance(clf.estimators_[0], CalibratedClassifierCV)


def test_hierarchical_f1_scorer_in_cross_validation(three_levels):
    from hiercls.metrics import hierarchical_f1_scorer

    X, Y, _ = three_levels
    leaf = Y[:, -1].astype(str)
    scores = cross_validate(
        HierarchicalClassifier(),
        X,
        Y,
        cv=StratifiedKFold(3).split(X, leaf),
        scoring=hierarchical_f1_scorer,
    )
    assert_allclose(scores["test_score"], 1.0)


def test_best_path_decoding_leaves_a_likely_parent_for_a_more_likely_leaf():
    """Root: A 0.6, B 0.4. A: A1 0.5, A2 0.5. B: B1 only. Greedy takes A/A1 (0.3);
    the most probable complete path is B/B1 (0.4)."""
    Y = [["A", "A1"]] * 3 + [["A", "A2"]] * 3 + [["B", "B1"]] * 4
    X = np.zeros((len(Y), 1))
    prior = DummyClassifier(strategy="prior")
    greedy = HierarchicalClassifier(prior).fit(X, Y)
    best = HierarchicalClassifier(prior, decoding="best_path").fit(X, Y)
    assert_array_equal(greedy.predict(X[:1]), [["A", "A1"]])
    assert_array_equal(best.predict(X[:1]), [["B", "B1"]])
    paths = best.predict_paths(X[:1])
    assert_allclose(paths.level_proba, [[0.4, 0.4]])
    assert_allclose(paths.path_proba, [0.4])
    # A threshold cuts the best path where it gets unsure: B (0.4) is under 0.5 but
    # level 0 is never cut; B1 (0.4) is cut.
    cut = HierarchicalClassifier(prior, decoding="best_path", stop_threshold=0.5).fit(X, Y)
    assert_array_equal(cut.predict(X[:1]).astype(object), [["B", None]])
    assert_allclose(cut.predict_paths(X[:1]).path_proba, [0.4])


def test_ragged_python_paths_are_padded_with_none(ragged):
    X, Y, centres = ragged
    as_lists = [[label for label in row if label is not None] for row in Y.tolist()]
    assert len({len(row) for row in as_lists}) > 1
    from_lists = HierarchicalClassifier(random_state=0).fit(X, as_lists)
    from_array = HierarchicalClassifier(random_state=0).fit(X, Y)
    assert_array_equal(from_lists.predict(centres), from_array.predict(centres))


def test_node_models_that_do_not_converge_are_reported_once(three_levels):
    from sklearn.exceptions import ConvergenceWarning

    X, Y, _ = three_levels
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        HierarchicalClassifier(LogisticRegression(max_iter=1), min_samples=1).fit(X * 100, Y)
    convergence = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert len(convergence) == 1
    message = str(convergence[0].message)
    assert re.match(r"\d+ of 5 node models did not converge: ", message)
    assert "('animal',)" in message or "(root)" in message
    assert "max_iter" in message
    assert convergence[0].filename == __file__


@pytest.mark.parametrize("key", ["bird", ("animal", "bird")])
def test_class_weight_is_keyed_by_the_users_labels(three_levels, key):
    X, Y, centres = three_levels
    between = (centres[[0]] + centres[[2]]) / 2  # between dog (mammal) and eagle (bird)
    plain = HierarchicalClassifier(LogisticRegression(C=0.01), min_samples=1).fit(X, Y)
    weighted = HierarchicalClassifier(LogisticRegression(C=0.01, class_weight={key: 50.0}), min_samples=1)
    weighted.fit(X, Y)
    bird = list(plain.classes_[1]).index("bird")
    assert weighted.predict_proba(between)[1][0, bird] > plain.predict_proba(between)[1][0, bird] + 0.1


def test_class_weight_naming_no_label_is_refused(three_levels):
    X, Y, _ = three_levels
    clf = HierarchicalClassifier(LogisticRegression(class_weight={"bird": 2.0, "dragon": 5.0}), min_samples=1)
    with pytest.raises(
        ValueError, match=r"class_weight of the node model LogisticRegression names \['dragon'\]"
    ):
        clf.fit(X, Y)


def test_calibration_falls_back_where_a_child_has_too_few_rows(three_levels):
    from sklearn.calibration import CalibratedClassifierCV

    X, Y, centres = three_levels
    X, Y = np.vstack([X, X[:2]]), np.vstack([Y, Y[:2]])  # dogs: 8 rows; every other leaf 6
    base = CalibratedClassifierCV(LogisticRegression(), cv=7)
    with pytest.warns(
        UserWarning, match=r"4 node model\(s\) were fitted without calibration.*\('animal',\)"
    ) as caught:
        clf = HierarchicalClassifier(base, min_samples=1).fit(X, Y)
    assert "uncalibrated_nodes_" in str(caught[0].message)
    # The root's children have 20 and 18 rows: calibrated. Under 'animal', bird has 6 < 7.
    assert set(clf.uncalibrated_nodes_) == {("animal",), ("plant",), ("animal", "mammal"), ("plant", "tree")}
    assert_array_equal(clf.predict(centres)[:, 2], ["dog", "cat", "eagle", "oak", "pine", "rose"])
    assert (
        HierarchicalClassifier(CalibratedClassifierCV(LogisticRegression(), cv=3), min_samples=1)
        .fit(X, Y)
        .uncalibrated_nodes_
        == ()
    )


FIT_WITH_PROGRESS = """
import fcntl, struct, sys, termios, warnings
warnings.simplefilter("ignore")
if sys.stderr.isatty():
    fcntl.ioctl(2, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
from hiercls import HierarchicalClassifier
from hiercls.datasets import make_hierarchical_classification
X, Y = make_hierarchical_classification(600, n_levels=2, branching=4, random_state=0)
HierarchicalClassifier(verbose=1, min_samples=1).fit(X, Y)
"""


@pytest.mark.slow
@pytest.mark.parametrize("terminal", [True, False])
def test_node_fits_show_a_progress_bar_on_a_terminal_only(terminal):
    import os
    import pty
    import subprocess
    import sys

    if not terminal:
        done = subprocess.run(
            [sys.executable, "-c", FIT_WITH_PROGRESS], capture_output=True, text=True, timeout=120
        )
        assert "node models" not in done.stderr
        return
    pid, fd = pty.fork()
    if pid == 0:  # the child: stdout and stderr are the terminal
        os.execv(sys.executable, [sys.executable, "-c", FIT_WITH_PROGRESS])
    out = bytearray()
    try:
        while data := os.read(fd, 4096):
            out.extend(data)
    except OSError:  # the terminal closes when the child exits
        pass
    os.waitpid(pid, 0)
    assert re.search(r"node models: +\d+%\|.*\| \d/5", out.decode(errors="replace"))
