"""Every file in every conf/ group composes, and the model configs instantiate."""

from __future__ import annotations

import importlib.util

import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import get_object

from hiercls import HierarchicalClassifier
from hiercls.cli.config import CONF_DIR, check_required, check_targets
from hiercls.cli.train import build_model, load_dataset

GROUPS = ("data", "model", "sufficiency", "experiment", "hparams_search")
LEVELS = ["chapter", "block", "category"]


def options(group):
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def compose_train(overrides=()):
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return compose("train", overrides=list(overrides))


def test_every_group_has_options():
    for group in GROUPS:
        assert options(group), f"conf/{group}/ is empty"


@pytest.mark.parametrize(("group", "option"), [(g, o) for g in GROUPS for o in options(g)])
def test_every_option_composes_and_its_targets_import(group, option):
    if group == "hparams_search" and importlib.util.find_spec("hydra_plugins.hydra_optuna_sweeper") is None:
        pytest.skip("the optuna sweeper plugin is an optional extra: pip install 'hiercls[optuna]'")
    overrides = [f"{group}={option}"]
    if option in ("csv", "parquet"):
        overrides += ["data.path=x", "data.label_columns=[a,b]"]
    if option == "multilabel":
        overrides += ["data.path=x", "data.paths_column=codes"]
    cfg = compose_train(overrides)
    check_required(cfg)
    check_targets(cfg, "model")
    assert get_object(cfg.data._target_).__module__ == "hiercls.datasets"


@pytest.mark.parametrize("option", options("model"))
def test_every_model_instantiates(option):
    cfg = compose_train([f"model={option}"])
    dataset = load_dataset(compose_train(["data.n_samples=300"]).data)
    model = build_model(cfg.model, dataset, None)
    assert isinstance(model, HierarchicalClassifier)
    assert model.random_state == cfg.seed
    assert set(model.level_estimators or {}) <= set(LEVELS)


@pytest.mark.parametrize("option", options("sufficiency"))
def test_sufficiency_configs_reach_the_estimator(option):
    cfg = compose_train([f"sufficiency={option}", "sufficiency.min_samples=7"])
    model = build_model(cfg.model, load_dataset(compose_train(["data.n_samples=300"]).data), None)
    assert model.sufficiency_policy == option
    assert model.min_samples == 7


def test_partial_level_override_merges_onto_the_base_estimator():
    cfg = compose_train(["model=lgbm", "model.level_estimators.category.n_estimators=300"])
    model = build_model(cfg.model, load_dataset(compose_train(["data.n_samples=300"]).data), None)
    assert set(model.level_estimators) == {"category"}
    assert model.level_estimators["category"].n_estimators == 300
    assert model.level_estimators["category"].learning_rate == cfg.model.estimator.learning_rate
