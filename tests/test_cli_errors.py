"""The commands' one error boundary: one line, an exit code, a run folder marked failed."""

from __future__ import annotations

import errno
import os
import re
import subprocess
import sys

import pandas as pd
import pytest

from hiercls.artifacts import FAILED_RUN_FILE
from hiercls.cli.errors import (
    EXIT_BAD_INPUT,
    EXIT_ENVIRONMENT,
    EXIT_INTERRUPTED,
    error_boundary,
)
from hiercls.exceptions import InsufficientSupportError


@pytest.mark.parametrize(
    ("exc", "code", "message"),
    [
        (
            ValueError("data.label_columns names 'zz'"),
            EXIT_BAD_INPUT,
            r"^cmd: error: data\.label_columns names 'zz'$",
        ),
        (
            InsufficientSupportError("3 classes under min_samples"),
            EXIT_BAD_INPUT,
            "3 classes under min_samples",
        ),
        (ImportError("pip install 'hiercls[dask]'"), EXIT_BAD_INPUT, r"hiercls\[dask\]"),
        (
            FileNotFoundError(errno.ENOENT, "No such file", "in.csv"),
            EXIT_BAD_INPUT,
            r"'in\.csv' does not exist",
        ),
        (
            IsADirectoryError(errno.EISDIR, "Is a directory", "data/"),
            EXIT_BAD_INPUT,
            r"'data/' is a directory; give the path of a file",
        ),
        (
            PermissionError(errno.EACCES, "Permission denied", "/out"),
            EXIT_ENVIRONMENT,
            r"permission denied: '/out'; choose a folder",
        ),
        (
            OSError(errno.ENOSPC, "No space left", "/out/part-0.parquet"),
            EXIT_ENVIRONMENT,
            r"no space left on the device writing '/out/part-0\.parquet'",
        ),
        (KeyboardInterrupt(), EXIT_INTERRUPTED, r"^cmd: error: interrupted; run it again$"),
    ],
)
def test_expected_failures_end_in_one_line_and_a_code(capsys, tmp_path, exc, code, message):
    with (
        pytest.raises(SystemExit, match=rf"^{code}$") as exit_info,
        error_boundary("cmd", run_dir=tmp_path, on_interrupt="run it again"),
    ):
        raise exc
    assert exit_info.value.code == code
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert re.search(message, err), err
    assert "This run failed" in (tmp_path / FAILED_RUN_FILE).read_text()


def test_a_bug_keeps_its_traceback_and_still_marks_the_run(tmp_path):
    with pytest.raises(KeyError, match="bug"), error_boundary("cmd", run_dir=tmp_path):
        raise KeyError("bug")
    assert "KeyError" in (tmp_path / FAILED_RUN_FILE).read_text()


def test_hydra_full_error_shows_every_traceback(monkeypatch, tmp_path):
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    with pytest.raises(ValueError, match="bad value"), error_boundary("cmd", run_dir=tmp_path):
        raise ValueError("bad value")


def test_success_leaves_no_failed_marker(tmp_path):
    with error_boundary("cmd", run_dir=tmp_path):
        pass
    assert not (tmp_path / FAILED_RUN_FILE).exists()


# ----------------------------------------------------------------- hiercls-train end to end
SMALL = ["data.n_samples=600", "sufficiency.min_samples=5", "model.n_jobs=1", "report.figures=false"]


def _train(args, cwd):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.run(
        [sys.executable, "-m", "hiercls.cli.train", f"paths.output_dir={cwd}", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def _write_csvs(tmp_path):
    rows = pd.DataFrame({"a": ["x", "y"] * 30, "b": ["p", "q", "r"] * 20, "f": range(60)})
    paths = {"csv": tmp_path / "rows.csv", "tiny": tmp_path / "tiny.csv", "header": tmp_path / "header.csv"}
    rows.to_csv(paths["csv"], index=False)
    rows.head(4).to_csv(paths["tiny"], index=False)
    rows.head(0).to_csv(paths["header"], index=False)
    return paths


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "code", "message", "run_folder"),
    [
        (
            ["data=csv", "data.path=missing.csv", "data.label_columns=[a]"],
            EXIT_BAD_INPUT,
            r"data\.path='missing\.csv' does not exist",
            True,
        ),
        (
            ["data=csv", "data.path=.", "data.label_columns=[a]"],
            EXIT_BAD_INPUT,
            r"data\.path='\.' is a directory; give the path of a data file",
            True,
        ),
        (["data=csv", "data.path={csv}", "data.label_columns=[a,zz]"], EXIT_BAD_INPUT, r"zz", True),
        (
            ["data=csv", "data.path={tiny}", "data.label_columns=[a,b]"],
            EXIT_BAD_INPUT,
            r"The data have 4 rows: too few for a validation and a test split",
            True,
        ),
        (["data=csv", "data.path={header}", "data.label_columns=[a,b]"], EXIT_BAD_INPUT, r"0 rows", True),
        (
            ["data=parquet", "data.path={csv}", "data.label_columns=[a,b]"],
            EXIT_BAD_INPUT,
            r"Could not open Parquet input source .*rows\.csv",
            True,
        ),
        (
            ["model.decoding=fast"],
            EXIT_BAD_INPUT,
            r"The 'decoding' parameter of HierarchicalClassifier must be",
            True,
        ),
        (["sufficiency.min_samples=-1"], EXIT_BAD_INPUT, r"'min_samples' parameter .* Got -1 instead", True),
        (
            ["data.split.test_size=2.0"],
            EXIT_BAD_INPUT,
            r"'test_size' parameter of train_test_split_hierarchical",
            True,
        ),
        (
            ["data.n_samples=abc"],
            EXIT_BAD_INPUT,
            r"'n_samples' parameter of make_hierarchical_classification",
            True,
        ),
        (
            ["optimized_metric=nope"],
            EXIT_BAD_INPUT,
            r"optimized_metric='nope' is no metric of the validation split",
            True,
        ),
        (
            ["sufficiency.policy=raise", "sufficiency.min_samples=100000", "data.n_samples=600"],
            EXIT_BAD_INPUT,
            r"min_samples=100000",
            True,
        ),
    ],
)
def test_train_failures_print_one_line_and_mark_the_run(tmp_path, args, code, message, run_folder):
    paths = _write_csvs(tmp_path)
    done = _train([a.format(**paths) for a in args] + SMALL[2:], tmp_path)
    assert done.returncode == code, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("hiercls-train: error:")]
    assert len(lines) == 1, done.stderr[-3000:]
    assert re.search(message, lines[0]), lines[0]
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1
    assert (runs[0] / FAILED_RUN_FILE).is_file()
    assert not (runs[0] / "metrics.json").exists()


