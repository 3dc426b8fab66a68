"""The local engine: read, score and write the input chunk after chunk in this process.

A reader thread reads the next chunk and a writer thread writes the previous part
while the current chunk is scored; chunks already written by an earlier run are
skipped.
"""

from __future__ import annotations

import contextlib
import math
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pyarrow as pa

from ..exceptions import SchemaError
from ._job import Job, csv_error
from ._output import Run, write_part
from ._scoring import row_namer, score_chunk
from .files import DataFile, iter_chunks


def _missing_runs(n_parts: int | None, intact: set[int]) -> list[tuple[int, int | None]]:
    """List runs (first, count) of parts to score; count None runs to the end of the file."""
    limit = n_parts if n_parts is not None else (max(intact) + 1 if intact else 0)
    runs: list[tuple[int, int | None]] = []
    index = 0
    while index < limit:
        if index in intact:
            index += 1
            continue
        start = index
        while index < limit and index not in intact:
            index += 1
        runs.append((start, index - start))
    if n_parts is None:
        runs.append((limit, None))
    return runs


def _read_ahead(chunks: Iterator[pa.Table]) -> Iterator[pa.Table]:
    """Yield from ``chunks`` while a thread already reads the next one.

    Arrow reads without the GIL, so on two cores the read hides behind the scoring of
    the previous chunk; one chunk waits at most, so memory stays bounded.
    """
    slot: queue.Queue[tuple[Any, BaseException | None]] = queue.Queue(maxsize=1)
    stop = threading.Event()
    end = object()

    def produce() -> None:
        try:
            while not stop.is_set():
                chunk = next(chunks, end)
                slot.put((chunk, None))
                if chunk is end:
                    return
        except BaseException as exc:  # noqa: BLE001 - handed over to the consumer
            slot.put((end, exc))

    thread = threading.Thread(target=produce, name="hiercls-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            chunk, error = slot.get()
            if error is not None:
                raise error
            if chunk is end:
                return
            yield chunk
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting to hand over a chunk
            with contextlib.suppress(queue.Empty):
                slot.get(timeout=0.01)
        chunks.close()  # type: ignore[attr-defined]


def _write_and_record(run: Run, index: int, table: pa.Table, first_row: int) -> None:
    write_part(table, run.directory, index, run.job)
    run.record(index, table, first_row)


def run_local(model: Any, job: Job, data_file: DataFile, run: Run, chunk_rows: int, intact: set[int]) -> None:
    n_parts = (
        math.ceil(data_file.n_rows / chunk_rows)
        if data_file.n_rows is not None
        else run.manifest.get("n_parts")
    )
    last = -1
    pending: Future[None] | None = None

    def wait_for_pending() -> None:
        nonlocal pending
        if pending is not None:
            done, pending = pending, None
            done.result()

    # Parts are written (and recorded in the manifest) by one thread, in order, while
    # the next chunk is scored; one part is in flight at most.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="hiercls-write") as writer:
        try:
            for first, count in _missing_runs(n_parts, intact):
                chunks = _read_ahead(
                    iter_chunks(
                        data_file,
                        job.read_columns,
                        chunk_rows=chunk_rows,
                        start_row=first * chunk_rows,
                        column_types={f.name: f.type for f in job.read_schema},
                    )
                )
                index = first
                try:
                    for table in chunks:
                        offset = index * chunk_rows
                        scored = score_chunk(model, job, table, row_namer(offset))
                        wait_for_pending()
                        pending = writer.submit(_write_and_record, run, index, scored, offset)
                        last = max(last, index)
                        index += 1
                        if count is not None and index - first >= count:
                            break
                except pa.ArrowInvalid as exc:
                    if data_file.format != "csv":
                        raise SchemaError(
                            f"Cannot read '{data_file.path}' after row {index * chunk_rows:,} "
                            f"({exc}); the file is damaged. Parts written so far are kept."
                        ) from None
                    raise csv_error(data_file, job, exc, index * chunk_rows) from None
                finally:
                    chunks.close()  # type: ignore[attr-defined]
            wait_for_pending()
        except BaseException:
            # The part in flight lands and is recorded before the error is reported.
            if pending is not None:
                with contextlib.suppress(Exception):
                    pending.result()
            raise
    total = max([last, *intact], default=-1) + 1
    run.manifest["n_parts"] = n_parts if n_parts is not None else total
