"""Exceptions raised by hiercls.

Every exception subclasses :class:`ValueError`, so callers may catch either the
specific type or ``ValueError``.
"""

__all__ = [
    "ArtifactError",
    "ArtifactIntegrityError",
    "ArtifactVersionWarning",
    "NewerArtifactFormatError",
    "PickleArtifactError",
    "PickleArtifactWarning",
    "UntrustedTypeError",
    "OutputConflictError",
    "HierarchyError",
    "IncompatibleModelError",
    "InsufficientSupportError",
    "ModelSelectionError",
    "SchemaError",
    "UnexplainableModelError",
    "InsufficientSupportWarning",
    "WarmStartWarning",
    "WeightPruningWarning",
]


class HierarchyError(ValueError):
    """A label path or a user-given tree is not a valid hierarchy.

    Raised for gaps inside a path, a node listed under two parents, a cycle, or a
    path in ``Y`` that contradicts the tree given by the user.
    """


class InsufficientSupportError(ValueError):
    """Classes have fewer training samples than ``min_samples`` allows."""


class ModelSelectionError(ValueError):
    """``estimator="auto"`` has no candidate node model that can take the input."""


class SchemaError(ValueError):
    """A data file or frame lacks columns, or has columns of the wrong type."""


class UnexplainableModelError(TypeError, ValueError):
    """A node model on a predicted path cannot be explained as asked.

    Also a :class:`TypeError` (the model's type is what is wrong), as explanations
    refused such models before this class existed.
    """


class InsufficientSupportWarning(UserWarning):
    """Classes have fewer training samples than ``min_samples``; training goes on."""


class ArtifactError(ValueError):
    """A path does not hold a complete, unchanged hiercls model artifact."""


class ArtifactIntegrityError(ArtifactError):
    """An artifact's model file is truncated, changed since it was saved, or unreadable.

    Raised when its SHA-256 differs from the one in ``metadata.json``, when it does
    not parse as its recorded format, or when the model and the metadata come from
    different saves.
    """


class NewerArtifactFormatError(ArtifactError):
    """An artifact was written in a newer artifact format than this hiercls reads."""


class PickleArtifactError(ArtifactError):
    """An artifact is a pickle, and loading it was not allowed with ``allow_pickle=True``.

    Loading a pickle runs code chosen by whoever wrote it, so it is refused before
    any byte of it is read.
    """


class UntrustedTypeError(ArtifactError):
    """A skops artifact holds types that are neither trusted by hiercls nor by the caller.

    Attributes
    ----------
    types : list of str
        The fully qualified names of the untrusted types.
    """

    def __init__(self, message: str, types: list[str]) -> None:
        super().__init__(message)
        self.types = types


class PickleArtifactWarning(UserWarning):
    """A pickle artifact was loaded (with ``allow_pickle=True``); convert it to skops."""


class ArtifactVersionWarning(UserWarning):
    """An artifact was saved with other scikit-learn or LightGBM versions than installed."""


class OutputConflictError(ValueError):
    """An output directory holds another job's output, which a run will not mix with."""


class WeightPruningWarning(UserWarning):
    """A ``weight_threshold`` would remove every weight of some node models; they keep theirs."""


class WarmStartWarning(UserWarning):
    """``warm_start=True`` could reuse no node model: the earlier fit's input differs in kind."""


class IncompatibleModelError(ValueError):
    """A model given to start from (``init_model``) cannot continue with this run's data or settings."""
