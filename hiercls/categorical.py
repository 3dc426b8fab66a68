"""Categorical DataFrame columns: remembered at fit, encoded the same way at predict.

Tree libraries split on categories natively (LightGBM's ``categorical_feature``,
scikit-learn's ``HistGradientBoostingClassifier(categorical_features=...)``), but
hiercls hands node models one numeric array. Columns of pandas ``category`` or
string dtype therefore become float codes into the categories seen at fit (NaN for
a missing or unseen value), and node models that can are told which columns those
are, so a state or an industry reaches them as a category, not as a number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._portable_state import PortableState
from .node_models import adapter_for

__all__ = ["CategoricalColumns", "find_categorical_columns", "categorical_node_settings"]


@dataclass(frozen=True)
class CategoricalColumns(PortableState):
    """The categorical columns of a training DataFrame and their categories.

    Attributes
    ----------
    names : tuple of str
        Column names, in the DataFrame's order.
    positions : tuple of int
        Column positions in the DataFrame (and in the array node models see).
    categories : tuple of pandas.Index
        Categories of each column, as seen at fit; a value's code is its position.
    """

    names: tuple[str, ...]
    positions: tuple[int, ...]
    categories: tuple[pd.Index, ...]

    def encode(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Replace each categorical column by float codes into its fitted categories.

        Missing values and categories not seen at fit become NaN. Columns absent
        from ``frame`` are left for the caller's feature-name check to report.

        Parameters
        ----------
        frame : pandas.DataFrame

        Returns
        -------
        encoded : pandas.DataFrame
            A new frame; ``frame`` itself is not modified.
        """
        codes = {}
        for name, categories in zip(self.names, self.categories, strict=True):
            if name not in frame.columns:
                continue
            values = frame[name]
            if isinstance(values.dtype, pd.CategoricalDtype) and values.cat.categories.equals(categories):
                column = values.cat.codes.to_numpy()
            else:  # -1 for missing and unseen values
                column = categories.get_indexer(values.to_numpy(dtype=object))
            codes[name] = np.where(column < 0, np.nan, column.astype(np.float64))
        return frame.assign(**codes)


def find_categorical_columns(frame: pd.DataFrame) -> CategoricalColumns | None:
    """The columns of ``frame`` of pandas ``category`` or string dtype, if any.

    Parameters
    ----------
    frame : pandas.DataFrame

    Returns
    -------
    columns : CategoricalColumns or None
        None when every column is numeric (or boolean).
    """
    names, positions, categories = [], [], []
    for position, (name, dtype) in enumerate(frame.dtypes.items()):
        column = frame.iloc[:, position]
        if isinstance(dtype, pd.CategoricalDtype):
            found = dtype.categories
        elif pd.api.types.is_string_dtype(column) or dtype is np.dtype(object):
            if dtype is np.dtype(object) and pd.api.types.infer_dtype(column, skipna=True) not in (
                "string",
                "mixed",
                "empty",
            ):
                continue  # an object column of numbers: let validation convert it
            found = pd.Index(pd.unique(column.dropna())).sort_values()
        else:
            continue
        names.append(str(name))
        positions.append(position)
        categories.append(found)
    if not names:
        return None
    return CategoricalColumns(tuple(names), tuple(positions), tuple(categories))


def categorical_node_settings(
    template: Any, columns: CategoricalColumns
) -> tuple[dict[str, Any], dict[str, Any]]:
    """How to tell a node model which input columns are categorical.

    Parameters
    ----------
    template : estimator
        The (unfitted) node model.
    columns : CategoricalColumns

    Returns
    -------
    params : dict
        Constructor parameters to set (``categorical_features`` of scikit-learn's
        histogram gradient boosting, unless the user set it).
    fit_params : dict
        Keyword arguments for ``fit`` (LightGBM's ``categorical_feature``).

    Raises
    ------
    ValueError
        If the model has no way to take categorical columns.
    """
    adapter = adapter_for(template)
    if adapter.accepts_categories:
        return adapter.category_settings(template, list(columns.positions))
    raise ValueError(
        f"X has categorical columns {list(columns.names)} (pandas category or string "
        f"dtype), but the node model {template!r} cannot take categories. Use a model "
        f"that can (lightgbm.LGBMClassifier, HistGradientBoostingClassifier), or encode "
        f"them into numbers first (e.g. a Pipeline with OneHotEncoder in front of "
        f"HierarchicalClassifier)."
    )
