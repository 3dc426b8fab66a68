"""Model artifacts (save, load, checks), in tmp_path."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Any

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

from hiercls import HierarchicalClassifier, MultiLabelHierarchicalClassifier
from hiercls._portable_state import PortableState
from hiercls.artifacts import (
    FORMAT_VERSION,
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
            rf"artifact format version 99; this hiercls reads up to version {FORMAT_VERSION}\. Upgrade",
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


SKOPS_V2_ARTIFACT = Path(__file__).parent / "data" / "skops_v2_text_model_b9ab121"


def test_skops_artifact_of_format_version_2_still_loads_and_predicts():
    # Saved by commit b9ab121 (TF-IDF + classifier, warm-started twice), before long
    # sequences were stored as arrays: its labels, vocabulary and routes are item by item.
    assert read_metadata(SKOPS_V2_ARTIFACT)["format_version"] == 2
    model = load_model(SKOPS_V2_ARTIFACT)
    texts = json.loads((SKOPS_V2_ARTIFACT / "texts.json").read_text())
    expected = np.load(SKOPS_V2_ARTIFACT / "expected.npz")
    got = model[-1].predict_paths(model[:-1].transform(texts))
    assert_array_equal(got.labels.astype(str), expected["labels"])
    assert_array_equal(got.path_proba, expected["path_proba"])
    assert all(isinstance(path, tuple) for path in model[-1].node_fingerprints_)


def test_a_failed_run_folder_says_why_it_has_no_model(tmp_path):
    (tmp_path / "FAILED.txt").write_text("This run failed and its outputs are incomplete.\nno space left\n")
    with pytest.raises(
        ArtifactError, match=r"is a hiercls-train run that failed before saving its model: no space left"
    ):
        load_model(tmp_path)


# ------------------------------------------------ every node-model kind, in skops
TEXTS = ["cat purrs softly", "dog barks loud", "fern grows in shade", "moss grows green"] * 6
TEXT_PATHS = [["animal", "cat"], ["animal", "dog"], ["plant", "fern"], ["plant", "moss"]] * 6


def _numeric(estimator):
    from conftest import THREE_LEVELS, clustered

    X, Y, _ = clustered(THREE_LEVELS + [(("fungus", "mould", "mildew"), (0, 20))])
    return HierarchicalClassifier(estimator, min_samples=1, random_state=0), X, Y


def _numeric_with(**params):
    model, X, Y = _numeric(LogisticRegression())
    return model.set_params(**params), X, Y


def _pipeline(make):
    from sklearn.feature_extraction.text import TfidfVectorizer

    return make_pipeline(TfidfVectorizer(), make()), TEXTS, TEXT_PATHS


def _column_transformer():
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder

    colours = pd.Series(["red", "blue", "green", None] * 6, dtype=object)
    X = pd.DataFrame({"colour": colours, "size": np.arange(24.0)})
    # The imputer keeps the object dtype of its input: a numpy.dtype in the file.
    impute_then_encode = make_pipeline(
        SimpleImputer(strategy="constant", fill_value="none"), OneHotEncoder(handle_unknown="ignore")
    )
    encode = ColumnTransformer(
        [
            ("onehot", impute_then_encode, ["colour"]),
            ("scale", StandardScaler(), ["size"]),
        ]
    )
    return make_pipeline(encode, HierarchicalClassifier(min_samples=1)), X, TEXT_PATHS


def _categorical_lightgbm():
    import pandas as pd

    X = pd.DataFrame(
        {"colour": pd.Categorical(["red", "blue", "green", "grey"] * 6), "size": np.arange(24.0)}
    )
    lightgbm = LGBMClassifier(n_estimators=5, min_child_samples=1, verbose=-1)
    return HierarchicalClassifier(lightgbm, min_samples=1, random_state=0), X, TEXT_PATHS


def _single_child_chain():
    from conftest import SINGLE_CHILD_CHAIN, clustered

    X, Y, _ = clustered(SINGLE_CHILD_CHAIN)
    return HierarchicalClassifier(LogisticRegression(), min_samples=1), X, Y


def _multi_label(estimator):
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]] * 6, dtype=float)
    Y = [[("a", "a1")], [("a", "a1"), ("b",)], [("a", "a2")], [("a", "a2"), ("b",)]] * 6
    return MultiLabelHierarchicalClassifier(estimator, min_samples=1), X, Y


def _model_kinds():
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.dummy import DummyClassifier
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.svm import LinearSVC
    from sklearn.tree import DecisionTreeClassifier

    return {
        "logistic": lambda: _numeric(LogisticRegression()),
        "linear_svc": lambda: _numeric(LinearSVC()),
        "knn": lambda: _numeric(KNeighborsClassifier(3)),
        "knn_ball_tree": lambda: _numeric(KNeighborsClassifier(3, algorithm="ball_tree")),
        "calibrated": lambda: _numeric(CalibratedClassifierCV(LinearSVC(), cv=2)),
        "hist_gradient_boosting": lambda: _numeric(HistGradientBoostingClassifier(max_iter=5)),
        "dummy": lambda: _numeric(DummyClassifier(strategy="prior")),
        "decision_tree": lambda: _numeric(DecisionTreeClassifier(random_state=0)),
        "lightgbm": lambda: _numeric(LGBMClassifier(n_estimators=5, min_child_samples=1, verbose=-1)),
        "constant_nodes": _single_child_chain,
        "collapsed_levels": lambda: _numeric_with(collapse_levels=[1]),
        "auto": lambda: _numeric_with(estimator="auto"),
        "warm_start": lambda: _numeric_with(warm_start=True),
        "sparse_linear_tfidf": lambda: _pipeline(lambda: HierarchicalClassifier(min_samples=1)),
        "lightgbm_tfidf": lambda: _pipeline(
            lambda: HierarchicalClassifier(
                LGBMClassifier(n_estimators=5, min_child_samples=1, verbose=-1), min_samples=1
            )
        ),
        "column_transformer": _column_transformer,
        "categorical_lightgbm": _categorical_lightgbm,
        "multi_label_logistic": lambda: _multi_label(LogisticRegression()),
        "multi_label_lightgbm": lambda: _multi_label(
            LGBMClassifier(n_estimators=5, min_child_samples=1, verbose=-1)
        ),
        "multi_label_sparse_tfidf": lambda: _pipeline(
            lambda: MultiLabelHierarchicalClassifier(min_samples=1)
        ),
    }


def _assert_same_predictions(loaded, model, X):
    classifier, original = find_classifier(loaded), find_classifier(model)
    X_in = model[:-1].transform(X) if hasattr(model, "steps") else X
    X_loaded = loaded[:-1].transform(X) if hasattr(loaded, "steps") else X
    got, expected = classifier.predict_paths(X_loaded), original.predict_paths(X_in)
    if isinstance(original, MultiLabelHierarchicalClassifier):
        assert got.paths == expected.paths
        for a, b in zip(got.path_proba, expected.path_proba, strict=True):
            assert_array_equal(a, b)
        assert_array_equal(classifier.predict_proba(X_loaded), original.predict_proba(X_in))
        return
    assert_array_equal(got.labels, expected.labels)
    assert_array_equal(got.path_proba, expected.path_proba)
    if hasattr(original, "predict_proba"):  # not with LinearSVC nodes
        for a, b in zip(classifier.predict_proba(X_loaded), original.predict_proba(X_in), strict=True):
            assert_array_equal(a, b)


@pytest.mark.parametrize("kind", list(_model_kinds()))
def test_every_node_model_kind_round_trips_through_skops_with_the_default_trust(tmp_path, kind):
    model, X, Y = _model_kinds()[kind]()
    if kind == "multi_label_sparse_tfidf":
        Y = [[tuple(path)] for path in Y]
    model.fit(X, Y)
    if kind == "warm_start":  # a second fit reuses the node models and keeps their fingerprints
        model.fit(X, Y)
        assert model.n_nodes_reused_ > 0
    directory = save_model(model, tmp_path / "model", training_data=(X, Y))
    assert sorted(p.name for p in directory.iterdir()) == [METADATA_FILE, "model.skops"]
    metadata = read_metadata(directory)
    assert metadata["model_format"] == "skops"
    assert metadata["types_to_trust"] == []  # TRUSTED_TYPES covers every kind hiercls supports
    loaded = load_model(directory)  # no trusted=..., no allow_pickle
    assert type(loaded) is type(model)
    _assert_same_predictions(loaded, model, X)
    if kind == "constant_nodes":
        assert any(type(m).__name__ == "ConstantNodeModel" for m in loaded.estimators_)
    if kind == "auto":
        import pandas as pd

        pd.testing.assert_frame_equal(loaded.model_selection_, model.model_selection_)
    if kind == "warm_start":
        assert loaded.node_fingerprints_ == model.node_fingerprints_
        loaded.fit(X, Y)  # the loaded model warm-starts too
        assert loaded.n_nodes_refitted_ == 0
    if kind == "sparse_linear_tfidf":
        assert any(type(m).__name__ == "SparseLinearModel" for m in loaded[-1].estimators_)


def test_fitted_report_tables_come_back_equal(tmp_path, fitted):
    import pandas as pd

    loaded = load_model(save_model(fitted, tmp_path / "model"))
    pd.testing.assert_frame_equal(loaded.sufficiency_report_.table, fitted.sufficiency_report_.table)
    assert loaded.hierarchy_ == fitted.hierarchy_
    assert_array_equal(loaded.feature_names_in_, fitted.feature_names_in_)
    assert loaded.feature_names_in_.dtype == object


# ----------------------------------------------------------- hostile pickles
class _CreatesMarker:
    """Unpickling this creates the marker file: what any hostile code could do instead."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _hostile_pickle_artifact(directory, marker, *, claims):
    """An artifact whose model file is a hostile pickle with a matching checksum."""
    model_file = {"pickle": "model.joblib", "skops": "model.skops"}[claims]
    joblib.dump(_CreatesMarker(marker), directory / model_file)
    digest = hashlib.sha256((directory / model_file).read_bytes()).hexdigest()
    edit_metadata(directory, model_sha256=digest, model_format=claims, model_file=model_file)


