"""A Pipeline's scikit-learn steps in a skops artifact: vocabularies stored as arrays, restored exactly."""

from __future__ import annotations

import hashlib
import json
import zipfile

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction import DictVectorizer
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.pipeline import make_pipeline
from test_compact_sequences import assert_identical

from hiercls import HierarchicalClassifier
from hiercls.artifacts import (
    METADATA_FILE,
    MODEL_FILE,
    ArtifactIntegrityError,
    UntrustedTypeError,
    load_model,
    read_metadata,
    save_model,
)

TOPICS = {
    ("animal", "cat"): "cat purrs meows whiskers",
    ("animal", "dog"): "dog barks fetches bone",
    ("plant", "fern"): "fern frond spores shade",
    ("plant", "moss"): "moss green damp stone",
}


def _texts(n_extra_words):
    """Rows of each topic's words plus distinct filler words: the vocabulary grows with n_extra_words."""
    texts, paths = [], []
    for i in range(max(n_extra_words, 24)):
        path, words = list(TOPICS.items())[i % 4]
        filler = f" filler{i}" if i < n_extra_words else ""
        texts.append(words + filler)
        paths.append(list(path))
    return texts, paths


def _records():
    texts, paths = _texts(40)
    return [{word: 1.0 for word in text.split()} | {"length": float(len(text))} for text in texts], paths


def _classifier():
    return HierarchicalClassifier(min_samples=1, random_state=0)


VECTORIZERS = {
    "tfidf": lambda: (make_pipeline(TfidfVectorizer(), _classifier()), *_texts(60)),
    "tfidf_max_features": lambda: (
        make_pipeline(TfidfVectorizer(max_features=30, sublinear_tf=True), _classifier()),
        *_texts(60),
    ),
    "count_bigrams": lambda: (make_pipeline(CountVectorizer(ngram_range=(1, 2)), _classifier()), *_texts(60)),
    "dict_vectorizer": lambda: (make_pipeline(DictVectorizer(), _classifier()), *_records()),
}


def _same_predictions(loaded, model, X):
    expected = model[-1].predict_paths(model[:-1].transform(X))
    got = loaded[-1].predict_paths(loaded[:-1].transform(X))
    assert_array_equal(got.labels, expected.labels)
    assert_array_equal(got.path_proba, expected.path_proba)


@pytest.mark.parametrize("kind", list(VECTORIZERS))
def test_vectorizer_pipelines_round_trip_exactly(tmp_path, kind):
    model, X, Y = VECTORIZERS[kind]()
    model.fit(X, Y)
    vocabulary = model[0].vocabulary_
    assert len(vocabulary) >= 30
    loaded = load_model(save_model(model, tmp_path / "model"))
    assert model[0].vocabulary_ is vocabulary  # saving did not touch the model
    assert type(loaded[0]) is type(model[0])
    assert_identical(loaded[0].vocabulary_, vocabulary)  # same order, same value types
    if kind == "dict_vectorizer":
        assert_identical(loaded[0].feature_names_, model[0].feature_names_)
    assert_array_equal(loaded[0].get_feature_names_out(), model[0].get_feature_names_out())
    _same_predictions(loaded, model, X)


def test_a_larger_vocabulary_adds_no_entries_to_the_file(tmp_path):
    entries = {}
    for n_words in (40, 2_000):
        texts, paths = _texts(n_words)
        model = make_pipeline(TfidfVectorizer(), _classifier()).fit(texts, paths)
        directory = save_model(model, tmp_path / str(n_words))
        with zipfile.ZipFile(directory / MODEL_FILE) as archive:
            entries[n_words] = sorted(name for name in archive.namelist() if name != "schema.json")
        loaded = load_model(directory)
        assert_identical(loaded[0].vocabulary_, model[0].vocabulary_)
    # one .npy file per array: the words, their lengths and the column indices
    assert len(entries[2_000]) == len(entries[40])


