"""hiercls-predict end to end in tmp_path: composed configs, errors, a real subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import MissingConfigException
from numpy.testing import assert_allclose, assert_array_equal
from omegaconf import OmegaConf

from hiercls import HierarchicalClassifier
from hiercls.artifacts import ArtifactError, save_model
from hiercls.batch import SUMMARY_FILE, OutputConflictError
from hiercls.cli.config import CONF_DIR, ConfigError
from hiercls.cli.errors import EXIT_BAD_INPUT
from hiercls.cli.predict import predict
from hiercls.datasets import make_hierarchical_classification


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    directory = tmp_path_factory.mktemp("cli")
    X, Y = make_hierarchical_classification(
        1500, n_levels=2, branching=(3, 4), n_features=4, as_frame=True, random_state=0
    )
    model = HierarchicalClassifier(min_samples=1, random_state=0).fit(X.iloc[:1000], Y.iloc[:1000])
    save_model(model, directory / "model", training_data=(X.iloc[:1000], Y.iloc[:1000]))
    new = X.iloc[1000:].reset_index(drop=True).assign(key=lambda f: f.index * 10)
    new.to_parquet(directory / "new.parquet")
    new.to_csv(directory / "new.csv", index=False)
    return directory, model, new


def compose_predict(overrides):
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return compose("predict", overrides=list(overrides))


def base(directory, output="out", source="new.parquet"):
    return [
        f"model_path={directory / 'model'}",
        f"input={directory / source}",
        f"output={directory / output}",
        "quiet=true",
        f"paths.output_dir={directory}",
    ]


def test_predict_from_a_composed_config(setup):
    directory, model, new = setup
    cfg = compose_predict([*base(directory, "composed"), "chunk_rows=200", "top_k=2", "id_columns=[key]"])
    summary = predict(cfg)
    assert summary["rows"] == 500
    assert summary["parts"] == 3
    assert summary["engine"] == "local"
    assert json.loads((directory / "composed" / SUMMARY_FILE).read_text())["rows"] == 500
    out = pd.read_parquet(directory / "composed")
    assert out.columns[0] == "key"
    assert "top2_path" in out.columns
    features = new.drop(columns="key")
    assert_array_equal(out[["level0", "level1"]].to_numpy(), model.predict(features))
    assert_allclose(out["path_proba"], model.predict_paths(features).path_proba, rtol=0, atol=1e-12)


def test_csv_in_csv_out_and_resume_refusal(setup):
    directory, _, _ = setup
    cfg = compose_predict([*base(directory, "csv_out", "new.csv"), "format=csv"])
    predict(cfg)
    assert sorted(p.name for p in (directory / "csv_out").glob("part-*")) == ["part-000000.csv"]
    again = compose_predict([*base(directory, "csv_out", "new.csv"), "format=csv", "top_k=1"])
    with pytest.raises(OutputConflictError, match=r"top_k: 0 -> 1"):
        predict(again)
    assert (
        predict(
            compose_predict(
                [*base(directory, "csv_out", "new.csv"), "format=csv", "top_k=1", "overwrite=true"]
            )
        )["rows"]
        == 500
    )


def test_dask_engine_from_config(setup):
    pytest.importorskip("distributed")
    directory, _, _ = setup
    predict(compose_predict(base(directory, "local_engine")))
    cfg = compose_predict(
        [
            *base(directory, "dask_engine"),
            "engine=dask",
            "engine.processes=false",
            "engine.n_workers=1",
        ]
    )
    assert cfg.engine.address is None
    assert predict(cfg)["engine"] == "dask"
    pd.testing.assert_frame_equal(
        pd.read_parquet(directory / "dask_engine"), pd.read_parquet(directory / "local_engine")
    )


def drop_key(cfg, key):
    OmegaConf.set_struct(cfg, False)
    cfg[key] = "???"
    return cfg


def with_engine(cfg, engine):
    OmegaConf.set_struct(cfg, False)
    cfg.engine = engine
    return cfg


@pytest.mark.parametrize(
    ("edit", "error", "message"),
    [
        (
            lambda cfg, d: drop_key(cfg, "model_path"),
            ConfigError,
            r"Missing required config value 'model_path'",
        ),
        (
            lambda cfg, d: drop_key(cfg, "input"),
            ConfigError,
            r"Missing required config value 'input'",
        ),
        (
            lambda cfg, d: drop_key(cfg, "output"),
            ConfigError,
            r"Missing required config value 'output'",
        ),
        (
            lambda cfg, d: OmegaConf.merge(cfg, {"model_path": str(d / "nope")}),
            ConfigError,
            r"model_path='.*nope' does not exist",
        ),
        (
            lambda cfg, d: OmegaConf.merge(cfg, {"input": str(d / "nope.parquet")}),
            ConfigError,
            r"input='.*nope\.parquet' is not a file",
        ),
        (
            lambda cfg, d: OmegaConf.merge(cfg, {"format": "xlsx"}),
            ConfigError,
            r"format='xlsx' is not supported; choose parquet or csv",
        ),
        (
            lambda cfg, d: OmegaConf.merge(cfg, {"input_format": "json"}),
            ConfigError,
            r"input_format='json' is not supported",
        ),
        (
            lambda cfg, d: with_engine(cfg, {"_target_": "collections.OrderedDict"}),
            ConfigError,
            r"engine\._target_='collections\.OrderedDict' is not a hiercls engine",
        ),
        (
            lambda cfg, d: with_engine(cfg, {"_target_": "hiercls.batch.NoSuchEngine"}),
            ConfigError,
            r"engine could not be built from _target_='hiercls\.batch\.NoSuchEngine'",
        ),
        (
            lambda cfg, d: with_engine(cfg, "spark"),
            ConfigError,
            r"engine='spark' is not an engine config; choose engine=local or engine=dask",
        ),
        (
            lambda cfg, d: OmegaConf.merge(cfg, {"chunk_rows": 0}),
            ValueError,
            r"'chunk_rows' parameter of predict_file must be an int in the range \[1, inf\)",
        ),
    ],
)
def test_bad_configs_fail_before_any_work(setup, edit, error, message):
    directory, _, _ = setup
    cfg = edit(compose_predict(base(directory, "never")), directory)
    with pytest.raises(error, match=message):
        predict(cfg)
    assert not (directory / "never").exists()


@pytest.mark.parametrize("option", sorted(p.stem for p in (CONF_DIR / "engine").glob("*.yaml")))
def test_every_engine_config_composes_and_instantiates(setup, option):
    from hydra.utils import instantiate

    from hiercls.batch import DaskEngine, LocalEngine

    directory, _, _ = setup
    engine = instantiate(compose_predict([*base(directory), f"engine={option}"]).engine)
    assert isinstance(engine, (LocalEngine, DaskEngine))
    assert engine.name == option


def test_unknown_engine_group_is_named_by_hydra(setup):
    directory, _, _ = setup
    with pytest.raises(MissingConfigException, match=r"engine/spark"):
        compose_predict([*base(directory), "engine=spark"])


def test_damaged_model_artifact(setup, tmp_path):
    directory, _, _ = setup
    broken = tmp_path / "model"
    broken.mkdir()
    (broken / "model.joblib").write_bytes(b"not a pickle")
    (broken / "metadata.json").write_text((directory / "model" / "metadata.json").read_text())
    cfg = compose_predict([*base(directory, "never"), f"model_path={broken}"])
    with pytest.raises(ArtifactError, match=r"file changed or truncated since it was saved"):
        predict(cfg)


def run_cli(args, cwd):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "hiercls.cli.predict", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_real_subprocess(setup, tmp_path):
    directory, _, _ = setup
    done = run_cli(
        [
            *base(directory, tmp_path / "out"),
            "id_columns=[key]",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert len(pd.read_parquet(tmp_path / "out")) == 500
    log = (tmp_path / "run" / "predict.log").read_text()
    assert "Scored 500 rows into 1 part in" in log
    assert "rows/s" in log
    assert (tmp_path / "run" / ".hydra" / "config.yaml").is_file()

    failed = run_cli(
        [
            f"model_path={tmp_path / 'nope'}",
            f"input={directory / 'new.parquet'}",
            f"output={tmp_path / 'out2'}",
            f"hydra.run.dir={tmp_path / 'run2'}",
        ],
        cwd=tmp_path,
    )
    assert failed.returncode == EXIT_BAD_INPUT
    assert "hiercls-predict: error: model_path=" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert not (tmp_path / "out2").exists()


# Each row: what changes from a good command, the exit code and the message. The
# command must fail with one line and no traceback, and write no output part.
FAULTS = [
    ({"model_path": "{d}/nope"}, EXIT_BAD_INPUT, r"model_path='.*nope' does not exist"),
    ({"model_path": "{d}"}, EXIT_BAD_INPUT, r"has no metadata\.json"),
    ({"input": "{d}/missing.csv"}, EXIT_BAD_INPUT, r"input='.*missing\.csv' is not a file"),
    ({"input": "{d}"}, EXIT_BAD_INPUT, r"is not a file; give the CSV or Parquet file to score"),
    ({"input": "{d}/notes.json"}, EXIT_BAD_INPUT, r"Cannot tell the format of .*notes\.json.*'\.json'"),
    ({"input": "{d}/dup.csv"}, EXIT_BAD_INPUT, r"more than one column named 'x0'"),
    ({"input": "{d}/no_x1.parquet"}, EXIT_BAD_INPUT, r"lacks 1 of the model's 4 feature columns: \['x1'\]"),
    ({"extra": ["format=json"]}, EXIT_BAD_INPUT, r"format='json' is not supported; choose parquet or csv"),
    ({"extra": ["id_columns=[nokey]"]}, EXIT_BAD_INPUT, r"nokey"),
    ({"extra": ["top_k=-1"]}, EXIT_BAD_INPUT, r"top_k"),
    ({"extra": ["chunk_rows=0"]}, EXIT_BAD_INPUT, r"chunk_rows"),
    ({"extra": ["confidence=2"]}, EXIT_BAD_INPUT, r"confidence"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("change", "code", "message"), FAULTS)
def test_predict_faults_end_in_one_line_and_write_nothing(setup, tmp_path, change, code, message):
    directory, _, new = setup
    (tmp_path / "notes.json").write_text("{}\n")
    new.rename(columns={"x1": "x0"}).to_csv(tmp_path / "dup.csv", index=False)
    new.drop(columns=["x1"]).to_parquet(tmp_path / "no_x1.parquet")
    args = {
        "model_path": str(directory / "model"),
        "input": str(directory / "new.parquet"),
        "output": str(tmp_path / "out"),
    }
    args.update({k: v.format(d=tmp_path) for k, v in change.items() if k != "extra"})
    done = run_cli(
        [
            *(f"{k}={v}" for k, v in args.items()),
            "quiet=true",
            f"hydra.run.dir={tmp_path / 'run'}",
            *change.get("extra", []),
        ],
        cwd=tmp_path,
    )
    assert done.returncode == code, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("hiercls-predict: error:")]
    assert len(errors) == 1, done.stderr[-2000:]
    assert re.search(message, errors[0]), errors[0]
    assert not list((tmp_path / "out").glob("part-*"))  # no output part (nor folder, mostly)
