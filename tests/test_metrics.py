import copy

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, f1_score

from hiercls.exceptions import HierarchyError
from hiercls.hierarchy import Hierarchy, read_label_paths
from hiercls.metrics import (
    calibration_by_level,
    evaluate,
    expected_calibration_error,
    hierarchical_f1,
    hierarchical_precision_recall_f1,
    leaf_accuracy,
    per_class_table,
    per_level_accuracy,
    per_level_macro_f1,
    reliability_table,
)


def _row(table, path):
    rows = table[table["path"] == path]
    assert len(rows) == 1, path
    return rows.iloc[0]


# --------------------------------------------------------------------------- exact numbers


def test_wrong_parent_with_same_named_child_earns_no_credit():
    Y_true = [["A", "Other"], ["B", "x"], ["B", "Other"]]
    Y_pred = [["B", "Other"], ["B", "x"], ["B", "Other"]]
    scores = evaluate(Y_true, Y_pred)
    # Row 0: T = {A, A/Other}, P = {B, B/Other}: nothing shared, although both end in
    # "Other". Rows 1 and 2 share both nodes. sum|T & P| = 4, sum|T| = sum|P| = 6.
    assert scores.hierarchical_precision == pytest.approx(4 / 6)
    assert scores.hierarchical_recall == pytest.approx(4 / 6)
    assert scores.hierarchical_f1 == pytest.approx(4 / 6)
    assert scores.leaf_accuracy == pytest.approx(2 / 3)
    assert scores.per_level["accuracy"].tolist() == pytest.approx([2 / 3, 2 / 3])

    table = scores.per_class
    assert table["path"].tolist() == ["A", "B", "A / Other", "B / Other", "B / x"]
    a_other = _row(table, "A / Other")
    assert (a_other["class"], a_other["test_support"], a_other["n_predicted"]) == ("Other", 1, 0)
    assert a_other["recall"] == 0.0
    assert np.isnan(a_other["precision"])
    # B/Other is predicted twice (rows 0 and 2) but right once: the "Other" of row 0
    # belongs to A. With bare labels it would have precision 1.
    b_other = _row(table, "B / Other")
    assert (b_other["precision"], b_other["recall"]) == (0.5, 1.0)
    assert b_other["f1"] == pytest.approx(2 / 3)  # 2 * 1 / (1 + 2)
    # Level 1 macro F1 = (F1(A/Other) + F1(B/Other) + F1(B/x)) / 3 = (0 + 2/3 + 1) / 3.
    # Level 0: F1(A) = 0, F1(B) = 2 * 2 / (2 + 3) = 0.8.
    assert scores.per_level["macro_f1"].tolist() == pytest.approx([0.4, 5 / 9])


def test_predictions_that_stop_at_an_internal_node():
    Y_true = [["A", "x", "1"], ["A", "x", "2"], ["B", "y", "3"]]
    Y_pred = [["A", "x", None], ["A", None, None], ["B", "y", "3"]]
    # Level 1: row 1 stopped above it, so it is wrong; level 2: rows 0 and 1 stopped.
    assert per_level_accuracy(Y_true, Y_pred).tolist() == pytest.approx([1.0, 2 / 3, 1 / 3])
    # sum|T| = 9, sum|P| = 2 + 1 + 3 = 6, every predicted node is right: hP = 1, hR = 6/9.
    precision, recall, f1 = hierarchical_precision_recall_f1(Y_true, Y_pred)
    assert (precision, recall) == pytest.approx((1.0, 2 / 3))
    assert f1 == pytest.approx(0.8)  # 2 * 1 * 2/3 / (1 + 2/3)
    assert leaf_accuracy(Y_true, Y_pred) == pytest.approx(1 / 3)
    table = per_class_table(Y_true, Y_pred)
    assert _row(table, "A / x / 1")["n_predicted"] == 0
    assert _row(table, "A / x")[["test_support", "n_predicted", "n_correct"]].tolist() == [2, 1, 1]


