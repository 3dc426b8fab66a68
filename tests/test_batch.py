"""Batch prediction end to end in tmp_path: formats, schema, resume, engines, summary."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline

import hiercls.batch._output as batch_output  # its atomic writer fails to simulate a kill
import hiercls.batch.files as batch_files
from hiercls import HierarchicalClassifier, SchemaError
from hiercls.artifacts import ArtifactError, save_model
from hiercls.batch import (
    MANIFEST_FILE,
    SUMMARY_FILE,
    BatchSummary,
    DaskEngine,
    LocalEngine,
    OutputConflictError,
    predict_file,
)
from hiercls.datasets import make_hierarchical_classification

LEVELS = ["level0", "level1", "level2"]
N_NEW = 1000


@pytest.fixture(scope="module")
def data():
    X, Y = make_hierarchical_classification(
        2000 + N_NEW,
        n_levels=3,
        branching=(3, 3, 3),
        n_features=5,
        as_frame=True,
        random_state=0,
    )
    return X.iloc[:2000], Y.iloc[:2000], X.iloc[2000:].reset_index(drop=True)


@pytest.fixture(scope="module")
def model(data):
    X, Y, _ = data
    # A stop threshold makes some paths end above the last level.
    return HierarchicalClassifier(stop_threshold=0.35, min_samples=1, random_state=0).fit(X, Y)


@pytest.fixture(scope="module")
def artifact(tmp_path_factory, model, data):
    X, Y, _ = data
    return save_model(model, tmp_path_factory.mktemp("artifact") / "model", training_data=(X, Y))


@pytest.fixture(scope="module")
def new_rows(data):
    _, _, X_new = data
    frame = X_new.copy()
    frame.insert(0, "row_id", [f"r{i:05d}" for i in range(N_NEW)])
    frame["note"] = "n" + frame.index.astype(str)
    frame.loc[[3, 500], "x2"] = np.nan
    return frame


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, new_rows):
    directory = tmp_path_factory.mktemp("inputs")
    pq.write_table(
        pa.Table.from_pandas(new_rows, preserve_index=False),
        directory / "in.parquet",
        row_group_size=170,
    )
    new_rows.to_csv(directory / "in.csv", index=False)
    return directory


def features(frame):
    return frame[[f"x{i}" for i in range(5)]]


def read_output(directory, output_format="parquet"):
    if output_format == "parquet":
        return pd.read_parquet(directory)
    parts = sorted(directory.glob("part-*.csv"))
    return pd.concat(
        [pd.read_csv(p, keep_default_na=False, na_values=[""]) for p in parts], ignore_index=True
    )


def assert_same_output(got, expected):
    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected)
    for column in got.columns:
        if got[column].dtype.kind == "f":
            assert_allclose(got[column], expected[column], rtol=0, atol=1e-12, equal_nan=True)
        else:
            assert got[column].isna().equals(expected[column].isna()), column
            assert (got[column].fillna("") == expected[column].fillna("")).all(), column


def part_bytes(directory):
    return {p.name: p.read_bytes() for p in sorted(directory.glob("part-*"))}


# ------------------------------------------------------------ output content
@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_output_equals_in_memory_prediction(tmp_path, model, artifact, inputs, new_rows, kind):
    summary = predict_file(
        artifact,
        inputs / f"in.{kind}",
        tmp_path / "out",
        chunk_rows=300,
        top_k=3,
        id_columns=["row_id"],
        quiet=True,
    )
    out = read_output(tmp_path / "out")
    expected_columns = ["row_id"]
    for level in LEVELS:
        expected_columns += [level, f"{level}_proba"]
    expected_columns += ["path_proba", "stopped_at_level"]
    for i in (1, 2, 3):
        expected_columns += [f"top{i}_path", f"top{i}_proba"]
    assert list(out.columns) == [*expected_columns, "scoring_error"]
    assert len(out) == N_NEW
    assert summary.rows == N_NEW
    assert summary.parts == 4
    assert out["row_id"].tolist() == new_rows["row_id"].tolist()

    bad = new_rows["x2"].isna().to_numpy()
    assert out["scoring_error"].notna().to_numpy().tolist() == bad.tolist()
    assert out.loc[3, "scoring_error"] == "feature 'x2' is missing (NaN)"
    assert out.loc[bad, LEVELS + ["path_proba", "top1_path"]].isna().all().all()

    scored = out[~bad].reset_index(drop=True)
    paths = model.predict_paths(features(new_rows)[~bad])
    for j, level in enumerate(LEVELS):
        assert (
            scored[level].astype(object).where(scored[level].notna(), None).tolist()
            == paths.labels[:, j].tolist()
        )
        assert_allclose(scored[f"{level}_proba"], paths.level_proba[:, j], rtol=0, atol=1e-12)
    assert_allclose(scored["path_proba"], paths.path_proba, rtol=0, atol=1e-12)
    depth = (paths.labels != None).sum(axis=1)  # noqa: E711
    assert (depth < 3).any(), "the fixture should stop some paths early"
    stopped = np.where(depth < 3, np.array(LEVELS, dtype=object)[depth - 1], None)
    assert (
        scored["stopped_at_level"].astype(object).where(scored["stopped_at_level"].notna(), None).tolist()
        == stopped.tolist()
    )

    top = model.predict_top_k(features(new_rows)[~bad], k=3)
    for i in range(3):
        joined = [" > ".join(str(x) for x in row if x is not None) for row in top.labels[:, i]]
        assert scored[f"top{i + 1}_path"].tolist() == joined
        assert_allclose(scored[f"top{i + 1}_proba"], top.proba[:, i], rtol=0, atol=1e-12)


def test_csv_output_and_passthrough(tmp_path, artifact, inputs):
    predict_file(
        artifact,
        inputs / "in.parquet",
        tmp_path / "pq",
        chunk_rows=400,
        id_columns=["row_id"],
        passthrough=["note"],
        quiet=True,
    )
    predict_file(
        artifact,
        inputs / "in.parquet",
        tmp_path / "csv",
        chunk_rows=400,
        id_columns=["row_id"],
        passthrough="all",
        output_format="csv",
        quiet=True,
    )
    assert sorted(p.name for p in (tmp_path / "csv").glob("part-*")) == [
        "part-000000.csv",
        "part-000001.csv",
        "part-000002.csv",
    ]
    assert_same_output(read_output(tmp_path / "csv", "csv"), read_output(tmp_path / "pq"))


def test_csv_ids_are_copied_as_written(tmp_path, artifact, data):
    _, _, X_new = data
    frame = X_new.iloc[:5].assign(code=["007", "NA", "", "1e3", "x"])
    frame.to_csv(tmp_path / "in.csv", index=False)
    predict_file(artifact, tmp_path / "in.csv", tmp_path / "out", id_columns=["code"], quiet=True)
    assert pd.read_parquet(tmp_path / "out")["code"].tolist() == ["007", "NA", "", "1e3", "x"]


def test_model_fitted_without_feature_names(tmp_path, data):
    X, Y, X_new = data
    model = HierarchicalClassifier(min_samples=1).fit(X.to_numpy(), Y)
    X_new.assign(key=range(N_NEW)).to_parquet(tmp_path / "in.parquet")
    predict_file(model, tmp_path / "in.parquet", tmp_path / "out", id_columns=["key"], quiet=True)
    out = pd.read_parquet(tmp_path / "out")
    assert_array_equal(out[LEVELS].to_numpy(), model.predict(X_new.to_numpy()))
    with pytest.raises(SchemaError, match=r"expects 5 features .* but 6 columns are chosen"):
        predict_file(model, tmp_path / "in.parquet", tmp_path / "out2", quiet=True)


def test_text_pipeline_from_artifact(tmp_path):
    rng = np.random.default_rng(0)
    words = {
        ("animal", "dog"): "dog bark puppy",
        ("animal", "cat"): "cat meow kitten",
        ("plant", "tree"): "tree oak leaf",
    }
    keys = list(words)
    picks = rng.integers(0, 3, 300)
    X = pd.DataFrame({"text": [words[keys[i]] for i in picks], "size": rng.normal(size=300)})
    Y = pd.DataFrame([keys[i] for i in picks], columns=["kingdom", "kind"])
    model = Pipeline(
        [
            (
                "features",
                ColumnTransformer(
                    [("text", TfidfVectorizer(), "text"), ("numeric", "passthrough", ["size"])]
                ),
            ),
            ("classifier", HierarchicalClassifier(min_samples=1)),
        ]
    ).fit(X, Y)
    directory = save_model(model, tmp_path / "model", training_data=(X, Y))
    new = X.iloc[:50].copy()
    new.loc[7, "text"] = None
    new.to_parquet(tmp_path / "in.parquet")
    predict_file(directory, tmp_path / "in.parquet", tmp_path / "out", quiet=True)
    out = pd.read_parquet(tmp_path / "out")
    assert out.loc[7, "scoring_error"] == "missing value in text column 'text'"
    keep = new.index != 7
    assert_array_equal(out.loc[keep, ["kingdom", "kind"]].to_numpy(), model.predict(new[keep]))


# ----------------------------------------------------------------- schema errors
def write(tmp_path, frame, name):
    path = tmp_path / name
    if name.endswith(".csv"):
        frame.to_csv(path, index=False)
    else:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    return path


def drop_x1_x3(frame):
    return frame.drop(columns=["x1", "x3"])


def text_in_x4_at_row_42(frame):
    frame = frame.astype({"x4": str})
    frame.loc[42, "x4"] = "oops"
    return frame


def dates_in_x0(frame):
    return frame.assign(x0=pd.Timestamp("2024-01-01"))


def level_named_id(frame):
    return frame.rename(columns={"row_id": "level1"})


@pytest.mark.parametrize(
    ("name", "change", "kwargs", "message"),
    [
        (
            "in.parquet",
            drop_x1_x3,
            {},
            r"lacks 2 of the model's 5 feature columns: \['x1', 'x3'\]\. The model expects "
            r"\['x0', 'x1', 'x2', 'x3', 'x4'\]",
        ),
        ("in.csv", drop_x1_x3, {}, r"lacks 2 of the model's 5 feature columns: \['x1', 'x3'\]"),
        (
            "in.parquet",
            text_in_x4_at_row_42,
            {},
            r"Feature column 'x4' of .* must hold numbers, but row 42 .* has 'oops'",
        ),
        (
            "in.csv",
            text_in_x4_at_row_42,
            {},
            r"Feature column 'x4' of .* must hold numbers, but row 42 .* has 'oops'",
        ),
        (
            "in.parquet",
            dates_in_x0,
            {},
            r"Feature column 'x0' .* has type timestamp.*first value at row 0",
        ),
        (
            "in.parquet",
            lambda f: f,
            {"id_columns": ["id"]},
            r"id_columns names columns \['id'\] that are not in the input file",
        ),
        (
            "in.parquet",
            lambda f: f,
            {"passthrough": ["nope"]},
            r"passthrough names columns \['nope'\]",
        ),
        (
            "in.parquet",
            level_named_id,
            {"id_columns": ["level1"]},
            r"Output columns \['level1'\] would appear twice",
        ),
    ],
)
def test_schema_errors_before_any_work(tmp_path, artifact, new_rows, name, change, kwargs, message):
    path = write(tmp_path, change(new_rows.copy()), name)
    with pytest.raises(SchemaError, match=message):
        predict_file(artifact, path, tmp_path / "out", quiet=True, **kwargs)
    assert not (tmp_path / "out").exists()


def test_csv_bad_value_after_the_first_block_keeps_written_parts(tmp_path, artifact, new_rows, monkeypatch):
    frame = new_rows.astype({"x4": str})
    frame.loc[900, "x4"] = "n/a?"
    path = write(tmp_path, frame, "in.csv")
    monkeypatch.setattr(batch_files, "CSV_BLOCK_BYTES", 20_000)  # the first block ends long before row 900
    with pytest.raises(SchemaError, match=r"'x4' .* row 900 .* has 'n/a\?'\. Parts written so far are kept"):
        predict_file(artifact, path, tmp_path / "out", chunk_rows=200, quiet=True)
    # The CSV reader parses ahead, so the run stops at most a block before row 900.
    manifest = json.loads((tmp_path / "out" / MANIFEST_FILE).read_text())
    assert 1 <= len(manifest["parts"]) <= 4
    assert sorted(manifest["parts"]) == [str(i) for i in range(len(manifest["parts"]))]
    clean = predict_file(
        artifact,
        write(tmp_path, new_rows, "clean.csv"),
        tmp_path / "clean",
        chunk_rows=200,
        quiet=True,
    )
    assert clean.rows == N_NEW
    assert_same_output(
        read_output(tmp_path / "out"),
        read_output(tmp_path / "clean").iloc[: 200 * len(manifest["parts"])],
    )


def test_corrupted_model_file_writes_nothing(tmp_path, artifact, inputs):
    broken = tmp_path / "model"
    broken.mkdir()
    for item in artifact.iterdir():
        (broken / item.name).write_bytes(item.read_bytes())
    raw = (broken / "model.skops").read_bytes()
    (broken / "model.skops").write_bytes(raw[: len(raw) // 3])
    with pytest.raises(ArtifactError, match=r"file changed or truncated since it was saved"):
        predict_file(broken, inputs / "in.parquet", tmp_path / "out", quiet=True)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"chunk_rows": 0},
            r"'chunk_rows' parameter of predict_file must be an int in the range "
            r"\[1, inf\)\. Got 0",
        ),
        ({"top_k": -1}, r"'top_k' parameter .* Got -1"),
        (
            {"output_format": "xlsx"},
            # scikit-learn lists the options in set order, which varies between runs.
            r"'output_format' parameter .* a str among \{('parquet', 'csv'|'csv', 'parquet')\}\. "
            r"Got 'xlsx'",
        ),
        ({"input_format": "json"}, r"'input_format' parameter"),
        ({"confidence": 1.5}, r"'confidence' parameter .* \[0\.0, 1\.0\]\. Got 1\.5"),
        ({"engine": "spark"}, r"'engine' parameter .* Got 'spark'"),
        (
            {"id_columns": "row_id"},
            r"'id_columns' parameter .* a list of column names or None\. Got 'row_id'",
        ),
        ({"passthrough": "some"}, r"'passthrough' parameter .* a str among \{'all'\}\. Got 'some'"),
    ],
)
def test_bad_parameters(tmp_path, artifact, inputs, kwargs, message):
    with pytest.raises(ValueError, match=message):
        predict_file(artifact, inputs / "in.parquet", tmp_path / "out", quiet=True, **kwargs)
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------- resumability
class Killed(Exception):
    pass


def kill_after(monkeypatch, n_parts):
    real = batch_output.write_table
    written = []

    def write_table(table, path, file_format):
        if len(written) == n_parts:
            raise Killed(f"killed after {n_parts} parts")
        written.append(path.name)
        return real(table, path, file_format)

    monkeypatch.setattr(batch_output, "write_table", write_table)


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_kill_and_resume_equals_uninterrupted_run(tmp_path, artifact, inputs, monkeypatch, kind):
    source = inputs / f"in.{kind}"
    options = {"chunk_rows": 130, "top_k": 2, "id_columns": ["row_id"], "quiet": True}
    predict_file(artifact, source, tmp_path / "full", **options)

    with monkeypatch.context() as patch:
        kill_after(patch, 3)
        with pytest.raises(Killed, match="killed after 3 parts"):
            predict_file(artifact, source, tmp_path / "out", **options)
    written = part_bytes(tmp_path / "out")
    assert sorted(written) == ["part-000000.parquet", "part-000001.parquet", "part-000002.parquet"]
    assert not (tmp_path / "out" / SUMMARY_FILE).exists()
    # A kill between a part's rename and the manifest update, and a temporary file.
    (tmp_path / "out" / "part-000003.parquet").write_bytes(b"half a part")
    (tmp_path / "out" / ".part-000004.parquet.0123.tmp").write_bytes(b"junk")

    summary = predict_file(artifact, source, tmp_path / "out", **options)
    assert summary.rows_scored_now == N_NEW - 3 * 130
    assert summary.rows == N_NEW
    assert summary.parts == 8
    assert {k: v for k, v in part_bytes(tmp_path / "out").items() if k in written} == written
    assert not list((tmp_path / "out").glob(".*.tmp"))
    assert_same_output(read_output(tmp_path / "out"), read_output(tmp_path / "full"))
    full = json.loads((tmp_path / "full" / SUMMARY_FILE).read_text())
    resumed = json.loads((tmp_path / "out" / SUMMARY_FILE).read_text())
    assert resumed["class_counts"] == full["class_counts"]
    assert resumed["drift"] == full["drift"]


def test_deleted_part_is_scored_again(tmp_path, artifact, inputs):
    options = {"chunk_rows": 250, "quiet": True}
    predict_file(artifact, inputs / "in.parquet", tmp_path / "out", **options)
    before = read_output(tmp_path / "out")
    (tmp_path / "out" / "part-000002.parquet").unlink()
    summary = predict_file(artifact, inputs / "in.parquet", tmp_path / "out", **options)
    assert summary.rows_scored_now == 250
    assert summary.parts_written_now == 1
    assert_same_output(read_output(tmp_path / "out"), before)


def test_completed_run_is_not_repeated(tmp_path, artifact, inputs):
    first = predict_file(artifact, inputs / "in.parquet", tmp_path / "out", quiet=True)
    again = predict_file(artifact, inputs / "in.parquet", tmp_path / "out", quiet=True, confidence=0.9)
    assert again.rows_scored_now == 0
    assert again.rows == first.rows
    assert again.low_confidence_share >= first.low_confidence_share


def partial_run(tmp_path, artifact, source, monkeypatch, **options):
    with monkeypatch.context() as patch:
        kill_after(patch, 2)
        with pytest.raises(Killed, match="killed"):
            predict_file(artifact, source, tmp_path / "out", chunk_rows=200, quiet=True, **options)
    return part_bytes(tmp_path / "out")


def test_changed_input_after_a_partial_run_is_refused(tmp_path, artifact, new_rows, monkeypatch):
    source = write(tmp_path, new_rows, "in.parquet")
    written = partial_run(tmp_path, artifact, source, monkeypatch)
    write(tmp_path, new_rows.iloc[::-1], "in.parquet")
    with pytest.raises(
        OutputConflictError,
        match=r"input file changed since the parts were written.*"
        r"The parts already there are kept\. Pass overwrite=True",
    ):
        predict_file(artifact, source, tmp_path / "out", chunk_rows=200, quiet=True)
    assert part_bytes(tmp_path / "out") == written
    summary = predict_file(artifact, source, tmp_path / "out", chunk_rows=200, quiet=True, overwrite=True)
    assert summary.rows_scored_now == N_NEW


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"top_k": 2}, r"output setting top_k: 0 -> 2"),
        ({"chunk_rows": 100}, r"layout setting chunk_rows: 200 -> 100"),
        ({"output_format": "csv"}, r"output setting format: 'parquet' -> 'csv'"),
    ],
)
def test_other_settings_are_refused(tmp_path, artifact, inputs, monkeypatch, options, message):
    written = partial_run(tmp_path, artifact, inputs / "in.parquet", monkeypatch)
    options = {"chunk_rows": 200, **options}
    with pytest.raises(OutputConflictError, match=message):
        predict_file(artifact, inputs / "in.parquet", tmp_path / "out", quiet=True, **options)
    assert part_bytes(tmp_path / "out") == written


def test_another_model_is_refused(tmp_path, artifact, inputs, data, monkeypatch):
    X, Y, _ = data
    written = partial_run(tmp_path, artifact, inputs / "in.parquet", monkeypatch)
    other = HierarchicalClassifier(stop_threshold=0.35, min_samples=1, random_state=0).fit(
        X.iloc[:1500], Y.iloc[:1500]
    )
    with pytest.raises(OutputConflictError, match=r"another model \(fingerprint"):
        predict_file(other, inputs / "in.parquet", tmp_path / "out", chunk_rows=200, quiet=True)
    assert part_bytes(tmp_path / "out") == written


def test_foreign_directory_and_concurrent_writer_are_refused(tmp_path, artifact, inputs):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "report.txt").write_text("keep me")
    with pytest.raises(OutputConflictError, match=r"is not empty \(\['report\.txt'\]\) and has no _manifest"):
        predict_file(artifact, inputs / "in.parquet", tmp_path / "out", quiet=True)
    predict_file(artifact, inputs / "in.parquet", tmp_path / "out", quiet=True, overwrite=True)
    assert (tmp_path / "out" / "report.txt").read_text() == "keep me"

    import fcntl

    with open(tmp_path / "out" / ".hiercls-predict.lock", "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(OutputConflictError, match=r"Another process is writing to"):
            predict_file(artifact, inputs / "in.parquet", tmp_path / "out", quiet=True)


# --------------------------------------------------------------------- summary
def test_summary_reports_drift_stops_and_confidence(tmp_path, artifact, inputs):
    summary = predict_file(artifact, inputs / "in.parquet", tmp_path / "out", quiet=True, confidence=0.6)
    out = read_output(tmp_path / "out")
    scored = out[out["scoring_error"].isna()]
    assert summary.rows_failed == 2
    assert summary.stopped_share == pytest.approx(scored["stopped_at_level"].notna().mean())
    assert summary.low_confidence_share == pytest.approx((scored["path_proba"] < 0.6).mean())
    assert [d.level for d in summary.drift] == LEVELS
    assert all(0 <= d.psi < 0.1 for d in summary.drift)  # same distribution as training
    assert summary.drift_baseline == "the model's predictions on its training data"
    assert summary.drift[0].predicted_rows == len(scored)
    assert summary.class_counts[0] == scored["level0"].value_counts().to_dict()
    saved = json.loads((tmp_path / "out" / SUMMARY_FILE).read_text())
    assert saved["line"] == summary.line()
    assert saved["rows"] == N_NEW
    for text in ("Scored 1,000 rows", "rows/s", "2 rows not scorable", "drift PSI level0"):
        assert text in summary.line()


def test_drift_needs_the_training_distribution(tmp_path, model, inputs):
    summary = predict_file(model, inputs / "in.parquet", tmp_path / "out", quiet=True)
    assert summary.drift == ()
    assert summary.drift_note == "no training distribution in the artifact"
    assert "drift: no training distribution in the artifact" in summary.line()
    assert isinstance(summary, BatchSummary)


def test_shifted_input_raises_the_psi(tmp_path, artifact, new_rows):
    shifted = new_rows.assign(x0=new_rows["x0"] + 3.0)
    path = write(tmp_path, shifted, "shifted.parquet")
    same = predict_file(artifact, write(tmp_path, new_rows, "same.parquet"), tmp_path / "a", quiet=True)
    moved = predict_file(artifact, path, tmp_path / "b", quiet=True)
    assert moved.drift[0].psi > 5 * same.drift[0].psi
    assert moved.drift[0].largest_changes[0].label in set(pd.read_parquet(tmp_path / "b")["level0"])


# ----------------------------------------------------------------- Dask engine
@pytest.fixture(scope="module")
def dask_engine():
    pytest.importorskip("dask.dataframe")
    pytest.importorskip("distributed")
    return DaskEngine(processes=False, n_workers=2, blocksize=30_000)


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_dask_engine_equals_local_engine(tmp_path, artifact, inputs, dask_engine, kind):
    options = {"top_k": 2, "id_columns": ["row_id"], "passthrough": ["note"], "quiet": True}
    local = predict_file(artifact, inputs / f"in.{kind}", tmp_path / "local", engine=LocalEngine(), **options)
    dask = predict_file(artifact, inputs / f"in.{kind}", tmp_path / "dask", engine=dask_engine, **options)
    assert dask.engine == "dask"
    assert dask.parts > 1
    assert_same_output(read_output(tmp_path / "dask"), read_output(tmp_path / "local"))
    assert dask.class_counts == local.class_counts


def test_dask_engine_resumes(tmp_path, artifact, inputs, dask_engine, monkeypatch):
    with monkeypatch.context() as patch:
        real = batch_output.write_table

        def fail_on_part_2(table, path, file_format):
            if path.name == "part-000002.parquet":
                raise Killed("worker died")
            return real(table, path, file_format)

        patch.setattr(batch_output, "write_table", fail_on_part_2)
        with pytest.raises(Killed, match="worker died"):
            predict_file(artifact, inputs / "in.parquet", tmp_path / "out", engine=dask_engine, quiet=True)
    assert not (tmp_path / "out" / "part-000002.parquet").exists()
    summary = predict_file(artifact, inputs / "in.parquet", tmp_path / "out", engine=dask_engine, quiet=True)
    assert summary.rows == N_NEW
    assert summary.rows_scored_now < N_NEW
    predict_file(artifact, inputs / "in.parquet", tmp_path / "local", quiet=True)
    assert_same_output(read_output(tmp_path / "out"), read_output(tmp_path / "local"))
    with pytest.raises(OutputConflictError, match=r"layout setting engine: 'dask' -> 'local'"):
        predict_file(artifact, inputs / "in.parquet", tmp_path / "out", quiet=True)


@pytest.mark.slow  # several seconds: in the full suite only
def test_wide_model_with_large_arrays(tmp_path):
    # Large coefficient arrays reach the fingerprint's pickler as out-of-band buffers.
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 5000))).add_prefix("f")
    Y = np.array([["a", "a1"], ["a", "a2"], ["b", "b1"]] * 20, dtype=object)
    model = HierarchicalClassifier(min_samples=1).fit(X, Y)
    X.iloc[:10].to_parquet(tmp_path / "in.parquet")
    summary = predict_file(model, tmp_path / "in.parquet", tmp_path / "out", quiet=True)
    assert summary.rows == 10
    assert_array_equal(read_output(tmp_path / "out")[LEVELS[:2]].to_numpy(), model.predict(X.iloc[:10]))


@pytest.mark.parametrize("input_name", ["part-input.parquet", "part-000000.parquet"])
def test_overwrite_deletes_only_the_files_a_job_writes(tmp_path, artifact, new_rows, input_name):
    out = tmp_path / "out"
    out.mkdir()
    source = write(out, new_rows, input_name)  # the input sits in the output directory
    notes = out / "part-of-my-notes.txt"
    notes.write_text("mine")
    stale = out / "part-000007.csv"
    stale.write_text("left by an earlier job")
    with pytest.raises(OutputConflictError, match=r"is not empty .* never other files"):
        predict_file(artifact, source, out, quiet=True)
    summary = predict_file(artifact, source, out, quiet=True, overwrite=True, output_format="csv")
    assert summary.rows_scored_now == N_NEW
    assert notes.read_text() == "mine"
    assert pq.read_table(source).num_rows == N_NEW  # the input is never deleted
    assert not stale.exists()


def test_top_k_beyond_the_possible_paths_writes_one_column_pair_per_path(tmp_path, model, artifact, new_rows):
    source = write(tmp_path, new_rows.iloc[:50], "in.parquet")
    predict_file(artifact, source, tmp_path / "out", quiet=True, top_k=1_000_000)
    scored = pd.read_parquet(tmp_path / "out")
    top_columns = [c for c in scored.columns if c.startswith("top") and c.endswith("_path")]
    assert len(top_columns) == model.n_paths_ < 1_000_000
    scored_rows = scored["scoring_error"].isna()
    assert scored_rows.sum() == 49  # row 3 has a missing feature
    assert scored.loc[scored_rows, top_columns].notna().all().all()


@pytest.mark.parametrize("name", ["empty.csv", "empty.parquet"])
def test_an_input_without_rows_says_so_in_valid_json(tmp_path, artifact, new_rows, name):
    path = write(tmp_path, new_rows.head(0), name)
    summary = predict_file(artifact, path, tmp_path / "out", quiet=True)
    assert summary.rows == 0
    assert "has no rows, so there is nothing to compare" in summary.line()

    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")

    written = json.loads((tmp_path / "out" / SUMMARY_FILE).read_text(), parse_constant=refuse)
    assert written["rows"] == 0


def test_a_csv_row_count_from_its_first_mib_is_called_an_estimate(tmp_path, artifact, inputs, caplog):
    with caplog.at_level("INFO", logger="hiercls.batch"):
        predict_file(artifact, inputs / "in.csv", tmp_path / "csv", quiet=True)
        predict_file(artifact, inputs / "in.parquet", tmp_path / "parquet", quiet=True)
    starts = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Scoring")]
    assert f"(about {N_NEW:,} rows)" in starts[0]
    assert f"({N_NEW:,} rows)" in starts[1]  # Parquet's metadata holds the exact count


def test_an_artifact_by_path_and_the_model_loaded_from_it_share_one_job(tmp_path, artifact, inputs):
    from hiercls.artifacts import load_model

    first = predict_file(artifact, inputs / "in.parquet", tmp_path / "out", quiet=True)
    again = predict_file(load_model(artifact), inputs / "in.parquet", tmp_path / "out", quiet=True)
    assert first.rows_scored_now == N_NEW
    assert again.rows_scored_now == 0  # every part is the same job's: kept, not refused


@pytest.mark.slow  # several seconds: in the full suite only
def test_output_written_by_another_process_resumes_with_the_loaded_model(tmp_path, artifact, inputs):
    import subprocess
    import sys

    from hiercls.artifacts import load_model

    script = (
        "import sys; from hiercls.batch import predict_file; "
        "predict_file(sys.argv[1], sys.argv[2], sys.argv[3], quiet=True)"
    )
    out = tmp_path / "out"
    subprocess.run(
        [sys.executable, "-c", script, str(artifact), str(inputs / "in.parquet"), str(out)], check=True
    )
    again = predict_file(load_model(artifact), inputs / "in.parquet", out, quiet=True)
    assert again.rows_scored_now == 0


def test_int_and_str_labels_that_read_alike_stay_apart(tmp_path):
    # Level 1 holds the int 1 and the str '1': two classes, written 1 and '1'.
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": np.r_[rng.normal(-5, 1, 150), rng.normal(5, 1, 150)], "b": rng.normal(0, 1, 300)})
    Y = pd.DataFrame({"top": ["t"] * 300, "leaf": pd.Series([1] * 150 + ["1"] * 150, dtype=object)})
    model = HierarchicalClassifier(min_samples=1, random_state=0).fit(X, Y)
    artifact = save_model(model, tmp_path / "model", training_data=(X, Y))
    source = write(tmp_path, X, "rows.parquet")
    summary = predict_file(artifact, source, tmp_path / "out", quiet=True)
    written = read_output(tmp_path / "out")["leaf"]
    assert sorted(written.unique()) == ["'1'", "1"]
    assert (written == "1").sum() == (model.predict(X)[:, 1] == 1).sum()
    leaf_drift = next(d for d in summary.drift if d.level == "leaf")
    assert leaf_drift.psi < 0.01  # the model's own training rows: no drift


def test_explain_writes_the_deciding_features_per_level(tmp_path, model, artifact, inputs, new_rows):
    predict_file(artifact, inputs / "in.parquet", tmp_path / "out", explain=2, quiet=True)
    out = pd.read_parquet(tmp_path / "out")
    X = features(new_rows)
    scorable = np.flatnonzero(np.isfinite(X.to_numpy()).all(axis=1))  # the others get a scoring_error
    expected = model.explain(X.iloc[scorable], top=2)
    expected["row"] = scorable[expected["row"]]
    for level in model.levels_:
        rows = expected[expected["level"] == level]
        first = rows.groupby("row").head(1).set_index("row")
        written = out[f"{level}_explanation"]
        # The first named feature of a row at a level is its largest contribution.
        assert written.notna().sum() == rows["row"].nunique()
        for row in first.index[:20]:
            assert written.iloc[row].startswith(f"{first.loc[row, 'feature']} (+")
    # Another explain value is another job: the earlier output is not mixed with it.
    with pytest.raises(OutputConflictError, match="explain"):
        predict_file(artifact, inputs / "in.parquet", tmp_path / "out", explain=3, quiet=True)


@pytest.mark.parametrize(
    ("rows_per_second", "shown"),
    [(0.0, "0"), (0.49, "0.49"), (3.456, "3.5"), (45.6, "46"), (123_456.7, "123,457")],
)
def test_the_summary_line_shows_slow_rates_to_two_digits(rows_per_second, shown):
    from hiercls.batch._summary import _rate

    assert _rate(rows_per_second) == shown  # a job explaining k-NN nodes scores under a row a second
