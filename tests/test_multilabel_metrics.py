import copy
import math
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import ndcg_score
from sklearn.preprocessing import MultiLabelBinarizer

from hiercls.exceptions import HierarchyError
from hiercls.multilabel_metrics import (
    LabelPropensities,
    label_propensities,
    multilabel_hierarchical_f1,
    multilabel_hierarchical_precision_recall_f1,
    ndcg_at_k,
    precision_at_k,
    propensity_scored_precision_at_k,
    recall_at_k,
    support_bucket_report,
)


def as_matrix(Y, columns=None, scores=False):
    """The (sparse matrix, paths) form of a list of rows of paths.

    ``columns`` fixes the column order; with ``scores`` each row's paths get decreasing
    scores in their ranked order.
    """
    Y = [[tuple(path) for path in row] for row in Y]
    if columns is None:
        columns = sorted({path for row in Y for path in row}, key=repr, reverse=True)
    index = {path: j for j, path in enumerate(columns)}
    matrix = sp.lil_matrix((len(Y), len(columns)))
    for i, row in enumerate(Y):
        for rank, path in enumerate(row):
            matrix[i, index[path]] = len(row) - rank if scores else 1
    return matrix.tocsr(), list(columns)


# --------------------------------------------------------------------------- set-based, by hand

HAND_TRUE = [
    [("J", "J45", "J45.9"), ("E", "E11")],
    [("I", "I10")],
    [("X", "J45"), ("J",)],
]
HAND_PRED = [
    [("J", "J45"), ("E", "E10")],
    [],
    [("J", "J45")],
]
# Row 0: T = {J, J/J45, J/J45/J45.9, E, E/E11} (5), P = {J, J/J45, E, E/E10} (4), T & P = {J, J/J45, E} (3).
# Row 1: T = {I, I/I10} (2), P = {} (0), T & P = {} (0).
# Row 2: T = {X, X/J45, J} (3), P = {J, J/J45} (2), T & P = {J} (1): J/J45 is not X/J45.
# Micro: sum|T| = 10, sum|P| = 6, sum|T & P| = 4.


def test_micro_set_based_scores_by_hand():
    precision, recall, f1 = multilabel_hierarchical_precision_recall_f1(HAND_TRUE, HAND_PRED)
    assert precision == pytest.approx(4 / 6)
    assert recall == pytest.approx(4 / 10)
    assert f1 == pytest.approx(2 * 4 / (10 + 6))  # = harmonic mean of 2/3 and 2/5 = 0.5
    assert multilabel_hierarchical_f1(HAND_TRUE, HAND_PRED) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("zero_division", "precision"),
    [
        (0.0, (3 / 4 + 0 + 1 / 2) / 3),
        (1.0, (3 / 4 + 1 + 1 / 2) / 3),
        (np.nan, (3 / 4 + 1 / 2) / 2),  # row 1 is left out of the average
    ],
)
def test_example_based_set_scores_by_hand(zero_division, precision):
    scores = multilabel_hierarchical_precision_recall_f1(
        HAND_TRUE, HAND_PRED, average="samples", zero_division=zero_division
    )
    # Recall per row: 3/5, 0/2, 1/3. F1 per row = 2|T & P| / (|T| + |P|): 6/9, 0/2, 2/5.
    assert scores == pytest.approx((precision, (3 / 5 + 0 + 1 / 3) / 3, (6 / 9 + 0 + 2 / 5) / 3))


def test_empty_prediction_warns_as_scikit_learn_does():
    with pytest.warns(UndefinedMetricWarning, match=r"1 rows of Y_pred have no path") as record:
        precision, _, _ = multilabel_hierarchical_precision_recall_f1(HAND_TRUE, HAND_PRED, average="samples")
    assert record[0].filename == __file__  # the warning points at the caller
    assert precision == pytest.approx((3 / 4 + 0 + 1 / 2) / 3)
    nothing = [[], [], []]
    with pytest.warns(UndefinedMetricWarning, match=r"Y_pred has no path in any row"):
        assert multilabel_hierarchical_precision_recall_f1(HAND_TRUE, nothing) == (0.0, 0.0, 0.0)
    assert multilabel_hierarchical_precision_recall_f1(HAND_TRUE, nothing, zero_division=1.0)[0] == 1.0
    precision, _, _ = multilabel_hierarchical_precision_recall_f1(HAND_TRUE, nothing, zero_division=np.nan)
    assert math.isnan(precision)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # F1 is defined, so asking for it alone does not warn
        assert multilabel_hierarchical_f1(HAND_TRUE, nothing) == 0.0