def test_ragged_truth_excludes_rows_from_deeper_levels():
    Y_true = [["A", "x"], ["A", None], ["B", "y"]]
    Y_pred = [["A", "x"], ["A", "x"], ["B", ""]]
    scores = evaluate(Y_true, Y_pred)
    # Level 1 holds rows 0 and 2 only: row 0 right, row 2 stopped (""): 1/2.
    assert scores.per_level["accuracy"].tolist() == pytest.approx([1.0, 0.5])
    assert scores.per_level["n_rows"].tolist() == [3, 2]
    # Row 1 predicts A/x below a truth that ends at A: a node in P, not in T.
    # sum|T| = 2 + 1 + 2 = 5, sum|P| = 2 + 2 + 1 = 5, sum|T & P| = 2 + 1 + 1 = 4.
    assert scores.hierarchical_precision == pytest.approx(0.8)
    assert scores.hierarchical_recall == pytest.approx(0.8)
    # Exact path: only row 0; row 1 went deeper than its truth.
    assert scores.leaf_accuracy == pytest.approx(1 / 3)
    a_x = _row(scores.per_class, "A / x")
    assert (a_x["test_support"], a_x["n_predicted"], a_x["precision"]) == (1, 2, 0.5)


def test_int_labels_keep_their_type():
    Y_true = np.array([[1, 10], [1, 11], [2, 10]])
    Y_pred = np.array([[1, 10], [2, 10], [2, 10]])
    scores = evaluate(Y_true, Y_pred)
    # Level 1: row 1 predicts (2, 10) for the truth (1, 11): wrong parent and child.
    assert scores.per_level["accuracy"].tolist() == pytest.approx([2 / 3, 2 / 3])
    table = scores.per_class
    assert table["path"].tolist() == ["1", "2", "1 / 10", "1 / 11", "2 / 10"]
    assert all(type(label) is int for label in table["class"])
    assert _row(table, "2 / 10")["precision"] == 0.5


def test_dataframe_with_missing_int_labels_keeps_ints_and_level_names():
    # pandas turns an int column with a missing value into floats.
    Y_true = pd.DataFrame({"family": [1, 1, 2], "genus": [10, 11, 20]})
    Y_pred = pd.DataFrame({"family": [1, 1, 2], "genus": [10, np.nan, 20]})
    table = per_class_table(Y_true, Y_pred)
    assert table["level"].unique().tolist() == ["family", "genus"]
    assert table["path"].tolist() == ["1", "2", "1 / 10", "1 / 11", "2 / 20"]
    assert per_level_accuracy(Y_true, Y_pred).to_dict() == pytest.approx({"family": 1.0, "genus": 2 / 3})
    renamed = per_level_accuracy(Y_true, Y_pred, levels=["top", "bottom"])
    assert renamed.index.tolist() == ["top", "bottom"]
    assert per_level_accuracy(Y_true.to_numpy(), Y_pred.to_numpy()).index.tolist() == [
        "level0",
        "level1",
    ]


def test_lists_of_paths_of_different_lengths_are_padded():
    Y_true = [["A", "x"], ["A"], ["B", "y"]]
    Y_pred = [["A", "x"], ["A", "x"], ["B"]]
    assert per_level_accuracy(Y_true, Y_pred).tolist() == pytest.approx([1.0, 0.5])


def test_one_level_matches_scikit_learn():
    y_true = ["a", "b", "a", "c", "c", "b"]
    y_pred = ["a", "a", "a", "c", "b", "b"]
    assert per_level_accuracy(y_true, y_pred).tolist() == [accuracy_score(y_true, y_pred)]
    assert per_level_macro_f1(y_true, y_pred).iloc[0] == pytest.approx(
        f1_score(y_true, y_pred, average="macro")
    )
    # One level: hierarchical scores are plain accuracy.
    assert hierarchical_f1(y_true, y_pred) == pytest.approx(4 / 6)
    assert leaf_accuracy(y_true, y_pred) == pytest.approx(4 / 6)


