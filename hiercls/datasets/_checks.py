"""Parameter checks shared by the generator, the loaders and the split.

Errors take scikit-learn's message shape: the function, the parameter, what is
allowed and the value given.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
from sklearn.utils import check_random_state


def _parameter_error(func: str, name: str, allowed: str, value: object) -> ValueError:
    return ValueError(f"The {name!r} parameter of {func} must be {allowed}. Got {value!r} instead.")


def _as_int(value: object) -> int | None:
    """Return ``value`` as an int if it is an integer (not a bool), else None."""
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    return None


def _check_int(func: str, name: str, value: object, low: int, high: int | None = None) -> int:
    bounds = f"[{low}, {high}]" if high is not None else f"[{low}, inf)"
    number = _as_int(value)
    if number is None or number < low or (high is not None and number > high):
        raise _parameter_error(func, name, f"an int in the range {bounds}", value)
    return number


def _check_real(
    func: str, name: str, value: object, low: float, high: float | None = None
) -> float:
    """Check ``low <= value`` and, when ``high`` is given, ``value < high``."""
    bounds = f"[{low}, {high})" if high is not None else f"[{low}, inf)"
    number = (
        float(value)
        if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
        else math.nan
    )
    if not math.isfinite(number) or number < low or (high is not None and number >= high):
        raise _parameter_error(func, name, f"a float in the range {bounds}", value)
    return number


def _check_bool(func: str, name: str, value: object) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise _parameter_error(func, name, "an instance of 'bool'", value)
    return bool(value)


def _check_options(func: str, name: str, value: object, options: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in options:
        allowed = "{" + ", ".join(repr(option) for option in sorted(options)) + "}"
        raise _parameter_error(func, name, f"a str among {allowed}", value)
    return value


def _check_generator(func: str, random_state: object) -> np.random.Generator:
    """Turn ``random_state`` into a NumPy Generator.

    ``check_random_state`` semantics are kept (``None`` is the global RandomState, a
    RandomState instance is advanced by the call); the Generator only buys speed for
    the large normal draws.
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or isinstance(random_state, np.random.RandomState):
        source = check_random_state(random_state)
        return np.random.default_rng(source.randint(0, 2**63 - 1, dtype=np.int64))
    seed = _as_int(random_state)
    if seed is not None and 0 <= seed <= 2**32 - 1:
        return np.random.default_rng(seed)
    raise _parameter_error(
        func,
        "random_state",
        "an int in the range [0, 4294967295], an instance of 'numpy.random.RandomState', "
        "an instance of 'numpy.random.Generator' or None",
        random_state,
    )