def test_paths_ending_early_duplicates_and_shared_prefixes():
    # trailing missing labels end a path; an all-missing path is an empty slot; a path
    # given twice, or a node shared by two paths, counts once
    Y_true = [[("A", "x", None), ("A", "y", ""), (None, None)]]
    Y_pred = [[["A", "x", float("nan")], ("A", "x"), np.array(["A", "z"], dtype=object)]]
    # T = {A, A/x, A/y} (3), P = {A, A/x, A/z} (3), T & P = {A, A/x} (2)
    assert multilabel_hierarchical_precision_recall_f1(Y_true, Y_pred) == pytest.approx((2 / 3, 2 / 3, 2 / 3))


def test_int_and_str_labels_are_different_nodes():
    Y_true = [[(1, 10)], [("1", "10")]]
    Y_pred = [[("1", "10")], [("1", "10")]]
    assert multilabel_hierarchical_precision_recall_f1(Y_true, Y_pred) == pytest.approx((0.5, 0.5, 0.5))


# --------------------------------------------------------------------------- ranking, by hand

RANK_TRUE = [[("a", "x"), ("b",), ("c", "z", "1")], [("a", "y")]]
RANK_RANKED = [[("b",), ("a", "y"), ("c", "z"), ("a", "x")], [("a", "x"), ("a", "y")]]
# Row 0 hits at ranks 1 (b) and 4 (a/x); ("c", "z") is a prefix of a true path, not a
# true path, so it misses. Row 1 hits at rank 2. |T| = 3 and 1.
D2, D3, D4 = 1 / math.log2(3), 1 / math.log2(4), 1 / math.log2(5)  # discounts of ranks 2, 3, 4


@pytest.mark.parametrize(
    ("k", "precision", "recall", "ndcg"),
    [
        # k=1: row 0 hits, row 1 misses; IDCG@1 = 1 in both rows
        (1, (1 + 0) / 2, (1 / 3 + 0) / 2, (1 + 0) / 2),
        # k=3: one hit in each row; IDCG@3 = 1 + D2 + D3 for row 0, 1 for row 1
        (3, (1 / 3 + 1 / 3) / 2, (1 / 3 + 1) / 2, (1 / (1 + D2 + D3) + D2) / 2),
        # k=4: row 0 hits b and a/x; row 1 ranks only 2 paths, still divided by 4;
        # IDCG@4 of row 0 stops at |T| = 3 terms
        (4, (2 / 4 + 1 / 4) / 2, (2 / 3 + 1) / 2, ((1 + D4) / (1 + D2 + D3) + D2) / 2),
        # k beyond every ranking changes nothing but P@k's denominator
        (10, (2 / 10 + 1 / 10) / 2, (2 / 3 + 1) / 2, ((1 + D4) / (1 + D2 + D3) + D2) / 2),
    ],
)
def test_ranking_metrics_by_hand(k, precision, recall, ndcg):
    assert precision_at_k(RANK_TRUE, RANK_RANKED, k=k) == pytest.approx(precision)
    assert recall_at_k(RANK_TRUE, RANK_RANKED, k=k) == pytest.approx(recall)
    assert ndcg_at_k(RANK_TRUE, RANK_RANKED, k=k) == pytest.approx(ndcg)


def test_ranking_accepts_the_padded_top_k_array():
    # predict_top_k's labels: (n_samples, k, n_levels), None below a path's end and in
    # an empty slot
    labels = np.array(
        [
            [["b", None, None], ["a", "y", None], ["c", "z", None], ["a", "x", None]],
            [["a", "x", None], ["a", "y", None], [None, None, None], [None, None, None]],
        ],
        dtype=object,
    )
    for k in (1, 3, 4):
        assert precision_at_k(RANK_TRUE, labels, k=k) == precision_at_k(RANK_TRUE, RANK_RANKED, k=k)
        assert ndcg_at_k(RANK_TRUE, labels, k=k) == ndcg_at_k(RANK_TRUE, RANK_RANKED, k=k)


