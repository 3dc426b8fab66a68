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


_THREAD_FAILS_AROUND_CTRL_C = """
import os, signal, threading, time
from hiercls.cli.errors import error_boundary

def pool_thread(go):
    go.wait()
    raise KeyError(27)  # what loky's manager thread raises when Ctrl-C tears its queue down

with error_boundary("cmd"):
    before = threading.Event()
    threading.Thread(target=pool_thread, args=(before,)).start()
    before.set()  # a helper thread failing before Ctrl-C is news: it keeps its traceback
    time.sleep(0.5)
    after = threading.Event()
    failing = threading.Thread(target=pool_thread, args=(after,))
    failing.start()
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(30)
    finally:
        after.set()
        failing.join()
"""


def test_a_helper_thread_failing_after_ctrl_c_prints_nothing_but_one_failing_before_does():
    run = subprocess.run(
        [sys.executable, "-c", _THREAD_FAILS_AROUND_CTRL_C],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_hear_ctrl_c,
    )
    assert run.returncode == EXIT_INTERRUPTED, run.stderr
    assert run.stderr.count("Traceback") == 1, run.stderr  # the thread that failed before Ctrl-C
    assert run.stderr.endswith("KeyError: 27\ncmd: error: interrupted\n"), run.stderr


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
    paths = {name: tmp_path / f"{name}.csv" for name in ("csv", "tiny", "header", "empty", "binary")}
    paths.update({name: tmp_path / f"{name}.csv" for name in ("ragged", "latin1", "no_b", "dup")})
    paths.update({name: tmp_path / f"{name}.csv" for name in ("one_class", "codes")})
    paths["parquet"] = tmp_path / "rows.parquet"
    rows.to_csv(paths["csv"], index=False)
    rows.to_parquet(paths["parquet"])
    rows.head(4).to_csv(paths["tiny"], index=False)
    rows.head(0).to_csv(paths["header"], index=False)
    paths["empty"].write_bytes(b"")
    paths["binary"].write_bytes(bytes(range(256)) * 8)
    paths["ragged"].write_text("a,b,f\nx,p,1\nx,p,1,2,3\n")
    paths["latin1"].write_bytes(b"a,b,f\n" + "x,caf\xe9,1\n".encode("latin-1") * 60)
    rows.assign(b=None).to_csv(paths["no_b"], index=False)
    rows.rename(columns={"f": "a"}).to_csv(paths["dup"], index=False)
    rows.assign(a="x").to_csv(paths["one_class"], index=False)
    rows.assign(f=["7", "x9", "12"] * 20).to_csv(paths["codes"], index=False)
    paths["multi"] = tmp_path / "multi.csv"
    rows.assign(paths=["x/p|y", "y/q"] * 30).drop(columns=["a", "b"]).to_csv(paths["multi"], index=False)
    return paths


def _save_multilabel_model(folder):
    from hiercls import MultiLabelHierarchicalClassifier
    from hiercls.artifacts import save_model

    X, Y = [[0.0], [1.0]] * 4, [[("a",)], [("b", "b1")]] * 4
    save_model(MultiLabelHierarchicalClassifier(min_samples=1).fit(X, Y), folder)
    return folder


