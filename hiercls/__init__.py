"""hiercls: hierarchical classification of high-cardinality label spaces."""

from .estimator import HierarchicalClassifier, PathPrediction, TopKPaths
from .exceptions import (
    ArtifactError,
    HierarchyError,
    InsufficientSupportError,
    OutputConflictError,
    SchemaError,
)
from .hierarchy import Hierarchy
from .multilabel import MultiLabelHierarchicalClassifier, PathSets
from .sufficiency import SufficiencyReport, check_sufficiency

__version__ = "0.1.0.dev0"

__all__ = [
    "ArtifactError",
    "HierarchicalClassifier",
    "OutputConflictError",
    "Hierarchy",
    "HierarchyError",
    "InsufficientSupportError",
    "MultiLabelHierarchicalClassifier",
    "PathPrediction",
    "PathSets",
    "SchemaError",
    "SufficiencyReport",
    "check_sufficiency",
    "TopKPaths",
    "__version__",
]