def test_ndcg_matches_scikit_learn_under_binary_relevance():
    # scikit-learn ranks every column by its score and takes the ideal DCG over the
    # sorted true relevances, which for 0/1 relevance is min(k, |T|) ones: the same
    # definition, as long as every row ranks at least k paths without ties.
    rng = np.random.default_rng(0)
    paths = [("a", str(j)) for j in range(6)] + [("b",), ("c", "z")]
    relevance = (rng.random((20, len(paths))) < 0.3).astype(int)
    relevance[relevance.sum(axis=1) == 0, 0] = 1
    scores = rng.random((20, len(paths))) + 0.01
    Y_true = (sp.csr_matrix(relevance), paths)
    Y_ranked = (sp.csr_matrix(scores), paths)
    for k in (1, 3, 5, len(paths)):
        assert ndcg_at_k(Y_true, Y_ranked, k=k) == pytest.approx(ndcg_score(relevance, scores, k=k))
        # the dense forms rank every column, as scikit-learn does
        assert ndcg_at_k((relevance, paths), (scores, paths), k=k) == pytest.approx(
            ndcg_score(relevance, scores, k=k)
        )
    # where they part: a sparse row ranking fewer than k paths. hiercls counts the
    # unranked true path (column 0) as missed at rank 2; scikit-learn ranks every
    # column, and gives rank 2 the mean gain of the tied columns 0 and 2, 1/2.
    relevance, scores = np.array([[1, 1, 0]]), np.array([[0.0, 0.9, 0.0]])
    ideal = 1 + 1 / math.log2(3)
    assert ndcg_at_k((relevance, paths[:3]), (sp.csr_matrix(scores), paths[:3]), k=2) == pytest.approx(
        1 / ideal
    )
    assert ndcg_score(relevance, scores, k=2) == pytest.approx((1 + 0.5 / math.log2(3)) / ideal)


def test_dense_matrices_and_multilabel_binarizer():
    binarizer = MultiLabelBinarizer()
    indicator = binarizer.fit_transform(RANK_TRUE)
    paths = list(binarizer.classes_)
    assert recall_at_k((indicator, paths), RANK_RANKED, k=3) == recall_at_k(RANK_TRUE, RANK_RANKED, k=3)
    # a dense score matrix ranks every column, those scored 0 last
    scores = np.zeros((2, len(paths)))
    scores[0, paths.index(("b",))] = 2.0
    scores[1, paths.index(("a", "y"))] = 1.0
    # columns a/x, a/y, b, c/z/1. Row 0: b (hit), then the zeros by column: a/x (hit),
    # a/y (miss). Row 1: a/y (hit), a/x, b (misses).
    assert paths == [("a", "x"), ("a", "y"), ("b",), ("c", "z", "1")]
    assert precision_at_k(RANK_TRUE, (scores, paths), k=3) == pytest.approx((2 / 3 + 1 / 3) / 2)


# --------------------------------------------------------------------------- propensity

PSP_TRAIN = [[("a",)]] * 8 + [[("a",), ("b",)], [("c",)]]
# N = 10; N_a = 9, N_b = 1, N_c = 1, and d is unseen (N_d = 0).
# C = (ln 10 - 1) * 2.5 ** 0.55 = 1.302585 * 1.655276 = 2.156121
# 1/p = 1 + C * (N_l + 1.5) ** -0.55:
#   a: 1 + 2.156121 * 10.5 ** -0.55 = 1 + 2.156121 * 0.274388 = 1.591588
#   b, c: 1 + 2.156121 * 2.5 ** -0.55 = 1 + (ln 10 - 1) = ln 10 = 2.302585
#   d: 1 + 2.156121 * 1.5 ** -0.55 = 1 + 2.156121 * 0.800127 = 2.725134
INVERSE = {("a",): 1.591588, ("b",): 2.302585, ("c",): 2.302585, ("d",): 2.725134}
PSP_TRUE = [[("a",), ("b",)], [("d",)]]
PSP_RANKED = [[("b",), ("c",)], [("a",), ("d",)]]
# k = 2. Row 0 hits b: 2.302585 / 2; row 1 hits d: 2.725134 / 2.
# PSP@2 = (1.151293 + 1.362567) / 2 = 1.256930.
# Best: row 0 ranks its true a, b: (1.591588 + 2.302585) / 2 = 1.947087; row 1: 1.362567.
# Normalised: 1.256930 / ((1.947087 + 1.362567) / 2) = 1.256930 / 1.654827 = 0.759553.


