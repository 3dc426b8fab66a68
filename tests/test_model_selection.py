"""estimator="auto": each level's node model chosen on held-out training rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lightgbm import LGBMClassifier
from numpy.testing import assert_array_equal
from pandas.testing import assert_frame_equal
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier

from hiercls import HierarchicalClassifier
from hiercls.exceptions import ModelSelectionError
from hiercls.model_selection import (
    SELECTION_COLUMNS,
    AutoNodeModel,
    _stratified_holdout,
    candidate_estimator,
)


def xor_then_linear(n=800, seed=0):
    """Level "group" is the XOR of the signs of x0 and x1 (no linear model separates
    it, trees do); level "leaf" is the sign of a linear score of x2..x7 (a linear model
    is exact, axis-aligned trees and k-NN in 8 dimensions are not)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8))
    group = np.where(X[:, 0] * X[:, 1] > 0, "A", "B")
    side = X[:, 2:] @ np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0]) > 0
    leaf = np.char.add(np.char.lower(group), np.where(side, "1", "2"))
    return X, pd.DataFrame({"group": group, "leaf": leaf})


def chosen(model):
    table = model.model_selection_
    return dict(zip(table.loc[table.chosen, "level"], table.loc[table.chosen, "candidate"], strict=True))


@pytest.fixture(scope="module")
def fitted_auto():
    X, Y = xor_then_linear()
    return HierarchicalClassifier("auto", random_state=0).fit(X, Y), X, Y


def test_auto_picks_trees_for_the_xor_level_and_linear_for_the_linear_level(fitted_auto):
    model, X, Y = fitted_auto
    assert chosen(model) == {"group": "lightgbm", "leaf": "linear"}
    root = model.estimators_[0]
    assert isinstance(root, LGBMClassifier)
    leaf_models = [m for m in model.estimators_[1:] if m is not None]
    assert len(leaf_models) == 2
    assert all(isinstance(m, LogisticRegression) for m in leaf_models)
    table = model.model_selection_
    assert list(table.columns) == list(SELECTION_COLUMNS)
    assert table.groupby("level").chosen.sum().to_dict() == {"group": 1, "leaf": 1}
    group = table[table.level == "group"].set_index("candidate")
    assert group.loc["lightgbm", "accuracy"] > group.loc["linear", "accuracy"] + 0.3
    leaf = table[table.level == "leaf"].set_index("candidate")
    assert leaf.loc["linear", "accuracy"] > leaf.loc["knn", "accuracy"]
    assert (table.n_validation_rows > 0).all()


def test_auto_fits_what_the_chosen_level_estimators_fit(fitted_auto):
    model, X, Y = fitted_auto
    by_hand = HierarchicalClassifier(
        level_estimators={"group": candidate_estimator("lightgbm"), "leaf": candidate_estimator("linear")},
        random_state=0,
    ).fit(X, Y)
    assert_array_equal(model.predict(X), by_hand.predict(X))
    for got, expected in zip(model.predict_proba(X), by_hand.predict_proba(X), strict=True):
        np.testing.assert_allclose(got, expected)


def test_auto_is_reproducible_with_random_state():
    X, Y = xor_then_linear(400, seed=1)
    first, second = (HierarchicalClassifier("auto", random_state=3).fit(X, Y) for _ in range(2))
    columns = [c for c in SELECTION_COLUMNS if c != "fit_seconds"]
    assert_frame_equal(first.model_selection_[columns], second.model_selection_[columns])
    assert_array_equal(first.predict(X), second.predict(X))


@pytest.mark.slow
def test_the_same_choice_on_one_worker_and_on_two():
    X, Y = xor_then_linear(400, seed=2)
    serial = HierarchicalClassifier("auto", random_state=0, n_jobs=1).fit(X, Y)
    parallel = HierarchicalClassifier("auto", random_state=0, n_jobs=2).fit(X, Y)
    columns = [c for c in SELECTION_COLUMNS if c != "fit_seconds"]
    assert_frame_equal(serial.model_selection_[columns], parallel.model_selection_[columns])


