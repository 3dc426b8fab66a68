"""The rare-path report of a multi-label run: how paths of each training support fare.

Its table is :func:`hiercls.multilabel_metrics.support_bucket_report`; this module
writes it as Markdown, CSV and one self-contained HTML page with a bar plot of
micro and macro recall@k per bucket (when matplotlib is there and ``figures``).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from hiercls._formatting import html_table, markdown_table
from hiercls.reports.plots import png_base64
from hiercls.reports.render import PAGE_CSS, REPORT_FILE_STEM, write_text

__all__ = ["write_path_bucket_report"]

_EXPLAINED = (
    "micro_macro_gap = micro recall@k - macro recall@k (macro: averaged over paths). A large "
    "gap means that frequent paths carry the average while rare ones are missed."
)


def write_path_bucket_report(
    buckets: pd.DataFrame, directory: str | Path, *, about: Mapping[str, str], k: int, figures: bool = True
) -> dict[str, Path]:
    """Write ``rare_class_report.md``, ``.csv`` and ``.html`` for a multi-label run.

    Parameters
    ----------
    buckets : DataFrame
        From :func:`~hiercls.multilabel_metrics.support_bucket_report`, indexed by
        training-support bucket (the last row is ``"all"``).
    directory : str or Path
        Created if missing.
    about : mapping of str to str
        What the report describes (model, data, run, hiercls version), shown first.
    k : int
        The ``k`` of the scores, for the titles.
    figures : bool, default=True
        Whether the HTML page gets its plot (needs matplotlib).

    Returns
    -------
    paths : dict
        Path written, by format: ``"md"``, ``"csv"``, ``"html"``.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {suffix: directory / f"{REPORT_FILE_STEM}.{suffix}" for suffix in ("md", "csv", "html")}
    title = f"Rare paths: how paths of each training support fare (top {k})"
    table = buckets.reset_index()
    header = "\n".join(f"- {key}: {value}" for key, value in about.items())
    write_text(f"# {title}\n\n{header}\n\n{markdown_table(table)}\n\n{_EXPLAINED}\n", paths["md"])
    write_text(buckets.to_csv(), paths["csv"])
    write_text(_html(title, table, about, k, figures), paths["html"])
    return paths


def _html(title: str, table: pd.DataFrame, about: Mapping[str, str], k: int, figures: bool) -> str:
    figure = "<p class='note'>The picture was not drawn (figures=False); the table holds every number.</p>"
    if figures:
        try:
            figure = (
                f"<figure><img alt='Micro and macro recall@{k} per training-support bucket' "
                f"src='data:image/png;base64,{png_base64(_plot(table, k))}'></figure>"
            )
        except ImportError:
            figure = "<p class='note'>The picture needs matplotlib, which is not installed.</p>"
    return "\n".join(
        [
            "<!DOCTYPE html>",
            "<html lang='en'><head><meta charset='utf-8'>",
            f"<title>{html.escape(title)}</title>",
            f"<style>{PAGE_CSS}</style></head><body><main>",
            f"<h1>{html.escape(title)}</h1>",
            "<ul class='settings'>",
            *[f"<li>{html.escape(f'{key}: {value}')}</li>" for key, value in about.items()],
            "</ul>",
            html_table(table),
            f"<p>{html.escape(_EXPLAINED)}</p>",
            figure,
            "</main></body></html>",
        ]
    )


def _plot(table: pd.DataFrame, k: int):  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    rows = table[table.iloc[:, 0] != "all"]
    figure, axes = plt.subplots(figsize=(6.5, 3.2), layout="constrained")
    positions = range(len(rows))
    axes.bar([p - 0.2 for p in positions], rows["micro_recall_at_k"], width=0.4, label=f"micro recall@{k}")
    axes.bar([p + 0.2 for p in positions], rows["macro_recall_at_k"], width=0.4, label=f"macro recall@{k}")
    axes.set_xticks(list(positions), [str(b) for b in rows.iloc[:, 0]])
    axes.set_xlabel("training rows of the path")
    axes.set_ylim(0, 1)
    axes.legend(loc="upper left")
    plt.close(figure)
    return figure
