"""Plain-text renderings of small tables shared by the reports (no tabulate needed)."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

__all__ = ["format_cell", "markdown_table", "html_table"]


def format_cell(value: object) -> str:
    """A table cell as text: floats to 3 decimals, missing as an empty cell."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (float, np.floating)):
        return f"{value:.3f}"
    return str(value)


def markdown_table(frame: pd.DataFrame) -> str:
    """A DataFrame as a GitHub-flavoured Markdown table (pipes in cells escaped)."""
    header = [str(c) for c in frame.columns]
    rows = [[format_cell(v).replace("|", "\\|") for v in row] for row in frame.itertuples(index=False)]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def html_table(frame: pd.DataFrame) -> str:
    """A DataFrame as an escaped HTML table."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(format_cell(v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