def test_a_level_too_small_to_hold_out_rows_falls_back_to_the_default_model():
    X, Y = xor_then_linear(60, seed=0)
    model = HierarchicalClassifier(AutoNodeModel(min_validation_rows=40), random_state=0).fit(X, Y)
    table = model.model_selection_
    assert chosen(model) == {"group": "linear", "leaf": "linear"}
    assert table.note.str.startswith("fallback:").all()
    assert table.note.str.contains("min_validation_rows=40").all()
    assert isinstance(model.estimators_[0], LogisticRegression)


def test_a_candidate_that_cannot_take_nan_is_skipped_with_its_reason():
    X, Y = xor_then_linear(400)
    X[::7, 3] = np.nan
    model = HierarchicalClassifier("auto", random_state=0).fit(X, Y)
    table = model.model_selection_
    skipped = table[table.note.str.startswith("skipped")]
    assert sorted(set(skipped.candidate)) == ["knn", "linear"]
    assert skipped.note.eq("skipped: cannot take NaN in X").all()
    assert chosen(model) == {"group": "lightgbm", "leaf": "lightgbm"}
    assert model.predict(X).shape == Y.shape  # NaN at predict time too: LightGBM takes it


def test_nan_at_predict_time_is_refused_when_a_chosen_model_cannot_take_it(fitted_auto):
    model, X, _ = fitted_auto
    X = X[:5].copy()
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.predict(X)


def test_candidates_without_sample_weight_or_categories_are_skipped():
    X, Y = xor_then_linear(400)
    weighted = HierarchicalClassifier("auto", random_state=0).fit(X, Y, sample_weight=np.ones(len(X)))
    table = weighted.model_selection_
    assert set(table.loc[table.candidate == "knn", "note"]) == {"skipped: does not accept sample_weight"}
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(8)])
    frame["colour"] = pd.Categorical(np.where(np.arange(len(frame)) % 2, "red", "blue"))
    categorical = HierarchicalClassifier("auto", random_state=0).fit(frame, Y)
    notes = categorical.model_selection_.set_index(["level", "candidate"]).note
    assert notes[("group", "linear")] == "skipped: cannot take categorical columns ['colour']"
    assert set(chosen(categorical).values()) == {"lightgbm"}


def test_levels_and_nodes_with_their_own_models_are_not_selected():
    X, Y = xor_then_linear(400)
    model = HierarchicalClassifier(
        "auto", level_estimators={"group": LGBMClassifier(n_estimators=10, verbose=-1)}, random_state=0
    ).fit(X, Y)
    assert set(model.model_selection_.level) == {"leaf"}
    assert isinstance(model.estimators_[0], LGBMClassifier)


def test_a_failing_candidate_is_recorded_and_another_chosen():
    X, Y = xor_then_linear(400)
    # n_neighbors=0 fails in every node's fit; the level still gets a model.
    auto = AutoNodeModel(candidates=["linear", KNeighborsClassifier(n_neighbors=0)])
    model = HierarchicalClassifier(auto, random_state=0).fit(X, Y)
    notes = model.model_selection_.set_index(["level", "candidate"]).note
    assert notes[("group", "KNeighborsClassifier")].startswith("failed at node '(root)'")
    assert chosen(model) == {"group": "linear", "leaf": "linear"}


