"""The model file of an artifact: skops (default, loads no code) or pickle (opt-in).

``skops.io`` writes a zip of JSON and ``.npy`` arrays and, when loading, builds only
the types on a trusted list. :data:`TRUSTED_TYPES` is hiercls's one list: its own
classes and the scikit-learn, LightGBM and Python types its models hold beyond
what skops trusts by default (scikit-learn estimators, numpy, scipy sparse).
Before writing, the state of the model's scikit-learn estimators (a vocabulary, say)
is encoded as hiercls's own objects are (:mod:`hiercls._foreign_state`), and decoded
after loading.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import joblib

from ._foreign_state import decode_foreign_estimators, encode_foreign_estimators
from .exceptions import ArtifactIntegrityError, UntrustedTypeError

__all__ = [
    "MODEL_FILES",
    "MODEL_FORMATS",
    "TRUSTED_TYPES",
    "read_model_file",
    "trusted_names",
    "untrusted_types",
    "write_model_file",
]

#: The artifact formats and the name of the model file each writes.
MODEL_FILES = {"skops": "model.skops", "pickle": "model.joblib"}
MODEL_FORMATS = tuple(MODEL_FILES)

#: Types a skops artifact may hold beyond skops' own defaults. A new hiercls class
#: that fitted models keep (node models, fitted-state dataclasses) is added here;
#: tests/test_artifacts.py saves every node-model kind and fails on a missing one.
TRUSTED_TYPES: tuple[str, ...] = (
    # hiercls's own fitted classes
    "hiercls.estimator.HierarchicalClassifier",
    "hiercls.multilabel.MultiLabelHierarchicalClassifier",
    "hiercls.hierarchy.Hierarchy",
    "hiercls.traversal.Routes",
    "hiercls.traversal.LevelSkips",
    "hiercls._node_bank.NodeModelBank",
    "hiercls.model_selection.AutoNodeModel",
    "hiercls.sufficiency.SufficiencyReport",
    "hiercls.categorical.CategoricalColumns",
    "hiercls.node_models.ConstantNodeModel",
    "hiercls.sparse_linear.SparseLinearModel",
    "hiercls.multilabel.IndependentOutcomes",
    "hiercls.linear.OneVsRestLogisticRegression",
    "hiercls.linear.OneVsRestLinearSVC",
    "hiercls._portable_state.EncodedPandas",
    "hiercls._portable_state.EncodedDict",
    "hiercls._portable_state.EncodedStrings",
    "hiercls._compact_sequences.EncodedScalars",
    "hiercls._compact_sequences.EncodedArrays",
    # LightGBM node models: the booster is stored as its model string
    "lightgbm.sklearn.LGBMClassifier",
    "lightgbm.basic.Booster",
    "collections.OrderedDict",
    # collapsed levels' outcome groups (LevelSkips) are CSR matrices inside tuples
    "scipy.sparse._csr.csr_matrix",
    # SimpleImputer keeps the object dtype of its input (skops' own dtype node covers others)
    "numpy.dtype",
    # scikit-learn internals of the supported node models
    "sklearn.tree._tree.Tree",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.metrics._dist_metrics.ManhattanDistance64",
    "sklearn.metrics._dist_metrics.MinkowskiDistance64",
    "sklearn.metrics._dist_metrics.ChebyshevDistance64",
)


def write_model_file(model: Any, path: Path, model_format: str) -> None:
    """Write ``model`` to ``path`` in ``model_format`` ("skops" or "pickle").

    Raises
    ------
    TypeError
        The model holds something the skops format cannot store.
    """
    if model_format == "pickle":
        joblib.dump(model, path)
        return
    import skops.io

    try:
        skops.io.dump(encode_foreign_estimators(model), path, compression=zipfile.ZIP_DEFLATED)
    except (TypeError, NotImplementedError) as exc:
        raise TypeError(
            f"The model cannot be saved in the skops format: {exc} Save it with "
            f"format='pickle' (loading then needs allow_pickle=True)."
        ) from exc


def untrusted_types(path: Path, trusted: list[str]) -> list[str]:
    """Types in the skops file at ``path`` that neither skops, hiercls nor ``trusted`` trust."""
    import skops.io

    found = skops.io.get_untrusted_types(file=path)
    allowed = set(TRUSTED_TYPES) | set(trusted)
    return sorted(name for name in found if name not in allowed)


def trusted_names(trusted: Any) -> list[str]:
    """Fully qualified names of ``trusted`` (None, a type or name, or a list of them)."""
    if trusted is None:
        return []
    if isinstance(trusted, (str, type)):
        trusted = [trusted]
    if not isinstance(trusted, (list, tuple, set)):
        raise TypeError(
            f"trusted must be a list of type names (e.g. 'xgboost.sklearn.XGBClassifier') "
            f"or types; got {type(trusted).__name__}: {trusted!r}."
        )
    names = []
    for item in trusted:
        if isinstance(item, type):
            names.append(f"{item.__module__}.{item.__qualname__}")
        elif isinstance(item, str):
            names.append(item)
        else:
            raise TypeError(
                f"trusted must be a list of type names (e.g. 'xgboost.sklearn.XGBClassifier') "
                f"or types; got an item of type {type(item).__name__}: {item!r}."
            )
    return names


def read_model_file(path: Path, model_format: str, trusted: Any) -> Any:
    """Load the model file at ``path``; skops files only with trusted types.

    Parameters
    ----------
    path : Path
    model_format : {"skops", "pickle"}
        A pickle is loaded as is: the caller decides whether to allow it.
    trusted : list of str or type, or None
        Types trusted beyond :data:`TRUSTED_TYPES`.

    Raises
    ------
    TypeError
        ``trusted`` holds something that is neither a type nor a type name.
    UntrustedTypeError
        The skops file holds untrusted types (nothing of the model is built).
    ArtifactIntegrityError
        The file does not parse as ``model_format``.
    """
    if model_format == "pickle":
        try:
            return joblib.load(path)
        except Exception as exc:  # noqa: BLE001 - any unpickling failure reads alike
            raise ArtifactIntegrityError(
                f"'{path}' could not be unpickled ({type(exc).__name__}: {exc}); it is "
                f"truncated, damaged, or needs a package that is not installed. Save "
                f"the model again."
            ) from None
    import skops.io
    from skops.io.exceptions import UntrustedTypesFoundException

    names = trusted_names(trusted)
    try:
        # skops audits every type of the file before it builds any object.
        model = skops.io.load(path, trusted=list(TRUSTED_TYPES) + names)
        return decode_foreign_estimators(model)
    except UntrustedTypesFoundException:
        refused = untrusted_types(path, names)  # read again only to name them
        listed = ", ".join(repr(name) for name in refused)
        raise UntrustedTypeError(
            f"'{path}' holds types that hiercls does not trust: {listed}. Loading builds "
            f"only trusted types; if you trust the artifact's source, pass them: "
            f"load_model(path, trusted=[{listed}]) (hiercls-predict: trust=[{','.join(refused)}]).",
            refused,
        ) from None
    except Exception as exc:  # noqa: BLE001 - a damaged file fails anywhere in the tree
        raise ArtifactIntegrityError(
            f"'{path}' could not be read as a skops file ({type(exc).__name__}: {exc}); it "
            f"is truncated, damaged, or needs a package that is not installed. Save the "
            f"model again."
        ) from None
