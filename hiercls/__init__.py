"""hiercls: hierarchical classification of high-cardinality label spaces."""

from .estimator import HierarchicalClassifier, PathPrediction, TopKPaths
from .exceptions import HierarchyError, InsufficientSupportError, SchemaError
from .hierarchy import Hierarchy

__version__ = "0.1.0.dev0"

__all__ = [
    "HierarchicalClassifier",
    "Hierarchy",
    "HierarchyError",
    "InsufficientSupportError",
    "PathPrediction",
    "SchemaError",
    "TopKPaths",
    "__version__",
]