def test_training_support_and_hierarchy_argument():
    Y_train = [["A", "x"]] * 3 + [["B", "z"]]
    Y_true = [["A", "x"], ["A", "x"], ["A", "x"]]
    Y_pred = [["A", "x"], ["B", "z"], ["A", "x"]]
    table = per_class_table(Y_true, Y_pred, Y_train=Y_train)
    assert table[["path", "train_support", "test_support", "n_predicted"]].values.tolist() == [
        ["A", 3, 3, 2],
        ["B", 1, 0, 1],
        ["A / x", 3, 3, 2],
        ["B / z", 1, 0, 1],
    ]
    assert np.isnan(_row(table, "B / z")["recall"])
    assert _row(table, "B / z")["f1"] == 0.0
    # Without a tree, (B, z), absent from Y_true, is simply a wrong prediction; with
    # one (hierarchy=, Y_train=), a predicted path must belong to it.
    assert per_level_accuracy(Y_true, Y_pred).tolist() == pytest.approx([2 / 3, 2 / 3])
    accuracy = per_level_accuracy(Y_true, Y_pred, hierarchy={("B", "z"), ("A", "x")})
    assert accuracy.tolist() == pytest.approx([2 / 3, 2 / 3])
    with pytest.raises(HierarchyError, match=r"\('B',\) at level 'level0'"):
        per_level_accuracy(Y_true, Y_pred, hierarchy={("A", "x")})
    # A hierarchy given as paths of different lengths: ("B",) alone is not enough for (B, z).
    with pytest.raises(HierarchyError, match=r"\('B', 'z'\) at level 'level1'"):
        per_level_accuracy(Y_true, Y_pred, hierarchy=[("B",)])


def test_no_training_data_gives_missing_training_support():
    table = per_class_table([["A"], ["B"], ["A"]], [["A"], ["A"], ["A"]])
    assert table["train_support"].isna().all()
    assert table["test_support"].tolist() == [2, 1]


# --------------------------------------------------------------------------- bad input

GOOD_TRUE = [["A", "x"], ["A", "y"], ["B", "z"]]
GOOD_PRED = [["A", "x"], ["A", "x"], ["B", "z"]]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"Y_pred": GOOD_PRED[:2]},
            ValueError,
            r"Y_true has 3 rows but Y_pred has 2",
        ),
        (
            {"Y_pred": [["A", "x", "1"], ["A", "x", "1"], ["B", "z", "1"]]},
            ValueError,
            r"Y_true has 2 levels but Y_pred has 3",
        ),
        (
            {"Y_train": [["A"], ["B"]]},
            ValueError,
            r"Y_true has 2 levels but Y_train has 1",
        ),
        (
            {"Y_pred": [["A", "x"], ["A", "q"], ["B", "z"]], "Y_train": GOOD_TRUE},
            HierarchyError,
            r"Y_pred row 1 predicts the path \('A', 'q'\) at level 'level1'.*does not know",
        ),
        (
            {"Y_pred": [["C", None], ["A", "x"], ["B", "z"]], "Y_train": GOOD_TRUE},
            HierarchyError,
            r"Y_pred row 0 predicts the path \('C',\) at level 'level0'",
        ),
        (
            {"Y_pred": [["A", "z"], ["A", "x"], ["B", "z"]], "Y_train": GOOD_TRUE},
            HierarchyError,
            r"\('A', 'z'\) at level 'level1'",
        ),
        ({"Y_true": [], "Y_pred": []}, ValueError, r"Y_true is empty: it has 0 rows"),
        ({"Y_pred": np.empty((0, 2))}, ValueError, r"Y_pred is empty"),
        ({"Y_true": np.empty((3, 0))}, ValueError, r"Y_true has 0 levels"),
        (
            {"Y_true": [["A", "x"], [None, "y"], ["B", "z"]]},
            HierarchyError,
            r"Y_true row 1 has a gap: no label at level 'level0' but 'y' at level 'level1'",
        ),
        (
            {"Y_pred": [["A", "x"], ["", "x"], ["B", "z"]]},
            HierarchyError,
            r"Y_pred row 1 has a gap",
        ),
        (
            {"Y_true": [["A", "x"], [None, None], ["B", "z"]]},
            HierarchyError,
            r"Y_true row 1 has no label at level 'level0'",
        ),
        (
            {"Y_true": np.zeros((3, 2, 2))},
            ValueError,
            r"Y_true must be 1-D .* or 2-D .*shape \(3, 2, 2\)",
        ),
        ({"Y_true": "A"}, ValueError, r"Y_true must be a 1-D or 2-D array-like"),
        (
            {"levels": ["only_one"]},
            ValueError,
            r"levels has 1 names \['only_one'\] but Y_true has 2 levels",
        ),
        ({"levels": ["a", "a"]}, ValueError, r"levels must be distinct names"),
    ],
)
def test_evaluate_bad_input(kwargs, error, message):
    arguments = {"Y_true": GOOD_TRUE, "Y_pred": GOOD_PRED, **kwargs}
    before = copy.deepcopy(arguments)
    with pytest.raises(error, match=message):
        evaluate(**arguments)
    for name, value in arguments.items():
        np.testing.assert_array_equal(np.asarray(value, dtype=object), before[name])