class WordCounter(TransformerMixin, BaseEstimator):
    """A transformer of the user's own: not on hiercls's trusted list."""

    def fit(self, X, y=None):
        words = sorted({word for text in X for word in text.split()})
        self.vocabulary_ = {word: i for i, word in enumerate(words)}
        self.stop_words_ = tuple(words[:20])
        # a masked object array (as GridSearchCV's cv_results_ hold): kept with its mask
        self.short_words_ = np.ma.masked_array(np.array(words, dtype=object), [len(w) > 4 for w in words])
        return self

    def transform(self, X):
        counts = np.zeros((len(X), len(self.vocabulary_)))
        for row, text in enumerate(X):
            for word in text.split():
                if word in self.vocabulary_:
                    counts[row, self.vocabulary_[word]] += 1
        return counts


def test_own_transformer_is_refused_until_trusted_then_restored_exactly(tmp_path):
    texts, paths = _texts(60)
    model = make_pipeline(WordCounter(), _classifier()).fit(texts, paths)
    directory = save_model(model, tmp_path / "model")
    name = f"{WordCounter.__module__}.WordCounter"
    assert read_metadata(directory)["types_to_trust"] == [name]
    with pytest.raises(UntrustedTypeError, match=rf"does not trust: '{name}'"):
        load_model(directory)
    loaded = load_model(directory, trusted=[WordCounter])
    assert_identical(loaded[0].vocabulary_, model[0].vocabulary_)
    assert_identical(loaded[0].stop_words_, model[0].stop_words_)
    assert type(loaded[0].short_words_) is np.ma.MaskedArray
    assert_array_equal(loaded[0].short_words_.mask, model[0].short_words_.mask)
    assert_array_equal(loaded[0].short_words_.data, model[0].short_words_.data)
    _same_predictions(loaded, model, texts)


def _rewrite_schema(directory, edit):
    """Apply ``edit`` to the schema of the artifact's skops file; the metadata's hash follows."""
    path = directory / MODEL_FILE
    with zipfile.ZipFile(path) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    schema = json.loads(contents["schema.json"])
    edit(schema)
    contents["schema.json"] = json.dumps(schema).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    metadata = json.loads((directory / METADATA_FILE).read_text())
    metadata["model_sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (directory / METADATA_FILE).write_text(json.dumps(metadata))


def _encoded_sequences(node):
    """The state (attribute dicts) of every EncodedScalars in a skops schema."""
    if isinstance(node, dict):
        if node.get("__class__") == "EncodedScalars":
            yield node["content"]["content"]
        for value in node.values():
            yield from _encoded_sequences(value)
    elif isinstance(node, list):
        for value in node:
            yield from _encoded_sequences(value)


def _claim_container(name):
    def edit(schema):
        for state in _encoded_sequences(schema):
            state["container"]["content"] = json.dumps(name)

    return edit


def _claim_more_words(schema):
    for state in _encoded_sequences(schema):
        if state["string_lengths"].get("__loader__") == "NdArrayNode":
            state["tuple_lengths"] = state["string_lengths"]  # lengths that do not add up


def _claim_a_type(schema):
    for state in _encoded_sequences(schema):
        state["container"] = {
            "__class__": "system",
            "__module__": "os",
            "__loader__": "FunctionNode",
        }


@pytest.mark.parametrize(
    ("edit", "error", "message"),
    [
        (_claim_container("set"), ArtifactIntegrityError, r"could not be read as a skops file"),
        (_claim_container("builtins.eval"), ArtifactIntegrityError, r"could not be read as a skops file"),
        (_claim_more_words, ArtifactIntegrityError, r"could not be read as a skops file"),
        (_claim_a_type, UntrustedTypeError, r"does not trust: 'os\.system'"),
    ],
)
def test_tampered_encodings_give_clear_errors(tmp_path, edit, error, message):
    texts, paths = _texts(60)
    model = make_pipeline(TfidfVectorizer(), _classifier()).fit(texts, paths)
    directory = save_model(model, tmp_path / "model")
    _rewrite_schema(directory, edit)
    with pytest.raises(error, match=message):
        load_model(directory)
