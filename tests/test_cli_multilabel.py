"""hiercls-train on data with several paths per row (data=multilabel)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from hiercls import MultiLabelHierarchicalClassifier
from hiercls.artifacts import find_classifier, load_model
from hiercls.cli.config import CONF_DIR, ConfigError
from hiercls.cli.train import train
from hiercls.datasets import load_table


def write_rows(path, n=300):
    """Words decide the paths: 'red' -> C/red, 'blue' -> C/blue, 'big' -> S (ends at level 0)."""
    rng = np.random.default_rng(0)
    rows = []
    for _ in range(n):
        words, paths = [], []
        for word, label_path in (("red", "C/red"), ("blue", "C/blue"), ("big", "S")):
            if rng.random() < 0.5:
                words.append(word)
                paths.append(label_path)
        if not paths:  # every row has a path: a run predicts at least one (min_paths=1)
            words, paths = ["red"], ["C/red"]
        words.append(rng.choice(["thing", "item", "object"]))
        rows.append({"text": " ".join(words), "labels": "|".join(paths)})
    pd.DataFrame(rows).to_csv(path, index=False)


def compose_multilabel(tmp_path, overrides=()):
    path = tmp_path / "rows.csv"
    write_rows(path)
    base = [
        f"paths.output_dir={tmp_path / 'run'}",
        "data=multilabel",
        f"data.path={path}",
        "data.paths_column=labels",
        "data.text_column=text",
        "data.feature_columns=[]",
        "data.tfidf.min_df=1",
        "sufficiency.min_samples=5",
        "model.verbose=0",
    ]
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return compose("train", overrides=[*base, *overrides])


def test_a_multilabel_run_leaves_its_artifacts_and_learns_the_paths(tmp_path):
    metrics = train(compose_multilabel(tmp_path))
    run = tmp_path / "run"
    written = ("metrics.json", "sufficiency_report.md", "test_predictions.csv")
    for name in (*written, "rare_class_report.md", "rare_class_report.csv", "rare_class_report.html"):
        assert (run / name).is_file(), name
    assert json.loads((run / "metrics.json").read_text())["test"] == pytest.approx(metrics["test"])
    assert metrics["test"]["hierarchical_f1"] == 1.0  # each word gives its path away
    assert metrics["levels"] == ["level0", "level1"]
    assert metrics["n_paths"] == 3
    model = load_model(run / "model")
    assert isinstance(find_classifier(model), MultiLabelHierarchicalClassifier)
    predictions = pd.read_csv(run / "test_predictions.csv", keep_default_na=False)
    truth, predicted = (predictions[c].str.split("|").map(set) for c in ("true_paths", "predicted_paths"))
    assert (truth == predicted).all()
    assert "| [100, inf) |" in (run / "rare_class_report.md").read_text()
    page = (run / "rare_class_report.html").read_text()
    assert "data/rows.csv" in page or "rows.csv" in page  # the report says which data it describes
    assert page.count("<img ") == 1  # micro and macro recall per bucket


def test_a_metric_a_multilabel_run_does_not_have_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"optimized_metric='leaf_accuracy' is no metric of a multi-label"):
        train(compose_multilabel(tmp_path, ["optimized_metric=leaf_accuracy"]))


def test_load_table_splits_paths_and_levels(tmp_path):
    path = tmp_path / "rows.csv"
    pd.DataFrame({"x": [1, 2, 3], "codes": ["J/J45 | E", "", "I;I10"]}).to_csv(path, index=False)
    data = load_table(path, paths_column="codes")
    assert data.target_sets == [[("J", "J45"), ("E",)], [], [("I;I10",)]]
    assert list(data.data.columns) == ["x"]
    other = load_table(path, paths_column="codes", path_separator=";", level_separator="|")
    assert other.target_sets[2] == [("I",), ("I10",)]
    with pytest.raises(ValueError, match=r"label_columns .* or paths_column .*, not both"):
        load_table(path, paths_column="codes", label_columns=["x"])
    with pytest.raises(ValueError, match=r"two different non-empty strings"):
        load_table(path, paths_column="codes", path_separator="/")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    directory = tmp_path_factory.mktemp("multilabel")
    train(compose_multilabel(directory))
    return directory / "run"


@pytest.mark.slow  # a hiercls-train run, then hiercls-predict
@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_predict_explains_every_step_of_every_path(tmp_path, trained, file_format):
    from hiercls.cli.predict import predict
    from hiercls.explain import explain_predictions

    texts = ["red big thing", "blue item", "big object", "red blue big item"]
    rows = pd.DataFrame({"text": texts})
    source = tmp_path / f"new.{file_format}"
    rows.to_csv(source, index=False) if file_format == "csv" else rows.to_parquet(source)
    overrides = [
        f"model_path={trained}",
        f"input={source}",
        f"output={tmp_path / 'scored'}",
        f"format={file_format}",
        "explain=2",
        "quiet=true",
        f"paths.output_dir={tmp_path}",
    ]
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        summary = predict(compose("predict", overrides=overrides))
    assert summary["rows"] == 4
    part = next((tmp_path / "scored").glob(f"part-*.{file_format}"))
    out = pd.read_parquet(part) if file_format == "parquet" else pd.read_csv(part, keep_default_na=False)
    # The same steps as explain gives, written "outcome: feature (+contribution); ..." and
    # joined by " | ", per level.
    expected = explain_predictions(load_model(trained / "model"), rows, top=2)
    expected["text"] = expected["feature"] + " (" + expected["contribution"].map("{:+.3g}".format) + ")"
    for level in ("level0", "level1"):
        for row in range(4):
            here = expected[(expected["row"] == row) & (expected["level"] == level)]
            by_step = here.groupby(["node", "chosen"])
            steps = sorted(f"{chosen}: " + "; ".join(step["text"]) for (_, chosen), step in by_step)
            written = out[f"{level}_explanation"][row]
            assert sorted(written.split(" | ") if isinstance(written, str) and written else []) == steps
    # Each step's first feature holds the word that gives its path away (TF-IDF's
    # words and bigrams, named by the Pipeline's ColumnTransformer).
    assert "C: text__red" in out["level0_explanation"][0]
    assert "S: text__big" in out["level0_explanation"][0]
    assert out["level1_explanation"][1].startswith("blue: text__blue")