@pytest.mark.parametrize(
    ("estimator", "fit_args", "error", "message"),
    [
        (AutoNodeModel(candidates=["linear", "xgboost"]), {}, ValueError, "unknown name 'xgboost'"),
        (AutoNodeModel(candidates=[]), {}, ValueError, "at least one candidate"),
        (AutoNodeModel(candidates=["knn", "knn"]), {}, ValueError, r"names \['knn'\] more than once"),
        (AutoNodeModel(candidates=[42]), {}, ValueError, "classifiers with fit and predict_proba; got 42"),
        (AutoNodeModel(validation_fraction=1.5), {}, ValueError, "'validation_fraction' parameter"),
        (AutoNodeModel(scoring="f1"), {}, ValueError, "'scoring' parameter"),
        (AutoNodeModel(max_rounds=0), {}, ValueError, r"'max_rounds' parameter .* range \[1, inf\)"),
        (AutoNodeModel(budget_growth=1), {}, ValueError, r"'budget_growth' parameter .* range \(1\.0, inf\)"),
        (AutoNodeModel(max_rows_per_level=1), {}, ValueError, "'max_rows_per_level' parameter"),
        (AutoNodeModel(tie_standard_errors=-1.0), {}, ValueError, "'tie_standard_errors' parameter"),
        (AutoNodeModel(consider_collapse="yes"), {}, ValueError, "'consider_collapse' parameter"),
        ("automatic", {}, ValueError, "'estimator' parameter of HierarchicalClassifier"),
        (
            AutoNodeModel(candidates=["linear", "knn"]),
            {"nan": True},
            ModelSelectionError,
            "No candidate node model.*linear cannot take NaN in X; knn cannot take NaN",
        ),
    ],
)
def test_bad_auto_settings_are_refused_before_any_node_is_fitted(estimator, fit_args, error, message):
    X, Y = xor_then_linear(200)
    if fit_args.get("nan"):
        X[0, 0] = np.nan
    model = HierarchicalClassifier(estimator)
    with pytest.raises(error, match=message):
        model.fit(X, Y)
    assert not hasattr(model, "estimators_")
    assert not hasattr(model, "model_selection_")


def test_auto_parameters_are_reachable_for_grid_search_and_clone():
    # Each fold fits on 150 rows: 15 held out, so a lower min_validation_rows lets it select.
    model = HierarchicalClassifier(
        AutoNodeModel(candidates=["linear", "knn"], min_validation_rows=10), random_state=0
    )
    params = model.get_params()
    assert params["estimator__candidates"] == ["linear", "knn"]
    copy = clone(model).set_params(estimator__scoring="log_loss")
    assert copy.estimator.scoring == "log_loss"
    assert model.estimator.scoring == "accuracy"
    X, Y = xor_then_linear(300)
    leaf = Y["leaf"].to_numpy()
    search = GridSearchCV(model, {"estimator__candidates": [["linear"], ["linear", "lightgbm"]]}, cv=2)
    search.fit(X, leaf)
    assert search.best_params_ == {"estimator__candidates": ["linear", "lightgbm"]}


def test_auto_as_a_string_equals_the_default_auto_node_model():
    X, Y = xor_then_linear(300)
    by_name = HierarchicalClassifier("auto", random_state=0).fit(X, Y)
    by_object = HierarchicalClassifier(AutoNodeModel(), random_state=0).fit(X, Y)
    columns = [c for c in SELECTION_COLUMNS if c != "fit_seconds"]
    assert_frame_equal(by_name.model_selection_[columns], by_object.model_selection_[columns])


def test_text_like_input_keeps_the_linear_model_without_selection_fits():
    from scipy import sparse

    rng = np.random.default_rng(0)
    X = sparse.random(300, 50, density=0.1, random_state=0, format="csr")
    X = sparse.diags(1 / np.maximum(np.sqrt(X.multiply(X).sum(axis=1)).A1, 1e-9)) @ X
    Y = np.column_stack([rng.choice(["a", "b"], 300), rng.choice(["x", "y"], 300)])
    model = HierarchicalClassifier("auto", random_state=0).fit(X, Y)
    table = model.model_selection_
    assert table.candidate.tolist() == ["linear", "linear"]
    assert table.note.eq("the only usable candidate").all()
    assert table.chosen.all()


def test_stratified_holdout_takes_the_fraction_of_every_child_and_keeps_one_training_row():
    nodes = np.array([0] * 10 + [0] * 2 + [5] * 5 + [5])
    targets = np.array([1] * 10 + [2] * 2 + [6] * 5 + [7])
    held = _stratified_holdout(nodes, targets, 0.2, np.random.default_rng(0))
    per_group = pd.Series(held).groupby([nodes, targets]).sum().to_dict()
    assert per_group == {(0, 1): 2, (0, 2): 0, (5, 6): 1, (5, 7): 0}


