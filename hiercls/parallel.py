"""Where node models are fitted: this machine's joblib workers, or a Dask cluster.

``HierarchicalClassifier.fit`` runs its node fits through ``joblib.Parallel``, so any
joblib backend works. :func:`fit_backend` sets one up from an engine config (the
same ``LocalEngine``/``DaskEngine`` that batch prediction uses)::

    with fit_backend(DaskEngine(address="tcp://scheduler:8786")):
        clf.fit(X, Y)

which is ``joblib.parallel_config(backend="dask")`` around a connected client. Each
node task receives the whole ``X`` and its own row indices; joblib's dask backend
scatters an argument it sees in several tasks once, so ``X`` travels to the cluster
once per fit, not once per node.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import socket
from collections.abc import Iterator
from typing import Any

from ._compat import import_optional

__all__ = ["dask_client", "fit_backend"]


def _unreachable(address: str, timeout: float, why: str) -> ConnectionError:
    return ConnectionError(
        f"cannot reach the Dask scheduler at engine.address={address} ({why}); check the "
        f"address and that the scheduler runs, or raise engine.connect_timeout (now {timeout:g} s)"
    )


def _check_scheduler(distributed: Any, address: str, timeout: float) -> None:
    """Fail within ``timeout`` unless a Dask scheduler answers at a ``tcp://`` address.

    distributed retries a refused connection until its timeout, and waits without
    end for the greeting of a server that accepts the connection and stays silent.
    """
    scheme, location = distributed.comm.parse_address(address)
    if scheme != "tcp":
        return
    host, port = distributed.comm.parse_host_port(location)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        why = f"no answer within {timeout:g} s" if isinstance(exc, TimeoutError) else exc.strerror
        raise _unreachable(address, timeout, why or str(exc)) from None

    async def greet() -> None:
        comm = await asyncio.wait_for(distributed.comm.connect(address, timeout=timeout), timeout)
        await comm.close()

    # In a thread of its own: the caller may be running an event loop (Jupyter).
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        try:
            pool.submit(asyncio.run, greet()).result()
        except (TimeoutError, asyncio.TimeoutError):
            raise _unreachable(address, timeout, f"no greeting within {timeout:g} s") from None
        except Exception as exc:  # noqa: BLE001 - e.g. an HTTP server (the dashboard port) answered
            why = f"no Dask scheduler answered: {type(exc).__name__}"
            raise _unreachable(address, timeout, why) from None


@contextlib.contextmanager
def dask_client(engine: Any) -> Iterator[Any]:
    """A ``distributed.Client`` for a ``DaskEngine``, closed afterwards if opened here.

    Parameters
    ----------
    engine : DaskEngine
        ``client`` (used as is), else ``address`` (connect), else a LocalCluster with
        ``n_workers`` x ``threads_per_worker``.

    Yields
    ------
    client : distributed.Client
    """
    distributed = import_optional("distributed", extra="dask")
    if engine.client is not None:
        yield engine.client
        return
    if engine.address:
        _check_scheduler(distributed, engine.address, engine.connect_timeout)
        with distributed.Client(engine.address, timeout=engine.connect_timeout) as client:
            yield client
        return
    with (
        distributed.LocalCluster(
            n_workers=engine.n_workers,
            threads_per_worker=engine.threads_per_worker,
            processes=engine.processes,
            dashboard_address=engine.dashboard_address,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@contextlib.contextmanager
def fit_backend(engine: Any = None) -> Iterator[None]:
    """Run the node fits of ``fit`` calls inside the block on ``engine``.

    Parameters
    ----------
    engine : LocalEngine, DaskEngine or None
        None or a ``LocalEngine``: joblib's default (processes on this machine, as
        many as the estimator's ``n_jobs``). A ``DaskEngine``: joblib's dask backend
        on that cluster; an estimator with ``n_jobs=None`` then uses every worker
        thread of the cluster.
    """
    if engine is None or getattr(engine, "name", "local") == "local":
        yield
        return
    import joblib

    with dask_client(engine), joblib.parallel_config(backend="dask", n_jobs=-1):
        yield