@pytest.mark.parametrize(
    ("claims", "error", "message"),
    [
        (
            "pickle",
            PickleArtifactError,
            r"holds a pickle \(model\.joblib.*refused by default.*allow_pickle=True",
        ),
        ("skops", ArtifactIntegrityError, r"model\.skops' could not be read as a skops file"),
    ],
)
def test_hostile_pickle_with_matching_checksum_never_runs_by_default(
    tmp_path, fitted, claims, error, message
):
    marker = tmp_path / "marker"
    directory = save_model(fitted, tmp_path / "model", format="pickle" if claims == "pickle" else "skops")
    _hostile_pickle_artifact(directory, marker, claims=claims)
    with pytest.raises(error, match=message):
        load_model(directory)
    assert not marker.exists()
    if claims == "pickle":
        # The file really is hostile: the explicit opt-in runs it (then finds no model).
        with pytest.warns(PickleArtifactWarning), pytest.raises(ArtifactError, match=r"not a fitted"):
            load_model(directory, allow_pickle=True)
        assert marker.exists()


# ---------------------------------------------------------------- trust lists
class ShelfDummy(LogisticRegression):
    """A node model class of the user's own: not on hiercls's trusted list."""


def test_untrusted_type_is_refused_naming_it_then_loads_when_trusted(tmp_path, data):
    X, Y = data
    model = HierarchicalClassifier(ShelfDummy(), min_samples=1, random_state=0).fit(X, Y)
    directory = save_model(model, tmp_path / "model")
    name = f"{ShelfDummy.__module__}.ShelfDummy"
    assert read_metadata(directory)["types_to_trust"] == [name]
    with pytest.raises(UntrustedTypeError, match=rf"does not trust: '{name}'.*trusted=\['{name}'\]") as info:
        load_model(directory)
    assert info.value.types == [name]
    for trusted in ([name], [ShelfDummy], name):
        _assert_same_predictions(load_model(directory, trusted=trusted), model, X)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda d, m: load_model(d, trusted=[3]), TypeError, r"trusted must be a list of type names.*int: 3"),
        (lambda d, m: load_model(d, trusted=5), TypeError, r"trusted must be a list of type names"),
        (
            lambda d, m: save_model(m, d.parent / "other", format="json"),
            ValueError,
            r"format='json' is not an artifact format; choose 'skops' \(default\) or 'pickle'",
        ),
    ],
)
def test_bad_trust_and_format_arguments(artifact, fitted, call, error, message):
    before = files(artifact)
    with pytest.raises(error, match=message):
        call(artifact, fitted)
    assert files(artifact) == before
    assert not (artifact.parent / "other").exists()


