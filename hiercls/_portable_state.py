"""Fitted state in plain arrays, so a skops artifact can hold it without pickle.

skops loads numpy arrays, scipy matrices, builtin containers and the classes the
caller trusts; it cannot store pandas objects (their ``__reduce__`` builds internals
with arbitrary callables) nor dicts keyed by tuples. :class:`PortableState` gives a
class ``__getstate__``/``__setstate__`` that swap those values for
:class:`EncodedPandas` / :class:`EncodedDict` (arrays, lists and strings only) when
saving and rebuild them when loading. Object arrays, and lists, tuples and dicts of
many scalars or arrays (label tables, node paths, per-node outcomes), become a few
arrays (:mod:`hiercls._compact_sequences`), which skops stores far faster than item by
item. Pickle goes through the same two methods, so both artifact formats restore the
same objects.

A hiercls class whose fitted state (or a frozen dataclass it holds) may contain a
DataFrame, Series, Index or a dict with non-string keys inherits
:class:`PortableState`, and is listed in ``hiercls.artifacts.TRUSTED_TYPES``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._compact_sequences import EncodedArrays, EncodedScalars, decode_sequence, encode_sequence

__all__ = ["EncodedDict", "EncodedPandas", "EncodedStrings", "PortableState", "decode_value", "encode_value"]

# dtype kinds numpy saves without pickle: bool, ints, floats, complex, datetimes, timedeltas.
_NUMPY_NATIVE_KINDS = "biufcmM"
# Shorter lists, tuples and dicts stay as they are: stored item by item, they cost little.
_MIN_ITEMS = 16


class EncodedPandas:
    """A pandas DataFrame, Series or Index as plain arrays and strings.

    Attributes
    ----------
    kind : {"frame", "series", "index", "range"}
    name : object
        Series or Index name (None for a frame).
    values : ndarray, EncodedStrings or None
        Values of a Series or Index: a numeric array, strings, or an object array
        of Python scalars; for a categorical, the integer codes.
    dtype : str or None
        The pandas dtype's name, restored with ``astype``.
    categories : EncodedPandas or None
        A categorical's categories (an index).
    ordered : bool
        Whether a categorical is ordered.
    columns : list of EncodedPandas
        A frame's columns, as series.
    column_labels : EncodedPandas or None
        A frame's column index.
    index : EncodedPandas or None
        A frame's or series' index.
    range : tuple of int or None
        ``(start, stop, step)`` of a RangeIndex.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.name: Any = None
        self.values: Any = None
        self.dtype: str | None = None
        self.categories: EncodedPandas | None = None
        self.ordered = False
        self.columns: list[EncodedPandas] = []
        self.column_labels: EncodedPandas | None = None
        self.index: EncodedPandas | None = None
        self.range: tuple[int, int, int] | None = None


class EncodedStrings:
    """An object array of strings (labels, feature names) as a fixed-width unicode array.

    skops stores an object array item by item in its JSON schema; a unicode array is
    one ``.npy`` file, smaller and far faster to load. Artifacts of format version 2
    hold 1-D ones; since version 3 those are :class:`EncodedScalars`, and this class
    is written only for object arrays of more dimensions.

    Attributes
    ----------
    values : ndarray of str
    """

    def __init__(self, values: np.ndarray) -> None:
        self.values = values


class EncodedDict:
    """A dict whose keys are not all strings (e.g. node paths as tuples), or a long dict.

    Attributes
    ----------
    keys : list or EncodedScalars
        In the dict's order; a long dict's (16 items or more) scalar or tuple keys as
        :class:`EncodedScalars`.
    values : list, EncodedScalars or EncodedArrays
        In the dict's order, encoded as a list would be.
    """

    def __init__(self, keys: Any, values: Any) -> None:
        self.keys = keys
        self.values = values


def _encode_values(values: Any, where: str) -> tuple[Any, str]:
    """(array skops can store, dtype name) for the values of a Series or Index."""
    dtype = values.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in _NUMPY_NATIVE_KINDS:
        return np.asarray(values), str(dtype)
    array = np.asarray(values, dtype=object)
    for item in array:
        if not (item is None or isinstance(item, (str, bool, int, float, tuple))):
            raise TypeError(
                f"{where} holds a {type(item).__module__}.{type(item).__qualname__} value "
                f"(dtype {dtype}), which a skops artifact cannot store; save with "
                f"format='pickle', or keep such values out of fitted state."
            )
    return encode_value(array), str(dtype)


def _encode_index(index: pd.Index, where: str) -> EncodedPandas:
    if isinstance(index, pd.RangeIndex):
        encoded = EncodedPandas("range")
        encoded.range = (int(index.start), int(index.stop), int(index.step))
        encoded.name = index.name
        return encoded
    if isinstance(index, pd.MultiIndex):
        raise TypeError(
            f"{where} has a MultiIndex, which a skops artifact cannot store; reset the "
            f"index, or save with format='pickle'."
        )
    encoded = _encode_series(pd.Series(index), where)
    encoded.kind = "index"
    encoded.name = index.name
    encoded.index = None
    return encoded


def _encode_series(series: pd.Series, where: str) -> EncodedPandas:
    encoded = EncodedPandas("series")
    encoded.name = series.name
    if isinstance(series.dtype, pd.CategoricalDtype):
        encoded.values = series.cat.codes.to_numpy()
        encoded.dtype = "category"
        encoded.categories = _encode_index(series.cat.categories, f"{where} (categories)")
        encoded.ordered = bool(series.cat.ordered)
    else:
        encoded.values, encoded.dtype = _encode_values(series.to_numpy(), where)
        if encoded.dtype != str(series.dtype):  # e.g. pandas' string dtype
            encoded.dtype = str(series.dtype)
    encoded.index = _encode_index(series.index, where)
    return encoded