CSV = ["data=csv", "data.path={csv}", "data.label_columns=[a,b]"]
# After a run: "failed" is one run folder with FAILED.txt and neither model nor metrics;
# "none" is no run folder at all (the command line was refused before the run);
# "done" is a complete run (an input that looks odd but is fine).
TRAIN_ROWS = [
    # data files
    (
        ["data=csv", "data.path=missing.csv", "data.label_columns=[a]"],
        2,
        r"data\.path='missing\.csv' does not exist",
        "failed",
    ),
    (
        ["data=csv", "data.path=.", "data.label_columns=[a]"],
        2,
        r"data\.path='\.' is a directory; give the path",
        "failed",
    ),
    (
        ["data=csv", "data.path=", "data.label_columns=[a]"],
        2,
        r"data\.path is empty; give the path of a data file",
        "failed",
    ),
    (
        ["data=csv", "data.path={empty}", "data.label_columns=[a]"],
        2,
        r"'.*empty\.csv' is empty; give a file with a header",
        "failed",
    ),
    (
        ["data=csv", "data.path={header}", "data.label_columns=[a,b]"],
        2,
        r"0 rows",
        "failed",
    ),
    (
        ["data=csv", "data.path={tiny}", "data.label_columns=[a,b]"],
        2,
        r"The data have 4 rows: too few for a validation and a test split",
        "failed",
    ),
    (
        ["data=csv", "data.path={binary}", "data.label_columns=[a]"],
        2,
        r"'.*binary\.csv' cannot be read as CSV \(.*saw 2\); give comma-separated",
        "failed",
    ),
    (
        ["data=csv", "data.path={ragged}", "data.label_columns=[a]"],
        2,
        r"'.*ragged\.csv' cannot be read as CSV \(.*line 3, saw 5\)",
        "failed",
    ),
    (
        ["data=csv", "data.path={latin1}", "data.label_columns=[a,b]"],
        2,
        r"'.*latin1\.csv' is not UTF-8 text .*iconv -f latin1",
        "failed",
    ),
    (
        ["data=csv", "data.path={parquet}", "data.label_columns=[a,b]"],
        2,
        r"'.*rows\.parquet' is a Parquet file, not CSV; use format=parquet",
        "failed",
    ),
    (
        ["data=parquet", "data.path={csv}", "data.label_columns=[a,b]"],
        2,
        r"'.*csv\.csv' is not a Parquet file .*; if it is CSV text, use format=csv",
        "failed",
    ),
    (
        ["data=csv", "data.path={dup}", "data.label_columns=[a,b]"],
        2,
        r"more than one column named 'a'; column names must be unique",
        "failed",
    ),
    (
        ["data=csv", "data.path={no_b}", "data.label_columns=[a,b]"],
        2,
        r"Label level\(s\) \['b'\] are empty in every row",
        "failed",
    ),
    (["data=csv", "data.path={one_class}", "data.label_columns=[a,b]"], 0, None, "done"),
    (
        ["data=csv", "data.path={codes}", "data.label_columns=[a,b]"],
        0,
        None,
        "done",
    ),  # text codes: categories
    (
        [*CSV[:2], "data.label_columns=[a,zz]"],
        2,
        r"has no column\(s\) \['zz'\]; its columns are \['a', 'b', 'f'\]",
        "failed",
    ),
    ([*CSV, "data.text_column=note"], 2, r"has no column\(s\) \['note'\]", "failed"),
    ([*CSV, "data.feature_columns=[g]"], 2, r"has no column\(s\) \['g'\]", "failed"),
    (
        [*CSV[:2], "data.label_columns=[]"],
        2,
        r"'label_columns' parameter of load_table must be a non-empty list",
        "failed",
    ),
    (
        ["data=csv", "data.label_columns=[a]"],
        2,
        r"Missing required config value 'data\.path'; set it",
        "failed",
    ),
    ([*CSV, "data.split.test_size=-0.1"], 2, r"'test_size' parameter .* Got -0\.1 instead", "failed"),
    (["data.split.test_size=2.0"], 2, r"'test_size' parameter of train_test_split_hierarchical", "failed"),
    (
        [*CSV, "data.split.validation_size=0.95"],
        2,
        r"'validation_size' parameter .* Got 0\.95 instead",
        "failed",
    ),
    (["data.split.grouped=true"], 2, r"defines no groups; data=oews does \(its areas\)", "failed"),
    (["data.n_samples=abc"], 2, r"'n_samples' parameter of make_hierarchical_classification", "failed"),
    (["data.branching=[1]"], 2, r"'branching' parameter .* Got \[1\] instead", "failed"),
    (
        ["seed=${{nope}}"],
        2,
        r"Interpolation key 'nope' not found \(config key 'data\.random_state'\)$",
        "failed",
    ),
    # model and sufficiency values
    (["model.decoding=fast"], 2, r"The 'decoding' parameter of HierarchicalClassifier must be", "failed"),
    (["model.stop_threshold=2"], 2, r"'stop_threshold' parameter .* Got 2 instead", "failed"),
    (
        ["model=logreg", "model.estimator.C=-1"],
        2,
        r"The 'C' parameter of LogisticRegression .* Got -1 instead",
        "failed",
    ),
    (
        ["model=logreg", "model.estimator._target_=sklearn.nope.X"],
        2,
        r"model\.estimator\._target_='sklearn\.nope\.X' cannot be imported",
        "failed",
    ),
    (
        ["+model.foo=1"],
        2,
        r"cannot build 'hiercls\.estimator\.HierarchicalClassifier': .*unexpected keyword argument 'foo'",
        "failed",
    ),
    (
        ["+model.level_estimators.species.C=2"],
        2,
        r"keys \['species'\] that are not levels of the data",
        "failed",
    ),
    (
        ["data=multilabel", "data.path={multi}", "data.paths_column=paths", "model=auto"],
        2,
        r"model=auto chooses a node model per level for data with one path per row; .* "
        r"Use model=default \(the linear model\), model=lgbm or model=logreg\.$",
        "failed",
    ),
    # init_model: an earlier run's model to start from
    (
        ["init_model=missing_run/model"],
        2,
        r"init_model='missing_run/model' does not exist; give the model/",
        "failed",
    ),
    (
        ["init_model={multilabel_model}"],
        2,
        r"init_model='.*multilabel_model' holds a MultiLabelHierarchicalClassifier, but this run trains a "
        r"HierarchicalClassifier; give a model",
        "failed",
    ),
    (["sufficiency.min_samples=-1"], 2, r"'min_samples' parameter .* Got -1 instead", "failed"),
    (["sufficiency.policy=nope"], 2, r"'sufficiency_policy' parameter .* Got 'nope' instead", "failed"),
    (["sufficiency=raise", "sufficiency.min_samples=100000"], 2, r"min_samples=100000", "failed"),
    (["optimized_metric=nope"], 2, r"optimized_metric='nope' is no metric of the validation split", "failed"),
    (
        ["report.figures=maybe"],
        2,
        r"report\.figures='maybe' is not a boolean; write report\.figures=true",
        "failed",
    ),
    # command lines Hydra cannot compose: nothing is created
    (
        ["model=nope"],
        2,
        r"unknown model 'nope'; choose one of: auto, default, lgbm, logreg, mixed "
        r"\(see hiercls-train --help\)$",
        "none",
    ),
    (
        ["sufficiency=nope"],
        2,
        r"unknown sufficiency 'nope'; choose one of: ignore, merge, raise, warn",
        "none",
    ),
    (["engine=spark"], 2, r"unknown engine 'spark'; choose one of: dask, local", "none"),
    (
        ["foo=1"],
        2,
        r"unknown config key 'foo'; check its spelling \(see hiercls-train --help\), or add .* with \+foo=1$",
        "none",
    ),
    (["model.nope=3"], 2, r"unknown config key 'model\.nope'", "none"),
    (["a==b"], 2, r"cannot read the override 'a==b' \(extraneous input '='\); write key=value", "none"),
    (
        ["data.label_columns=[a"],
        2,
        r"cannot read the override 'data\.label_columns=\[a' \(no viable alternative",
        "none",
    ),
    (["foo=1,2"], 2, r"Ambiguous value for argument 'foo=1,2' .* --multirun", "none"),
    # the machine
    (
        ["engine=dask", "engine.address=tcp://127.0.0.1:{port}"],
        3,
        r"cannot reach the Dask scheduler at engine\.address=tcp://127\.0\.0\.1:\d+ \(Connection refused\)",
        "failed",
    ),
]


