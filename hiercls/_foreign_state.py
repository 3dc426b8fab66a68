"""The fitted state of other libraries' estimators in a model, encoded for skops.

hiercls's own classes encode their state themselves (:class:`PortableState`). A
Pipeline's other steps are scikit-learn's (``hiercls-train`` puts a TfidfVectorizer
before the classifier), and their state can be just as costly for skops: a
vocabulary is a dict of tens of thousands of words. :func:`encode_foreign_estimators`
gives the model as skops should write it: every scikit-learn estimator whose state
holds such values replaced by a shallow copy holding their encodings (the model
itself is not changed). :func:`decode_foreign_estimators` restores them, in place, in
the model skops loaded. The encodings are hiercls's trusted types, so loading still
refuses any other type before it builds anything.
"""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator

from ._compact_sequences import EncodedArrays, EncodedScalars
from ._portable_state import (
    EncodedDict,
    EncodedPandas,
    EncodedStrings,
    PortableState,
    decode_value,
    encode_value,
)

__all__ = ["decode_foreign_estimators", "encode_foreign_estimators"]

_ENCODINGS = (EncodedArrays, EncodedDict, EncodedPandas, EncodedScalars, EncodedStrings)


def _is_foreign(value: Any) -> bool:
    return isinstance(value, BaseEstimator) and not isinstance(value, PortableState)


def _holds_foreign(value: Any) -> bool:
    """Whether a list, tuple or dict holds a foreign estimator (a Pipeline's steps)."""
    if type(value) is dict:
        return any(_is_foreign(item) or _holds_foreign(item) for item in value.values())
    if type(value) in (list, tuple):
        return any(_is_foreign(item) or _holds_foreign(item) for item in value)
    return False


def _encode(value: Any, where: str) -> Any:
    if _is_foreign(value):
        state = {key: _encode(item, f"{type(value).__name__}.{key}") for key, item in vars(value).items()}
        if all(state[key] is item for key, item in vars(value).items()):
            return value
        # A shallow copy: skops reads its __getstate__, the estimator's own, as usual.
        copy = object.__new__(type(value))
        copy.__dict__.update(state)
        return copy
    if _holds_foreign(value):
        if type(value) is dict:
            items = {key: _encode(item, f"{where}[{key!r}]") for key, item in value.items()}
            return items if any(items[key] is not value[key] for key in items) else value
        encoded = [_encode(item, f"{where}[{i}]") for i, item in enumerate(value)]
        return type(value)(encoded) if any(a is not b for a, b in zip(encoded, value, strict=True)) else value
    return encode_value(value, where)


def encode_foreign_estimators(model: Any) -> Any:
    """``model`` with the state of its scikit-learn estimators encoded, for skops.

    Parameters
    ----------
    model : object
        An estimator or Pipeline; hiercls's own estimators in it are kept as they are
        (they encode their state when saved).

    Returns
    -------
    encoded : object
        ``model`` itself when nothing needed encoding, else a shallow copy sharing
        everything but the encoded values.

    Raises
    ------
    TypeError
        A pandas value that cannot be stored even encoded (see ``encode_value``).
    """
    return _encode(model, type(model).__name__)


def decode_foreign_estimators(model: Any) -> Any:
    """Undo :func:`encode_foreign_estimators` in the model skops loaded, in place.

    Parameters
    ----------
    model : object

    Returns
    -------
    model : object
        The same object.
    """
    pending, seen = [model], set()
    while pending:
        value = pending.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if _is_foreign(value):
            for key, item in list(vars(value).items()):
                decoded = decode_value(item)
                if decoded is not item:
                    value.__dict__[key] = decoded
                # What an encoding held is plain data; estimators are never encoded.
                if not isinstance(item, _ENCODINGS):
                    pending.append(decoded)
        elif type(value) in (list, tuple, dict):
            items = value.values() if type(value) is dict else value
            pending.extend(item for item in items if _is_foreign(item) or type(item) in (list, tuple, dict))
    return model
