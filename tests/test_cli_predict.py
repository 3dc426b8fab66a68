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
from hiercls.artifacts import FORMAT_VERSION, ArtifactError, load_model, save_model
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
    (broken / "model.skops").write_bytes(b"not a pickle")
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


@pytest.mark.slow  # several seconds: in the full suite only
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


# Each row: what changes from a good command (``{d}`` is the row's folder, ``{m}`` the
# model's), the exit code, the message, and what is in the output folder afterwards:
# "nothing" (no part), "scored" (a finished job), "kept" (an earlier job's parts, unchanged).
# A row with "before" first runs that good command into the same output.
PREDICT_ROWS = [
    # the model
    (
        {"model_path": "{d}/nope"},
        2,
        r"model_path='.*nope' does not exist",
        "nothing",
    ),
    (
        {"model_path": ""},
        2,
        r"model_path is empty; give a path",
        "nothing",
    ),
    (
        {"model_path": "{d}"},
        2,
        r"has no metadata\.json",
        "nothing",
    ),
    (
        {"model_path": "{d}/notes.json"},
        2,
        r"notes\.json' is a file, not a hiercls model artifact",
        "nothing",
    ),
    (
        {"model_path": "{d}/failed_run"},
        2,
        r"failed_run' is a hiercls-train run that failed before saving",
        "nothing",
    ),
    (
        {"model_path": "{d}/truncated"},
        2,
        r"model\.skops' does not match its metadata.*truncated",
        "nothing",
    ),
    (
        {"model_path": "{d}/future"},
        2,
        rf"has artifact format version 99; this hiercls reads up to version {FORMAT_VERSION}\. Upgrade",
        "nothing",
    ),
    # pickle artifacts: refused unless allowed
    (
        {"model_path": "{d}/pickled"},
        2,
        r"pickled' holds a pickle \(model\.joblib.*\(hiercls-predict: allow_pickle=true\)",
        "nothing",
    ),
    ({"model_path": "{d}/pickled", "extra": ["allow_pickle=true"]}, 0, None, "scored"),
    (
        {"extra": ["allow_pickle=sure"]},
        2,
        r"allow_pickle='sure' is not a boolean; write allow_pickle=true",
        "nothing",
    ),
    # trusted types: a list of type names
    ({"extra": ["trust=[sklearn.tree._classes.DecisionTreeClassifier]"]}, 0, None, "scored"),
    (
        {"extra": ["trust=sklearn"]},
        2,
        r"'trusted' parameter of predict_file must be a list of type names .* Got 'sklearn' instead",
        "nothing",
    ),
    (
        {"model_path": "{m}/.."},
        0,
        None,
        "scored",
    ),  # a hiercls-train run folder
    # the input
    (
        {"input": "{d}/missing.csv"},
        2,
        r"input='.*missing\.csv' is not a file",
        "nothing",
    ),
    (
        {"input": ""},
        2,
        r"input is empty; give a path",
        "nothing",
    ),
    (
        {"input": "{d}"},
        2,
        r"is not a file; give the CSV or Parquet file to score",
        "nothing",
    ),
    (
        {"input": "{d}/notes.json"},
        2,
        r"Cannot tell the format of .*notes\.json.*'\.json'",
        "nothing",
    ),
    (
        {"input": "{d}/empty.csv"},
        2,
        r"empty\.csv' is empty; give a file with a header line",
        "nothing",
    ),
    (
        {"input": "{d}/binary.csv"},
        2,
        r"binary\.csv' cannot be read as CSV \(CSV parse error: .*got \d+\); give",
        "nothing",
    ),
    (
        {"input": "{d}/dup.csv"},
        2,
        r"more than one column named 'x0'",
        "nothing",
    ),
    (
        {"input": "{d}/no_x1.parquet"},
        2,
        r"lacks 1 of the model's 4 feature columns: \['x1'\]",
        "nothing",
    ),
    (
        {"input": "{d}/text_x1.csv"},
        2,
        r"Feature column 'x1' of .* must hold numbers, but row 3 .* has 'abc'",
        "nothing",
    ),
    (
        {"input": "{d}/latin1.csv", "extra": ["passthrough=all"]},
        2,
        r"latin1\.csv' is not UTF-8 text",
        "nothing",
    ),
    (
        {"input": "{d}/rows.csv", "extra": ["input_format=parquet"]},
        2,
        r"is not a Parquet file .*use input_format=csv",
        "nothing",
    ),
    (
        {"extra": ["input_format=csv"]},
        2,
        r"new\.parquet' is a Parquet file, not CSV; use input_format=parquet\.$",
        "nothing",
    ),
    (
        {"input": "{d}/header.csv"},
        0,
        None,
        "nothing",
    ),  # 0 rows: nothing to score, said in the summary
    (
        {"input": "{d}/extra.parquet"},
        0,
        None,
        "scored",
    ),  # columns the model does not need are ignored
    (
        {"input": "{d}/level0.parquet", "extra": ["passthrough=all"]},
        2,
        r"Output columns \['level0'\] would appear twice",
        "nothing",
    ),
    # the output
    (
        {"output": ""},
        2,
        r"output is empty; give a path",
        "nothing",
    ),
    (
        {"output": "{d}/notes.json"},
        2,
        r"output='.*notes\.json' is a file; give a directory",
        "nothing",
    ),
    (
        {"output": "{input}"},
        2,
        r"output='.*new\.parquet' is the input file; give a directory",
        "nothing",
    ),
    (
        {"output": "{d}"},
        2,
        r"is not empty .* and has no _manifest\.json; choose an empty or new output",
        "nothing",
    ),
    (
        {"before": True, "extra": ["top_k=1"]},
        2,
        r"top_k: 0 -> 1",
        "kept",
    ),
    (
        {"before": True, "model_path": "{d}/other_model"},
        2,
        r"another model|model",
        "kept",
    ),
    (
        {"before": True, "input": "{d}/rows.parquet"},
        2,
        r"input",
        "kept",
    ),
    (
        {"before": True},
        0,
        None,
        "kept",
    ),  # the same job again: nothing left to score
    # option values
    (
        {"extra": ["format=json"]},
        2,
        r"format='json' is not supported; choose parquet or csv",
        "nothing",
    ),
    (
        {"extra": ["id_columns=[nokey]"]},
        2,
        r"nokey",
        "nothing",
    ),
    (
        {"extra": ["id_columns=key"]},
        2,
        r"'id_columns' parameter of predict_file must be a list of column names",
        "nothing",
    ),
    (
        {"extra": ["passthrough=everything"]},
        2,
        r"'passthrough' parameter .* Got 'everything' instead",
        "nothing",
    ),
    (
        {"extra": ["feature_columns=[x0]"]},
        2,
        r"feature_columns \['x0'\] differ from the features the model was fitted on",
        "nothing",
    ),
    (
        {"extra": ["top_k=-1"]},
        2,
        r"top_k",
        "nothing",
    ),
    (
        {"extra": ["top_k=0.5"]},
        2,
        r"'top_k' parameter .* Got 0\.5 instead",
        "nothing",
    ),
    (
        {"extra": ["explain=-1"]},
        2,
        r"The 'explain' parameter of predict_file must be an int in the range \[0, inf\)\. Got -1 instead",
        "nothing",
    ),
    (
        {"extra": ["explain=0.5"]},
        2,
        r"'explain' parameter .* Got 0\.5 instead",
        "nothing",
    ),
    (
        {"extra": ["explain=many"]},
        2,
        r"'explain' parameter .* Got 'many' instead",
        "nothing",
    ),
    (
        {"extra": ["explain=0"]},
        0,
        None,
        "scored",
    ),  # 0 is the default: no explanation columns
    (
        {"extra": ["chunk_rows=0"]},
        2,
        r"chunk_rows",
        "nothing",
    ),
    (
        {"extra": ["confidence=2"]},
        2,
        r"confidence",
        "nothing",
    ),
    (
        {"extra": ["overwrite=maybe"]},
        2,
        r"overwrite='maybe' is not a boolean; write overwrite=true",
        "nothing",
    ),
    # command lines Hydra cannot compose
    (
        {"extra": ["engine=spark"]},
        2,
        r"unknown engine 'spark'; choose one of: dask, local \(see hiercls-predict --help\)$",
        "nothing",
    ),
    (
        {"extra": ["topk=3"]},
        2,
        r"unknown config key 'topk'; check its spelling",
        "nothing",
    ),
    (
        {"extra": ["top_k=[1"]},
        2,
        r"cannot read the override 'top_k=\[1'",
        "nothing",
    ),
    # the machine
    (
        {"extra": ["engine=dask", "engine.address=tcp://127.0.0.1:{port}"]},
        3,
        r"cannot reach the Dask scheduler at engine\.address=tcp://127\.0\.0\.1:\d+ \(Connection refused\)",
        "nothing",
    ),
]


