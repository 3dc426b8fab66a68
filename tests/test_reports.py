import copy
import json
import sys

import numpy as np
import pandas as pd
import pytest

from hiercls import HierarchicalClassifier
from hiercls.exceptions import HierarchyError
from hiercls.reports import (
    REPORT_FILE_STEM,
    RareClassReport,
    bucket_labels,
    plot_bucket_scores,
    plot_level_scores,
    plot_recall_vs_support,
    plot_reliability,
    rare_class_report,
)

# Training support: A 9 (A/x 6, A/y 3), B 1 (B/z 1).
Y_TRAIN = [["A", "x"]] * 6 + [["A", "y"]] * 3 + [["B", "z"]]
Y_TRUE = [["A", "x"], ["A", "x"], ["A", "y"], ["B", "z"]]
Y_PRED = [["A", "x"], ["A", "y"], ["A", "y"], ["A", "x"]]


@pytest.fixture
def report():
    # Buckets <2, 2–4, ≥5; rare below 5 training samples.
    return rare_class_report(Y_TRUE, Y_PRED, Y_train=Y_TRAIN, buckets=(2, 5), min_samples=5)


def _by(frame, **where):
    mask = np.ones(len(frame), dtype=bool)
    for column, value in where.items():
        mask &= (frame[column] == value).to_numpy()
    assert mask.sum() == 1, where
    return frame[mask].iloc[0]


# --------------------------------------------------------------------------- build: tables


def test_bucket_labels():
    assert bucket_labels((10, 100, 1000)) == ["<10", "10–99", "100–999", "≥1000"]
    assert bucket_labels((2, 3, 5)) == ["<2", "2", "3–4", "≥5"]


def test_report_numbers_by_hand(report):
    # Overall: sum|T| = sum|P| = 8; shared nodes: level 0 rows 0-2 (3), level 1 rows 0, 2 (2).
    assert report.hierarchical_precision == pytest.approx(5 / 8)
    assert report.hierarchical_recall == pytest.approx(5 / 8)
    assert report.leaf_accuracy == pytest.approx(0.5)
    assert report.support_source == "train"
    assert (report.n_test_rows, report.n_train_rows) == (4, 10)

    per_class = report.per_class
    assert per_class["bucket"].astype(str).tolist() == ["≥5", "<2", "≥5", "2–4", "<2"]
    assert per_class["path"].tolist() == ["A", "B", "A / x", "A / y", "B / z"]
    assert per_class["rare"].tolist() == [False, True, False, True, True]

    buckets = report.per_bucket
    assert buckets["bucket"].astype(str).tolist() == ["<2", "2–4", "≥5"] * 2
    # Level 1: B/z (<2) never predicted; A/y (2–4) recall 1, F1 2·1/(1+2);
    # A/x (≥5) right on 1 of its 2 rows and predicted twice: recall 0.5, F1 2·1/(2+2).
    low = _by(buckets, level="level1", bucket="<2")
    assert low[["n_classes", "n_tested", "test_rows", "n_never_predicted"]].tolist() == [1, 1, 1, 1]
    assert (low["test_share"], low["macro_recall"], low["macro_f1"]) == (0.25, 0.0, 0.0)
    middle = _by(buckets, level="level1", bucket="2–4")
    assert (middle["macro_recall"], middle["macro_f1"]) == pytest.approx((1.0, 2 / 3))
    high = _by(buckets, level="level1", bucket="≥5")
    assert (high["test_share"], high["macro_recall"], high["macro_f1"]) == (0.5, 0.5, 0.5)
    # Level 0 has no class with 2–4 training samples: zeros and no scores.
    empty = _by(buckets, level="level0", bucket="2–4")
    assert (empty["n_classes"], empty["test_rows"]) == (0, 0)
    assert np.isnan(empty["macro_recall"])

    levels = report.per_level.set_index("level")
    # Level 0: accuracy 3/4; macro recall (1 + 0)/2; micro F1 2·3/(4+4);
    # macro F1 (F1(A) = 2·3/(3+4), F1(B) = 0)/2.
    assert levels.loc["level0", ["accuracy", "macro_recall", "micro_f1"]].tolist() == (
        pytest.approx([0.75, 0.5, 0.75])
    )
    assert levels.loc["level0", "macro_f1"] == pytest.approx(3 / 7)
    assert levels.loc["level0", "recall_gap"] == pytest.approx(0.25)
    # Level 1: macro F1 (0.5 + 2/3 + 0)/3; F1 gap 0.5 - that.
    assert levels.loc["level1", "macro_f1"] == pytest.approx(7 / 18)
    assert levels.loc["level1", "f1_gap"] == pytest.approx(0.5 - 7 / 18)
    assert levels.loc["level1", "recall_gap"] == pytest.approx(0.0)
    assert levels["n_rare_classes"].tolist() == [1, 2]
    assert levels["rare_test_share"].tolist() == [0.25, 0.5]
    assert levels.loc["level1", "rare_macro_recall"] == pytest.approx(0.5)
    assert levels["n_never_predicted"].tolist() == [1, 1]

    assert report.worst_classes["path"].tolist() == ["B", "A", "B / z", "A / x", "A / y"]
    assert report.never_predicted["path"].tolist() == ["B", "B / z"]
    assert report.never_predicted["train_support"].tolist() == [1, 1]
    assert report.notes == ()
    assert report.n_rare_classes == 3


