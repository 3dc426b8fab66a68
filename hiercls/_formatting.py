"""Plain-text renderings of small tables shared by the reports (no tabulate needed)."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["format_cell", "markdown_table", "html_table"]


def format_cell(value: object) -> str:
    """A table cell as text: floats to 3 decimals, booleans as yes/no, missing as a dash."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float | np.floating):
        return f"{value:.3f}"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    return str(value)


def _display(
    frame: pd.DataFrame, headers: Mapping[str, str] | None
) -> tuple[list[str], list[list[str]], list[bool]]:
    names = [(headers or {}).get(str(column), str(column)) for column in frame.columns]
    numeric = [
        pd.api.types.is_numeric_dtype(frame[column])
        and not pd.api.types.is_bool_dtype(frame[column])
        for column in frame.columns
    ]
    rows = [[format_cell(value) for value in row] for row in frame.itertuples(index=False)]
    return names, rows, numeric


def markdown_table(frame: pd.DataFrame, headers: Mapping[str, str] | None = None) -> str:
    """A DataFrame as a GitHub-flavoured Markdown table, numbers right-aligned.

    Parameters
    ----------
    frame : DataFrame
    headers : mapping, optional
        Display names for some columns.

    Returns
    -------
    table : str
    """
    names, rows, numeric = _display(frame, headers)

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"

    rule = "| " + " | ".join("---:" if n else "---" for n in numeric) + " |"
    return "\n".join([line(names), rule, *(line(row) for row in rows)])


def html_table(frame: pd.DataFrame, headers: Mapping[str, str] | None = None) -> str:
    """A DataFrame as an escaped HTML table; numeric cells get ``class='num'``.

    Parameters
    ----------
    frame : DataFrame
    headers : mapping, optional
        Display names for some columns.

    Returns
    -------
    table : str
    """
    names, rows, numeric = _display(frame, headers)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in names)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td class='num'>{html.escape(c)}</td>" if n else f"<td>{html.escape(c)}</td>"
            for c, n in zip(row, numeric, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
