"""Properties that hold on any hierarchy: valid paths, coherent probabilities, batch independence."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from strategies import hierarchical_data

from hiercls import HierarchicalClassifier
from hiercls.hierarchy import read_label_paths

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def as_list(proba):
    return proba if isinstance(proba, list) else [proba]


def fit(X, Y, **params):
    return HierarchicalClassifier(random_state=0, **params).fit(X, Y)


@SETTINGS
@given(
    data=hierarchical_data(),
    threshold=st.sampled_from([None, 0.5]),
    decoding=st.sampled_from(["greedy", "best_path"]),
)
def test_predictions_are_valid_paths(data, threshold, decoding):
    X, Y = data
    clf = fit(X, Y, stop_threshold=threshold, decoding=decoding)
    predicted = clf.predict(X)
    assert predicted.shape == Y.shape
    # Encoding against the fitted tree raises for any path the tree does not contain.
    clf.hierarchy_.encode(read_label_paths(predicted, check_paths=False))  # all may stop at level 0


@SETTINGS
@given(data=hierarchical_data())
def test_level_probabilities_are_coherent(data):
    X, Y = data
    clf = fit(X, Y)
    proba = as_list(clf.predict_proba(X))
    reach = [p.sum(axis=1) for p in proba]
    assert all(np.all(p >= 0) for p in proba)
    assert_allclose(reach[0], 1.0)
    for upper, lower in zip(reach[:-1], reach[1:], strict=True):
        assert np.all(lower <= upper + 1e-12)
    predicted = clf.predict(X)
    first = predicted if predicted.ndim == 1 else predicted[:, 0]
    classes = clf.classes_ if predicted.ndim == 1 else clf.classes_[0]
    assert_array_equal(classes[proba[0].argmax(axis=1)], first)


@SETTINGS
@given(data=hierarchical_data(), seed=st.integers(0, 1000))
def test_rows_do_not_depend_on_the_batch(data, seed):
    X, Y = data
    clf = fit(X, Y)
    subset = np.random.default_rng(seed).permutation(len(X))[: max(1, len(X) // 3)]
    assert_array_equal(clf.predict(X[subset]), clf.predict(X)[subset])
    full, part = as_list(clf.predict_proba(X)), as_list(clf.predict_proba(X[subset]))
    for a, b in zip(full, part, strict=True):
        assert_allclose(b, a[subset], rtol=0, atol=1e-12)
    top_full, top_part = clf.predict_top_k(X, k=3), clf.predict_top_k(X[subset], k=3)
    assert_allclose(top_part.proba, top_full.proba[subset], rtol=0, atol=1e-12)


@SETTINGS
@given(data=hierarchical_data(), k=st.integers(1, 4))
def test_top_k_is_sorted_and_starts_at_least_as_likely_as_greedy(data, k):
    X, Y = data
    clf = fit(X, Y)
    top = clf.predict_top_k(X, k=k)
    proba = np.nan_to_num(top.proba, nan=-1.0)
    assert np.all(np.diff(proba, axis=1) <= 1e-15)
    assert np.all(top.proba[:, 0] >= clf.predict_paths(X).path_proba - 1e-9)
    assert np.nansum(top.proba, axis=1).max() <= 1 + 1e-9


@SETTINGS
@given(data=hierarchical_data(ragged=False))
def test_top_k_matches_brute_force_on_leaves(data):
    X, Y = data
    clf = fit(X, Y)
    n_leaves = len({tuple(row) for row in Y.tolist()})
    top = clf.predict_top_k(X, k=n_leaves)
    # Every complete path found, in descending order, covering all probability.
    assert_allclose(np.nansum(top.proba, axis=1), 1.0)
    assert np.all(np.isfinite(top.proba))


@SETTINGS
@given(data=hierarchical_data())
def test_best_path_decoding_is_the_top_path_and_never_less_likely_than_greedy(data):
    X, Y = data
    greedy = fit(X, Y).predict_paths(X)
    clf = fit(X, Y, decoding="best_path")
    best = clf.predict_paths(X)
    top = clf.predict_top_k(X, k=1)
    assert_allclose(best.path_proba, top.proba[:, 0], rtol=1e-12)
    assert np.all(best.path_proba >= greedy.path_proba - 1e-12)
    labels = np.where(top.labels[:, 0, :] == None, None, top.labels[:, 0, :])  # noqa: E711
    assert_array_equal(best.labels.astype(object), labels)
    # Node probabilities are products down the path: they never grow with depth.
    deeper = np.nan_to_num(best.level_proba[:, 1:], nan=0.0)
    assert np.all(deeper <= np.nan_to_num(best.level_proba[:, :-1], nan=0.0) + 1e-12)