def test_label_propensities_by_hand():
    propensities = label_propensities(PSP_TRAIN)
    assert isinstance(propensities, LabelPropensities)
    assert propensities.n_samples == 10
    assert propensities.C == pytest.approx(2.156121, rel=1e-6)
    series = propensities.to_series()
    assert series.index.tolist() == [("a",), ("b",), ("c",)]
    assert dict(zip(propensities.paths, propensities.support.tolist(), strict=True)) == {
        ("a",): 9,
        ("b",): 1,
        ("c",): 1,
    }
    for path, inverse in INVERSE.items():
        if path in series.index:
            assert series[path] == pytest.approx(1 / inverse, rel=1e-6)
    assert series[("b",)] == pytest.approx(1 / math.log(10))
    assert propensities.inverse_propensity_of_support([0])[0] == pytest.approx(INVERSE[("d",)], rel=1e-6)
    # other A and B change the model
    other = label_propensities(PSP_TRAIN, A=0.5, B=0.4)
    c = (math.log(10) - 1) * 1.4**0.5
    assert other.propensity[0] == pytest.approx(1 / (1 + c * 9.4**-0.5))


def test_propensity_scored_precision_by_hand():
    propensities = label_propensities(PSP_TRAIN)
    psp = propensity_scored_precision_at_k(PSP_TRUE, PSP_RANKED, propensities=propensities, k=2)
    assert psp == pytest.approx(1.256930, rel=1e-5)
    normalised = propensity_scored_precision_at_k(
        PSP_TRUE, PSP_RANKED, propensities=propensities, k=2, normalize=True
    )
    assert normalised == pytest.approx(0.759553, rel=1e-5)
    # the same hits unweighted: P@2 = (1/2 + 1/2) / 2
    assert precision_at_k(PSP_TRUE, PSP_RANKED, k=2) == 0.5
    # a mapping of path -> propensity needs only the true paths
    mapping = {path: 1 / inverse for path, inverse in INVERSE.items() if path != ("c",)}
    assert propensity_scored_precision_at_k(
        PSP_TRUE, PSP_RANKED, propensities=mapping, k=2
    ) == pytest.approx(psp, rel=1e-5)
    series = pd.Series(mapping, index=pd.Index(list(mapping), tupleize_cols=False))
    assert propensity_scored_precision_at_k(
        PSP_TRUE, PSP_RANKED, propensities=series, k=2, normalize=True
    ) == pytest.approx(normalised, rel=1e-5)


def test_normalised_psp_is_one_for_the_best_ranking():
    propensities = label_propensities(PSP_TRAIN)
    # true paths ranked by decreasing 1/p: the best achievable, whatever k
    best = [[("b",), ("a",)], [("d",)]]
    for k in (1, 2, 3):
        assert propensity_scored_precision_at_k(
            PSP_TRUE, best, propensities=propensities, k=k, normalize=True
        ) == pytest.approx(1.0)
    # a row without a true path scores 0 and is 0 at best: allowed
    assert propensity_scored_precision_at_k(
        [*PSP_TRUE, []], [*best, [("a",)]], propensities=propensities, k=1, normalize=True
    ) == pytest.approx(1.0)


# --------------------------------------------------------------------------- report


