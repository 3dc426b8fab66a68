"""The entry point :func:`predict_file`: check the arguments, set up the job and run it."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import Any

from .._atomic import write_json
from .._compat import StrOptions, validate_params
from .._validation import SequenceOf, StrictInterval
from ..artifacts import artifact_checksum, find_classifier, load_model, read_metadata
from ..explain import check_explainable
from ..hierarchy import as_python
from ._dask_run import dask_layout, run_dask
from ._job import prepare_job
from ._local_run import run_local
from ._output import SUMMARY_FILE, Run, job_identity, locked, model_fingerprint, open_output
from ._summary import BatchSummary, LevelDrift, level_drift, training_baseline
from .engines import DaskEngine, LocalEngine
from .files import DataFile, inspect_data_file

logger = logging.getLogger("hiercls.batch")


_COLUMN_NAMES = SequenceOf(str, "a list of column names", empty=True)
_TYPE_NAMES = SequenceOf(str, "a list of type names such as 'mypackage.MyNodeModel'", empty=True)


def _column_list(value: Sequence[str] | None) -> list[str]:
    return [] if value is None else list(value)


def _resolve_engine(engine: str | LocalEngine | DaskEngine) -> LocalEngine | DaskEngine:
    if isinstance(engine, (LocalEngine, DaskEngine)):
        return engine
    return LocalEngine() if engine == "local" else DaskEngine()


def _estimate_csv_rows(path: Path) -> int | None:
    size = path.stat().st_size
    with open(path, "rb") as handle:
        sample = handle.read(1 << 20)
    lines = sample.count(b"\n")
    if not lines:
        return None
    return max(0, round(size / (len(sample) / lines)) - 1)


def _progress_bar(total: int | None, quiet: bool, estimated: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        unit=" rows",
        unit_scale=True,
        desc="hiercls-predict (rows estimated)" if estimated else "hiercls-predict",
        smoothing=0.1,
        mininterval=1.0,
        disable=True if quiet else None,
        dynamic_ncols=True,
    )


@validate_params(
    {
        "chunk_rows": [StrictInterval(Integral, 1, None, closed="left")],
        "top_k": [StrictInterval(Integral, 0, None, closed="left")],
        "explain": [StrictInterval(Integral, 0, None, closed="left")],
        "id_columns": [_COLUMN_NAMES, None],
        "passthrough": [_COLUMN_NAMES, None, StrOptions({"all"})],
        "feature_columns": [_COLUMN_NAMES, None],
        "input_format": [StrOptions({"parquet", "csv"}), None],
        "output_format": [StrOptions({"parquet", "csv"})],
        "confidence": [StrictInterval(Real, 0, 1, closed="both")],
        "engine": [StrOptions({"local", "dask"}), LocalEngine, DaskEngine],
        "trusted": [_TYPE_NAMES, None],
        "allow_pickle": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def predict_file(
    model: Any,
    input_path: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    chunk_rows: int = 100_000,
    top_k: int = 0,
    explain: int = 0,
    id_columns: Sequence[str] | None = None,
    passthrough: Sequence[str] | str | None = None,
    feature_columns: Sequence[str] | None = None,
    input_format: str | None = None,
    output_format: str = "parquet",
    confidence: float = 0.5,
    overwrite: bool = False,
    quiet: bool = False,
    engine: str | LocalEngine | DaskEngine = "local",
    trusted: Sequence[str] | None = None,
    allow_pickle: bool = False,
) -> BatchSummary:
    """Score a CSV or Parquet file of any size into numbered, resumable output parts.

    The input is read in chunks of ``chunk_rows`` rows (local engine) or Dask
    partitions, so memory depends on the chunk size, not the file size. Every part
    is written under a temporary name and renamed, and ``_manifest.json`` ties the
    parts to the input file (path, size, modification time, a hash of its first and
    last MiB), the model (SHA-256 of its pickle) and the output settings. Running
    the same call again after a crash or kill scores only the missing parts; the
    result equals an uninterrupted run row for row. With another model, a changed
    input or other settings, the call refuses to mix outputs unless
    ``overwrite=True``. At the end ``_summary.json`` is written beside the parts and
    its one-line form is logged (logger ``hiercls.batch``).

    Before any work the input's columns are checked: feature columns missing from
    the file are listed by name with the model's features, a feature column that
    does not hold numbers is named with its first bad row, and other columns are
    ignored (or copied, see ``passthrough``). Rows that cannot be scored (a NaN or
    infinite feature when the model does not accept one, a missing text value) keep
    their place in the output with null labels and a ``scoring_error``.

    Categorical columns (a model fitted on a DataFrame with ``category`` or string
    columns, or a Pipeline whose artifact records ``category`` columns) are read with
    their values, converted to the type of the categories seen at fit (a CSV's
    ``"7"`` is the int category 7); a category not seen at fit, or an empty value, is
    scored as a missing value, not as an error.

    Parameters
    ----------
    model : HierarchicalClassifier, Pipeline or path-like
        A fitted model (a Pipeline must end with a HierarchicalClassifier), or the
        directory of an artifact written by :func:`hiercls.artifacts.save_model`, which is
        loaded with :func:`hiercls.artifacts.load_model` (see ``trusted`` and
        ``allow_pickle``).
        Only an artifact carries the training class distribution for the drift
        report.
    input_path : path-like
        CSV or Parquet file.
    output_dir : path-like
        Directory for ``part-NNNNNN.<format>``, ``_manifest.json`` and
        ``_summary.json``; created if needed. It must be empty, or hold a previous
        run of the same job (which is resumed).
    chunk_rows : int, default=100_000
        Rows per chunk and per output part (local engine).
    top_k : int, default=0
        Also write the ``k`` most probable complete paths per row.
    explain : int, default=0
        Also write, per level, ``<level>_explanation``: the ``explain`` features that
        pushed the row's decision at that level most, with their contributions
        (``"asthma (+1.2); night (+0.4)"``; see
        :meth:`HierarchicalClassifier.explain <hiercls.HierarchicalClassifier.explain>`).
        For a multi-label model, every step of every predicted path at that level,
        each as ``"outcome: feature (+contribution); ..."``, joined by ``" | "`` (see
        :meth:`MultiLabelHierarchicalClassifier.explain
        <hiercls.MultiLabelHierarchicalClassifier.explain>`). Node models read by
        shap's model-agnostic explainer are compared with their own training rows
        where they keep them (k-NN; slow: about 2 s per row and k-NN node with 20
        features, as shap queries the model some 50,000 times per row); others (SVC,
        naive Bayes, ...) cannot be explained here, as the artifact keeps no
        background rows, and are refused before anything is written.
    id_columns, passthrough : list of str, default=None
        Input columns copied to the start of the output, ids first. ``passthrough``
        may be ``"all"``: every column that is neither a feature nor an id. CSV
        columns are copied as text, exactly as written.
    feature_columns : list of str, default=None
        Feature columns in training order. None uses the model's
        ``feature_names_in_``, or, for a model fitted without column names, every
        column that is not an id or passthrough column.
    input_format : {"parquet", "csv"} or None, default=None
        None infers it from the file extension.
    output_format : {"parquet", "csv"}, default="parquet"
        Format of the parts (each CSV part has its own header).
    confidence : float in [0, 1], default=0.5
        The summary reports the share of rows with ``path_proba`` below it.
    overwrite : bool, default=False
        Replace another job's output in ``output_dir`` (only ``part-*``,
        ``_manifest.json`` and ``_summary.json`` are deleted).
    quiet : bool, default=False
        No progress bar (for cron jobs); the summary is still logged.
    engine : {"local", "dask"}, LocalEngine or DaskEngine, default="local"
        ``"dask"`` is ``DaskEngine()``: a 2-worker LocalCluster.
    trusted : list of str, default=None
        For a ``model`` path: type names to trust beyond
        :data:`hiercls.artifacts.TRUSTED_TYPES` (see :func:`~hiercls.artifacts.load_model`).
    allow_pickle : bool, default=False
        For a ``model`` path: load a pickle artifact (it runs code chosen by whoever
        wrote it; trusted sources only).

    Returns
    -------
    summary : BatchSummary
        Rows, parts, time and throughput, failures, early stops, low-confidence
        share and drift per level.

    Raises
    ------
    SchemaError
        Missing feature, id or passthrough columns, or a feature column that does
        not hold numbers (before any part is written; for CSV, a bad value after the
        first block stops the run with the parts so far intact).
    OutputConflictError
        ``output_dir`` holds another job's output, or another process is writing
        to it.
    hiercls.ArtifactError
        ``model`` is a path to a damaged or foreign artifact, a pickle artifact
        without ``allow_pickle=True``, or a skops artifact holding untrusted types
        (the subclasses of :class:`~hiercls.ArtifactError` in
        :mod:`hiercls.exceptions` say which).
    FileNotFoundError
        The input file or the model path does not exist.

    See Also
    --------
    hiercls.artifacts.save_model : Write the artifact this function reads.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> from hiercls import HierarchicalClassifier
    >>> from hiercls.batch import predict_file
    >>> X = pd.DataFrame({"x": [-10.0, -6.0, 10.0]})
    >>> clf = HierarchicalClassifier().fit(X, [["a", "a1"], ["a", "a2"], ["b", "b1"]])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     X.assign(id=[1, 2, 3]).to_csv(f"{tmp}/in.csv", index=False)
    ...     summary = predict_file(clf, f"{tmp}/in.csv", f"{tmp}/out", id_columns=["id"],
    ...                            quiet=True)
    ...     scored = pd.read_parquet(f"{tmp}/out")
    >>> summary.rows
    3
    >>> scored[["id", "level0", "level1"]].values.tolist()
    [['1', 'a', 'a1'], ['2', 'a', 'a2'], ['3', 'b', 'b1']]
    """
    started = time.perf_counter()
    ids = _column_list(id_columns)
    copied = passthrough if passthrough == "all" else _column_list(passthrough)  # type: ignore[arg-type]
    features = None if feature_columns is None else _column_list(feature_columns)
    engine = _resolve_engine(engine)

    metadata = None
    if isinstance(model, (str, os.PathLike)):
        metadata = read_metadata(model)
        model = load_model(model, trusted=trusted, allow_pickle=allow_pickle)
    classifier = find_classifier(model)
    if explain:  # before any output: the artifact keeps no background rows for shap
        check_explainable(classifier, has_background=False)
    top_k = min(top_k, classifier.n_paths_)  # more columns would always be empty
    data_file = inspect_data_file(input_path, input_format)
    job = prepare_job(
        model,
        metadata,
        data_file,
        feature_columns=features,
        id_columns=ids,  # type: ignore[arg-type]
        passthrough=copied,
        top_k=top_k,
        output_format=output_format,
        explain=explain,
    )
    layout = (
        {"engine": "local", "chunk_rows": chunk_rows}
        if isinstance(engine, LocalEngine)
        else dask_layout(data_file, engine)
    )
    # An artifact is known by its recorded checksum, whether given by path or loaded.
    checksum = metadata["model_sha256"] if metadata else artifact_checksum(model)
    identity = job_identity(
        data_file, checksum or model_fingerprint(model), classifier.hierarchy_.fingerprint(), job, layout
    )
    directory = Path(output_dir)
    directory.mkdir(parents=True, exist_ok=True)
    with locked(directory):
        manifest, done = open_output(directory, identity, overwrite, data_file.path)
        manifest["complete"] = False  # until every part is checked or written again
        # A CSV's row count is known only once read: from the first MiB it is a guess.
        estimated = data_file.n_rows is None and not manifest.get("rows")
        total = (
            data_file.n_rows
            if data_file.n_rows is not None
            else (manifest.get("rows") or _estimate_csv_rows(data_file.path))
        )
        with _progress_bar(total, quiet, estimated) as progress:
            run = Run(directory, manifest, job, float(confidence), progress)
            run.save()
            intact = run.reuse(done)
            logger.info(
                "Scoring '%s' (%s rows) into '%s' with the %s engine%s",
                data_file.path,
                "?" if total is None else f"{'about ' if estimated else ''}{total:,}",
                directory,
                engine.name,
                f"; {len(intact)} parts from an earlier run are kept" if intact else "",
            )
            if isinstance(engine, LocalEngine):
                run_local(model, job, data_file, run, chunk_rows, intact)
            else:
                run_dask(model, job, data_file, run, engine, intact)
            if estimated:  # the bar ends at 100 %, whatever the guess was
                progress.total = progress.n
                progress.refresh()
        manifest["complete"] = True
        manifest["rows"] = run.tally.rows
        run.save()
        summary = _summary(run, metadata, data_file, directory, engine, started)
        write_json(directory / SUMMARY_FILE, summary.to_dict())
    logger.info(summary.line())
    return summary


def _summary(
    run: Run,
    metadata: dict[str, Any] | None,
    data_file: DataFile,
    directory: Path,
    engine: LocalEngine | DaskEngine,
    started: float,
) -> BatchSummary:
    tally, job = run.tally, run.job
    seconds = time.perf_counter() - started
    scored = tally.rows - tally.failed
    baseline, baseline_stopped, note = training_baseline(metadata, job)
    drift: tuple[LevelDrift, ...] = ()
    if baseline is not None:
        drift = tuple(
            level_drift(level, indexer, base, counts)
            for level, indexer, base, counts in zip(
                job.levels, job.indexers, baseline, tally.counts, strict=True
            )
        )
    class_counts = tuple(
        {str(as_python(label)): int(n) for label, n in zip(indexer.tolist(), counts, strict=True) if n}
        for indexer, counts in zip(job.indexers, tally.counts, strict=True)
    )
    return BatchSummary(
        input=str(data_file.path),
        output=str(directory),
        engine=engine.name,
        rows=tally.rows,
        parts=len(run.manifest["parts"]),
        rows_scored_now=run.rows_now,
        parts_written_now=run.parts_now,
        seconds=seconds,
        rows_per_second=run.rows_now / seconds if seconds > 0 else 0.0,
        rows_failed=tally.failed,
        stopped_share=tally.stopped / scored if scored else 0.0,
        confidence=run.confidence,
        low_confidence_share=tally.low_confidence / scored if scored else 0.0,
        baseline_stopped_share=baseline_stopped,
        drift=drift,
        drift_baseline=note if baseline is not None else None,
        drift_note=None if baseline is not None else note,
        class_counts=class_counts,
    )