# --------------------------------------------------------------------------- calibration


def test_expected_calibration_error_by_hand():
    y_true = ["a", "b", "b", "a", None]
    proba = np.array([[0.9, 0.1], [0.15, 0.85], [0.65, 0.35], [0.3, 0.7], [1.0, 0.0]])
    # Five bins of width 0.2; the last row has no truth and is left out.
    # Bin [0.8, 1): rows 0, 1, both right, confidences 0.9 and 0.85.
    # Bin [0.6, 0.8): rows 2, 3, both wrong, confidences 0.65 and 0.7.
    # ECE = (2/4) |1 - 0.875| + (2/4) |0 - 0.675| = 0.0625 + 0.3375 = 0.4
    assert expected_calibration_error(y_true, proba, ["a", "b"], n_bins=5) == pytest.approx(0.4)
    table = reliability_table(y_true, proba, ["a", "b"], n_bins=5)
    assert table["n_rows"].tolist() == [0, 0, 0, 2, 2]
    assert table["accuracy"].tolist()[3:] == [0.0, 1.0]
    assert table["mean_confidence"].tolist()[3:] == pytest.approx([0.675, 0.875])
    assert table["bin_upper"].tolist() == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])


def test_calibration_of_a_perfect_confident_model_is_zero():
    y_true = np.array([2, 0, 1, 1])
    proba = np.eye(3)[y_true]
    assert expected_calibration_error(y_true, proba, [0, 1, 2]) == 0.0


def test_calibration_by_level_excludes_rows_that_end_early():
    Y_true = pd.DataFrame({"family": ["A", "A", "B"], "genus": ["x", None, "y"]})
    proba = [
        np.array([[0.9, 0.1], [0.9, 0.1], [0.2, 0.8]]),
        np.array([[0.6, 0.4], [0.0, 1.0], [0.7, 0.3]]),
    ]
    calibration = calibration_by_level(Y_true, proba, [["A", "B"], ["x", "y"]], n_bins=10)
    summary = calibration.summary
    assert summary.index.tolist() == ["family", "genus"]
    assert summary["n_rows"].tolist() == [3, 2]
    # family: all right, confidences 0.9, 0.9, 0.8 -> |1 - 0.9| * 2/3 + |1 - 0.8| / 3
    # genus: row 0 right at 0.6, row 2 wrong at 0.7 (row 1 has no genus)
    #   -> |1 - 0.6| / 2 + |0 - 0.7| / 2 = 0.55
    assert summary["ece"].tolist() == pytest.approx([0.2 / 3 + 0.2 / 3, 0.55])
    assert summary["accuracy"].tolist() == pytest.approx([1.0, 0.5])
    assert calibration.bins["level"].value_counts().to_dict() == {"family": 10, "genus": 10}