@pytest.mark.slow  # ~50 end-to-end command runs: the full suite's, not the fast loop's
@pytest.mark.parametrize(("args", "code", "message", "after"), TRAIN_ROWS)
def test_train_rows(run_command, tmp_path, args, code, message, after):
    from conftest import file_digests, unused_port

    if "engine=dask" in args:
        pytest.importorskip("distributed")
    paths = _write_csvs(tmp_path)
    if any("{multilabel_model}" in a for a in args):
        paths["multilabel_model"] = _save_multilabel_model(tmp_path / "multilabel_model")
    inputs = file_digests(tmp_path)
    args = [a.format(port=unused_port(), **paths) for a in args]
    small = SMALL[1:] if any(a.startswith("data=") for a in args) else SMALL  # n_samples: synthetic only
    returncode, err = run_command("train", [f"paths.output_dir={tmp_path}", *small, *args], tmp_path)
    assert returncode == code, err[-3000:]
    assert "Traceback" not in err
    assert file_digests(tmp_path, skip={"runs"}) == inputs  # the user's files are untouched
    runs = list((tmp_path / "runs").glob("*"))
    if after == "none":
        assert not runs
    else:
        assert len(runs) == 1
        assert (runs[0] / FAILED_RUN_FILE).is_file() == (after == "failed")
        assert (runs[0] / "metrics.json").is_file() == (after == "done")
    if message is None:
        return
    lines = [line for line in err.splitlines() if line.startswith("hiercls-train: error:")]
    assert len(lines) == 1, err[-3000:]
    assert re.search(message, lines[0]), lines[0]
    if after == "failed":
        assert not (runs[0] / "model").exists()
        assert lines[0].split("error: ", 1)[1] in (runs[0] / FAILED_RUN_FILE).read_text()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["model=nope"], EXIT_BAD_INPUT, r"unknown model 'nope'; choose one of"),
        (["data=csv", "data.path=missing.csv", "data.label_columns=[a]"], EXIT_BAD_INPUT, r"does not exist"),
    ],
)
def test_the_installed_command_prints_the_same_line(tmp_path, args, code, message):
    done = _train([*args, *SMALL[2:]], tmp_path)
    assert done.returncode == code, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert re.search(rf"^hiercls-train: error: .*{message}", done.stderr, re.MULTILINE)


