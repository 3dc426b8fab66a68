"""What a run produced: ``BatchSummary``, the tallies it is counted from, and drift.

Tallies are added up part by part (parts of an earlier run included); drift
compares the predicted class mix per level with the training distribution.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..hierarchy import as_python, label_texts
from ._job import Job

#: Shares below this count as this much in the PSI, so an empty class costs a finite amount.
PSI_EPSILON = 1e-4
_TOP_CHANGES = 5


@dataclass(frozen=True)
class ClassShift:
    """How much one class's share of the predictions moved from the drift baseline."""

    label: Any
    baseline_share: float
    predicted_share: float


@dataclass(frozen=True)
class LevelDrift:
    """Predicted class mix of one level against the training distribution.

    Shares are over the rows whose path reaches the level. ``psi`` is the
    population stability index over the level's classes, ``sum((q - p) * ln(q / p))``
    with baseline shares ``p`` (see ``BatchSummary.drift_baseline``) and predicted
    shares ``q`` (both floored at
    :data:`PSI_EPSILON`): below 0.1 is usually read as stable, above 0.25 as a
    major shift. It needs many more rows than classes to mean anything.
    """

    level: str
    psi: float
    baseline_rows: int
    predicted_rows: int
    largest_changes: tuple[ClassShift, ...]


@dataclass(frozen=True)
class BatchSummary:
    """What one :func:`predict_file` run produced.

    Attributes
    ----------
    input, output : str
        The input file and the output directory.
    engine : str
        ``"local"`` or ``"dask"``.
    rows : int
        Rows in the output (equal to the input's).
    parts : int
        Output part files.
    rows_scored_now, parts_written_now : int
        What this run wrote (less than ``rows`` / ``parts`` when it resumed).
    seconds, rows_per_second : float
        Wall time of this run, and ``rows_scored_now / seconds``.
    rows_failed : int
        Rows with a ``scoring_error``.
    stopped_share : float
        Share of scored rows whose path ends above the last level.
    confidence : float
        The ``path_proba`` threshold of ``low_confidence_share``.
    low_confidence_share : float
        Share of scored rows with ``path_proba < confidence``.
    baseline_stopped_share : float or None
        The same share in the drift baseline.
    drift : tuple of LevelDrift
        One per level; empty without a training distribution.
    drift_baseline : str or None
        What the predictions are compared with: the model's predictions on its
        training data (artifacts saved with ``training_data``; a model's predictions
        lean towards large classes, so they are the fair baseline), else the training
        labels.
    drift_note : str or None
        Why ``drift`` is empty.
    class_counts : tuple of dict
        Per level, predicted label -> rows.
    """

    input: str
    output: str
    engine: str
    rows: int
    parts: int
    rows_scored_now: int
    parts_written_now: int
    seconds: float
    rows_per_second: float
    rows_failed: int
    stopped_share: float
    confidence: float
    low_confidence_share: float
    baseline_stopped_share: float | None
    drift: tuple[LevelDrift, ...]
    drift_baseline: str | None
    drift_note: str | None
    class_counts: tuple[dict[str, int], ...] = field(repr=False, default=())

    def to_dict(self) -> dict[str, Any]:
        """Return the summary as JSON-ready data (what ``_summary.json`` holds)."""
        data = asdict(self)
        data["class_counts"] = [dict(c) for c in self.class_counts]
        data["line"] = self.line()
        return data

    def line(self) -> str:
        """One line for logs: rows, time, rate, output, failures, stops, drift."""
        earlier = self.rows - self.rows_scored_now
        scored = f"Scored {_count(self.rows_scored_now, 'row')}" + (
            f" ({earlier:,} more from an earlier run)" if earlier else ""
        )
        text = (
            f"{scored} into {_count(self.parts, 'part')} in '{self.output}' in "
            f"{self.seconds:.1f} s ({_rate(self.rows_per_second)} rows/s, {self.engine} engine)"
        )
        if self.rows == 0:
            return text + f"; '{self.input}' has no rows, so there is nothing to compare"
        if self.rows_failed:
            text += f"; {_count(self.rows_failed, 'row')} not scorable (see scoring_error)"
        text += (
            f"; path ends above the last level: {self.stopped_share:.1%}"
            f"; path_proba < {self.confidence:g}: {self.low_confidence_share:.1%}"
        )
        if self.drift:
            psi = ", ".join(f"{d.level} {d.psi:.3f}" for d in self.drift)
            text += f"; drift PSI {psi}"
            moved = max(
                (c for d in self.drift for c in d.largest_changes[:1]),
                key=lambda c: abs(c.predicted_share - c.baseline_share),
                default=None,
            )
            if moved is not None:
                text += (
                    f" (largest move: {moved.label!r} {moved.baseline_share:.1%} -> "
                    f"{moved.predicted_share:.1%})"
                )
        elif self.drift_note:
            text += f"; drift: {self.drift_note}"
        return text


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