def _decode_index(encoded: EncodedPandas) -> pd.Index:
    if encoded.kind == "range":
        assert encoded.range is not None
        return pd.RangeIndex(*encoded.range, name=encoded.name)
    return pd.Index(_decode_series_values(encoded), name=encoded.name, dtype=None)


def _decode_series_values(encoded: EncodedPandas) -> pd.Series:
    """The values as a Series on a RangeIndex (the caller sets index and name)."""
    if encoded.dtype == "category":
        assert encoded.categories is not None
        categorical = pd.Categorical.from_codes(
            encoded.values, categories=_decode_index(encoded.categories), ordered=encoded.ordered
        )
        return pd.Series(categorical)
    stored = decode_value(encoded.values)
    if encoded.dtype == "object":  # pandas would infer its string dtype from strings
        return pd.Series(stored, dtype=object)
    return pd.Series(stored).astype(encoded.dtype)


def encode_value(value: Any, where: str = "fitted state") -> Any:
    """``value`` with pandas objects and non-string-keyed dicts replaced.

    Values inside dicts, lists and tuples are replaced at any depth.

    Parameters
    ----------
    value : object
    where : str
        Names the value in errors.

    Returns
    -------
    encoded : object
        ``value`` itself when nothing needed replacing.

    Raises
    ------
    TypeError
        A pandas object skops cannot hold even encoded (a MultiIndex, a column of
        arbitrary Python objects).
    """
    if isinstance(value, pd.DataFrame):
        frame = EncodedPandas("frame")
        frame.columns = [
            _encode_series(value.iloc[:, position], f"{where}, column {name!r}")
            for position, name in enumerate(value.columns)
        ]
        frame.index = _encode_index(value.index, where)
        frame.column_labels = _encode_index(value.columns, f"{where} (column labels)")
        return frame
    if isinstance(value, pd.Series):
        return _encode_series(value, where)
    if isinstance(value, pd.Index):
        return _encode_index(value, where)
    # Exactly ndarray: a masked array (a subclass) would lose its mask.
    if type(value) is np.ndarray and value.dtype == object and value.size:
        if value.ndim == 1:
            encoded = encode_sequence(value)
            return value if encoded is None else encoded
        if all(type(item) is str for item in value.flat):
            return EncodedStrings(value.astype(str))
        return value
    if isinstance(value, dict) and type(value) is dict:
        if len(value) >= _MIN_ITEMS:
            keys = encode_sequence(list(value))
            if isinstance(keys, EncodedScalars):
                return EncodedDict(keys, encode_value(list(value.values()), f"{where} (values)"))
        items = {key: encode_value(item, f"{where}[{key!r}]") for key, item in value.items()}
        if not all(isinstance(key, str) for key in items):
            return EncodedDict(list(items), list(items.values()))
        changed = any(items[key] is not value[key] for key in items)
        return items if changed else value
    if type(value) in (list, tuple):
        if len(value) >= _MIN_ITEMS:
            encoded = encode_sequence(value)
            if encoded is not None:
                return encoded
        items_list = [encode_value(item, f"{where}[{i}]") for i, item in enumerate(value)]
        if all(new is old for new, old in zip(items_list, value, strict=True)):
            return value
        return type(value)(items_list)
    return value


def decode_value(value: Any) -> Any:
    """Undo :func:`encode_value`.

    Parameters
    ----------
    value : object

    Returns
    -------
    decoded : object
    """
    if isinstance(value, EncodedPandas):
        if value.kind == "frame":
            assert value.index is not None
            assert value.column_labels is not None
            index = _decode_index(value.index)
            if value.columns:
                frame = pd.DataFrame({i: _decode_series_values(c) for i, c in enumerate(value.columns)})
                frame.index = index
            else:
                frame = pd.DataFrame(index=index)
            frame.columns = _decode_index(value.column_labels)
            return frame
        if value.kind == "series":
            assert value.index is not None
            series = _decode_series_values(value)
            series.index = _decode_index(value.index)
            return series.rename(value.name)
        return _decode_index(value)
    if isinstance(value, (EncodedScalars, EncodedArrays)):
        return decode_sequence(value)
    if isinstance(value, EncodedStrings):
        return value.values.astype(object)
    if isinstance(value, EncodedDict):
        return dict(zip(decode_value(value.keys), decode_value(value.values), strict=True))
    if type(value) is dict:
        return {key: decode_value(item) for key, item in value.items()}
    if type(value) in (list, tuple):
        return type(value)(decode_value(item) for item in value)
    return value


class PortableState:
    """Mixin: pickle and skops store pandas objects and tuple-keyed dicts as arrays.

    See the module docstring. Works for estimators (it wraps ``BaseEstimator``'s own
    ``__getstate__``/``__setstate__``) and for frozen dataclasses.
    """

    def __getstate__(self) -> dict[str, Any]:
        parent = getattr(super(), "__getstate__", None)
        state = parent() if parent is not None else None
        if state is None:  # Python < 3.11 has no object.__getstate__
            state = self.__dict__
        return {key: encode_value(value, f"{type(self).__name__}.{key}") for key, value in state.items()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        decoded = {key: decode_value(value) for key, value in state.items()}
        parent = getattr(super(), "__setstate__", None)
        if parent is not None:
            parent(decoded)
        else:
            # Frozen dataclasses refuse setattr; their fields live in __dict__.
            self.__dict__.update(decoded)