@pytest.mark.slow
def test_hydra_full_error_shows_hydras_own_report(tmp_path):
    env = {**os.environ, "HYDRA_FULL_ERROR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "hiercls.cli.train", "model=nope"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1
    assert "Traceback" in done.stderr
    assert "MissingConfigException" in done.stderr


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


def _hear_ctrl_c() -> None:
    """In the child: take SIGINT's default again. A shell starts background jobs (CI
    launched with ``&``, nohup) with SIGINT ignored, and Python then keeps ignoring it."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
def test_ctrl_c_during_a_predict_job_keeps_the_parts_and_says_how_to_resume(tmp_path):
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
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "hiercls.cli.predict",
        f"model_path={tmp_path / 'model'}",
        f"input={tmp_path / 'rows.parquet'}",
        "chunk_rows=5000",
        f"output={out}",
        f"hydra.run.dir={tmp_path / 'run'}",
    ]
    run = subprocess.Popen(
        command,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_hear_ctrl_c,
    )
    deadline = time.monotonic() + 60
    while len(list(out.glob("part-*.parquet"))) < 3 and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.02)
    run.send_signal(signal.SIGINT)  # what Ctrl-C sends
    _, err = run.communicate(timeout=60)
    assert run.returncode == 130, err[-2000:]  # 57 parts were still to come
    assert "Traceback" not in err
    assert re.search(
        r"hiercls-predict: error: interrupted; the finished parts in '.*out' are kept: run the same "
        r"command again to score only the rest\n$",
        err,
    )
    kept = sorted(out.glob("part-*.parquet"))
    assert 3 <= len(kept) < 60  # 60 parts in all
    resumed = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert len(pd.read_parquet(out)) == 300_000


@pytest.mark.slow
def test_ctrl_c_during_a_train_run_marks_the_run_failed(tmp_path):
    import signal
    import time

    run_dir = tmp_path / "run"
    command = [
        sys.executable,
        "-m",
        "hiercls.cli.train",
        f"paths.output_dir={tmp_path}",
        f"hydra.run.dir={run_dir}",
        "data.n_samples=60000",
    ]
    run = subprocess.Popen(
        command,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_hear_ctrl_c,
    )
    log = run_dir / "train.log"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "Fitting" not in (log.read_text() if log.exists() else ""):
        time.sleep(0.02)  # until the node fits start: seconds of work on 60,000 rows
    run.send_signal(signal.SIGINT)
    _, err = run.communicate(timeout=120)
    assert run.returncode == 130, err[-2000:]
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("hiercls-train: error: interrupted")
    assert (run_dir / "FAILED.txt").is_file()
    assert not (run_dir / "metrics.json").exists()


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