def test_unsupported_value_in_fitted_state_is_refused_before_writing(tmp_path, data):
    import pandas as pd

    class NotStorable:
        pass

    X, Y = data
    model = HoldsExtras(min_samples=1, extras=pd.DataFrame({"x": [NotStorable()]})).fit(X, Y)
    with pytest.raises(TypeError, match=r"cannot be saved in the skops format.*NotStorable.*format='pickle'"):
        save_model(model, tmp_path / "model")
    assert list((tmp_path / "model").iterdir()) == []


# ---------------------------------------------------------- pickle, opt-in
def test_pickle_format_is_opt_in_both_ways(tmp_path, fitted, data):
    X, _ = data
    directory = save_model(fitted, tmp_path / "model", format="pickle")
    assert sorted(p.name for p in directory.iterdir()) == [METADATA_FILE, "model.joblib"]
    with pytest.raises(PickleArtifactError, match=r"convert_artifact\(path, allow_pickle=True\)"):
        load_model(directory)
    with pytest.warns(PickleArtifactWarning, match=r"Convert it once to the skops format"):
        loaded = load_model(directory, allow_pickle=True)
    assert_array_equal(loaded.predict(X), fitted.predict(X))
    # Saving again in skops replaces the pickle: no stale file a reader could pick up.
    save_model(fitted, directory)
    assert sorted(p.name for p in directory.iterdir()) == [METADATA_FILE, "model.skops"]


