"""The Bunch every loader returns, with its label frame and ``DESCR`` support summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ..hierarchy import read_label_paths


def label_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return label columns as object dtype with ``None`` for missing levels.

    Parquet and pandas' string inference would otherwise turn ``None`` into NaN.
    """
    labels = frame.astype(object)
    return labels.where(labels.notna(), None)


def make_bunch(
    data: pd.DataFrame, target: pd.DataFrame, *, text_column: str | None, descr: str
) -> Bunch:
    return Bunch(
        data=data,
        target=label_frame(target),
        feature_names=list(data.columns),
        level_names=list(target.columns),
        text_column=text_column,
        DESCR=descr,
    )


def support_summary(target: pd.DataFrame) -> str:
    """Describe classes per level and the support (rows) of the leaves."""
    paths = target.to_numpy(dtype=object)
    lines = []
    for level, name in enumerate(target.columns):
        present = target[name].notna().to_numpy()
        rows = read_label_paths(paths[present], check_paths=False) if present.any() else None
        n_classes = 0 if rows is None else np.unique(rows.prefix_codes(level)).size
        lines.append(f"- level {level} ({name}): {n_classes} classes, {int(present.sum())} rows")
    lengths = np.bincount(target.notna().sum(axis=1).to_numpy(), minlength=paths.shape[1] + 1)
    lines.append(
        "- rows per path length: " + ", ".join(f"{k}: {v}" for k, v in enumerate(lengths) if v)
    )
    leaf_support = np.bincount(read_label_paths(paths, check_paths=False).prefix_codes(-1))
    quartiles = np.percentile(leaf_support, [0, 25, 50, 75, 100]).tolist()
    lines.append(
        f"- {leaf_support.size} distinct paths (leaves); rows per leaf min/q1/median/q3/max: "
        + "/".join(f"{q:g}" for q in quartiles)
    )
    return "\n".join(lines)
