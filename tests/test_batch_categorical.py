"""Batch prediction of models fitted on categorical DataFrame columns (CSV, Parquet, both engines)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from lightgbm import LGBMClassifier
from numpy.testing import assert_allclose
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from hiercls import HierarchicalClassifier, SchemaError
from hiercls.artifacts import save_model
from hiercls.batch import DaskEngine, LocalEngine, predict_file

LEVELS = ["group", "leaf"]
COLORS = ["blue", "green", "red"]


def make_rows(n, seed):
    """Labels decided by a string category (color) and an int category (region)."""
    rng = np.random.default_rng(seed)
    color = rng.choice(COLORS, size=n)
    region = rng.choice([1, 2, 3, 4], size=n)
    X = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "color": pd.Categorical(color, categories=COLORS),
            "region": pd.Categorical(region, categories=[1, 2, 3, 4]),
        }
    )
    group = np.where(color == "red", "warm", "cool")
    size = np.where(region <= 2, "low", "high")
    leaf = np.char.add(np.char.add(group, "-"), size)
    return X, pd.DataFrame({"group": group, "leaf": leaf})


def new_frame():
    """Rows to score, with an unseen color, an unseen region and missing values."""
    X, _ = make_rows(60, seed=1)
    color = X["color"].to_numpy(dtype=object, copy=True)
    region = X["region"].to_numpy(dtype=object, copy=True)
    color[[0, 5]] = ["purple", None]
    region[[1, 6]] = [9, None]
    return pd.DataFrame(
        {
            "row_id": [f"r{i:03d}" for i in range(len(X))],
            "x": X["x"].to_numpy(),
            "color": pd.Categorical(color),
            "region": pd.Categorical(region),
        }
    )


@pytest.fixture(scope="module")
def fitted():
    X, Y = make_rows(400, seed=0)
    node = LGBMClassifier(n_estimators=20, min_child_samples=5, verbose=-1, random_state=0)
    return HierarchicalClassifier(node, min_samples=1, random_state=0).fit(X, Y), X, Y


@pytest.fixture(scope="module")
def artifact(tmp_path_factory, fitted):
    clf, X, Y = fitted
    return save_model(clf, tmp_path_factory.mktemp("artifact") / "model", training_data=(X, Y))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    directory = tmp_path_factory.mktemp("inputs")
    frame = new_frame()
    frame.to_csv(directory / "in.csv", index=False)
    # pandas category columns become Parquet dictionary columns.
    pq.write_table(
        pa.Table.from_pandas(frame, preserve_index=False), directory / "in.parquet", row_group_size=25
    )
    plain = frame.astype({"color": object, "region": "Int64"})
    pq.write_table(pa.Table.from_pandas(plain, preserve_index=False), directory / "plain.parquet")
    return directory


@pytest.fixture(scope="module")
def dask_engine():
    pytest.importorskip("dask.dataframe")
    pytest.importorskip("distributed")
    return DaskEngine(processes=False, n_workers=2, blocksize=1_000)


def test_metadata_records_the_categories_dtype(artifact):
    entries = json.loads((artifact / "metadata.json").read_text())["input_features"]
    by_name = {e["name"]: e for e in entries}
    assert by_name["color"]["dtype"] == "category"
    assert by_name["region"]["categories_dtype"] == "int64"
    assert "categories_dtype" not in by_name["x"]


@pytest.mark.parametrize("file_name", ["in.csv", "in.parquet", "plain.parquet"])
@pytest.mark.parametrize("engine", ["local", "dask"])
def test_scores_equal_in_memory_predictions(
    request, tmp_path, fitted, artifact, inputs, file_name, engine
):
    clf, _, _ = fitted
    chosen = LocalEngine() if engine == "local" else request.getfixturevalue("dask_engine")
    summary = predict_file(
        artifact,
        inputs / file_name,
        tmp_path / "out",
        chunk_rows=25,
        id_columns=["row_id"],
        engine=chosen,
        quiet=True,
    )
    out = pd.read_parquet(tmp_path / "out")
    frame = new_frame()
    expected = clf.predict(frame[["x", "color", "region"]])
    assert summary.rows_failed == 0
    assert out["scoring_error"].isna().all()
    assert out["row_id"].tolist() == frame["row_id"].tolist()
    assert out[LEVELS].to_numpy().tolist() == expected.tolist()
    proba = clf.predict_paths(frame[["x", "color", "region"]]).path_proba
    assert_allclose(out["path_proba"], proba, rtol=0, atol=1e-12)


def test_unseen_categories_score_like_missing_ones(fitted):
    clf, _, _ = fitted
    frame = new_frame()[["x", "color", "region"]]
    unseen = frame.iloc[[0, 1]]
    missing = unseen.assign(
        color=pd.Categorical([None, unseen["color"].iloc[1]]),
        region=pd.Categorical([unseen["region"].iloc[0], None]),
    )
    assert clf.predict(unseen).tolist() == clf.predict(missing).tolist()


def test_missing_categorical_column_is_named(tmp_path, artifact, inputs):
    new_frame().drop(columns="region").to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(SchemaError, match=r"lacks 1 of the model's 3 feature columns: \['region'\]"):
        predict_file(artifact, tmp_path / "in.csv", tmp_path / "out", quiet=True)
    assert not list((tmp_path / "out").glob("part-*"))


def test_categorical_column_of_wrong_parquet_type_is_named(tmp_path, artifact):
    table = pa.table(
        {
            "x": [0.5],
            "color": pa.array([[1, 2]], type=pa.list_(pa.int64())),
            "region": [1],
        }
    )
    pq.write_table(table, tmp_path / "in.parquet")
    with pytest.raises(SchemaError, match=r"Categorical feature column 'color' .* type list"):
        predict_file(artifact, tmp_path / "in.parquet", tmp_path / "out", quiet=True)


@pytest.mark.parametrize("file_name", ["in.csv", "in.parquet"])
def test_one_hot_pipeline_scores_categorical_columns(tmp_path, inputs, file_name):
    X, Y = make_rows(400, seed=0)
    # Missing values at fit are a category of the encoder: an empty CSV cell must match them.
    X.loc[:60, "color"] = np.nan
    Y.loc[:60] = ["warm", "warm-high"]
    features = ColumnTransformer(
        [
            ("categorical", OneHotEncoder(handle_unknown="ignore"), ["color", "region"]),
            ("numeric", make_pipeline(SimpleImputer(add_indicator=True), StandardScaler()), ["x"]),
        ]
    )
    classifier = HierarchicalClassifier(LogisticRegression(max_iter=1000), min_samples=1)
    model = Pipeline([("features", features), ("classifier", classifier)]).fit(X, Y)
    artifact = save_model(model, tmp_path / "model", training_data=(X, Y))
    predict_file(artifact, inputs / file_name, tmp_path / "out", quiet=True)
    out = pd.read_parquet(tmp_path / "out")
    expected = model.predict(new_frame()[["x", "color", "region"]])
    assert out["scoring_error"].isna().all()
    assert out[LEVELS].to_numpy().tolist() == expected.tolist()
    assert expected[5].tolist() == ["warm", "warm-high"]  # the row with a missing color