def test_support_bucket_report_by_hand():
    Y_train = [[("A",)]] * 5 + [[("B",)], [("B",), ("C",)], [("D",)]]
    # training support: A 5, B 2, C 1, D 1; E unseen
    Y_true = [[("A",), ("C",)], [("A",), ("D",)], [("B",), ("C",)], [("C",), ("E",)]]
    Y_ranked = [[("A",), ("C",)], [("A",), ("B",)], [("B",), ("C",)], [("E",), ("A",)]]
    report = support_bucket_report(Y_true, Y_ranked, Y_train, k=1, edges=[0, 1, 2, 10])
    # top 1: A (hit), A (hit), B (hit), E (hit); C, D true but never ranked first
    # [0, 1) = {E}: true 1, predicted 1, hit 1
    # [1, 2) = {C, D}: true C 3 + D 1 = 4, predicted 0, hits 0; per-label recall 0, 0
    # [2, 10) = {A, B}: true A 2 + B 1 = 3, predicted 3, hits 3; per-label recall 1, 1
    # all: true 8, hits 4, micro recall 4/8; macro over A, B, C, D, E = (1 + 1 + 0 + 0 + 1) / 5
    assert report.index.tolist() == ["[0, 1)", "[1, 2)", "[2, 10)", "all"]
    assert report["n_labels"].tolist() == [1, 2, 2, 5]
    assert report["n_true"].tolist() == [1, 4, 3, 8]
    assert report["n_predicted"].tolist() == [1, 0, 3, 4]
    assert report["n_hits"].tolist() == [1, 0, 3, 4]
    np.testing.assert_allclose(report["precision_at_k"], [1.0, np.nan, 1.0, 1.0])
    np.testing.assert_allclose(report["micro_recall_at_k"], [1.0, 0.0, 1.0, 0.5])
    np.testing.assert_allclose(report["macro_recall_at_k"], [1.0, 0.0, 1.0, 0.6])
    np.testing.assert_allclose(report["micro_macro_gap"], [0.0, 0.0, 0.0, -0.1])
    # with k rows filled, the "all" precision is precision@k
    assert report.loc["all", "precision_at_k"] == precision_at_k(Y_true, Y_ranked, k=1)


def test_support_bucket_report_gap_within_a_bucket():
    Y_train = [[("A",)]] * 3 + [[("B",)], [("C",)]] * 3  # supports A 3, B 3, C 3
    # A is true in 4 rows and always ranked first; B and C once each, never first
    Y_true = [[("A",)], [("A",)], [("A",)], [("A",), ("B",)], [("C",)]]
    Y_ranked = [[("A",)], [("A",)], [("A",)], [("A",)], [("A",)]]
    report = support_bucket_report(Y_true, Y_ranked, Y_train, k=1)
    # default edges: every label in [1, 10); micro recall 4/6, macro (1 + 0 + 0) / 3
    row = report.loc["[1, 10)"]
    assert (row["micro_recall_at_k"], row["macro_recall_at_k"]) == pytest.approx((4 / 6, 1 / 3))
    assert row["micro_macro_gap"] == pytest.approx(1 / 3)
    assert row["precision_at_k"] == pytest.approx(4 / 5)
    assert report.loc[["[0, 1)", "[10, 100)", "[100, inf)"], "n_labels"].tolist() == [0, 0, 0]


# --------------------------------------------------------------------------- both input forms


def _all_scores(Y_true, Y_pred, Y_ranked, Y_train, k):
    propensities = label_propensities(Y_train)
    return [
        *multilabel_hierarchical_precision_recall_f1(Y_true, Y_pred, zero_division=0.0),
        *multilabel_hierarchical_precision_recall_f1(Y_true, Y_pred, average="samples", zero_division=0.0),
        precision_at_k(Y_true, Y_ranked, k=k),
        recall_at_k(Y_true, Y_ranked, k=k),
        ndcg_at_k(Y_true, Y_ranked, k=k),
        propensity_scored_precision_at_k(Y_true, Y_ranked, propensities=propensities, k=k),
        propensity_scored_precision_at_k(Y_true, Y_ranked, propensities=propensities, k=k, normalize=True),
        *support_bucket_report(Y_true, Y_ranked, Y_train, k=k).to_numpy().ravel().tolist(),
    ]


