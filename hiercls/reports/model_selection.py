"""The choice table of ``estimator="auto"`` as a run's report: Markdown and CSV."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from hiercls._formatting import markdown_table
from hiercls.reports.render import write_text

__all__ = ["MODEL_SELECTION_FILE_STEM", "render_model_selection", "write_model_selection_report"]

#: File name (without suffix) of the report in a run folder.
MODEL_SELECTION_FILE_STEM = "model_selection"

_EXPLAINED = (
    "Per level, every candidate node model was fitted on the training part of the level's "
    "nodes and scored on rows held out of the training data (never the validation or test "
    "split); `chosen` marks the model then fitted on all rows. `fit_seconds` adds up the "
    "candidate's node fits; `note` says why a candidate was skipped or failed, or why a level "
    "fell back to the default model."
)


def render_model_selection(table: pd.DataFrame, about: Mapping[str, str] | None = None) -> str:
    """The choice table as a Markdown page.

    Parameters
    ----------
    table : DataFrame
        ``HierarchicalClassifier.model_selection_``.
    about : mapping of str to str, default=None
        What the report describes (model, data, run), listed first.

    Returns
    -------
    text : str
    """
    chosen = table[table["chosen"]]
    summary = ", ".join(
        f"{level}: {candidate}" for level, candidate in zip(chosen["level"], chosen["candidate"], strict=True)
    )
    header = "\n".join(f"- {key}: {value}" for key, value in (about or {}).items())
    shown = table.round({"accuracy": 4, "balanced_accuracy": 4, "log_loss": 4, "fit_seconds": 2})
    return (
        f"# Node models chosen per level on held-out rows\n\n{header}\n\n"
        f"Chosen: {summary}.\n\n{markdown_table(shown)}\n\n{_EXPLAINED}\n"
    )


def write_model_selection_report(
    table: pd.DataFrame, directory: str | Path, *, about: Mapping[str, str] | None = None
) -> dict[str, Path]:
    """Write ``model_selection.md`` and ``model_selection.csv`` into a run folder.

    Parameters
    ----------
    table : DataFrame
        ``HierarchicalClassifier.model_selection_``.
    directory : str or Path
        Created if missing.
    about : mapping of str to str, default=None
        What the report describes, listed first in the Markdown page.

    Returns
    -------
    paths : dict
        Path written, by format: ``"md"``, ``"csv"``.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {suffix: directory / f"{MODEL_SELECTION_FILE_STEM}.{suffix}" for suffix in ("md", "csv")}
    write_text(render_model_selection(table, about), paths["md"])
    write_text(table.to_csv(index=False), paths["csv"])
    return paths
