"""Hierarchy: building, encoding, and the errors of user-given trees."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from numpy.testing import assert_array_equal
from strategies import hierarchical_data

from hiercls import HierarchicalClassifier, Hierarchy, HierarchyError
from hiercls.datasets import train_test_split_hierarchical
from hiercls.hierarchy import as_python, read_label_paths
from hiercls.metrics import per_class_table


def test_inferred_tree_numbers_nodes_level_by_level_with_contiguous_children():
    Y = [["b", "x"], ["a", "y"], ["a", "x"], ["b", "x"]]
    tree, codes = Hierarchy.from_label_paths(read_label_paths(Y))
    assert [list(labels) for labels in tree.level_labels] == [["a", "b"], ["x", "y"]]
    # root 0; level 0: a=1, b=2; level 1 sorted by (parent, label): a/x=3, a/y=4, b/x=5
    assert_array_equal(tree.parent, [-1, 0, 0, 1, 1, 2])
    assert_array_equal(tree.depth, [0, 1, 1, 2, 2, 2])
    assert_array_equal(codes, [[2, 5], [1, 4], [1, 3], [2, 5]])
    assert_array_equal(tree.children(1), [3, 4])
    assert_array_equal(tree.n_children, [2, 2, 1, 0, 0, 0])
    assert tree.node_path(5) == ("b", "x")
    assert_array_equal(tree.ancestors(np.array([5, 1, -1])), [[2, 5], [1, -1], [-1, -1]])


def test_encode_with_explicit_tree_matches_inferred_codes():
    Y = [["a", "x"], ["b", "z"], ["a", "y"]]
    tree = Hierarchy.from_edges([("a", "x"), ("a", "y"), ("b", "z")])
    inferred, codes = Hierarchy.from_label_paths(read_label_paths(Y))
    assert_array_equal(tree.encode(read_label_paths(Y)), codes)
    assert tree == inferred
    assert tree.fingerprint() == inferred.fingerprint()


def test_ragged_paths_and_missing_markers():
    Y = pd.DataFrame({"l0": ["a", "a", "b"], "l1": ["x", None, ""], "l2": [np.nan, None, None]})
    paths = read_label_paths(Y.iloc[:, :2])
    assert paths.level_names == ("l0", "l1")
    assert_array_equal(paths.missing, [[False, False], [False, True], [False, True]])
    with pytest.raises(HierarchyError, match="Level 'l2' of Y is empty in every row"):
        read_label_paths(Y)


def test_mapping_is_a_parent_column():
    tree = Hierarchy.from_edges({"dog": "animal", "oak": "plant", "animal": "life", "plant": "life"})
    assert tree.n_levels == 3
    assert tree.node_path(tree.n_nodes - 1) == ("life", "plant", "oak")


def test_int_labels_keep_their_type():
    tree = Hierarchy.from_edges([(1, 10), (1, 11), (2, 20)])
    assert tree.level_labels[1].dtype.kind == "i"
    _, codes = Hierarchy.from_label_paths(read_label_paths(np.array([[1, 10], [2, 20]])))
    assert codes.shape == (2, 2)


@pytest.mark.parametrize(
    ("edges", "message"),
    [
        ([("a", "x"), ("b", "x")], "'x' is listed under two parents, 'a' and 'b'"),
        ([("a", "b"), ("b", "a")], "cycle through node 'a'"),
        ([("a", "a")], "its own parent"),
        ([], "no edges"),
        ([("a", "b", "c")], r"must be a \(parent, child\) pair"),
    ],
)
def test_bad_edges(edges, message):
    with pytest.raises(HierarchyError, match=message):
        Hierarchy.from_edges(edges)


def test_encode_rejects_paths_that_contradict_the_tree():
    tree = Hierarchy.from_edges([("a", "x"), ("b", "y")])
    with pytest.raises(HierarchyError, match="places 'y' .* under 'a', .* under 'b'"):
        tree.encode(read_label_paths([["a", "x"], ["a", "y"]]))
    with pytest.raises(HierarchyError, match="has 3 levels but the hierarchy has only 2"):
        tree.encode(read_label_paths([["a", "x", "q"]]))


# ------------------------------------------------ one parser for every entry point
# The same label paths in the forms users give them: the estimator, the metrics and the
# split must all read them as the same labels, of the same Python type.
PATHS = [(1, 10), (1, 11), (2,), (2, 20), (2, "x")]


def _forms(paths):
    rows = [list(path) for path in paths]
    width = max(len(row) for row in rows)
    padded = [row + [None] * (width - len(row)) for row in rows]
    object_array = np.empty((len(rows), width), dtype=object)
    object_array[:] = padded
    forms = {
        "ragged lists": rows,
        "padded lists": padded,
        "object array": object_array,
        "DataFrame with NaN tails": pd.DataFrame(padded, columns=[f"depth{j}" for j in range(width)]),
    }
    # Floats holding int labels only because NaN needs them; a float array without NaN
    # is float labels.
    if all(isinstance(v, int) for row in rows for v in row) and len(set(map(len, rows))) > 1:
        forms["float array with NaN"] = np.array(
            [[np.nan if v is None else v for v in row] for row in padded], dtype=float
        )
    return forms


def _as_tuples(paths):
    """Each row's labels as plain Python values, up to where the path ends."""
    return [
        tuple(as_python(column[i]) for column, missing in zip(paths.columns, paths.missing[i], strict=True)
              if not missing)
        for i in range(paths.n_samples)
    ]