@pytest.mark.slow
def test_hiercls_train_with_model_auto_writes_the_choice_table(tmp_path):
    import json

    from hydra import compose, initialize_config_dir

    from hiercls.artifacts import load_model
    from hiercls.cli.config import CONF_DIR
    from hiercls.cli.train import train

    overrides = [
        f"paths.output_dir={tmp_path}",
        "model=auto",
        "data.n_samples=1500",
        "sufficiency.min_samples=5",
        "model.n_jobs=1",
        "model.verbose=0",
        "model.estimator.candidates=[linear,knn]",
        "report.figures=false",
    ]
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    metrics = train(cfg)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    selection = pd.DataFrame(saved["model_selection"])
    assert list(selection.columns) == list(SELECTION_COLUMNS)
    assert set(selection.candidate) == {"linear", "knn"}
    assert selection.groupby("level").chosen.sum().eq(1).all()
    assert metrics["model_selection"] == saved["model_selection"]
    page = (tmp_path / "model_selection.md").read_text()
    assert page.startswith("# Node models chosen per level")
    assert "Chosen: " in page
    written = pd.read_csv(tmp_path / "model_selection.csv", keep_default_na=False)
    assert written.candidate.tolist() == selection.candidate.tolist()
    model = load_model(tmp_path / "model")
    classifier = model if isinstance(model, HierarchicalClassifier) else model[-1]
    assert classifier.model_selection_.candidate.tolist() == selection.candidate.tolist()


def test_a_level_above_the_row_budget_is_scored_on_whole_nodes_up_to_the_budget():
    X, Y = xor_then_linear(400)
    auto = AutoNodeModel(max_rows_per_level=250, validation_fraction=0.2)  # 50 held out: enough to score
    model = HierarchicalClassifier(auto, random_state=0).fit(X, Y)
    table = model.model_selection_.drop_duplicates("level").set_index("level")
    used = table.n_train_rows + table.n_validation_rows
    assert (used == 250).all()
    # The root alone holds 400 rows: a part of it. The two leaf-level nodes hold about
    # 200 rows each: one whole node and a part of the other.
    assert table.loc["group", "n_nodes"] == 1
    assert table.loc["leaf", "n_nodes"] == 2


def test_a_candidate_that_cannot_take_sparse_input_is_skipped():
    from scipy import sparse

    X, Y = xor_then_linear(300)
    auto = AutoNodeModel(candidates=["hist_gradient_boosting", "linear"])
    model = HierarchicalClassifier(auto, random_state=0).fit(sparse.csr_matrix(X), Y)
    notes = model.model_selection_.set_index(["level", "candidate"]).note
    assert notes[("group", "hist_gradient_boosting")] == "skipped: cannot take sparse X"
    assert chosen(model) == {"group": "linear", "leaf": "linear"}


def test_candidates_tied_within_noise_race_on_more_rows_until_the_level_is_used_up():
    X, Y = xor_then_linear(400)
    # A tie threshold no lead can pass: every round ties, and the budget grows 100, 300,
    # 900 rows until the level (400 rows at each level) is used up in round 3.
    racing = AutoNodeModel(
        max_rows_per_level=100, tie_standard_errors=1e9, min_validation_rows=5, validation_fraction=0.2
    )
    model = HierarchicalClassifier(racing, random_state=0).fit(X, Y)
    table = model.model_selection_
    rounds = table.groupby(["level", "round"]).agg(
        rows=("n_validation_rows", "first"), train=("n_train_rows", "first"), n=("candidate", "size")
    )
    assert (rounds.rows + rounds.train).to_dict() == {
        ("group", 1): 100,
        ("group", 2): 300,
        ("group", 3): 400,
        ("leaf", 1): 100,
        ("leaf", 2): 300,
        ("leaf", 3): 400,
    }
    # Every candidate is tied, so halving keeps the better two of three after round 1.
    assert rounds.n.to_dict() == {
        (level, r): n for level in ("group", "leaf") for r, n in ((1, 3), (2, 2), (3, 2))
    }
    first = table[table["round"] == 1]
    for level, group in first.groupby("level"):
        out = group.sort_values("accuracy").candidate.iloc[0]
        assert group.set_index("candidate").note[out].endswith("not in the better half: out")
        assert out not in set(table[(table.level == level) & (table["round"] > 1)].candidate)
    last = table[table["round"] == 3]
    assert last.groupby("level").chosen.sum().eq(1).all()
    assert not table.loc[table["round"] < 3, "chosen"].any()
    assert last.loc[last.chosen, "note"].str.contains("the level has no more rows").all()
    # The last round holds the whole level: the same scores as one round on every row.
    every_row = AutoNodeModel(max_rows_per_level=None, validation_fraction=0.2)
    whole = HierarchicalClassifier(every_row, random_state=0).fit(X, Y)
    key = ["level", "candidate"]
    scores = ["accuracy", "balanced_accuracy", "log_loss", "n_train_rows", "n_validation_rows"]
    expected = whole.model_selection_.set_index(key).loc[last.set_index(key).index, scores]
    assert_frame_equal(last.set_index(key)[scores], expected)


