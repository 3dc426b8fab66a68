"""The Dask engine: every partition of the input is scored and written by a worker.

Workers receive :func:`_score_partition` by reference, so it stays at module level.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from .._allocator import settle_worker_allocator
from .._compat import import_optional
from ..exceptions import OutputConflictError, SchemaError
from ..parallel import dask_client
from ._job import Job, csv_error
from ._output import Run, part_name, read_part, write_part
from ._scoring import score_chunk
from .engines import DaskEngine
from .files import DataFile


def _score_partition(
    frame: pd.DataFrame, model: Any, job: Job, directory: str, partition_info: Any = None
) -> pd.DataFrame:
    """Dask worker task: score one partition and write it as one part."""
    settle_worker_allocator()
    index = int(partition_info["number"]) if partition_info else 0
    table = pa.Table.from_pandas(frame, preserve_index=False).select(job.read_columns)
    table = table.cast(job.read_schema)
    scored = score_chunk(model, job, table, lambda position: f"row {position:,} of partition {index}")
    write_part(scored, Path(directory), index, job)
    return pd.DataFrame({"part": [index], "rows": [scored.num_rows]})


def _dask_frame(dd: Any, data_file: DataFile, job: Job, engine: DaskEngine) -> Any:
    if data_file.format == "parquet":
        return dd.read_parquet(
            str(data_file.path),
            columns=job.read_columns,
            split_row_groups=True,
            dtype_backend="pyarrow",
        )
    null_values = pacsv.ConvertOptions().null_values
    numbers = job.numeric_features
    # The same parsing as the local engine: Arrow's null markers for numbers only,
    # text kept as written, floats correctly rounded.
    # pandas < 3 rounds some decimals differently from Arrow unless told to round-trip;
    # pandas 3 does it by default and deprecates the option.
    precision = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}
    return dd.read_csv(
        str(data_file.path),
        blocksize=engine.blocksize,
        usecols=job.read_columns,
        dtype={c: ("float64" if c in numbers else "string") for c in job.read_columns},
        keep_default_na=False,
        na_values={c: null_values for c in numbers},
        **precision,
    )


def dask_layout(data_file: DataFile, engine: DaskEngine) -> dict[str, Any]:
    if data_file.format == "parquet":
        return {"engine": "dask", "partitions": "parquet row groups"}
    return {"engine": "dask", "partitions": f"csv blocks of {engine.blocksize}"}


def run_dask(
    model: Any, job: Job, data_file: DataFile, run: Run, engine: DaskEngine, intact: set[int]
) -> None:
    dd = import_optional("dask.dataframe", extra="dask")
    distributed = import_optional("distributed", extra="dask")
    frame = _dask_frame(dd, data_file, job, engine)
    n_parts = frame.npartitions
    if run.manifest.get("n_parts") not in (None, n_parts):
        raise OutputConflictError(
            f"'{run.directory}' was written in {run.manifest['n_parts']} parts but the input "
            f"now splits into {n_parts}; run again with overwrite=True."
        )
    run.manifest["n_parts"] = n_parts
    todo = [i for i in range(n_parts) if i not in intact]
    if not todo:
        return
    resources = contextlib.ExitStack()
    client = resources.enter_context(dask_client(engine))
    futures: list[Any] = []
    finished = False
    try:
        shared_model = client.scatter(model, broadcast=True, hash=False)
        meta = pd.DataFrame({"part": pd.Series([], dtype="int64"), "rows": pd.Series([], dtype="int64")})
        # Unoptimised: graph optimisation may fuse small Parquet partitions, and part i
        # must stay partition i of the input (one per row group or CSV block).
        results = frame.map_partitions(
            _score_partition, shared_model, job, str(run.directory), meta=meta
        ).to_delayed(optimize_graph=False)
        if len(results) != n_parts:
            raise RuntimeError(f"dask made {len(results)} partitions instead of {n_parts}")
        futures = client.compute([results[i] for i in todo])
        for future in distributed.as_completed(futures):
            try:
                done = future.result()
            except SchemaError:
                raise
            except (ValueError, pa.ArrowInvalid) as exc:
                if data_file.format == "csv":
                    raise csv_error(data_file, job, exc, 0) from None
                raise
            index = int(done["part"].iloc[0])
            path = run.directory / part_name(index, job.output_format)
            run.record(index, read_part(path, job), None)
        finished = True
    finally:
        if futures and not finished:
            client.cancel(futures)  # parts already written stay; the rest is not started
        resources.close()
