"""hiercls-train init_model=<run>/model: a second run reuses the earlier run's node models."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from hiercls.cli.config import CONF_DIR
from hiercls.cli.train import train

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