@pytest.mark.slow
def test_runs_started_together_get_their_own_folders(tmp_path):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    command = [sys.executable, "-m", "hiercls.cli.train", f"paths.output_dir={tmp_path}", *SMALL]
    runs = [
        subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for run in runs:
        assert run.wait(timeout=300) == 0, run.stderr.read().decode()[-3000:]
    folders = sorted((tmp_path / "runs").iterdir())
    assert len(folders) == 2
    for folder in folders:
        assert (folder / "metrics.json").is_file()
        assert (folder / "model" / "metadata.json").is_file()
        assert not (folder / FAILED_RUN_FILE).exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("module", "expected", "absent"),
    [
        ("train", ["Usage: hiercls-train", "sufficiency=warn|raise|merge|ignore", "Examples:"], []),
        ("predict", ["Usage: hiercls-predict", "model_path=DIR", "top_k=K", "Example:"], ["data:", "model:"]),
    ],
)
def test_help_says_what_the_command_does(tmp_path, module, expected, absent):
    done = subprocess.run(
        [sys.executable, "-m", f"hiercls.cli.{module}", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    for text in expected:
        assert text in done.stdout
    for text in absent:  # predict has no data or model groups to offer
        assert f"\n{text}" not in done.stdout
    assert not list(tmp_path.iterdir())  # --help writes nothing


# ----------------------------------------------------------------- faults of the machine
def _compose(config, overrides):
    from hydra import compose, initialize_config_dir

    from hiercls.cli.config import CONF_DIR

    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return compose(config, overrides=list(overrides))


def _no_space(path, *args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device", str(path))


def test_a_full_disk_while_writing_the_report_keeps_the_model(tmp_path, monkeypatch, capsys):
    import hiercls._atomic
    from hiercls.artifacts import load_model
    from hiercls.cli.train import train

    cfg = _compose("train", [f"paths.output_dir={tmp_path}", *SMALL])
    monkeypatch.setattr(hiercls._atomic, "write_text", _no_space)  # what the report writes with
    with (
        pytest.raises(SystemExit, match=f"^{EXIT_ENVIRONMENT}$"),
        error_boundary("hiercls-train", run_dir=tmp_path),
    ):
        train(cfg)
    err = capsys.readouterr().err
    assert re.search(r"hiercls-train: error: no space left on the device writing '.*rare_class_report", err)
    assert load_model(tmp_path / "model").n_paths_ > 1  # saved before the reports
    assert (tmp_path / FAILED_RUN_FILE).is_file()
    assert not (tmp_path / "metrics.json").exists()


def test_a_full_disk_while_scoring_keeps_the_parts_and_the_rerun_finishes(tmp_path, monkeypatch, capsys):
    import hiercls.batch._output as batch_output
    from hiercls import HierarchicalClassifier
    from hiercls.artifacts import save_model
    from hiercls.cli.predict import predict
    from hiercls.datasets import make_hierarchical_classification

    X, Y = make_hierarchical_classification(
        1200, n_levels=2, branching=3, n_features=4, as_frame=True, random_state=0
    )
    save_model(HierarchicalClassifier(min_samples=1).fit(X, Y), tmp_path / "model", training_data=(X, Y))
    X.to_parquet(tmp_path / "rows.parquet")
    overrides = [
        f"model_path={tmp_path / 'model'}",
        f"input={tmp_path / 'rows.parquet'}",
        f"output={tmp_path / 'out'}",
        "chunk_rows=300",
        "quiet=true",
    ]
    real_write = batch_output.write_table
    written = []

    def fills_up(table, path, *args, **kwargs):
        if len(written) == 2:
            _no_space(path)
        written.append(path)
        return real_write(table, path, *args, **kwargs)

    monkeypatch.setattr(batch_output, "write_table", fills_up)
    with pytest.raises(SystemExit, match=f"^{EXIT_ENVIRONMENT}$"), error_boundary("hiercls-predict"):
        predict(_compose("predict", overrides))
    assert "no space left on the device writing" in capsys.readouterr().err
    assert len(list((tmp_path / "out").glob("part-*"))) == 2  # what was written is kept
    monkeypatch.setattr(batch_output, "write_table", real_write)
    summary = predict(_compose("predict", overrides))
    assert summary["rows"] == 1200
    assert summary["rows_scored_now"] == 600  # only the missing parts


@pytest.mark.slow
@pytest.mark.parametrize("seconds", [1.0, 2.5, 4.0, 6.0])
def test_a_killed_train_run_never_looks_complete(tmp_path, seconds):
    import signal
    import time

    from hiercls.artifacts import ArtifactError, load_model

    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    command = [
        sys.executable,
        "-m",
        "hiercls.cli.train",
        f"paths.output_dir={tmp_path}",
        "data.n_samples=20000",
        *SMALL[1:],
    ]
    run = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(seconds)
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=60)
    for folder in (tmp_path / "runs").glob("*"):
        if (folder / "metrics.json").exists():  # the run had finished: everything is there
            assert (folder / "rare_class_report.html").is_file()
            assert load_model(folder).n_paths_ > 1
        elif (folder / "model").exists():  # killed mid-save or after it: complete or refused
            try:
                load_model(folder / "model")
            except ArtifactError:
                pass


@pytest.mark.slow
@pytest.mark.parametrize("seconds", [2.5, 4.0])
def test_a_killed_predict_job_resumes_to_the_same_output(tmp_path, seconds):
    import signal
    import time

    from hiercls import HierarchicalClassifier
    from hiercls.artifacts import save_model
    from hiercls.datasets import make_hierarchical_classification

    X, Y = make_hierarchical_classification(
        3000, n_levels=2, branching=3, n_features=4, as_frame=True, random_state=0
    )
    save_model(HierarchicalClassifier(min_samples=1).fit(X, Y), tmp_path / "model", training_data=(X, Y))
    pd.concat([X] * 100, ignore_index=True).to_parquet(tmp_path / "rows.parquet")  # 300,000 rows
    args = [
        f"model_path={tmp_path / 'model'}",
        f"input={tmp_path / 'rows.parquet'}",
        "chunk_rows=20000",
        "quiet=true",
        f"hydra.run.dir={tmp_path / 'run'}",
    ]
    command = [sys.executable, "-m", "hiercls.cli.predict", *args]
    run = subprocess.Popen(
        [*command, f"output={tmp_path / 'out'}"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(seconds)
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=60)
    resumed = subprocess.run(
        [*command, f"output={tmp_path / 'out'}"], cwd=tmp_path, capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    fresh = subprocess.run(
        [*command, f"output={tmp_path / 'fresh'}"], cwd=tmp_path, capture_output=True, text=True
    )
    assert fresh.returncode == 0, fresh.stderr[-2000:]
    got, expected = pd.read_parquet(tmp_path / "out"), pd.read_parquet(tmp_path / "fresh")
    assert len(got) == 300_000
    pd.testing.assert_frame_equal(got, expected)


@pytest.mark.slow
def test_the_sufficiency_warning_speaks_the_command_line(tmp_path, caplog):
    from hiercls.cli.train import train

    cfg = _compose(
        "train",
        [
            f"paths.output_dir={tmp_path}",
            "data.n_samples=600",
            "sufficiency.min_samples=100",
            "model.n_jobs=1",
            "report.figures=false",
        ],
    )
    with caplog.at_level("WARNING", logger="hiercls.cli.train"):
        train(cfg)
    messages = [r.getMessage() for r in caplog.records if "min_samples=100" in r.getMessage()]
    assert len(messages) == 1
    assert "Lower sufficiency.min_samples, or run with sufficiency=merge" in messages[0]
    assert "sufficiency_policy=" not in messages[0]
    assert "sufficiency_report.md in the run folder" in messages[0]


@pytest.mark.slow
@pytest.mark.parametrize("module", ["train", "predict"])
def test_a_run_folder_that_cannot_be_made_is_one_line(tmp_path, module):
    blocked = tmp_path / "a_file"
    blocked.write_text("not a folder\n")
    args = [] if module == "train" else ["model_path=m", "input=i.csv", "output=o"]
    done = subprocess.run(
        [sys.executable, "-m", f"hiercls.cli.{module}", *args, f"paths.output_dir={blocked}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == EXIT_ENVIRONMENT
    assert "Traceback" not in done.stderr
    assert re.search(rf"hiercls-{module}: error: cannot create the run folder '.*a_file/", done.stderr)
    assert blocked.read_text() == "not a folder\n"
