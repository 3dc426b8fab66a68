"""The one place for optional imports and scikit-learn / LightGBM version differences."""

from __future__ import annotations

import importlib
from types import ModuleType

# liblinear's own one-vs-rest: one call trains every class's binary model on one copy of
# the problem. LinearSVC and LogisticRegression call it too; its signature has been
# stable since scikit-learn 0.24. Remove when a public equivalent exists.
from sklearn.svm._base import _fit_liblinear

# scikit-learn keeps its parameter-constraint classes private; sklearn-compat does not
# re-export them, so they are imported here and nowhere else. Remove when they go public.
# ``Options`` is the base of the few constraints hiercls adds (hiercls/_validation.py:
# scikit-learn's validation takes only its own constraint classes), and
# ``validate_parameter_constraints`` checks a bound that depends on another argument
# (``n_informative <= n_features``), which a decorator cannot know.
from sklearn.utils._param_validation import (
    HasMethods,
    Hidden,
    Interval,
    Options,
    StrOptions,
    validate_parameter_constraints,
)

# sample_weight checked as scikit-learn's own estimators check it (one finite weight per
# row of X); private, with no public equivalent. Remove when one exists.
from sklearn.utils.validation import _check_sample_weight
from sklearn_compat.base import _fit_context
from sklearn_compat.utils import get_tags
from sklearn_compat.utils._param_validation import validate_params
from sklearn_compat.utils.validation import validate_data

__all__ = [
    "HasMethods",
    "Hidden",
    "Interval",
    "Options",
    "StrOptions",
    "_check_sample_weight",
    "_fit_context",
    "_fit_liblinear",
    "get_tags",
    "validate_data",
    "validate_parameter_constraints",
    "validate_params",
    "import_optional",
]


def import_optional(name: str, *, extra: str) -> ModuleType:
    """Import an optional dependency or explain which extra installs it.

    Parameters
    ----------
    name : str
        Module to import, e.g. ``"matplotlib.pyplot"``.
    extra : str
        The ``hiercls`` extra that provides it, e.g. ``"plot"``.

    Returns
    -------
    module : ModuleType
        The imported module.

    Raises
    ------
    ImportError
        When the module is not installed; the message names the extra to install.
    """
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ImportError(
            f"{name!r} is required for this feature but is not installed; "
            f"install it with: pip install 'hiercls[{extra}]'"
        ) from exc
