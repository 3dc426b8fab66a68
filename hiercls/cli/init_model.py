"""``hiercls-train init_model=<run>/model``: start from an earlier run's model.

The earlier model takes this run's parameters and ``warm_start=True``, so its fit
reuses every node model whose training problem is unchanged (see
:mod:`hiercls.warm_start`) and fits the others. A model of another kind, or one
trained on other levels or another number of features, is refused before any work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sklearn.pipeline import Pipeline

from ..artifacts import find_classifier, load_model
from ..exceptions import IncompatibleModelError

__all__ = ["check_init_model", "start_from", "warm_start_metrics"]


def _kind(model: Any) -> str:
    classifier = type(find_classifier(model)).__name__
    return f"{classifier} behind a feature Pipeline" if isinstance(model, Pipeline) else classifier


def start_from(init_model: Any, model: Any) -> Any:
    """``model`` with the fitted state of the model saved at ``init_model`` (None: ``model``).

    Parameters
    ----------
    init_model : str or None
        An artifact folder (``<run>/model``) or a ``hiercls-train`` run folder.
    model : estimator or Pipeline
        The model this run configured (unfitted).

    Returns
    -------
    model : estimator or Pipeline
        The earlier classifier with this run's parameters and ``warm_start=True``; a
        Pipeline keeps this run's (unfitted) feature steps.

    Raises
    ------
    FileNotFoundError
        When nothing exists at ``init_model``.
    IncompatibleModelError
        When the saved model is of another kind than the configured one.
    """
    if init_model is None:
        return model
    if not str(init_model).strip() or not Path(init_model).exists():
        raise FileNotFoundError(
            f"init_model={str(init_model)!r} does not exist; give the model/ folder of an earlier "
            f"hiercls-train run (or the run folder itself)."
        )
    earlier = load_model(init_model)
    configured = find_classifier(model)
    try:
        loaded = find_classifier(earlier)
    except TypeError:
        loaded = None
    if type(loaded) is not type(configured) or isinstance(earlier, Pipeline) != isinstance(model, Pipeline):
        held = type(earlier).__name__ if loaded is None else _kind(earlier)
        raise IncompatibleModelError(
            f"init_model={str(init_model)!r} holds a {held}, "
            f"but this run trains a {_kind(model)}; give a model that a run on the same kind of data "
            f"saved, or drop init_model."
        )
    loaded.set_params(**{**configured.get_params(deep=False), "warm_start": True})
    if isinstance(model, Pipeline):
        model.steps[-1] = (model.steps[-1][0], loaded)
        return model
    return loaded


def check_init_model(init_model: Any, model: Any, X: Any, levels: list[str] | None) -> None:
    """Refuse training rows that the earlier model cannot continue from.

    ``levels`` are the data's level names (None: not known before the fit, as with
    several paths per row).

    Raises
    ------
    IncompatibleModelError
        When the earlier model has other level names or, without a feature Pipeline,
        another number of input columns.
    """
    if init_model is None:
        return
    classifier = find_classifier(model)
    earlier_levels = [str(level) for level in getattr(classifier, "levels_", levels or [])]
    if levels is not None and earlier_levels != [str(level) for level in levels]:
        raise IncompatibleModelError(
            f"init_model={str(init_model)!r} was trained on the levels {earlier_levels}, but the "
            f"data have {list(levels)}; give a model of the same levels, or drop init_model."
        )
    n_features = getattr(classifier, "n_features_in_", None)
    if not isinstance(model, Pipeline) and n_features is not None and n_features != X.shape[1]:
        raise IncompatibleModelError(
            f"init_model={str(init_model)!r} was trained on {n_features} input columns, but the "
            f"data have {X.shape[1]}; give a model of the same columns, or drop init_model."
        )


def warm_start_metrics(init_model: Any, model: Any) -> dict[str, Any]:
    """What ``metrics.json`` says about the fit's reuse of node models."""
    classifier = find_classifier(model)
    return {
        "init_model": None if init_model is None else str(init_model),
        "n_nodes_refitted": int(getattr(classifier, "n_nodes_refitted_", 0)),
        "n_nodes_reused": int(getattr(classifier, "n_nodes_reused_", 0)),
    }
