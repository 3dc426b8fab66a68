"""Long sequences stored as a few arrays (hiercls._compact_sequences), exactly as they were."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hiercls._compact_sequences import EncodedArrays, EncodedScalars, decode_sequence, encode_sequence
from hiercls._portable_state import EncodedDict, decode_value, encode_value


def assert_identical(got, expected):
    """Equal values of the same types, at any depth (NaN equal to NaN)."""
    assert type(got) is type(expected), (got, expected)
    if isinstance(expected, np.ndarray):
        assert got.dtype == expected.dtype
        assert got.shape == expected.shape
        for a, b in zip(got.tolist(), expected.tolist(), strict=True):
            assert_identical(a, b)
    elif isinstance(expected, (list, tuple)):
        assert len(got) == len(expected)
        for a, b in zip(got, expected, strict=True):
            assert_identical(a, b)
    elif isinstance(expected, dict):
        assert list(got) == list(expected)
        for key in expected:
            assert_identical(got[key], expected[key])
    elif isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(got)
    elif isinstance(expected, float):
        assert math.copysign(1.0, got) == math.copysign(1.0, expected)
        assert got == expected
    else:
        assert got == expected


def _object_array(items):
    array = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        array[i] = item
    return array


SEQUENCES = {
    "words": [f"word{i}" for i in range(40)],
    "awkward strings": [
        "",
        "trailing nul\x00",
        "ünïcödé",
        "東京",
        "emoji 🌳",
        "lone \udcff surrogate",
        "x" * 500,
    ],
    "ints as a tuple": tuple(range(-5, 30)),
    "floats with nan and -0.0": [0.5, float("nan"), -0.0, math.inf, 1e300],
    "bools": [True, False, True],
    "all None": [None] * 20,
    "mixed scalars": ["a", None, 3, 2.5, True, "b", None, -7],
    "numpy int64 scalars": list(np.arange(30, dtype=np.int64)),
    "numpy float32 scalars": [np.float32(0.25), np.float32(-1.5)],
    "node paths": [(), ("a",), ("a", "a1"), (1, 2), ("b", None, 3.5)],
    "labels with None (object array)": _object_array(["root", None, "leaf"]),
    "paths (object array)": _object_array([("a", "b"), ("c",)]),
    "arrays and None": [np.array([1, 2], dtype=np.intp), None, np.array([], dtype=np.intp), np.array([3])],
    "None, then arrays": (None, np.array([0.5]), np.array([1.5, 2.5])),
}


@pytest.mark.parametrize("name", list(SEQUENCES))
def test_sequences_come_back_identical(name):
    values = SEQUENCES[name]
    encoded = encode_sequence(values)
    assert isinstance(encoded, (EncodedScalars, EncodedArrays))
    assert_identical(decode_sequence(encoded), values)


NOT_ENCODED = {
    "an int beyond int64": [1, 2**70],
    "numpy strings": [np.str_("a"), np.str_("bc")],
    "numpy scalars of two dtypes": [np.int64(1), np.int32(2)],
    "numpy and Python scalars": [np.int64(1), 2],
    "nested tuples": [(("a",),), (("b",),)],
    "tuples and scalars": [("a",), "b"],
    "an object": ["a", object()],
    "arrays of two dtypes": [np.array([1]), np.array([1.5])],
    "a 2-D array": [np.zeros((2, 2)), np.zeros((2, 2))],
    "an object array inside": [_object_array(["a"]), _object_array(["b"])],
    "an empty list": [],
}


@pytest.mark.parametrize("name", list(NOT_ENCODED))
def test_what_cannot_be_stored_as_arrays_is_left_as_it_is(name):
    values = NOT_ENCODED[name]
    assert encode_sequence(values) is None
    assert_identical(decode_value(encode_value(values)), values)


scalars = st.one_of(
    st.none(),
    st.text(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True),
    st.booleans(),
)


@settings(max_examples=60, deadline=None)
@given(
    st.one_of(
        st.lists(scalars, min_size=16, max_size=40),
        st.lists(st.tuples(scalars, scalars), min_size=16, max_size=40),
    )
)
def test_any_long_list_of_scalars_or_paths_is_stored_as_arrays_exactly(values):
    encoded = encode_value(values)
    assert isinstance(encoded, EncodedScalars)
    assert_identical(decode_value(encoded), values)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=3), st.integers(0, 3)), min_size=1, max_size=40))
def test_any_path_keyed_dict_survives_encoding_exactly(pairs):
    fingerprints = {path: str(i) for i, path in enumerate(pairs)}
    assert_identical(decode_value(encode_value(fingerprints)), fingerprints)


def test_a_long_dict_is_stored_as_two_encoded_sequences():
    vocabulary = {f"w{i}": np.int64(i) for i in range(100, 0, -1)}
    encoded = encode_value(vocabulary)
    assert isinstance(encoded, EncodedDict)
    assert isinstance(encoded.keys, EncodedScalars)
    assert isinstance(encoded.values, EncodedScalars)
    assert_identical(decode_value(encoded), vocabulary)  # order and numpy scalars kept


def test_short_containers_stay_as_they_are():
    levels = ["kingdom", "family", "species"]
    params = {"C": 1.0, "penalty": "l2"}
    assert encode_value(levels) is levels
    assert encode_value(params) is params


def test_state_written_before_the_compact_sequences_still_decodes():
    from hiercls._portable_state import EncodedStrings

    old_labels = EncodedStrings(np.array(["a", "bb"]))
    old_fingerprints = EncodedDict([("a",), ("a", "b")], ["f1", "f2"])
    assert_identical(decode_value(old_labels), _object_array(["a", "bb"]))
    assert_identical(decode_value(old_fingerprints), {("a",): "f1", ("a", "b"): "f2"})
