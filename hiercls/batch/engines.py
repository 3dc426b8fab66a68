"""Where batch prediction runs: the ``LocalEngine`` and ``DaskEngine`` configs.

The Hydra configs ``conf/engine/*.yaml`` build these (``_target_:
hiercls.batch.LocalEngine``), and :func:`hiercls.parallel.fit_backend` takes the
same configs for training.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class LocalEngine:
    """Score in this process, one chunk of ``chunk_rows`` rows after another."""

    name = "local"


@dataclass(frozen=True)
class DaskEngine:
    """Score through ``dask.dataframe`` on a Dask cluster (needs ``hiercls[dask]``).

    The input is read with ``dask.dataframe.read_parquet`` (one partition per
    Parquet row group) or ``read_csv`` (blocks of ``blocksize`` bytes); the model is
    scattered to every worker once, and each partition is scored and written as one
    output part by a worker, so the input and output paths must be visible to the
    workers under the same names (a shared file system). Labels equal the local
    engine's exactly, probabilities within 1e-12.

    Parameters
    ----------
    address : str or None, default=None
        Scheduler address, e.g. ``"tcp://scheduler:8786"``. None starts a
        ``distributed.LocalCluster`` for the job and closes it afterwards.
    n_workers : int, default=2
        Workers of the LocalCluster.
    threads_per_worker : int, default=1
        Threads per LocalCluster worker.
    processes : bool, default=True
        LocalCluster workers as processes (False: threads of this process).
    blocksize : str or int, default="64MiB"
        Bytes of CSV per partition (one output part each).
    dashboard_address : str or None, default=None
        LocalCluster dashboard, e.g. ``":8787"``; None runs without one.
    connect_timeout : float, default=10
        Seconds to wait for the scheduler at ``address`` to answer before giving up.
    client : distributed.Client or None, default=None
        An existing client to use instead (Python only); it is left open.
    """

    address: str | None = None
    n_workers: int = 2
    threads_per_worker: int = 1
    processes: bool = True
    blocksize: str | int = "64MiB"
    dashboard_address: str | None = None
    connect_timeout: float = 10
    client: Any = field(default=None, repr=False, compare=False)
    name = "dask"
