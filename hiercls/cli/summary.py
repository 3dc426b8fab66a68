"""A Hydra callback that leaves one table comparing the runs of a multirun."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from .._atomic import write_text
from .._formatting import markdown_table

__all__ = ["MultirunSummary", "summarize_runs"]

logger = logging.getLogger(__name__)

_COLUMNS = ("hierarchical_f1", "leaf_accuracy", "hierarchical_precision", "hierarchical_recall")


def summarize_runs(sweep_dir: str | Path) -> pd.DataFrame:
    """One row per finished run under ``sweep_dir``: its overrides and headline metrics.

    Parameters
    ----------
    sweep_dir : path
        A multirun folder whose sub-folders each hold ``metrics.json`` and ``.hydra/``.

    Returns
    -------
    summary : DataFrame
    """
    rows = []
    for metrics_path in sorted(Path(sweep_dir).glob("*/metrics.json")):
        run = metrics_path.parent
        metrics = json.loads(metrics_path.read_text())
        overrides_path = run / ".hydra" / "overrides.yaml"
        overrides = yaml.safe_load(overrides_path.read_text()) if overrides_path.exists() else []
        row: dict[str, Any] = {"run": run.name, "overrides": " ".join(overrides or [])}
        for split in ("validation", "test"):
            for column in _COLUMNS:
                row[f"{split}_{column}"] = metrics.get(split, {}).get(column)
        row["fit_seconds"] = metrics.get("fit_seconds")
        rows.append(row)
    return pd.DataFrame(rows)


class MultirunSummary(Callback):
    """Write ``summary.csv`` and ``summary.md`` in the sweep folder when a multirun ends."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Collect every run's metrics into one table."""
        sweep_dir = Path(config.hydra.sweep.dir)
        summary = summarize_runs(sweep_dir)
        if summary.empty:
            logger.warning("No finished run with metrics.json under %s; no summary written.", sweep_dir)
            return
        write_text(sweep_dir / "summary.csv", summary.to_csv(index=False))
        write_text(sweep_dir / "summary.md", "# Multirun summary\n\n" + markdown_table(summary) + "\n")
        logger.info("Multirun summary of %d runs: %s", len(summary), sweep_dir / "summary.md")