def test_both_input_forms_give_the_same_numbers():
    Y_train = [*HAND_TRUE, *RANK_TRUE, [("J", "J45")]]
    Y_true = [*HAND_TRUE, *RANK_TRUE]
    Y_pred = [*HAND_PRED, [("a", "x")], [("a", "y"), ("b",)]]
    Y_ranked = [*RANK_RANKED, [("I", "I10")], [("J", "J45")], [("c", "z", "1"), ("X", "J45")]]
    columns = sorted({path for rows in (Y_true, Y_pred, Y_ranked) for row in rows for path in row}, key=repr)
    matrices = (
        as_matrix(Y_true, columns),
        as_matrix(Y_pred, columns[::-1]),
        as_matrix(Y_ranked, scores=True),
        as_matrix(Y_train),
    )
    before = copy.deepcopy(matrices)
    for k in (1, 2, 5):
        lists = _all_scores(Y_true, Y_pred, Y_ranked, Y_train, k)
        np.testing.assert_allclose(_all_scores(*matrices, k), lists, atol=1e-12)
        mixed = _all_scores(matrices[0], Y_pred, matrices[2], Y_train, k)
        np.testing.assert_allclose(mixed, lists, atol=1e-12)
    for matrix, copy_before in zip(matrices, before, strict=True):
        assert (matrix[0] != copy_before[0]).nnz == 0
        assert matrix[1] == copy_before[1]


def test_score_matrix_ties_go_to_the_lower_column():
    paths = [("a",), ("b",), ("c",)]
    scores = sp.csr_matrix(np.array([[0.5, 0.5, 0.9]]))
    # ranking: c (0.9), then a before b (tied; a is the lower column)
    assert precision_at_k([[("a",)]], (scores, paths), k=2) == 0.5
    assert precision_at_k([[("b",)]], (scores, paths), k=2) == 0.0


# --------------------------------------------------------------------------- properties

TREE = [("A",), ("A", "x"), ("A", "y"), ("A", "x", "1"), ("B",), ("B", "x"), ("C", "z")]
path_sets = st.lists(st.lists(st.sampled_from(TREE), max_size=4, unique=True), min_size=1, max_size=6)


@st.composite
def true_and_ranked(draw):
    Y_true = draw(path_sets.filter(lambda rows: all(rows)))
    Y_ranked = [draw(st.permutations(TREE)).copy()[: draw(st.integers(0, len(TREE)))] for _ in Y_true]
    return Y_true, Y_ranked


@settings(max_examples=60, deadline=None)
@given(data=true_and_ranked(), k=st.integers(1, 8))
def test_scores_lie_in_unit_interval_and_forms_agree(data, k):
    Y_true, Y_ranked = data
    Y_pred = [row[:2] for row in Y_ranked]
    Y_train = [*Y_true, [("A",)], [("B", "x")], [("A", "x")]]
    scores = _all_scores(Y_true, Y_pred, Y_ranked, Y_train, k)
    bounded = scores[:9] + scores[10:11]  # all but unnormalised PSP, which can exceed 1
    assert all(0 <= value <= 1 + 1e-12 for value in bounded)
    assert scores[9] >= 0
    columns = list(TREE)
    matrices = (as_matrix(Y_true, columns), as_matrix(Y_pred, columns), as_matrix(Y_ranked, columns, True))
    np.testing.assert_allclose(_all_scores(*matrices, as_matrix(Y_train), k), scores, atol=1e-12)
    # recall@k never falls as k grows
    assert recall_at_k(Y_true, Y_ranked, k=k + 1) >= recall_at_k(Y_true, Y_ranked, k=k)


@settings(max_examples=60, deadline=None)
@given(Y_true=path_sets.filter(lambda rows: all(rows)), k=st.integers(1, 8))
def test_perfect_predictions_score_one(Y_true, k):
    assert multilabel_hierarchical_precision_recall_f1(Y_true, Y_true) == pytest.approx((1, 1, 1))
    assert multilabel_hierarchical_precision_recall_f1(Y_true, Y_true, average="samples") == pytest.approx(
        (1, 1, 1)
    )
    assert ndcg_at_k(Y_true, Y_true, k=k) == pytest.approx(1.0)
    longest = max(len(row) for row in Y_true)
    assert recall_at_k(Y_true, Y_true, k=max(k, longest)) == pytest.approx(1.0)
    assert precision_at_k(Y_true, Y_true, k=1) == 1.0
    Y_train = [*Y_true, [("A",)], [("B",)], [("C", "z")]]
    propensities = label_propensities(Y_train)
    assert propensity_scored_precision_at_k(
        Y_true, Y_true, propensities=propensities, k=max(k, longest), normalize=True
    ) == pytest.approx(1.0)


