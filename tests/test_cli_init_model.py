"""hiercls-train init_model=<run>/model: a second run reuses the earlier run's node models."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from hiercls.cli.config import CONF_DIR
from hiercls.cli.train import train
from hiercls.exceptions import IncompatibleModelError

SMALL = ["data.n_samples=600", "sufficiency.min_samples=5", "model.n_jobs=1", "report.figures=false"]


def _train(folder, *overrides):
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=[f"paths.output_dir={folder}", *SMALL, *overrides])
    return train(cfg)


@pytest.mark.slow
def test_a_run_from_an_earlier_model_reuses_every_unchanged_node(tmp_path):
    first = _train(tmp_path / "first")
    assert first["init_model"] is None
    assert first["n_nodes_reused"] == 0
    assert first["n_nodes_refitted"] > 0
    again = _train(tmp_path / "again", f"init_model={tmp_path / 'first' / 'model'}")
    assert (again["n_nodes_refitted"], again["n_nodes_reused"]) == (0, first["n_nodes_refitted"])
    assert json.loads((tmp_path / "again" / "metrics.json").read_text())["n_nodes_reused"] > 0
    assert again["test"]["hierarchical_f1"] == first["test"]["hierarchical_f1"]
    predictions = [pd.read_csv(tmp_path / run / "test_predictions.csv") for run in ("first", "again")]
    pd.testing.assert_frame_equal(*predictions)
    # Other seeds for the node models: every node is fitted again (init_model a run folder too).
    changed = _train(tmp_path / "changed", f"init_model={tmp_path / 'first'}", "model.random_state=5")
    assert (changed["n_nodes_refitted"], changed["n_nodes_reused"]) == (first["n_nodes_refitted"], 0)


def _saved(folder, model, X, Y):
    from hiercls.artifacts import save_model

    save_model(model.fit(X, Y), folder)
    return folder


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory):
    from hiercls import HierarchicalClassifier, MultiLabelHierarchicalClassifier

    folder = tmp_path_factory.mktemp("models")
    X = [[0.0, 1.0], [1.0, 0.0]] * 4
    Y = pd.DataFrame({"kingdom": ["a", "b"] * 4, "species": ["a1", "b1"] * 4})
    return {
        "single": _saved(folder / "single", HierarchicalClassifier(min_samples=1), X, Y),
        "multi": _saved(
            folder / "multi", MultiLabelHierarchicalClassifier(min_samples=1), X, [[("a",)], [("b",)]] * 4
        ),
    }


def _pipeline():
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from hiercls import HierarchicalClassifier

    return Pipeline([("features", StandardScaler()), ("classifier", HierarchicalClassifier())])


@pytest.mark.parametrize(
    ("init_model", "model", "X", "levels", "error", "message"),
    [
        (
            "nowhere/model",
            "single",
            None,
            None,
            FileNotFoundError,
            r"init_model='nowhere/model' does not exist",
        ),
        ("multi", "single", None, None, IncompatibleModelError, r"holds a MultiLabelHierarchicalClassifier"),
        (
            "single",
            "pipeline",
            None,
            None,
            IncompatibleModelError,
            r"trains a HierarchicalClassifier behind a",
        ),
        (
            "single",
            "single",
            [[0.0, 1.0]],
            ["kingdom", "genus"],
            IncompatibleModelError,
            r"levels \['kingdom'",
        ),
        (
            "single",
            "single",
            [[0.0, 1.0, 2.0]],
            ["kingdom", "species"],
            IncompatibleModelError,
            "on 2 input columns, but the data have 3",
        ),
    ],
)
def test_init_models_that_cannot_continue_are_refused(
    saved_models, init_model, model, X, levels, error, message
):
    from conftest import file_digests

    from hiercls import HierarchicalClassifier
    from hiercls.cli.init_model import check_init_model, start_from

    path = saved_models.get(init_model, init_model)
    before = file_digests(saved_models["single"].parent)
    configured = _pipeline() if model == "pipeline" else HierarchicalClassifier()

    def start_and_check():
        started = start_from(str(path), configured)
        check_init_model(str(path), started, np.asarray(X), levels)

    with pytest.raises(error, match=message):
        start_and_check()
    assert file_digests(saved_models["single"].parent) == before  # nothing written, nothing lost


def test_an_init_model_takes_the_runs_parameters(saved_models):
    from hiercls import HierarchicalClassifier
    from hiercls.cli.init_model import start_from

    started = start_from(str(saved_models["single"]), HierarchicalClassifier(min_samples=3, random_state=4))
    assert started.get_params()["warm_start"] is True
    assert (started.min_samples, started.random_state) == (3, 4)
    assert started.levels_ == ["kingdom", "species"]  # the earlier fit's state, to reuse