def _write_inputs(directory, new, model_dir):
    import shutil

    from hiercls.artifacts import FAILED_RUN_FILE

    (directory / "notes.json").write_text("{}\n")
    (directory / "empty.csv").write_bytes(b"")
    (directory / "binary.csv").write_bytes(bytes(range(256)) * 8)
    new.head(0).to_csv(directory / "header.csv", index=False)
    new.rename(columns={"x1": "x0"}).to_csv(directory / "dup.csv", index=False)
    new.drop(columns=["x1"]).to_parquet(directory / "no_x1.parquet")
    new.astype({"x1": object}).assign(x1=lambda f: f.x1.where(f.index != 3, "abc")).to_csv(
        directory / "text_x1.csv", index=False
    )
    new.head(20).to_csv(directory / "latin1.csv", index=False)
    with open(directory / "latin1.csv", "ab") as file:
        file.write("0.1,0.2,0.3,0.4,caf\xe9\n".encode("latin-1"))
    new.head(50).to_csv(directory / "rows.csv", index=False)
    new.head(50).to_parquet(directory / "rows.parquet")
    new.assign(note="extra").to_parquet(directory / "extra.parquet")
    new.assign(level0="mine").to_parquet(directory / "level0.parquet")
    (directory / "failed_run").mkdir()
    (directory / "failed_run" / FAILED_RUN_FILE).write_text("This run failed.\nno space left\n")
    shutil.copytree(model_dir, directory / "truncated")
    model_file = directory / "truncated" / "model.skops"
    model_file.write_bytes(model_file.read_bytes()[:1000])
    save_model(load_model(model_dir), directory / "pickled", format="pickle")
    shutil.copytree(model_dir, directory / "future")
    metadata = json.loads((directory / "future" / "metadata.json").read_text())
    (directory / "future" / "metadata.json").write_text(json.dumps({**metadata, "format_version": 99}))


