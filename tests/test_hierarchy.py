"""Hierarchy: building, encoding, and the errors of user-given trees."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal

from hiercls import Hierarchy, HierarchyError
from hiercls.hierarchy import read_label_paths


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