def test_calibration_of_one_level_accepts_a_2d_array():
    calibration = calibration_by_level(["a", "b"], np.array([[0.7, 0.3], [0.4, 0.6]]), ["a", "b"])
    assert calibration.summary["ece"].tolist() == pytest.approx([0.35])


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((["a", "b"], [[0.5, 0.5]], ["a", "b"]), {}, r"shape \(1, 2\) but must be .*\(2, 2\)"),
        ((["a", "b"], [[0.5, 0.5]] * 2, ["a", "b", "c"]), {}, r"\(n_samples, n_classes\)"),
        ((["a", "b"], [[1.5, 0.5]] * 2, ["a", "b"]), {}, r"must lie in \[0, 1\]"),
        ((["a", "b"], [[0.5, 0.5]] * 2, ["a", "a"]), {}, r"classes must be distinct"),
        ((["a", "b"], [[0.5, 0.5]] * 2, ["x", "y"]), {}, r"No true label is among the classes"),
        (
            (["a", "b"], [[0.5, 0.5]] * 2, ["a", "b"]),
            {"n_bins": 0},
            r"'n_bins' .* an int in the range \[1, inf\)",
        ),
        (([], [], ["a"]), {}, r"non-empty 1-D array"),
    ],
)
def test_expected_calibration_error_bad_input(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        expected_calibration_error(*args, **kwargs)


def test_calibration_by_level_bad_input():
    Y_true = [["A", "x"], ["B", "y"]]
    with pytest.raises(ValueError, match=r"Y_true has 2 levels but got 1 probability arrays"):
        calibration_by_level(Y_true, [np.full((2, 2), 0.5)], [["A", "B"]])
    with pytest.raises(ValueError, match=r"at level 'level1' have shape \(2, 3\)"):
        calibration_by_level(Y_true, [np.full((2, 2), 0.5), np.full((2, 3), 0.3)], [["A", "B"], ["x", "y"]])


# --------------------------------------------------------------------------- properties

ALPHABET = ["a", "b", "c"]


@st.composite
def hierarchies(draw, ragged=True):
    """Leaf paths over a tiny alphabet (same-named children under different parents are
    frequent), and true and predicted rows drawn from them."""
    n_levels = draw(st.integers(1, 3))
    label = st.sampled_from(ALPHABET)
    leaves = draw(st.lists(st.tuples(*[label] * n_levels), min_size=1, max_size=12, unique=True))
    n_rows = draw(st.integers(1, 25))
    rows = st.integers(0, len(leaves) - 1)
    true_rows = draw(st.lists(rows, min_size=n_rows, max_size=n_rows))
    pred_rows = draw(st.lists(rows, min_size=n_rows, max_size=n_rows))
    depth = st.integers(1, n_levels)
    true_depth = draw(st.lists(depth, min_size=n_rows, max_size=n_rows)) if ragged else None
    pred_depth = draw(st.lists(depth, min_size=n_rows, max_size=n_rows))

    def cut(path, keep):
        return list(path[:keep]) + [None] * (n_levels - keep)

    Y_true = [
        cut(leaves[r], n_levels if true_depth is None else true_depth[i]) for i, r in enumerate(true_rows)
    ]
    Y_pred = [cut(leaves[r], pred_depth[i]) for i, r in enumerate(pred_rows)]
    return Y_true, Y_pred, leaves


@settings(max_examples=60, deadline=None)
@given(hierarchies())
def test_perfect_predictions_score_one(data):
    Y_true, _, leaves = data
    scores = evaluate(Y_true, Y_true)
    assert scores.hierarchical_precision == scores.hierarchical_recall == 1.0
    assert scores.hierarchical_f1 == scores.leaf_accuracy == 1.0
    per_level = scores.per_level.dropna(subset=["accuracy"])
    assert (per_level[["accuracy", "macro_recall", "micro_f1", "macro_f1"]] == 1.0).all().all()


@settings(max_examples=60, deadline=None)
@given(hierarchies())
def test_scores_lie_in_the_unit_interval_and_agree_with_scikit_learn(data):
    Y_true, Y_pred, leaves = data
    scores = evaluate(Y_true, Y_pred, hierarchy=leaves)
    overall = [scores.hierarchical_precision, scores.hierarchical_recall, scores.hierarchical_f1]
    assert all(0.0 <= value <= 1.0 for value in overall)
    for j, level in enumerate(scores.levels):
        # Per level, a class is the tuple of labels down to it; a stop is no class.
        reached = [row[j] is not None for row in Y_true]
        y_true = [tuple(row[: j + 1]) for row, keep in zip(Y_true, reached, strict=True) if keep]
        y_pred = [
            tuple(row[: j + 1]) if row[j] is not None else "stop"
            for row, keep in zip(Y_pred, reached, strict=True)
            if keep
        ]
        if not y_true:
            continue
        y_true_s = ["/".join(path) for path in y_true]
        y_pred_s = ["<stop>" if path == "stop" else "/".join(path) for path in y_pred]
        assert scores.per_level.loc[level, "accuracy"] == pytest.approx(accuracy_score(y_true_s, y_pred_s))
        if all(reached):
            # Rows whose truth ends above a level still count as predictions of the
            # node they name, which scikit-learn cannot express: compare the rest.
            labels = sorted(set(y_true_s) | set(y_pred_s) - {"<stop>"})
            assert scores.per_level.loc[level, "macro_f1"] == pytest.approx(
                f1_score(y_true_s, y_pred_s, labels=labels, average="macro", zero_division=0)
            )


@settings(max_examples=60, deadline=None)
@given(hierarchies())
def test_one_number_functions_equal_the_full_evaluation(data):
    # They count straight from the encoded paths, without the per-class table.
    Y_true, Y_pred, leaves = data
    scores = evaluate(Y_true, Y_pred, hierarchy=leaves)
    overall = (scores.hierarchical_precision, scores.hierarchical_recall, scores.hierarchical_f1)
    assert hierarchical_precision_recall_f1(Y_true, Y_pred, hierarchy=leaves) == overall
    assert hierarchical_f1(Y_true, Y_pred, hierarchy=leaves) == scores.hierarchical_f1
    assert leaf_accuracy(Y_true, Y_pred, hierarchy=leaves) == scores.leaf_accuracy
    total = scores.per_class[["n_correct", "test_support", "n_predicted"]].sum()
    if total["n_predicted"]:
        assert scores.hierarchical_precision == total["n_correct"] / total["n_predicted"]
    assert scores.hierarchical_recall == total["n_correct"] / total["test_support"]


@settings(max_examples=60, deadline=None)
@given(hierarchies(ragged=False))
def test_accuracy_does_not_increase_with_depth_without_ragged_truth(data):
    Y_true, Y_pred, leaves = data
    accuracy = per_level_accuracy(Y_true, Y_pred, hierarchy=leaves).to_numpy()
    assert np.all(np.diff(accuracy) <= 1e-12)


def test_hierarchy_object_as_the_known_tree():
    tree, _ = Hierarchy.from_label_paths(read_label_paths([["A", "x"], ["B", "z"]]))
    Y_true = [["A", "x"], ["A", "x"], ["A", "x"]]
    Y_pred = [["A", "x"], ["B", "z"], ["A", "x"]]
    assert per_level_accuracy(Y_true, Y_pred, hierarchy=tree).tolist() == pytest.approx([2 / 3, 2 / 3])
    with pytest.raises(HierarchyError, match=r"\('B', 'y'\) at level 'level1'"):
        per_level_accuracy(Y_true, [["A", "x"], ["B", "y"], ["A", "x"]], hierarchy=tree)