def test_racing_stops_at_max_rounds_and_a_clear_lead_stops_it_after_one_round():
    X, Y = xor_then_linear(2000)
    capped = HierarchicalClassifier(
        AutoNodeModel(
            max_rows_per_level=100,
            validation_fraction=0.2,
            tie_standard_errors=1e9,
            max_rounds=2,
            budget_growth=1.5,
            min_validation_rows=5,
        ),
        random_state=0,
    ).fit(X, Y)
    table = capped.model_selection_
    assert table.groupby("level")["round"].max().to_dict() == {"group": 2, "leaf": 2}
    assert (
        (table.loc[table["round"] == 2, "n_train_rows"] + table.loc[table["round"] == 2, "n_validation_rows"])
        .eq(150)
        .all()
    )
    assert table.loc[table.chosen, "note"].str.contains("max_rounds=2 reached").all()
    # The XOR level: LightGBM leads the others by far more than two standard errors.
    clear = HierarchicalClassifier(
        AutoNodeModel(max_rows_per_level=300, validation_fraction=0.2), random_state=0
    ).fit(X, Y)
    group = clear.model_selection_[clear.model_selection_.level == "group"]
    assert group["round"].tolist() == [1, 1, 1]
    assert group.loc[~group.chosen, "note"].str.startswith("behind lightgbm").all()
    assert chosen(clear)["group"] == "lightgbm"


def test_a_near_tie_goes_to_a_second_round_with_only_the_tied_candidates():
    X, Y = xor_then_linear(3000)
    auto = AutoNodeModel(max_rows_per_level=150, min_validation_rows=5, validation_fraction=0.2)
    model = HierarchicalClassifier(auto, random_state=0).fit(X, Y)
    leaf = model.model_selection_[model.model_selection_.level == "leaf"].set_index(["round", "candidate"])
    # On 150 rows of the linear leaf level, k-NN is within two standard errors of the
    # linear model; LightGBM (trees on a linear rule) is behind beyond them and drops out.
    assert leaf.loc[(1, "lightgbm"), "note"].startswith("behind linear")
    assert leaf.loc[(1, "knn"), "note"].startswith("tied with linear")
    assert leaf.loc[(1, "knn"), "note"].endswith("next round")
    # Round 2: the two tied candidates on three times the rows, where the linear model is clearly ahead.
    second = leaf.loc[2]
    assert sorted(second.index) == ["knn", "linear"]
    assert (second.n_train_rows + second.n_validation_rows).eq(450).all()
    assert second.loc["knn", "note"].startswith("behind linear")
    assert chosen(model)["leaf"] == "linear"
    assert not leaf.loc[1, "chosen"].any()


