"""Parameter constraints that scikit-learn's validation lacks, in its message shape.

scikit-learn's validation accepts only its own constraint classes, so the ones here
subclass its ``Interval`` and ``Options``.

Public functions declare their constraints with ``validate_params`` (see
:mod:`hiercls._compat`); :func:`check_parameter` checks a bound that depends on
another argument, once that argument is known.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._compat import Interval, Options, validate_parameter_constraints

__all__ = ["Described", "SequenceOf", "StrictInterval", "check_parameter"]


class StrictInterval(Interval):  # type: ignore[misc]
    """scikit-learn's :class:`Interval` that refuses bools: ``n_levels=True`` is a slip, not 1."""

    def is_satisfied_by(self, val: Any) -> bool:
        return not isinstance(val, (bool, np.bool_)) and bool(super().is_satisfied_by(val))


class SequenceOf(Options):  # type: ignore[misc]
    """A list, tuple or 1-D array whose items all satisfy ``item``.

    Parameters
    ----------
    item : constraint or type
        What every item must satisfy, or be an instance of.
    description : str
        The constraint as the error message states it.
    length : int, default=None
        The required length; None takes any length.
    empty : bool, default=False
        Whether an empty sequence is allowed (when ``length`` is None).
    """

    def __init__(
        self, item: Any, description: str, *, length: int | None = None, empty: bool = False
    ):
        super().__init__(object, set())
        self.item, self.description, self.length, self.empty = item, description, length, empty

    def is_satisfied_by(self, val: Any) -> bool:
        if isinstance(val, np.ndarray):
            val = val.tolist() if val.ndim == 1 else None
        if isinstance(val, str) or not isinstance(val, Sequence) or not (val or self.empty):
            return False
        if self.length is not None and len(val) != self.length:
            return False
        if isinstance(self.item, type):
            return all(isinstance(v, self.item) for v in val)
        return all(self.item.is_satisfied_by(v) for v in val)

    def __str__(self) -> str:
        return self.description


class Described(Options):  # type: ignore[misc]
    """A constraint stated in other words, e.g. why its bound is what it is."""

    def __init__(self, constraint: Any, description: str):
        super().__init__(object, set())
        self.constraint, self.description = constraint, description

    def is_satisfied_by(self, val: Any) -> bool:
        return bool(self.constraint.is_satisfied_by(val))

    def __str__(self) -> str:
        return self.description


def check_parameter(caller: str, name: str, value: Any, constraints: list[Any]) -> None:
    """Check one argument against constraints known only at call time.

    Parameters
    ----------
    caller : str
        The function, as the message names it.
    name : str
        The parameter.
    value : object
        Its value.
    constraints : list
        scikit-learn constraints; the value must satisfy one.

    Raises
    ------
    ValueError
        ``The 'name' parameter of caller must be ... Got ... instead.``
    """
    validate_parameter_constraints({name: constraints}, {name: value}, caller_name=caller)
