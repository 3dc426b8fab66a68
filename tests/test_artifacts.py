"""Model artifacts (save, load, checks), in tmp_path."""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest
import skops.io
from lightgbm import LGBMClassifier
from numpy.testing import assert_array_equal
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from hiercls import HierarchicalClassifier
from hiercls.artifacts import (
    METADATA_FILE,
    MODEL_FILE,
    ArtifactError,
    ArtifactIntegrityError,
    ArtifactVersionWarning,
    NewerArtifactFormatError,
    PickleArtifactError,
    PickleArtifactWarning,
    UntrustedTypeError,
    convert_artifact,
    find_classifier,
    load_model,
    read_metadata,
    save_model,
)
from hiercls.datasets import make_hierarchical_classification


@pytest.fixture(scope="module")
def data():
    X, Y = make_hierarchical_classification(
        400, n_levels=3, branching=(2, 2, 2), n_features=4, as_frame=True, random_state=0
    )
    return X, Y


@pytest.fixture(scope="module")
def fitted(data):
    X, Y = data
    return HierarchicalClassifier(min_samples=1, random_state=0).fit(X, Y)


@pytest.fixture
def artifact(tmp_path, fitted, data):
    return save_model(fitted, tmp_path / "model", training_data=data)


def files(directory):
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def edit_metadata(directory, **changes):
    path = directory / METADATA_FILE
    metadata = json.loads(path.read_text())
    for key, value in changes.items():
        section, _, name = key.partition("__")
        if name:
            metadata[section][name] = value
        else:
            metadata[section] = value
    path.write_text(json.dumps(metadata))


def rehash(directory):
    """Make metadata.json agree with whatever model.joblib now holds."""
    digest = hashlib.sha256((directory / MODEL_FILE).read_bytes()).hexdigest()
    edit_metadata(directory, model_sha256=digest)


# ------------------------------------------------------------------ round trip
def test_round_trip_predictions_identical(artifact, fitted, data):
    X, _ = data
    loaded = load_model(artifact)
    expected, got = fitted.predict_paths(X), loaded.predict_paths(X)
    assert_array_equal(got.labels, expected.labels)
    assert_array_equal(got.level_proba, expected.level_proba)
    assert_array_equal(got.path_proba, expected.path_proba)
    for a, b in zip(loaded.predict_proba(X), fitted.predict_proba(X), strict=True):
        assert_array_equal(a, b)


def test_metadata_describes_the_model_and_its_training_data(artifact, fitted, data):
    metadata = read_metadata(artifact)
    assert metadata["format"] == "hiercls-model"
    assert metadata["levels"] == fitted.levels_
    assert metadata["classes_per_level"] == [len(c) for c in fitted.classes_]
    assert metadata["feature_names"] == list(fitted.feature_names_in_)
    assert metadata["n_features"] == 4
    assert metadata["hierarchy_fingerprint"] == fitted.hierarchy_.fingerprint()
    assert metadata["model_sha256"] == hashlib.sha256((artifact / MODEL_FILE).read_bytes()).hexdigest()
    assert {"hiercls", "scikit-learn", "lightgbm", "numpy", "python"} <= set(metadata["versions"])
    assert metadata["created_utc"].endswith("+00:00")
    training = metadata["training_data"]
    assert training["n_samples"] == 400
    assert len(training["fingerprint"]) == 64
    _, Y = data
    level0 = training["class_counts"][0]
    assert level0["counts"] == Y["level0"].value_counts().to_dict()
    assert level0["n_missing"] == 0


def test_training_fingerprint_follows_every_value(tmp_path, fitted, data):
    X, Y = data
    first = read_metadata(save_model(fitted, tmp_path / "a", training_data=(X, Y)))
    again = read_metadata(save_model(fitted, tmp_path / "b", training_data=(X.copy(), Y.copy())))
    changed_X = X.copy()
    changed_X.iloc[123, 2] += 1e-9
    other = read_metadata(save_model(fitted, tmp_path / "c", training_data=(changed_X, Y)))
    no_labels = read_metadata(save_model(fitted, tmp_path / "d", training_data=(X, None)))
    assert first["training_data"]["fingerprint"] == again["training_data"]["fingerprint"]
    assert first["training_data"]["fingerprint"] != other["training_data"]["fingerprint"]
    assert no_labels["training_data"]["class_counts"] is None
    assert read_metadata(save_model(fitted, tmp_path / "e"))["training_data"] is None


def test_pipeline_round_trip_and_paths_inside_the_artifact(tmp_path, data):
    X, Y = data
    model = make_pipeline(StandardScaler(), HierarchicalClassifier(min_samples=1)).fit(X, Y)
    directory = save_model(model, tmp_path / "model", extra_metadata={"run": "abc", "n": np.int64(3)})
    for path in (directory, directory / MODEL_FILE, directory / METADATA_FILE):
        loaded = load_model(path)
        assert_array_equal(
            find_classifier(loaded).predict(loaded[:-1].transform(X)),
            find_classifier(model).predict(model[:-1].transform(X)),
        )
    metadata = read_metadata(directory / METADATA_FILE)
    assert metadata["model_class"] == "sklearn.pipeline.Pipeline"
    assert metadata["extra"] == {"run": "abc", "n": 3}