def quadrants(n=600, seed=0):
    """Leaves are the four quadrants of (x0, x1), level "side" pairs opposite ones (the
    XOR of the signs): no linear model decides "side", one linear model over the four
    leaves separates them."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    quadrant = (X[:, 0] > 0).astype(int) * 2 + (X[:, 1] > 0).astype(int)
    side = np.where(np.isin(quadrant, [0, 3]), "same", "opposite")
    return X, pd.DataFrame({"side": side, "quadrant": np.char.add("q", quadrant.astype(str))})


def test_auto_collapses_a_level_where_the_flat_model_is_better_and_fits_what_collapse_levels_fits():
    X, Y = quadrants()
    auto = AutoNodeModel(candidates=["linear"], consider_collapse=True)
    model = HierarchicalClassifier(auto, random_state=0).fit(X, Y)
    assert model.collapsed_levels_ == ("quadrant",)
    table = model.model_selection_.set_index(["level", "candidate"])
    assert table.loc[("quadrant", "collapse"), "chosen"]
    assert not table.loc[("quadrant", "top_down"), "chosen"]
    assert (
        table.loc[("quadrant", "collapse"), "accuracy"]
        > table.loc[("quadrant", "top_down"), "accuracy"] + 0.3
    )
    assert table.loc[("quadrant", "collapse"), "note"].startswith("one model (the choice of level 'side')")
    assert table.loc[("quadrant", "linear"), "note"].endswith("unused: the level is collapsed")
    by_hand = HierarchicalClassifier(collapse_levels=["quadrant"], random_state=0).fit(X, Y)
    assert_array_equal(model.predict(X), by_hand.predict(X))
    for got, expected in zip(model.predict_proba(X), by_hand.predict_proba(X), strict=True):
        np.testing.assert_allclose(got, expected)
    assert (model.predict(X)[:, 1] == Y["quadrant"]).mean() > 0.95


def test_collapse_is_not_considered_when_off_or_when_collapse_levels_are_given():
    X, Y = quadrants(300)
    off = HierarchicalClassifier(AutoNodeModel(candidates=["linear"]), random_state=0).fit(X, Y)
    given = HierarchicalClassifier(
        AutoNodeModel(candidates=["linear"], consider_collapse=True),
        collapse_levels=["quadrant"],
        random_state=0,
    ).fit(X, Y)
    for model in (off, given):
        assert not model.model_selection_.candidate.isin(["top_down", "collapse"]).any()
    assert off.collapsed_levels_ == ()
    assert given.collapsed_levels_ == ("quadrant",)


def test_a_level_the_top_down_models_decide_as_well_is_not_collapsed():
    X, Y = xor_then_linear(600)
    # Trees decide the XOR level and the linear model the linear one; one LightGBM over
    # the four leaves is no better beyond noise.
    model = HierarchicalClassifier(AutoNodeModel(consider_collapse=True), random_state=0).fit(X, Y)
    table = model.model_selection_.set_index(["level", "candidate"])
    assert model.collapsed_levels_ == ()
    assert table.loc[("leaf", "top_down"), "chosen"]
    assert not table.loc[("leaf", "collapse"), "chosen"]


def tied_first_level(n=400, seed=0):
    """Level "a" is the sign of x0 with a wide margin (every candidate is exact on it: a
    tie in every round); level "b" the sign of x1."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    X[:, 0] += np.sign(X[:, 0]) * 5
    a = np.where(X[:, 0] > 0, "A", "B")
    return X, pd.DataFrame({"a": a, "b": np.char.add(a, np.where(X[:, 1] > 0, "1", "2"))})


def test_exact_ties_go_to_the_candidate_listed_first():
    X, Y = tied_first_level()
    for order in (["knn", "linear"], ["linear", "knn"]):
        model = HierarchicalClassifier(AutoNodeModel(candidates=order), random_state=0).fit(X, Y)
        level_a = model.model_selection_[model.model_selection_.level == "a"]
        assert np.allclose(level_a.accuracy, 1.0)
        assert chosen(model)["a"] == order[0]


@pytest.mark.slow
def test_exact_ties_are_broken_the_same_way_on_one_worker_and_on_two():
    X, Y = tied_first_level()
    serial, parallel = (
        HierarchicalClassifier(
            AutoNodeModel(candidates=["knn", "linear"]), random_state=0, n_jobs=n_jobs
        ).fit(X, Y)
        for n_jobs in (1, 2)
    )
    columns = [c for c in SELECTION_COLUMNS if c != "fit_seconds"]
    assert_frame_equal(serial.model_selection_[columns], parallel.model_selection_[columns])