def test_n_worst_limits_the_list_per_level():
    report = rare_class_report(Y_TRUE, Y_PRED, Y_train=Y_TRAIN, n_worst=1)
    assert report.worst_classes["path"].tolist() == ["B", "B / z"]


def test_without_training_targets_the_report_buckets_by_test_support():
    report = rare_class_report(Y_TRUE, [["A", "x"]] * 4)
    assert report.support_source == "test"
    assert report.n_train_rows is None
    assert report.per_class["train_support"].isna().all()
    assert report.per_class["support"].tolist() == [3, 1, 2, 1, 1]
    assert "No Y_train given" in report.notes[0]
    markdown = report.to_markdown()
    assert "No Y_train given" in markdown
    assert "## By test support" in markdown
    assert "| training support |" not in markdown  # the column is all missing: not shown


def test_zero_rare_classes_says_so(tmp_path):
    report = rare_class_report(Y_TRUE, Y_PRED, Y_train=Y_TRAIN, min_samples=1)
    assert report.n_rare_classes == 0
    assert report.per_level["n_rare_classes"].tolist() == [0, 0]
    assert any(note.startswith("No rare classes: all 5 classes") for note in report.notes)
    paths = report.write(tmp_path, figures=False)
    for suffix in ("md", "html"):
        assert "No rare classes" in paths[suffix].read_text(encoding="utf-8")
    assert "No rare classes" in json.loads(paths["json"].read_text(encoding="utf-8"))["notes"][0]


def test_classes_missing_from_training_are_noted():
    report = rare_class_report([["A", "x"], ["C", "w"]], [["A", "x"], ["C", "w"]], Y_train=Y_TRAIN)
    assert "2 classes in Y_true but not in Y_train" in report.notes[0]
    assert _by(report.per_class, path="C / w")["bucket"] == "<10"


def test_dataframe_input_names_the_levels():
    Y_true = pd.DataFrame(Y_TRUE, columns=["family", "genus"])
    Y_pred = pd.DataFrame(Y_PRED, columns=["family", "genus"])
    report = rare_class_report(Y_true, Y_pred, Y_train=Y_TRAIN)
    assert report.levels == ("family", "genus")
    assert report.per_level["level"].tolist() == ["family", "genus"]


def test_calibration_in_the_report():
    proba = [
        np.array([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3], [0.6, 0.4]]),
        np.array([[0.5, 0.3, 0.2], [0.2, 0.6, 0.2], [0.1, 0.8, 0.1], [0.7, 0.2, 0.1]]),
    ]
    report = rare_class_report(
        Y_TRUE, Y_PRED, Y_train=Y_TRAIN, proba=proba, classes=[["A", "B"], ["x", "y", "z"]]
    )
    # Level 0: the argmax is A everywhere; right on rows 0-2, wrong on row 3:
    # accuracy 3/4, mean confidence 0.75.
    calibration = report.calibration.set_index("level")
    assert calibration.loc["level0", ["accuracy", "mean_confidence"]].tolist() == (
        pytest.approx([0.75, 0.75])
    )
    assert set(report.reliability["level"]) == {"level0", "level1"}
    assert "ECE" in report.to_markdown()


