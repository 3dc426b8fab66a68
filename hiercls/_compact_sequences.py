"""Long sequences of small Python objects as a few arrays, for the skops format.

skops writes a list, tuple, dict or object array item by item, each item a node of
its JSON schema (a numpy scalar even becomes a ``.npy`` file of its own): a TF-IDF
vocabulary of 44,635 words took 10 s to load and 11 s to save. Here such a sequence
becomes a handful of arrays, each one ``.npy`` file:

- :class:`EncodedScalars`: a sequence of Python scalars (str, int, float, bool, None,
  mixed) or of numpy scalars of one dtype, or of tuples of them (node paths), as one
  array per scalar type; strings as their UTF-8 bytes and lengths, so neither a long
  word nor a trailing NUL is a problem (numpy's fixed-width strings have both);
- :class:`EncodedArrays`: a list of 1-D numeric arrays (or None), as one array and
  the lengths.

:func:`encode_sequence` gives None for anything else, which is then stored as before.
Decoding builds only lists, tuples, object arrays and numpy arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["EncodedArrays", "EncodedScalars", "decode_sequence", "encode_sequence"]

_NONE, _STR, _INT, _FLOAT, _BOOL = range(5)
# Exact types only: a subclass (np.float64 of float, np.str_ of str) would come back
# as its base type.
_PYTHON_KINDS = {type(None): _NONE, str: _STR, int: _INT, float: _FLOAT, bool: _BOOL}
# dtype kinds of numpy scalars stored as such: bool, ints, floats, complex.
_NUMPY_SCALAR_KINDS = "biufc"
_CONTAINERS = {"list": list, "tuple": tuple}


class EncodedScalars:
    """A list, tuple or 1-D object array of scalars (or of tuples of scalars), as arrays.

    Attributes
    ----------
    container : {"list", "tuple", "ndarray"}
        What the sequence was (an ndarray is 1-D, of dtype object).
    kinds : ndarray of int8 or None
        Per scalar: 0 None, 1 str, 2 int, 3 float, 4 bool; None for numpy scalars.
    strings : ndarray of uint8 or None
        The str scalars, concatenated, in UTF-8.
    string_lengths : ndarray of int64 or None
        The length (in characters) of each str scalar.
    ints : ndarray of int64 or None
    floats : ndarray of float64 or None
    bools : ndarray of bool or None
        The scalars of each of those types, in order.
    numpy : ndarray or None
        All scalars, when they are numpy scalars of one dtype.
    tuple_lengths : ndarray of int64 or None
        When the items are tuples: the length of each; the scalars are their items,
        flattened.
    """

    container: str
    kinds: NDArray[np.int8] | None
    strings: NDArray[np.uint8] | None
    string_lengths: NDArray[np.int64] | None
    ints: NDArray[np.int64] | None
    floats: NDArray[np.float64] | None
    bools: NDArray[np.bool_] | None
    numpy: NDArray[Any] | None
    tuple_lengths: NDArray[np.int64] | None


class EncodedArrays:
    """A list or tuple of 1-D arrays of one numeric dtype (or None), as one array.

    Attributes
    ----------
    container : {"list", "tuple"}
    values : ndarray
        The arrays, concatenated.
    lengths : ndarray of int64
        The length of each array; -1 for None.
    """

    container: str
    values: NDArray[Any]
    lengths: NDArray[np.int64]


def encode_sequence(values: Sequence[Any] | NDArray[Any]) -> EncodedScalars | EncodedArrays | None:
    """``values`` (a list, tuple or 1-D object array) as arrays, or None when it cannot be.

    Parameters
    ----------
    values : list, tuple or ndarray of dtype object

    Returns
    -------
    encoded : EncodedScalars, EncodedArrays or None
        None when an item is neither a scalar, a tuple of scalars nor a 1-D numeric
        array, or when the items mix those.
    """
    container = "ndarray" if isinstance(values, np.ndarray) else type(values).__name__
    items = values.tolist() if isinstance(values, np.ndarray) else list(values)
    if not items:
        return None
    first = next((item for item in items if item is not None), None)
    if type(first) is np.ndarray:
        return None if container == "ndarray" else _encode_arrays(items, container)
    tuple_lengths = None
    if type(items[0]) is tuple:
        if not all(type(item) is tuple for item in items):
            return None
        tuple_lengths = np.fromiter(map(len, items), dtype=np.int64, count=len(items))
        items = [scalar for item in items for scalar in item]
    encoded = _encode_scalars(items)
    if encoded is None:
        return None
    encoded.container = container
    encoded.tuple_lengths = tuple_lengths
    return encoded


def _encode_scalars(items: list[Any]) -> EncodedScalars | None:
    encoded = EncodedScalars()
    encoded.kinds = encoded.strings = encoded.string_lengths = None
    encoded.ints = encoded.floats = encoded.bools = encoded.numpy = None
    kinds = np.fromiter(
        (_PYTHON_KINDS.get(type(item), -1) for item in items), dtype=np.int8, count=len(items)
    )
    if (kinds < 0).any():
        first = type(items[0])
        if not (issubclass(first, np.generic) and all(type(item) is first for item in items)):
            return None
        numpy = np.array(items)
        if numpy.dtype.kind not in _NUMPY_SCALAR_KINDS:
            return None
        encoded.numpy = numpy
        return encoded
    encoded.kinds = kinds
    kind_list = kinds.tolist()
    strings = [item for item, kind in zip(items, kind_list, strict=True) if kind == _STR]
    if strings:
        text = "".join(strings).encode("utf-8", "surrogatepass")
        encoded.strings = np.frombuffer(text, dtype=np.uint8).copy()
        encoded.string_lengths = np.fromiter(map(len, strings), dtype=np.int64, count=len(strings))
    for kind, name, dtype in (
        (_INT, "ints", np.int64),
        (_FLOAT, "floats", np.float64),
        (_BOOL, "bools", bool),
    ):
        if (kinds == kind).any():
            try:
                column = np.array(
                    [item for item, k in zip(items, kind_list, strict=True) if k == kind], dtype=dtype
                )
            except OverflowError:  # an int beyond int64
                return None
            setattr(encoded, name, column)
    return encoded


def _encode_arrays(items: list[Any], container: str) -> EncodedArrays | None:
    arrays = [item for item in items if item is not None]
    dtype = arrays[0].dtype
    if dtype.kind not in _NUMPY_SCALAR_KINDS or not all(
        type(a) is np.ndarray and a.ndim == 1 and a.dtype == dtype for a in arrays
    ):
        return None
    encoded = EncodedArrays()
    encoded.container = container
    encoded.values = np.concatenate(arrays)
    encoded.lengths = np.array([-1 if item is None else len(item) for item in items], dtype=np.int64)
    return encoded


def _split(flat: Any, lengths: NDArray[np.int64]) -> list[Any]:
    """``flat`` (a list, str or array) cut into consecutive pieces of ``lengths``."""
    ends = np.cumsum(lengths)
    if (lengths < 0).any() or (ends[-1] if len(ends) else 0) != len(flat):
        raise ValueError(
            f"{len(lengths)} lengths that do not add up to the {len(flat)} items; the state is damaged"
        )
    ends_list = ends.tolist()
    starts = [0, *ends_list[:-1]]
    return [flat[start:end] for start, end in zip(starts, ends_list, strict=True)]


def _decode_scalars(encoded: EncodedScalars) -> list[Any]:
    if encoded.numpy is not None:
        return list(encoded.numpy)  # numpy scalars, as they were
    assert encoded.kinds is not None
    columns: dict[int, list[Any]] = {_NONE: []}
    if encoded.strings is not None:
        assert encoded.string_lengths is not None
        text = encoded.strings.tobytes().decode("utf-8", "surrogatepass")
        columns[_STR] = _split(text, encoded.string_lengths)
    for kind, column in ((_INT, encoded.ints), (_FLOAT, encoded.floats), (_BOOL, encoded.bools)):
        if column is not None:
            columns[kind] = column.tolist()
    kinds = encoded.kinds
    present = np.unique(kinds).tolist()
    if len(present) == 1 and present[0] != _NONE and len(columns[present[0]]) == len(kinds):
        return columns[present[0]]
    scalars = np.full(len(kinds), None, dtype=object)
    for kind in present:
        if kind != _NONE:
            if np.count_nonzero(kinds == kind) != len(columns[kind]):
                raise ValueError("the kinds of the scalars do not match their columns; the state is damaged")
            column = np.empty(len(columns[kind]), dtype=object)
            column[:] = columns[kind]
            scalars[kinds == kind] = column
    return scalars.tolist()


def decode_sequence(encoded: EncodedScalars | EncodedArrays) -> Any:
    """The list, tuple or object array that :func:`encode_sequence` encoded.

    Parameters
    ----------
    encoded : EncodedScalars or EncodedArrays

    Returns
    -------
    values : list, tuple or ndarray
    """
    if isinstance(encoded, EncodedArrays):
        lengths = encoded.lengths
        if (lengths < -1).any():
            raise ValueError("negative array lengths other than -1 (None); the state is damaged")
        pieces = iter(_split(encoded.values, lengths[lengths >= 0]))
        items = [None if length < 0 else next(pieces) for length in lengths.tolist()]
        return _CONTAINERS[encoded.container](items)
    values = _decode_scalars(encoded)
    if encoded.tuple_lengths is not None:
        values = [tuple(item) for item in _split(values, encoded.tuple_lengths)]
    if encoded.container == "ndarray":
        return np.fromiter(values, dtype=object, count=len(values))
    return _CONTAINERS[encoded.container](values)
