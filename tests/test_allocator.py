"""Worker processes get glibc's long-running malloc thresholds; the user's process never does."""

from __future__ import annotations

import multiprocessing
import platform
from concurrent.futures import ProcessPoolExecutor

import pytest

from hiercls._allocator import OPT_OUT_VARIABLE, settle_worker_allocator

# Spawns worker processes: the fast loop skips them (pytest -m "not slow").
pytestmark = pytest.mark.slow

glibc_only = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="the thresholds are glibc's",
)


def _faults_per_allocation(settle: bool) -> tuple[bool, float]:
    """In a worker: page faults per 3 MiB array allocated, touched and freed."""
    import resource

    import numpy as np

    settled = settle_worker_allocator() if settle else False

    def allocate() -> None:
        # 3 MiB: above the 128 KiB mmap threshold, below numpy's 4 MiB huge-page cutoff.
        np.ones(3 * 1024 * 1024 // 8).sum()

    allocate()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        allocate()
    return settled, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20


def _in_fresh_worker(settle: bool) -> tuple[bool, float]:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_faults_per_allocation, settle).result()


def test_the_main_process_is_left_alone():
    assert settle_worker_allocator() is False


@glibc_only
def test_worker_stops_page_faulting_its_arrays_in_again(monkeypatch):
    # Dask starts its workers with this trim threshold, which also pins the mmap
    # threshold at 128 KiB: every array is mapped afresh and faulted in page by page.
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    monkeypatch.delenv(OPT_OUT_VARIABLE, raising=False)
    settled, faults = _in_fresh_worker(settle=False)
    assert not settled
    assert faults > 500  # 768 pages of 4 KiB each time
    settled, faults = _in_fresh_worker(settle=True)
    assert settled
    assert faults < 50


@glibc_only
@pytest.mark.parametrize(
    ("variable", "value"), [(OPT_OUT_VARIABLE, "0"), ("MALLOC_MMAP_THRESHOLD_", "1048576")]
)
def test_a_worker_started_with_its_own_choice_keeps_it(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    settled, _ = _in_fresh_worker(settle=True)
    assert not settled
