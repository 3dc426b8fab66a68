"""Argument checks shared by the generator, the loaders and the split.

The constraints are scikit-learn's (see :mod:`hiercls._validation`), so messages take
its shape: the function, the parameter, what is allowed and the value given.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral
from typing import Any

import numpy as np
from sklearn.utils import check_random_state

from .._compat import Hidden, StrOptions
from .._validation import StrictInterval, check_parameter

#: ``random_state`` of the generators and the split: scikit-learn's, or a NumPy Generator.
RANDOM_STATE = ["random_state", np.random.Generator]


#: A bool; NumPy's bool is taken too, without saying so in messages.
BOOLEAN = [bool, Hidden(np.bool_)]


def int_interval(low: int, high: int | None = None) -> StrictInterval:
    """Ints in ``[low, high]`` (``[low, inf)`` without ``high``), bools refused."""
    return StrictInterval(Integral, low, high, closed="both" if high is not None else "left")


def parameter_error(func: str, name: str, allowed: str, value: object) -> ValueError:
    return ValueError(f"The {name!r} parameter of {func} must be {allowed}. Got {value!r} instead.")


def check_int(func: str, name: str, value: object, low: int, high: int | None = None) -> int:
    check_parameter(func, name, value, [int_interval(low, high)])
    return int(value)  # type: ignore[call-overload]


def check_options(func: str, name: str, value: object, options: Sequence[str]) -> str:
    check_parameter(func, name, value, [StrOptions(set(options))])
    return str(value)


def as_generator(random_state: Any) -> np.random.Generator:
    """Turn a checked ``random_state`` into a NumPy Generator.

    ``check_random_state`` semantics are kept (``None`` is the global RandomState, a
    RandomState instance is advanced by the call); the Generator only buys speed for
    the large normal draws.
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or isinstance(random_state, np.random.RandomState):
        source = check_random_state(random_state)
        return np.random.default_rng(source.randint(0, 2**63 - 1, dtype=np.int64))
    return np.random.default_rng(int(random_state))


def check_generator(func: str, random_state: object) -> np.random.Generator:
    check_parameter(func, "random_state", random_state, RANDOM_STATE)
    return as_generator(random_state)