def test_report_on_a_fitted_classifier():
    # The report reads predict, predict_proba, classes_ and hierarchy_ as they come.
    rng = np.random.default_rng(0)
    centres = {("A", "x"): (-10, 10), ("A", "y"): (-10, -10), ("B", "x"): (10, 0)}
    X = np.vstack([rng.normal(c, 0.3, size=(8, 2)) for c in centres.values()])
    Y = np.array([path for path in centres for _ in range(8)], dtype=object)
    model = HierarchicalClassifier(min_samples=1).fit(X, Y)
    report = rare_class_report(
        Y,
        model.predict(X),
        Y_train=Y,
        hierarchy=model.hierarchy_,
        proba=model.predict_proba(X),
        classes=model.classes_,
        min_samples=10,
    )
    assert report.hierarchical_f1 == 1.0
    assert report.per_class["path"].tolist() == ["A", "B", "A / x", "A / y", "B / x"]
    assert report.per_level["n_rare_classes"].tolist() == [1, 3]  # B: 8 rows; every leaf: 8
    assert report.calibration["accuracy"].tolist() == [1.0, 1.0]
    assert (report.calibration["ece"] < 0.2).all()


def test_repr_is_short(report):
    text = repr(report)
    assert text.startswith("RareClassReport(levels=('level0', 'level1'), n_test_rows=4")
    assert isinstance(report, RareClassReport)


# --------------------------------------------------------------------------- render: formats


def test_formats_round_trip(report, tmp_path):
    paths = report.write(tmp_path / "run", figures=False)
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == sorted(
        f"{REPORT_FILE_STEM}.{suffix}" for suffix in ("md", "csv", "json", "html")
    )
    csv = pd.read_csv(paths["csv"])
    assert csv["path"].tolist() == report.per_class["path"].tolist()
    assert csv["bucket"].tolist() == ["≥5", "<2", "≥5", "2–4", "<2"]
    assert csv["recall"].tolist() == pytest.approx(report.per_class["recall"].tolist())

    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert data["levels"] == ["level0", "level1"]
    assert data["bucket_labels"] == ["<2", "2–4", "≥5"]
    assert data["overall"]["hierarchical_f1"] == pytest.approx(5 / 8)
    assert data["tables"]["calibration"] is None
    never = data["tables"]["never_predicted"]
    assert [row["path"] for row in never] == ["B", "B / z"]
    assert data["tables"]["per_bucket"][1]["macro_recall"] is None  # empty bucket: NaN -> null
    assert report.to_json() == paths["json"].read_text(encoding="utf-8")

    markdown = paths["md"].read_text(encoding="utf-8")
    assert markdown.startswith("# Rare-class report")
    assert "| level | path | training support | test support |" in markdown
    assert "| level1 | B / z | 1 | 1 |" in markdown


def test_csv_and_frame_of_other_tables(report, tmp_path):
    text = report.to_csv(tmp_path / "levels.csv", table="per_level")
    assert pd.read_csv(tmp_path / "levels.csv")["level"].tolist() == ["level0", "level1"]
    assert text.startswith("level,n_rows,")
    frame = report.to_frame("per_bucket")
    frame.loc[0, "n_classes"] = 99
    assert report.per_bucket.loc[0, "n_classes"] != 99


def test_int_labels_survive_json():
    report = rare_class_report(
        np.array([[1, 10], [2, 20]]), np.array([[1, 10], [1, 10]]), Y_train=[[1, 10], [2, 20]]
    )
    records = report.to_dict()["tables"]["per_class"]
    assert [row["class"] for row in records] == [1, 2, 10, 20]


def test_markdown_escapes_pipes_in_labels():
    report = rare_class_report([["a|b"], ["c"]], [["a|b"], ["a|b"]])
    assert "| a\\|b |" in report.to_markdown()


@pytest.mark.slow  # several seconds: in the full suite only
def test_html_embeds_the_pictures(report, tmp_path):
    pytest.importorskip("matplotlib")
    text = report.to_html(tmp_path / "report.html")
    assert text.count("<img ") == 3
    assert text.count("src='data:image/png;base64,") == 3
    assert "http://" not in text
    assert "https://" not in text
    assert "<table>" in text
    assert "hiercls[plot]" not in text


def test_html_without_matplotlib_says_how_to_get_the_pictures(report, monkeypatch):
    # A None entry in sys.modules makes the import raise ImportError.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    text = report.to_html()
    assert "<img" not in text
    assert "pip install &#x27;hiercls[plot]&#x27;" in text
    assert "<table>" in text
    with pytest.raises(ImportError, match=r"hiercls\[plot\]"):
        plot_recall_vs_support(report)