def test_legacy_pickle_artifact_is_refused_by_default():
    with pytest.raises(PickleArtifactError, match=r"legacy_model_c91f941' holds a pickle"):
        load_model(LEGACY_ARTIFACT)


def test_convert_artifact_keeps_metadata_and_loads_without_pickle(tmp_path):
    import shutil

    copy = shutil.copytree(LEGACY_ARTIFACT, tmp_path / "legacy")
    old = read_metadata(copy)
    with pytest.raises(PickleArtifactError, match=r"allow_pickle=True"):
        convert_artifact(copy)
    assert read_metadata(copy) == old  # refused: nothing rewritten
    convert_artifact(copy, allow_pickle=True)
    new = read_metadata(copy)
    assert new["model_format"] == "skops"
    assert new["format_version"] == FORMAT_VERSION
    assert new["converted_from"]["model_sha256"] == old["model_sha256"]
    assert new["training_data"] == old["training_data"]
    assert sorted(p.name for p in copy.iterdir()) == ["X.csv", METADATA_FILE, "model.skops"]
    X = np.loadtxt(copy / "X.csv", delimiter=",")
    with pytest.warns(PickleArtifactWarning):
        original = load_model(LEGACY_ARTIFACT, allow_pickle=True)
    assert_array_equal(load_model(copy).predict_paths(X).labels, original.predict_paths(X).labels)