# ------------------------------------------------------------------ tallies
@dataclass
class Tally:
    """Counts over output parts; added up part by part."""

    rows: int
    failed: int
    stopped: int
    low_confidence: int
    counts: list[np.ndarray]

    @classmethod
    def empty(cls, job: Job) -> Tally:
        return cls(0, 0, 0, 0, [np.zeros(len(d), dtype=np.int64) for d in job.dictionaries])

    def add(self, other: Tally) -> None:
        self.rows += other.rows
        self.failed += other.failed
        self.stopped += other.stopped
        self.low_confidence += other.low_confidence
        for mine, theirs in zip(self.counts, other.counts, strict=True):
            mine += theirs


def tally_table(table: pa.Table, job: Job, confidence: float) -> Tally:
    counts = []
    for level, dictionary in zip(job.levels, job.dictionaries, strict=True):
        positions = pc.fill_null(pc.index_in(table.column(level), value_set=dictionary), -1)
        positions = positions.to_numpy()
        counts.append(np.bincount(positions[positions >= 0], minlength=len(dictionary)))
    low = pc.sum(pc.less(table.column("path_proba"), confidence)).as_py() or 0
    n = table.num_rows
    return Tally(
        rows=n,
        failed=n - table.column("scoring_error").null_count,
        stopped=n - table.column("stopped_at_level").null_count,
        low_confidence=int(low),
        counts=counts,
    )


# ----------------------------------------------------------------- drift
_BASELINES = (
    ("predicted_class_counts", "the model's predictions on its training data"),
    ("class_counts", "the training labels"),
)


def training_baseline(
    metadata: dict[str, Any] | None, job: Job
) -> tuple[list[np.ndarray] | None, float | None, str | None]:
    """Return the baseline counts per level (aligned with the model's classes).

    Also returns the baseline share of paths ending above the last level, and what
    the baseline is (or, without one, why).
    """
    training = (metadata or {}).get("training_data") or {}
    found = [(key, description) for key, description in _BASELINES if training.get(key)]
    if not found:
        return None, None, "no training distribution in the artifact"
    key, description = found[0]
    levels = training[key]
    baseline = []
    for j, entry in enumerate(levels):
        texts = label_texts(job.indexers[j].tolist())  # as the artifact's counts are keyed
        keys = [texts[label] for label in job.indexers[j].tolist()]
        counts = entry.get("counts", {})
        baseline.append(np.array([counts.get(k, 0) for k in keys], dtype=np.int64))
    n_samples = training.get("n_samples") or 0
    stopped = levels[-1].get("n_missing", 0) / n_samples if n_samples else None
    return baseline, stopped, description


def level_drift(level: str, labels: pd.Index, training: np.ndarray, predicted: np.ndarray) -> LevelDrift:
    p_total, q_total = int(training.sum()), int(predicted.sum())
    p = training / p_total if p_total else np.zeros(len(training))
    q = predicted / q_total if q_total else np.zeros(len(predicted))
    present = (p > 0) | (q > 0)
    p_floor, q_floor = np.maximum(p[present], PSI_EPSILON), np.maximum(q[present], PSI_EPSILON)
    psi = float(np.sum((q_floor - p_floor) * np.log(q_floor / p_floor))) if q_total else float("nan")
    order = np.argsort(-np.abs(q - p), kind="stable")[:_TOP_CHANGES]
    changes = tuple(ClassShift(as_python(labels[i]), float(p[i]), float(q[i])) for i in order if p[i] != q[i])
    return LevelDrift(level, psi, p_total, q_total, changes)


def _rate(rows_per_second: float) -> str:
    """Thousands apart; slow jobs (explain on k-NN nodes: a row every few seconds) to 2 digits."""
    if rows_per_second >= 10 or rows_per_second == 0:
        return f"{rows_per_second:,.0f}"
    return f"{rows_per_second:.2g}"