@settings(max_examples=60, deadline=None)
@given(Y_true=path_sets.filter(lambda rows: all(rows)), extra=path_sets, cut=st.integers(1, 3))
def test_ancestors_are_precise_and_supersets_recall_everything(Y_true, extra, cut):
    # predicting only ancestors (prefixes) of the true paths: every predicted node is true
    ancestors = [[path[:cut] for path in row] for row in Y_true]
    assert multilabel_hierarchical_precision_recall_f1(Y_true, ancestors)[0] == 1.0
    # predicting the true paths and more: every true node is predicted
    rows = [row + more for row, more in zip(Y_true, extra * len(Y_true), strict=False)]
    assert multilabel_hierarchical_precision_recall_f1(Y_true, rows)[1] == 1.0
    assert multilabel_hierarchical_precision_recall_f1(Y_true, rows, average="samples")[1] == 1.0


# --------------------------------------------------------------------------- bad input

GOOD = {"Y_true": RANK_TRUE, "Y_ranked": RANK_RANKED}
PATHS = [("a",), ("b",)]


@pytest.mark.parametrize(
    ("function", "kwargs", "error", "message"),
    [
        (precision_at_k, {"Y_ranked": RANK_RANKED[:1]}, ValueError, r"Y_true has 2 rows but Y_ranked has 1"),
        (precision_at_k, {"k": 0}, ValueError, r"The 'k' parameter of precision_at_k must be .* Got 0"),
        (recall_at_k, {"k": True}, ValueError, r"The 'k' parameter of recall_at_k must be"),
        (ndcg_at_k, {"k": 1.5}, ValueError, r"The 'k' parameter of ndcg_at_k must be"),
        (precision_at_k, {"Y_true": [], "Y_ranked": []}, ValueError, r"Y_true is empty: it has 0 rows"),
        (precision_at_k, {"Y_true": "abc"}, ValueError, r"The 'Y_true' parameter .* must be an array-like"),
        (precision_at_k, {"Y_true": {"a": 1}}, ValueError, r"Y_true must be a list of rows, each a list"),
        (
            precision_at_k,
            {"Y_true": [("a", "x"), ("b",)]},
            ValueError,
            r"Y_true row 0 item 0 is 'a', which is not a path; give each row as a list of paths",
        ),
        (precision_at_k, {"Y_true": ["a", "b"]}, ValueError, r"Y_true row 0 is 'a', which is not a list"),
        (
            precision_at_k,
            {"Y_true": [[[("a", "x")]], [("a",)]]},
            ValueError,
            r"Y_true row 0 item 0, the path \(\('a', 'x'\),\), holds \('a', 'x'\) as a label",
        ),
        (
            precision_at_k,
            {"Y_true": [[("a", None, "1")], [("a",)]]},
            HierarchyError,
            r"Y_true row 0 item 0, the path \('a', None, '1'\), has a gap: no label at level 1",
        ),
        (
            precision_at_k,
            {"Y_ranked": [[("a", "x"), ("b",), ("a", "x", None)], [("a",)]]},
            ValueError,
            r"Y_ranked row 0 ranks the same path twice",
        ),
        (
            precision_at_k,
            {"Y_ranked": [{("a", "x")}, [("a",)]]},
            ValueError,
            r"Y_ranked row 0 is a set, which has no order",
        ),
        (recall_at_k, {"Y_true": [[("a",)], []]}, ValueError, r"Y_true row 1 has no path \(1 rows in all\)"),
        (ndcg_at_k, {"Y_true": [[], []]}, ValueError, r"Y_true row 0 has no path \(2 rows in all\); nDCG@k"),
        (
            precision_at_k,
            {"Y_true": (sp.csr_matrix(np.eye(2)), PATHS[:1])},
            ValueError,
            r"The matrix of Y_true has 2 columns but 1 paths were given",
        ),
        (
            precision_at_k,
            {"Y_true": (sp.csr_matrix(np.array([[1, 2], [0, 1]])), PATHS)},
            ValueError,
            r"must be a 0/1 indicator of each row's paths; it holds 2\.0",
        ),
        (
            precision_at_k,
            {"Y_true": (sp.csr_matrix(np.eye(2)), [("a",), ["a", None]])},
            ValueError,
            r"Y_true columns 0 and 1 both hold the path \('a',\)",
        ),
        (
            precision_at_k,
            {"Y_ranked": (sp.csr_matrix(np.array([[np.nan, 1.0], [0, 1]])), PATHS)},
            ValueError,
            r"The matrix of Y_ranked holds NaN scores",
        ),
        (
            precision_at_k,
            {"Y_true": [[(["a"],)], [("a",)]]},
            ValueError,
            r"holds \['a'\] as a label",
        ),
    ],
)
def test_ranking_bad_input(function, kwargs, error, message):
    arguments = {**GOOD, **kwargs}
    before = copy.deepcopy(arguments)
    with pytest.raises(error, match=message):
        function(**arguments)
    assert repr(arguments) == repr(before)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"Y_pred": HAND_PRED[:2]}, r"Y_true has 3 rows but Y_pred has 2"),
        ({"average": "macro"}, r"The 'average' parameter .* must be a str among \{.*'micro'.*\}"),
        ({"zero_division": 0.5}, r"The 'zero_division' parameter"),
        (
            {"average": "samples", "Y_true": [[("I",)], [], [("J",)]]},
            r"Y_true row 1 has no path \(1 rows in all\); example-based hierarchical recall is undefined"
            r".*use average='micro'",
        ),
        ({"Y_true": [[], [], []]}, r"Y_true has no path in any row; hierarchical recall is undefined"),
    ],
)
def test_set_based_bad_input(kwargs, message):
    arguments = {"Y_true": HAND_TRUE, "Y_pred": HAND_PRED, "zero_division": 0.0, **kwargs}
    with pytest.raises(ValueError, match=message):
        multilabel_hierarchical_precision_recall_f1(**arguments)


