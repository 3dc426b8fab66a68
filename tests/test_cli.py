"""hiercls-train end to end in a temporary folder, and its errors."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from numpy.testing import assert_array_equal
from sklearn.pipeline import Pipeline

import hiercls
from hiercls.artifacts import load_model
from hiercls.batch import predict_file
from hiercls.cli.config import CONF_DIR, ConfigError
from hiercls.cli.train import load_dataset, train
from hiercls.datasets import make_hierarchical_classification
from hiercls.exceptions import SchemaError

# Hydra runs and subprocesses: the fast loop skips them (pytest -m "not slow").
pytestmark = pytest.mark.slow

SMALL = ["data.n_samples=1500", "sufficiency.min_samples=5", "model.n_jobs=1", "model.verbose=0"]
# Drawing the report's figures takes most of a small run: only the test that looks at them draws.
NO_FIGURES = "report.figures=false"


def compose_train(tmp_path, overrides=(), *, figures=False):
    overrides = [f"paths.output_dir={tmp_path}", *overrides, *([] if figures else [NO_FIGURES])]
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return compose("train", overrides=overrides)


def test_train_leaves_every_artifact_and_the_model_reloads(tmp_path):
    cfg = compose_train(tmp_path, SMALL, figures=True)
    metrics = train(cfg)
    for name in ("metrics.json", "sufficiency_report.md", "sufficiency_report.csv",
                 "rare_class_report.md", "rare_class_report.html", "rare_class_report.csv",
                 "test_predictions.csv"):
        assert (tmp_path / name).is_file(), name
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["test"]["hierarchical_f1"] == pytest.approx(metrics["test"]["hierarchical_f1"])
    # The report says which model, data, run and version it describes.
    about = json.loads((tmp_path / "rare_class_report.json").read_text())["about"]
    assert about["model"].startswith("HierarchicalClassifier(")
    assert about["data"] == "hiercls.datasets.load_synthetic"
    assert about["run"] == str(tmp_path)
    assert about["hiercls"] == hiercls.__version__
    assert 0.3 < metrics["test"]["hierarchical_f1"] <= 1.0
    if importlib.util.find_spec("matplotlib") is not None:
        page = (tmp_path / "rare_class_report.html").read_text(encoding="utf-8")
        # Per-level bars, recall against support, bucket bars and the reliability diagram.
        assert page.count("<img ") == page.count("src='data:image/png;base64,") == 4
        assert "figures=False" not in page
    model = load_model(tmp_path / "model")
    run_predictions = pd.read_csv(tmp_path / "test_predictions.csv", keep_default_na=False)
    dataset = load_dataset(cfg.data)
    X_test = dataset.data.loc[run_predictions["row"]]
    predicted = model.predict(X_test).astype(str)
    assert_array_equal(predicted, run_predictions.filter(like="pred_").to_numpy(dtype=str))
    # The run folder that the end of the run points at loads the same model.
    assert_array_equal(load_model(tmp_path).predict(X_test).astype(str), predicted)


def test_train_on_a_dask_cluster_gives_the_local_model(tmp_path):
    pytest.importorskip("distributed")
    dask = ["engine=dask", "engine.processes=false", "engine.n_workers=2", "model.n_jobs=null"]
    on_dask = train(compose_train(tmp_path / "dask", [*SMALL, *dask]))
    local = train(compose_train(tmp_path / "local", SMALL))
    scores = [{k: v for k, v in m["test"].items() if "second" not in k} for m in (on_dask, local)]
    assert scores[0] == scores[1]
    X = load_dataset(compose_train(tmp_path, SMALL).data).data
    np.testing.assert_array_equal(
        load_model(tmp_path / "dask" / "model").predict_proba(X)[-1],
        load_model(tmp_path / "local" / "model").predict_proba(X)[-1],
    )


def test_csv_data_with_named_columns(tmp_path):
    X, Y = make_hierarchical_classification(800, n_levels=2, branching=3, as_frame=True,
                                            random_state=0)
    table = pd.concat([X, Y.set_axis(["group", "leaf"], axis=1)], axis=1)
    path = tmp_path / "train.csv"
    table.to_csv(path, index=False)
    cfg = compose_train(tmp_path / "run", ["data=csv", f"data.path={path}",
                                           "data.label_columns=[group,leaf]",
                                           "data.feature_columns=[x0,x1,x2,x3,x4]", *SMALL[1:]])
    metrics = train(cfg)
    assert metrics["levels"] == ["group", "leaf"]


@pytest.mark.parametrize("experiment", sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml")))
def test_every_experiment_runs_briefly(tmp_path, experiment):
    cfg = compose_train(tmp_path, [f"experiment={experiment}", "model.n_jobs=1"])
    if cfg.data._target_.endswith("load_unicodedata"):
        cfg.data.max_code_point = 0x24F  # Latin letters and symbols: a few hundred rows
    elif "n_samples" in cfg.data:
        cfg.data.n_samples = 1500
    if "n_estimators" in cfg.model.estimator:
        cfg.model.estimator.n_estimators = 10
    metrics = train(cfg)
    assert np.isfinite(metrics["test"]["hierarchical_f1"])
    report = json.loads((tmp_path / "rare_class_report.json").read_text())
    worst_features = pd.DataFrame(report["tables"]["worst_class_features"])
    assert "## Most weighted features of the worst classes" in (tmp_path / "rare_class_report.md").read_text()
    if experiment.startswith("text_tfidf"):  # named by the vocabulary's words, as the featurizer has them
        vocabulary = load_model(tmp_path / "model")[0].named_transformers_["text"].vocabulary_
        assert len(worst_features)
        assert set(worst_features["feature"]) <= set(vocabulary)


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        (["data=csv", "data.label_columns=[a]"], ConfigError, "Missing required config value 'data.path'"),
        (["data=csv", "data.path=/nonexistent/train.csv", "data.label_columns=[a]"],
         FileNotFoundError, "does not exist"),
        (["model=logreg", "model.estimator._target_=sklearn.nope.Classifier"], ConfigError,
         r"model.estimator._target_='sklearn.nope.Classifier' cannot be imported"),
        (["+model.level_estimators.species.C=2"], ConfigError,
         r"keys \['species'\] that are not levels .* \['chapter', 'block', 'category'\]"),
        (["data.split.grouped=true"], ValueError,
         r"load_synthetic defines no groups; data=oews does \(its areas\)"),
    ],
)
def test_bad_config_fails_before_training(tmp_path, overrides, error, message):
    small = SMALL[1:] if "data=csv" in overrides else SMALL
    with pytest.raises(error, match=message):
        train(compose_train(tmp_path, [*small, *overrides]))
    assert not (tmp_path / "model").exists()


def test_missing_label_columns_are_listed(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"a": [1, 2], "f": [0.1, 0.2]}).to_csv(path, index=False)
    cfg = compose_train(tmp_path, ["data=csv", f"data.path={path}", "data.label_columns=[a,b,c]"])
    with pytest.raises(SchemaError, match=r"has no column\(s\) \['b', 'c'\]; its columns are \['a', 'f'\]"):
        train(cfg)


def test_level_empty_in_every_row_fails_at_start(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"a": ["x", "y"] * 20, "b": [""] * 40, "f": np.arange(40.0)}).to_csv(path, index=False)
    cfg = compose_train(tmp_path, ["data=csv", f"data.path={path}", "data.label_columns=[a,b]"])
    with pytest.raises(ConfigError, match=r"Label level\(s\) \['b'\] are empty in every row"):
        train(cfg)


def _run_cli(args, cwd):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", "hiercls.cli.train", *args, NO_FIGURES], cwd=cwd,
                          capture_output=True, text=True, env=env, timeout=600)


def test_multirun_leaves_one_folder_per_run_and_a_summary(tmp_path):
    result = _run_cli(["-m", "model=logreg,mixed", f"paths.output_dir={tmp_path}", *SMALL], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = next((tmp_path / "multirun").iterdir())
    assert (sweep / "0" / "metrics.json").is_file()
    assert (sweep / "1" / "metrics.json").is_file()
    summary = pd.read_csv(sweep / "summary.csv")
    assert len(summary) == 2
    assert summary["overrides"].str.contains("model=mixed").any()


def test_unknown_group_option_names_it(tmp_path):
    result = _run_cli(["data=nope", f"paths.output_dir={tmp_path}"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "hiercls-train: error: unknown data 'nope'; choose one of: csv, multilabel, oews, parquet, "
        "synthetic, unicodedata, wordnet (see hiercls-train --help)"
    )


def test_optuna_search_returns_the_validation_metric(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="pip install 'hiercls[optuna]'")
    result = _run_cli(["-m", "hparams_search=optuna", "model=lgbm", "hydra.sweeper.n_trials=2",
                       "model.estimator.n_estimators=10", f"paths.output_dir={tmp_path}", *SMALL],
                      tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = next((tmp_path / "multirun").iterdir())
    assert "best_value" in (sweep / "optimization_results.yaml").read_text()
    assert len(pd.read_csv(sweep / "summary.csv")) == 2


def test_joblib_launcher_runs_jobs_in_parallel_processes(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher", reason="pip install 'hiercls[sweep]'")
    result = _run_cli(["-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
                       "sufficiency.min_samples=5,10", f"paths.output_dir={tmp_path}", *SMALL[:1],
                       *SMALL[2:]], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = next((tmp_path / "multirun").iterdir())
    assert len(pd.read_csv(sweep / "summary.csv")) == 2


@pytest.mark.parametrize("model_name", ["lgbm", "logreg"])
def test_categorical_columns_train_and_score_in_batch(tmp_path, model_name):
    X, Y = make_hierarchical_classification(600, n_levels=2, branching=3, n_features=3,
                                            as_frame=True, random_state=0)
    Y = Y.set_axis(["group", "leaf"], axis=1)
    rng = np.random.default_rng(0)
    codes = pd.Series(Y["group"].astype("category").cat.codes.to_numpy())
    # A state code that follows the group (zeros kept), an industry code that is noise.
    state = np.where(rng.random(600) < 0.8, codes, rng.integers(0, 3, 600))
    table = pd.concat([X, Y], axis=1).assign(
        state=[f"0{s}" for s in state], industry=rng.choice([11, 21, 31], size=600)
    )
    table.to_csv(tmp_path / "train.csv", index=False)
    overrides = ["data=csv", f"data.path={tmp_path / 'train.csv'}", "data.label_columns=[group,leaf]",
                 "data.categorical_columns=[state,industry]", f"model={model_name}", *SMALL[1:]]
    if model_name == "lgbm":
        overrides.append("model.estimator.n_estimators=20")
    metrics = train(compose_train(tmp_path / "run", overrides))
    assert metrics["test"]["hierarchical_f1"] > 0.3

    model = load_model(tmp_path / "run" / "model")
    if model_name == "lgbm":  # LightGBM nodes take the categories themselves
        assert model.categorical_columns_.names == ("state", "industry")
    else:  # one-hot encoded in front of the logistic regressions
        assert isinstance(model, Pipeline)
        assert model.named_steps["classifier"].categorical_columns_ is None
    new = X.iloc[:50].assign(state=[f"0{s}" for s in state[:50]], industry=table["industry"][:50])
    new.loc[0, "state"] = "99"  # unseen
    new.loc[1, "industry"] = 41  # unseen
    new.loc[2, "x0"] = np.nan
    new.to_csv(tmp_path / "new.csv", index=False)
    new.to_parquet(tmp_path / "new.parquet")
    in_memory = new.assign(state=new["state"].astype("category"),
                           industry=new["industry"].astype(str).astype("category"))
    expected = model.predict(in_memory)
    for kind in ("csv", "parquet"):
        summary = predict_file(tmp_path / "run" / "model", tmp_path / f"new.{kind}",
                               tmp_path / f"out-{kind}", quiet=True)
        out = pd.read_parquet(tmp_path / f"out-{kind}")
        assert summary.rows_failed == 0
        assert_array_equal(out[["group", "leaf"]].to_numpy(dtype=str), expected.astype(str))