# ------------------------------------------------------------------- bad files
def corrupt_one_byte(directory):
    path = directory / MODEL_FILE
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))


def truncate(directory):
    path = directory / MODEL_FILE
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def random_bytes(directory):
    (directory / MODEL_FILE).write_bytes(np.random.default_rng(0).bytes(5000))
    rehash(directory)


def truncate_and_rehash(directory):
    truncate(directory)
    rehash(directory)


def not_a_hiercls_model(directory):
    skops.io.dump(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), directory / MODEL_FILE)
    rehash(directory)


def unfitted_hiercls_model(directory):
    skops.io.dump(HierarchicalClassifier(), directory / MODEL_FILE)
    rehash(directory)


def unknown_model_format(directory):
    edit_metadata(directory, model_format="onnx")


def no_metadata(directory):
    (directory / METADATA_FILE).unlink()


def garbled_metadata(directory):
    (directory / METADATA_FILE).write_text('{"format": "hiercls-model", "levels": [')


def foreign_metadata(directory):
    (directory / METADATA_FILE).write_text(json.dumps({"name": "something else"}))


def metadata_without_hash(directory):
    metadata = json.loads((directory / METADATA_FILE).read_text())
    del metadata["model_sha256"]
    (directory / METADATA_FILE).write_text(json.dumps(metadata))


def newer_format(directory):
    edit_metadata(directory, format_version=99)


def no_model_file(directory):
    (directory / MODEL_FILE).unlink()


def other_hierarchy(directory):
    edit_metadata(directory, hierarchy_fingerprint="0" * 64)


@pytest.mark.parametrize(
    ("damage", "error", "message"),
    [
        (corrupt_one_byte, ArtifactIntegrityError, r"file changed or truncated since it was saved"),
        (truncate, ArtifactIntegrityError, r"file changed or truncated since it was saved"),
        (
            truncate_and_rehash,
            ArtifactIntegrityError,
            r"model\.skops' could not be read as a skops file \(BadZipFile.*\); it is truncated",
        ),
        (random_bytes, ArtifactIntegrityError, r"model\.skops' could not be read as a skops file"),
        (
            not_a_hiercls_model,
            ArtifactError,
            r"holds a sklearn\.linear_model.*LogisticRegression, not a fitted Hier",
        ),
        (unfitted_hiercls_model, ArtifactError, r"not a fitted HierarchicalClassifier"),
        (
            no_metadata,
            ArtifactError,
            r"is not a complete hiercls model artifact: it has no metadata\.json",
        ),
        (garbled_metadata, ArtifactError, r"metadata\.json' is not valid JSON"),
        (foreign_metadata, ArtifactError, r"is not hiercls model metadata"),
        (metadata_without_hash, ArtifactError, r"lacks the keys \['model_sha256'\]"),
        (
            newer_format,
            NewerArtifactFormatError,
            r"artifact format version 99; this hiercls reads up to version 2\. Upgrade",
        ),
        (unknown_model_format, ArtifactError, r"names the model format 'onnx'; hiercls artifacts are skops"),
        (no_model_file, ArtifactError, r"has metadata\.json but no model\.skops"),
        (other_hierarchy, ArtifactIntegrityError, r"hierarchy does not match metadata\.json"),
    ],
)
def test_damaged_artifacts_give_clear_errors(artifact, damage, error, message):
    damage(artifact)
    before = files(artifact)
    with pytest.raises(error, match=message) as info:
        load_model(artifact)
    assert str(artifact) in str(info.value)
    assert info.value.__cause__ is None  # no parser traceback chained to the report
    assert files(artifact) == before  # loading never rewrites or removes anything


def test_truncated_file_without_verification_is_still_a_clear_error(artifact):
    truncate(artifact)
    with pytest.raises(ArtifactIntegrityError, match=r"could not be read as a skops file \(BadZipFile"):
        load_model(artifact, verify=False)


def test_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"No model artifact at .*nothing.*does not exist"):
        load_model(tmp_path / "nothing")


def test_random_directory_is_not_an_artifact(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ArtifactError, match=r"has no metadata\.json"):
        read_metadata(tmp_path)


