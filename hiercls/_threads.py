"""Score a few rows on one OpenMP thread.

Node models from other libraries (scikit-learn's k-NN and histogram boosting,
LightGBM) open an OpenMP region on every core for every call. For a handful of rows
there is nothing to share out, and on a busy machine (a server running one worker per
core) each region waits for every thread to be scheduled: a single-row k-NN descent
measured 138 ms at the median instead of 15 ms (experiments/bench_small_batch_threads.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from threadpoolctl import ThreadpoolController

#: Calls on at most this many rows run on one OpenMP thread.
SINGLE_THREAD_MAX_ROWS = 64

_controllers: list[Any] = []
_seen_types: set[type] = set()


def _openmp_controllers(model: Any) -> list[Any]:
    # A model of a type not seen before may have loaded its own OpenMP runtime (LightGBM
    # links the system's libgomp, scikit-learn ships another): look again, once per type.
    if type(model) not in _seen_types:
        _controllers[:] = ThreadpoolController().select(user_api="openmp").lib_controllers
        _seen_types.add(type(model))
    return _controllers


@contextmanager
def one_openmp_thread(model: Any) -> Iterator[None]:
    """Run the block with OpenMP limited to the calling thread (~20 µs).

    ``omp_set_num_threads`` sets the calling thread's own limit, so other threads
    predicting at the same time keep theirs.
    """
    controllers = _openmp_controllers(model)
    previous = [controller.get_num_threads() for controller in controllers]
    for controller in controllers:
        controller.set_num_threads(1)
    try:
        yield
    finally:
        for controller, n_threads in zip(controllers, previous, strict=True):
            controller.set_num_threads(n_threads)