def test_propensity_and_report_bad_input():
    with pytest.raises(ValueError, match=r"Y_train has 2 rows; the propensity model needs at least 3"):
        label_propensities([[("a",)], [("b",)]])
    with pytest.raises(ValueError, match=r"The 'A' parameter of label_propensities must be"):
        label_propensities(PSP_TRAIN, A=0)
    with pytest.raises(ValueError, match=r"The 'B' parameter of label_propensities must be"):
        label_propensities(PSP_TRAIN, B=-1.0)
    with pytest.raises(ValueError, match=r"propensities has no propensity for the true path \('d',\)"):
        propensity_scored_precision_at_k(PSP_TRUE, PSP_RANKED, propensities={("a",): 0.5, ("b",): 0.5})
    with pytest.raises(ValueError, match=r"The propensity of \('a',\) is 1.5; propensities lie in \(0, 1\]"):
        propensity_scored_precision_at_k(
            PSP_TRUE, PSP_RANKED, propensities={("a",): 1.5, ("b",): 0.5, ("d",): 0.5}
        )
    with pytest.raises(ValueError, match=r"The 'propensities' parameter .* must be"):
        propensity_scored_precision_at_k(PSP_TRUE, PSP_RANKED, propensities=[0.5, 0.5])
    with pytest.raises(ValueError, match=r"no path in any row, so the best achievable PSP@k is 0"):
        propensity_scored_precision_at_k(
            [[], []], PSP_RANKED, propensities=label_propensities(PSP_TRAIN), normalize=True
        )
    with pytest.raises(ValueError, match=r"edges must be at least two increasing numbers.*got \[10, 1\]"):
        support_bucket_report(PSP_TRUE, PSP_RANKED, PSP_TRAIN, edges=[10, 1])
    with pytest.raises(ValueError, match=r"Y_true has 2 rows but Y_ranked has 1"):
        support_bucket_report(PSP_TRUE, PSP_RANKED[:1], PSP_TRAIN)