def _typed(rows):
    return [tuple((type(v), v) for v in row) for row in rows]


INT_PATHS = [(1, 10), (1, 11), (2,), (2, 20)]


@pytest.mark.parametrize("paths", [PATHS, INT_PATHS], ids=["int and str", "int with NaN"])
def test_every_form_of_a_target_reads_as_the_same_paths(paths):
    for name, Y in _forms(paths).items():
        assert _typed(_as_tuples(read_label_paths(Y))) == _typed(paths), name


@pytest.mark.parametrize("form", list(_forms(INT_PATHS)) + ["int and str"])
def test_fit_predict_metrics_and_split_read_a_target_alike(form):
    paths = PATHS if form == "int and str" else INT_PATHS
    Y = _forms(paths)["ragged lists" if form == "int and str" else form]
    rows_per_path = 4
    Y = (pd.concat([Y] * rows_per_path, ignore_index=True) if isinstance(Y, pd.DataFrame)
         else np.concatenate([Y] * rows_per_path) if isinstance(Y, np.ndarray)
         else Y * rows_per_path)
    expected = _typed(list(paths) * rows_per_path)
    X = np.tile(np.eye(len(paths)) * 10, (rows_per_path, 1))

    predicted = HierarchicalClassifier().fit(X, Y).predict(X)
    assert _typed(_as_tuples(read_label_paths(predicted))) == expected

    table = per_class_table(Y, predicted)
    assert {(row.level, type(row["class"]), row["class"]) for _, row in table.iterrows()} == {
        (f"level{j}" if not isinstance(Y, pd.DataFrame) else Y.columns[j], type(v), v)
        for path in paths for j, v in enumerate(path)
    }
    assert (table["recall"] == 1.0).all()

    # Stratified by full path: each of the distinct paths, the short (2,) included,
    # goes to the test set once.
    _, _, _, Y_test = train_test_split_hierarchical(
        X, Y, test_size=len(paths) / len(X), random_state=0
    )
    assert sorted(map(str, _as_tuples(read_label_paths(Y_test)))) == sorted(map(str, paths))


@settings(max_examples=25, deadline=None)
@given(data=hierarchical_data())
def test_lists_frames_and_arrays_of_random_paths_read_alike(data):
    _, Y = data
    paths = [tuple(v for v in row if v is not None) for row in Y.tolist()]
    for name, form in _forms(paths).items():
        assert _typed(_as_tuples(read_label_paths(form, check_paths=False))) == _typed(paths), name
    table = per_class_table(_forms(paths)["DataFrame with NaN tails"], Y)
    assert table["recall"].eq(1.0).all()
    assert table["precision"].eq(1.0).all()