@pytest.fixture(scope="module")
def other_model(setup):
    directory, _, new = setup
    X, Y = make_hierarchical_classification(
        300, n_levels=2, branching=(3, 4), n_features=4, as_frame=True, random_state=1
    )
    save_model(
        HierarchicalClassifier(min_samples=1).fit(X, Y), directory / "other_model", training_data=(X, Y)
    )
    return directory / "other_model"


@pytest.mark.slow  # ~50 end-to-end command runs: the full suite's, not the fast loop's
@pytest.mark.parametrize(("change", "code", "message", "after"), PREDICT_ROWS)
def test_predict_rows(run_command, setup, other_model, tmp_path, change, code, message, after):
    import shutil

    from conftest import file_digests, unused_port

    if any("engine=dask" in a for a in change.get("extra", [])):
        pytest.importorskip("distributed")
    directory, _, new = setup
    _write_inputs(tmp_path, new, directory / "model")
    shutil.copytree(other_model, tmp_path / "other_model")
    good = {
        "model_path": str(directory / "model"),
        "input": str(directory / "new.parquet"),
        "output": str(tmp_path / "out"),
    }
    fill = {"d": tmp_path, "m": directory / "model", "input": good["input"], "port": unused_port()}
    common = ["quiet=true", "chunk_rows=200", f"hydra.run.dir={tmp_path / 'run'}"]
    if change.get("before"):
        done, err = run_command("predict", [*(f"{k}={v}" for k, v in good.items()), *common], tmp_path)
        assert done == 0, err
    outputs = file_digests(tmp_path / "out") if (tmp_path / "out").is_dir() else {}
    inputs = {**file_digests(tmp_path, skip={"out", "run"}), **file_digests(directory, skip={"other_model"})}
    args = {**good, **{k: v.format(**fill) for k, v in change.items() if k in good}}
    extra = [a.format(**fill) for a in change.get("extra", [])]
    returncode, err = run_command(
        "predict", [*(f"{k}={v}" for k, v in args.items()), *common, *extra], tmp_path
    )
    assert returncode == code, err[-3000:]
    assert "Traceback" not in err
    inputs_after = {
        **file_digests(tmp_path, skip={"out", "run"}),
        **file_digests(directory, skip={"other_model"}),
    }
    assert inputs_after == inputs  # nothing of the user's is changed or lost
    parts = sorted((tmp_path / "out").glob("part-*"))
    if after == "nothing":
        assert not parts
    elif after == "scored":
        assert parts
        assert json.loads((tmp_path / "out" / SUMMARY_FILE).read_text())["rows"] > 0
    else:  # kept
        assert {k: v for k, v in file_digests(tmp_path / "out").items() if k.startswith("part-")} == {
            k: v for k, v in outputs.items() if k.startswith("part-")
        }
    if message is None:
        return
    errors = [line for line in err.splitlines() if line.startswith("hiercls-predict: error:")]
    assert len(errors) == 1, err[-3000:]
    assert re.search(message, errors[0]), errors[0]