def test_html_without_figures_says_so_and_needs_no_matplotlib(report, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    paths = report.write(tmp_path, figures=False)
    text = paths["html"].read_text(encoding="utf-8")
    assert text == report.to_html(figures=False)
    assert "<img" not in text
    assert "The pictures were not drawn (figures=False)" in text
    assert "hiercls[plot]" not in text
    assert text.count("<table>") == report.to_html().count("<table>")


# --------------------------------------------------------------------------- plots


def test_plots_have_one_panel_per_level(report):
    pytest.importorskip("matplotlib")
    assert len([ax for ax in plot_recall_vs_support(report).axes if ax.get_visible()]) == 2
    assert len([ax for ax in plot_bucket_scores(report).axes if ax.get_visible()]) == 2
    assert len(plot_level_scores(report).axes) == 1
    with pytest.raises(ValueError, match=r"no calibration: pass proba= and classes="):
        plot_reliability(report)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"min_samples": 0},
            ValueError,
            r"'min_samples' parameter of rare_class_report must be an int in the range \[1, inf\)\. "
            r"Got 0 instead",
        ),
        ({"min_samples": 2.5}, ValueError, r"'min_samples' parameter .* Got 2.5"),
        ({"min_samples": True}, ValueError, r"'min_samples' parameter .* Got True"),
        ({"buckets": ()}, ValueError, r"'buckets' parameter .* non-empty .* Got \(\)"),
        ({"buckets": (100, 10)}, ValueError, r"strictly increasing .* Got \(100, 10\)"),
        ({"buckets": (0, 10)}, ValueError, r"ints >= 1.* Got \(0, 10\)"),
        ({"buckets": 10}, ValueError, r"'buckets' parameter .* Got 10 instead"),
        (
            {"n_worst": -1},
            ValueError,
            r"'n_worst' parameter of rare_class_report must be an int in the range \[0, inf\)\. "
            r"Got -1 instead",
        ),
        (
            {"n_bins": 0},
            ValueError,
            r"'n_bins' parameter of rare_class_report must be an int in the range \[1, inf\)\. "
            r"Got 0 instead",
        ),
        ({"proba": [np.ones((4, 2)) / 2]}, ValueError, r"needs both proba= and classes="),
        ({"Y_pred": Y_PRED[:3]}, ValueError, r"Y_true has 4 rows but Y_pred has 3"),
        ({"Y_pred": [["A"]] * 4}, ValueError, r"Y_true has 2 levels but Y_pred has 1"),
        ({"Y_true": [], "Y_pred": []}, ValueError, r"Y_true is empty"),
        (
            {"Y_pred": [["A", "x"], ["A", "w"], ["A", "y"], ["A", "x"]]},
            HierarchyError,
            r"Y_pred row 1 predicts the path \('A', 'w'\) at level 'level1'",
        ),
        (
            {"Y_train": [["A", None], [None, "x"]]},
            HierarchyError,
            r"Y_train row 1 has a gap",
        ),
    ],
)
def test_rare_class_report_bad_input(kwargs, error, message, tmp_path):
    arguments = {"Y_true": Y_TRUE, "Y_pred": Y_PRED, "Y_train": Y_TRAIN, **kwargs}
    before = copy.deepcopy(arguments)
    with pytest.raises(error, match=message):
        rare_class_report(**arguments).write(tmp_path / "out")
    assert not (tmp_path / "out").exists()
    for name in ("Y_true", "Y_pred", "Y_train"):
        assert arguments[name] == before[name]


def test_write_bad_figures(report, tmp_path):
    with pytest.raises(
        ValueError,
        match=r"'figures' parameter of RareClassReport.write must be an instance of 'bool'.* "
        r"Got 'no' instead",
    ):
        report.write(tmp_path / "out", figures="no")
    assert not (tmp_path / "out").exists()


def test_to_frame_bad_table(report):
    with pytest.raises(
        ValueError,
        match=r"'table' parameter of RareClassReport.to_frame must be a str among \{.*'per_class'.*\}\. "
        r"Got 'per_kls' instead",
    ):
        report.to_frame("per_kls")
    with pytest.raises(ValueError, match=r"no 'calibration' table: pass proba= and classes="):
        report.to_frame("calibration")


def test_the_report_says_first_what_it_describes():
    about = {"model": "HierarchicalClassifier()", "data": "train.csv", "run": "runs/1", "hiercls": "0.1"}
    described = rare_class_report(Y_TRUE, Y_PRED, Y_train=Y_TRAIN, min_samples=5, about=about)
    markdown = described.to_markdown()
    assert markdown.splitlines()[2:6] == [
        "- model: HierarchicalClassifier()",
        "- data: train.csv",
        "- run: runs/1",
        "- hiercls: 0.1",
    ]
    assert "<li>data: train.csv</li>" in described.to_html(figures=False)
    assert json.loads(described.to_json())["about"] == about
    with pytest.raises(ValueError, match="The 'about' parameter of rare_class_report must be"):
        rare_class_report(Y_TRUE, Y_PRED, about=["model"])