# ----------------------------------- fitted state other estimators may add
@dataclasses.dataclass(frozen=True)
class SelectionSummary(PortableState):
    """A frozen dataclass of fitted state holding a DataFrame (as estimator="auto" may)."""

    table: Any
    best: str


class HoldsExtras(HierarchicalClassifier):
    """Keeps extra fitted state of the kinds other features add: node fingerprints keyed
    by node path (tuples -> hex strings), a DataFrame, and a frozen dataclass holding one."""

    def __init__(self, *, min_samples=100, extras=None):
        super().__init__(min_samples=min_samples)
        self.extras = extras

    def fit(self, X, Y):
        super().fit(X, Y)
        nodes = [(), ("a",), ("a", "a1"), (1, 2)]
        self.node_fingerprints_ = {path: hashlib.sha256(repr(path).encode()).hexdigest() for path in nodes}
        self.selection_ = SelectionSummary(FRAMES["mixed"](), "logistic")
        self.extras_ = self.extras
        return self


def _mixed_frame():
    import pandas as pd

    return pd.DataFrame(
        {
            "estimator": pd.array(["logistic", "lightgbm", "svc"], dtype="str"),
            "score": [0.5, 0.75, np.nan],
            "n_nodes": np.array([3, 4, 5], dtype=np.int32),
            "chosen": [True, False, False],
            "kind": pd.Categorical(
                ["linear", "trees", "linear"], categories=["trees", "linear"], ordered=True
            ),
            "note": ["a", None, ("x", 1)],
            "when": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03"]),
        },
        index=pd.Index(["n1", "n2", "n3"], name="node"),
    )


def _frames():
    import pandas as pd

    return {
        "mixed": _mixed_frame,
        "empty": lambda: pd.DataFrame({"a": pd.Series([], dtype=float)}),
        "int_columns_range_index": lambda: pd.DataFrame(np.arange(6).reshape(3, 2)),
        "series": lambda: pd.Series([1.5, 2.5], index=pd.Index(["a", "b"], dtype=object), name="weights"),
        "object_index": lambda: pd.Index(["x", 1, None], dtype=object, name="mixed"),
    }


FRAMES = _frames()


@pytest.mark.parametrize("name", list(FRAMES))
def test_pandas_values_survive_encoding_exactly(name):
    import pandas as pd

    from hiercls._portable_state import decode_value, encode_value

    value = FRAMES[name]()
    decoded = decode_value(encode_value(value))
    if isinstance(value, pd.DataFrame):
        pd.testing.assert_frame_equal(decoded, value)
    elif isinstance(value, pd.Series):
        pd.testing.assert_series_equal(decoded, value)
    else:
        pd.testing.assert_index_equal(decoded, value, exact=True)


def test_tuple_keyed_dicts_frames_and_frozen_dataclasses_round_trip(tmp_path, data):
    import pandas as pd

    X, Y = data
    model = HoldsExtras(min_samples=1, extras=pd.Series([1, 2], name="s")).fit(X, Y)
    directory = save_model(model, tmp_path / "model")
    assert set(read_metadata(directory)["types_to_trust"]) == {
        f"{__name__}.HoldsExtras",
        f"{__name__}.SelectionSummary",
    }
    with pytest.raises(UntrustedTypeError, match=r"HoldsExtras"):
        load_model(directory)
    pickled = save_model(model, tmp_path / "pickled", format="pickle")
    with pytest.warns(PickleArtifactWarning):
        from_pickle = load_model(pickled, allow_pickle=True)
    for loaded in (load_model(directory, trusted=[HoldsExtras, SelectionSummary]), from_pickle):
        assert loaded.node_fingerprints_ == model.node_fingerprints_
        assert isinstance(loaded.selection_, SelectionSummary)
        pd.testing.assert_frame_equal(loaded.selection_.table, model.selection_.table)
        assert loaded.selection_.best == "logistic"
        pd.testing.assert_series_equal(loaded.extras_, model.extras_)
        with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign"):
            loaded.selection_.best = "other"
        assert_array_equal(loaded.predict(X), model.predict(X))