# -------------------------------------------------------------------- versions
def test_scikit_learn_version_mismatch_warns_once_naming_both(artifact):
    import sklearn

    edit_metadata(artifact, **{"versions__scikit-learn": "0.0.1"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_model(artifact)
    ours = [w for w in caught if issubclass(w.category, ArtifactVersionWarning)]
    assert len(ours) == 1
    assert f"scikit-learn 0.0.1 when saved, {sklearn.__version__} installed" in str(ours[0].message)
    assert len(caught) == 1


def test_lightgbm_version_mismatch_warns_for_lightgbm_models(tmp_path, data):
    import lightgbm

    X, Y = data
    model = HierarchicalClassifier(
        LGBMClassifier(n_estimators=3, verbose=-1), min_samples=1, random_state=0
    ).fit(X, Y)
    directory = save_model(model, tmp_path / "lgbm")
    edit_metadata(directory, **{"versions__lightgbm": "3.0.0"})
    with pytest.warns(
        ArtifactVersionWarning,
        match=rf"lightgbm 3\.0\.0 when saved, {lightgbm.__version__} installed",
    ):
        load_model(directory)


def test_lightgbm_version_ignored_when_no_node_model_uses_it(artifact):
    edit_metadata(artifact, **{"versions__lightgbm": "3.0.0"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_model(artifact)


# ------------------------------------------------------------------ atomicity
def test_failed_dump_leaves_existing_artifact_untouched(artifact, fitted, monkeypatch):
    before = files(artifact)

    def broken_dump(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(skops.io, "dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        save_model(fitted, artifact)
    assert files(artifact) == before  # no temporary files left either
    load_model(artifact)


def test_failed_dump_into_new_directory_leaves_nothing_that_loads(tmp_path, fitted, monkeypatch):
    def half_dump(model, path, *args, **kwargs):
        with open(path, "wb") as handle:
            handle.write(b"\x80\x05partial")
        raise KeyboardInterrupt("killed while dumping")

    monkeypatch.setattr(skops.io, "dump", half_dump)
    with pytest.raises(KeyboardInterrupt, match="killed while dumping"):
        save_model(fitted, tmp_path / "model")
    assert list((tmp_path / "model").iterdir()) == []


def test_crash_between_the_renames_leaves_nothing_that_loads(artifact, fitted, monkeypatch):
    real_replace = os.replace
    calls = []

    def replace_then_crash(src, dst):
        calls.append(dst)
        if str(dst).endswith(METADATA_FILE):
            raise KeyboardInterrupt("killed between the renames")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_then_crash)
    with pytest.raises(KeyboardInterrupt, match="killed between the renames"):
        save_model(fitted, artifact)
    monkeypatch.setattr(os, "replace", real_replace)
    with pytest.raises(ArtifactError, match=r"has no metadata\.json"):
        load_model(artifact)
    assert sorted(p.name for p in artifact.iterdir()) == [MODEL_FILE]


# -------------------------------------------------------------- bad arguments
@pytest.mark.parametrize(
    ("make_model", "kwargs", "error", "message"),
    [
        (lambda fitted: HierarchicalClassifier(), {}, NotFittedError, "not fitted"),
        (
            lambda fitted: LogisticRegression(),
            {},
            TypeError,
            r"Expected a HierarchicalClassifier or a Pipeline",
        ),
        (
            lambda fitted: fitted,
            {"extra_metadata": {"x": object()}},
            TypeError,
            r"object is not JSON serialisable",
        ),
        (
            lambda fitted: fitted,
            {"training_data": "X"},
            TypeError,
            r"training_data must be a tuple \(X, Y\)",
        ),
    ],
)
def test_save_model_rejects_bad_arguments_before_writing(
    tmp_path, fitted, make_model, kwargs, error, message
):
    with pytest.raises(error, match=message):
        save_model(make_model(fitted), tmp_path / "model", **kwargs)
    assert not (tmp_path / "model").exists()


LEGACY_ARTIFACT = Path(__file__).parent / "data" / "legacy_model_c91f941"


def test_artifact_from_an_earlier_hiercls_still_predicts():
    # Saved by commit c91f941, before fitted models recorded their NaN and categorical
    # handling: a decision tree on 3 numeric columns, animal/plant -> cat/dog, fern/moss.
    with pytest.warns(PickleArtifactWarning, match=r"convert_artifact\('.*legacy_model_c91f941'"):
        model = load_model(LEGACY_ARTIFACT, allow_pickle=True)
    X = np.loadtxt(LEGACY_ARTIFACT / "X.csv", delimiter=",")
    assert_array_equal(
        model.predict(X[:5]),
        [["animal", "dog"], ["animal", "dog"], ["animal", "cat"], ["plant", "moss"], ["plant", "moss"]],
    )
    assert model.predict_paths(X).labels.shape == (8, 2)
    assert model.predict_proba(X)[1].shape == (8, 4)
    assert model.__sklearn_tags__().input_tags.allow_nan  # decision trees take NaN


def test_a_failed_run_folder_says_why_it_has_no_model(tmp_path):
    (tmp_path / "FAILED.txt").write_text("This run failed and its outputs are incomplete.\nno space left\n")
    with pytest.raises(
        ArtifactError, match=r"is a hiercls-train run that failed before saving its model: no space left"
    ):
        load_model(tmp_path)
