"""Batch prediction of files larger than memory: chunked, resumable, optionally on Dask.

:func:`predict_file` scores a CSV or Parquet file with a fitted model (or a saved
artifact) and writes numbered output parts plus a manifest. Memory is bounded by
the chunk size, not by the file; a run that is killed continues from the first
missing part when started again; a summary of the batch (class mix per level
against the training distribution, rows stopped early, rows below a confidence)
is written beside the output.

Output columns, in order:

- the ``id_columns`` and ``passthrough`` columns, copied from the input;
- per level ``<level>`` (the predicted label; null below the end of the path) and
  ``<level>_proba`` (probability of that node: the product of the conditional
  probabilities down the path);
- ``path_proba``: probability of the predicted outcome (the deepest node, times
  the model's "stop" probability where the path ends early because the model
  predicts that it ends there);
- ``stopped_at_level``: the level where the path ends when it ends above the last
  level, else null;
- with ``top_k > 0``, ``top1_path``, ``top1_proba``, ..., ``top{k}_path``,
  ``top{k}_proba``: the k most probable complete paths, labels joined by ``" > "``;
- ``scoring_error``: null for scored rows; for a row that could not be scored, the
  reason (its labels and probabilities are then null).

The package's modules, one job each (the public names are re-exported here):

- ``engines``: the ``LocalEngine`` and ``DaskEngine`` configs;
- ``files``: the input file's layout, chunked reading, and bad-value diagnostics;
- ``_job``: the input's columns checked against the model, the output schema;
- ``_scoring``: one chunk of input rows scored into output columns;
- ``_output``: parts, manifest, lock and resume bookkeeping;
- ``_summary``: ``BatchSummary``, tallies and drift against the training data;
- ``_local_run`` and ``_dask_run``: the two engines' loops over the input;
- ``predict``: the entry point, :func:`predict_file`.
"""

from __future__ import annotations

from ..exceptions import OutputConflictError
from ._output import MANIFEST_FILE as MANIFEST_FILE
from ._output import SUMMARY_FILE as SUMMARY_FILE
from ._summary import PSI_EPSILON as PSI_EPSILON
from ._summary import BatchSummary, ClassShift, LevelDrift
from .engines import DaskEngine, LocalEngine
from .predict import predict_file

__all__ = [
    "BatchSummary",
    "ClassShift",
    "DaskEngine",
    "LevelDrift",
    "LocalEngine",
    "OutputConflictError",
    "predict_file",
]
