"""An estimator's node models stored as a few arrays, not as thousands of objects.

A catalogue model has one compact linear model per parent node, each a handful of
small arrays. skops writes every array as a file of its own and every object as a
node of its JSON schema, so an artifact of 2,000 node models took minutes to save
and many seconds to load. :class:`NodeModelBank` is what an estimator's pickle and
skops state hold instead of its ``estimators_`` list: the compact linear models'
own saved states (:meth:`SparseLinearModel.__getstate__`) concatenated field by
field, the constant models as one array of outcomes, and any other model as is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .node_models import ConstantNodeModel
from .sparse_linear import SparseLinearModel

__all__ = ["NodeModelBank"]

_NONE, _CONSTANT, _LINEAR, _OTHER = 0, 1, 2, 3
_LINEAR_FIELDS = {
    "classes_",
    "columns_",
    "weights_",
    "intercept_",
    "n_features_in_",
    "link",
    "origin",
    "weight_threshold",
}


def _offsets(sizes: Sequence[int]) -> NDArray[np.int64]:
    return np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])


def _packable(model: Any) -> bool:
    if type(model) is ConstantNodeModel:
        return set(model.__dict__) == {"outcome", "classes_"}
    return type(model) is SparseLinearModel and set(model.__dict__) == _LINEAR_FIELDS


class NodeModelBank:
    """The node models of one estimator, per node id, as concatenated arrays.

    Build it with :meth:`pack`; :meth:`unpack` gives the list back, each model
    equal to the original (compact linear weights go through their own float32
    state, as a pickle of them always did).
    """

    kind: NDArray[np.int8]
    constant_outcome: NDArray[np.int64]
    others: list[Any]
    linear: dict[str, Any]

    @classmethod
    def pack(cls, models: Sequence[Any]) -> NodeModelBank:
        """The bank of ``models`` (a node model or None per node id)."""
        bank = cls()
        kind = np.full(len(models), _OTHER, dtype=np.int8)
        constant_outcome = np.zeros(len(models), dtype=np.int64)
        others, states = [], []
        for node, model in enumerate(models):
            if model is None:
                kind[node] = _NONE
            elif _packable(model) and type(model) is ConstantNodeModel:
                kind[node] = _CONSTANT
                constant_outcome[node] = int(model.outcome)
            elif _packable(model):
                kind[node] = _LINEAR
                states.append(model.__getstate__())
            else:
                others.append(model)
        bank.kind, bank.constant_outcome, bank.others = kind, constant_outcome, others
        bank.linear = _pack_linear(states)
        return bank

    def unpack(self) -> list[Any]:
        """The node models, per node id."""
        linear = iter(_unpack_linear(self.linear))
        others = iter(self.others)
        models: list[Any] = []
        for kind, outcome in zip(self.kind.tolist(), self.constant_outcome.tolist(), strict=True):
            if kind == _NONE:
                models.append(None)
            elif kind == _CONSTANT:
                models.append(ConstantNodeModel(outcome).fit(None))
            elif kind == _LINEAR:
                models.append(next(linear))
            else:
                models.append(next(others))
        return models


def _pack_linear(states: list[dict[str, Any]]) -> dict[str, Any]:
    """Compact linear models' saved states, field by field: a few arrays for any number of models."""
    blobs = []  # per model: columns, then each weight array, as raw bytes
    sizes = []  # per model: the byte size of each of those (4 entries; 0 where unused)
    for state in states:
        kind, shape, *arrays = state["weights_"]
        parts = [state["columns_"], *arrays]
        blobs.extend(parts)
        sizes.append([len(p) for p in parts] + [0] * (4 - len(parts)))
    classes = [np.asarray(s["classes_"]) for s in states]
    intercepts = [np.asarray(s["intercept_"], dtype=np.float64) for s in states]
    return {
        "blob": np.frombuffer(b"".join(blobs), dtype=np.uint8).copy(),
        "blob_sizes": np.asarray(sizes, dtype=np.int64).reshape(len(states), 4),
        "by_output": np.array([s["weights_"][0] == "by_output" for s in states], dtype=bool),
        "shape": np.array([s["weights_"][1] for s in states], dtype=np.int64).reshape(len(states), 2),
        "classes": np.concatenate(classes) if classes else np.empty(0, dtype=np.int64),
        "classes_offsets": _offsets([len(c) for c in classes]),
        "intercept": np.concatenate(intercepts) if intercepts else np.empty(0),
        "intercept_offsets": _offsets([len(i) for i in intercepts]),
        "n_features": np.array([s["n_features_in_"] for s in states], dtype=np.int64),
        "link": np.array([s["link"] for s in states], dtype=str),
        "origin": np.array([s["origin"] for s in states], dtype=str),
        "weight_threshold": np.array([s["weight_threshold"] for s in states], dtype=np.float64),
    }


def _unpack_linear(packed: dict[str, Any]) -> list[SparseLinearModel]:
    blob = packed["blob"].tobytes()
    sizes = packed["blob_sizes"]
    starts = _offsets(sizes.sum(axis=1).tolist())
    models = []
    for i in range(len(sizes)):
        bounds = starts[i] + _offsets(sizes[i].tolist())
        parts = [blob[bounds[j] : bounds[j + 1]] for j in range(4)]
        n_arrays = 3 if packed["by_output"][i] else 1
        weights = ("by_output" if packed["by_output"][i] else "dense", tuple(packed["shape"][i].tolist()))
        classes = packed["classes"][packed["classes_offsets"][i] : packed["classes_offsets"][i + 1]]
        intercept = packed["intercept"][packed["intercept_offsets"][i] : packed["intercept_offsets"][i + 1]]
        state = {
            "classes_": classes,
            "columns_": parts[0],
            "weights_": (*weights, *parts[1 : 1 + n_arrays]),
            "intercept_": intercept,
            "n_features_in_": int(packed["n_features"][i]),
            "link": str(packed["link"][i]),
            "origin": str(packed["origin"][i]),
            "weight_threshold": float(packed["weight_threshold"][i]),
        }
        model = SparseLinearModel.__new__(SparseLinearModel)
        model.__setstate__(state)
        models.append(model)
    return models
