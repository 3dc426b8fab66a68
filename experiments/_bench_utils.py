"""Helpers shared by the benchmark scripts in ``experiments/``.

Nothing here is imported by ``hiercls``. The pieces:

- machine and version notes for a result file;
- peak resident memory of this process (Linux ``/proc``), resettable per phase;
- running one measurement in its own process with a time limit, so a timeout or an
  out-of-memory kill becomes a result instead of a crash of the whole benchmark;
- a fallback synthetic data generator, for when ``hiercls.datasets`` is unavailable.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]

# One thread everywhere: the benchmark measures the framework, not BLAS or OpenMP.
SINGLE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONWARNINGS": "ignore",
}


# ------------------------------------------------------------------- frozen sources
def snapshot_package(
    dest: Path, *, source: str = "worktree", tries: int = 6, wait_seconds: float = 20.0
) -> dict[str, Any]:
    """Copy ``hiercls/`` into ``dest`` so that every child measures the same code.

    Other people edit the working tree while a benchmark runs for an hour; children
    run with ``PYTHONPATH=dest``, ahead of the editable install. ``source`` is
    ``"worktree"`` (the files as they are now), ``"head"`` (the last commit) or any
    other git revision (to measure an earlier version in the same run). A copy
    that does not import (someone is mid-edit) is retried after ``wait_seconds``.
    """
    import shutil

    target = dest / "hiercls"
    for attempt in range(tries):
        shutil.rmtree(target, ignore_errors=True)
        if source != "worktree":
            revision = "HEAD" if source == "head" else source
            archive = subprocess.run(
                ["git", "-C", str(REPO), "archive", revision, "hiercls"], capture_output=True, check=True
            ).stdout
            subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
        else:
            shutil.copytree(REPO / "hiercls", target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        check = subprocess.run(
            [sys.executable, "-c", "import hiercls, hiercls.datasets; print(hiercls.__file__)"],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(dest)},
            cwd=str(dest),
        )
        if check.returncode == 0 and check.stdout.strip().startswith(str(dest)):
            state = source_state(target)
            return {
                "source": source,
                "path": str(dest),
                "attempts": attempt + 1,
                "hiercls_sources_sha256": state["hiercls_sources_sha256"],
            }
        time.sleep(wait_seconds)
    raise RuntimeError(f"hiercls from {source} does not import:\n{check.stderr[-2000:]}")


# ----------------------------------------------------------------------------- machine
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def package_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def source_state(package_dir: Path = REPO / "hiercls") -> dict[str, Any]:
    """Git commit plus a hash of the package's sources as they are on disk.

    Other people edit the working tree while benchmarks run, so the commit alone
    does not say which code was measured.
    """

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.rstrip("\n") if out.returncode == 0 else None

    digest = hashlib.sha256()
    for path in sorted(p for p in package_dir.rglob("*.py") if "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(package_dir)).encode())
        digest.update(path.read_bytes())
    dirty = git("status", "--porcelain", "--", str(package_dir))
    return {
        "git_commit": (git("rev-parse", "HEAD") or "").strip() or None,
        "hiercls_dirty_files": sorted(line[3:] for line in (dirty or "").splitlines()),
        "hiercls_sources_sha256": digest.hexdigest()[:16],
    }


def machine_info() -> dict[str, Any]:
    return {
        "cpu_model": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "memory_gib": memory_total_gib(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "versions": {
            name: package_version(name)
            for name in (
                "hiercls",
                "hiclass",
                "scikit-learn",
                "numpy",
                "pandas",
                "joblib",
                "networkx",
                "pyinstrument",
            )
        },
        **source_state(),
    }


# ------------------------------------------------------------------------------ memory
def _status_bytes(pid: int | str, key: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def current_rss() -> int | None:
    """Resident set size of this process, bytes."""
    return _status_bytes("self", "VmRSS")


def peak_rss() -> int | None:
    """Peak resident set size of this process since start or the last reset, bytes."""
    value = _status_bytes("self", "VmHWM")
    if value is None:  # not Linux: ru_maxrss cannot be reset, but is better than nothing
        import resource

        scale = 1 if sys.platform == "darwin" else 1024
        value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    return value


def reset_peak_rss() -> bool:
    """Set the peak RSS back to the current RSS (Linux >= 4.0), so a phase has its own peak."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def deep_nbytes(value: Any) -> int:
    """Bytes held by an array, counting the Python objects an object array points to."""
    array = np.asarray(value)
    total = array.nbytes
    if array.dtype == object:
        total += sum(sys.getsizeof(item) for item in array.ravel().tolist())
    return total


# ----------------------------------------------------------------------- isolated runs
def run_isolated(
    argv: Sequence[str],
    *,
    timeout: float,
    progress_path: Path,
    result_path: Path,
    poll_seconds: float = 0.25,
    env_extra: dict[str, str] | None = None,
    memory_limit_bytes: int | None = None,
) -> dict[str, Any]:
    """Run ``argv`` in a new process group with a time limit and watch its peak memory.

    The child appends one JSON object per finished phase to ``progress_path`` and
    writes its final JSON result to ``result_path``. On a timeout the process group
    is killed and the phases finished so far are kept. ``memory_limit_bytes`` caps the
    child's address space, so a runaway allocation raises MemoryError in the child
    instead of waking the kernel's out-of-memory killer on a shared machine.

    Returns
    -------
    outcome : dict
        ``status`` ("ok", "timeout", "error" or "killed"), ``wall_s`` of the whole
        child, ``peak_rss_bytes`` observed from outside, ``result`` (the child's JSON
        or None), ``progress`` (finished phases), ``stderr_tail``.
    """
    progress_path.unlink(missing_ok=True)
    result_path.unlink(missing_ok=True)
    stderr_path = result_path.with_suffix(".stderr")
    env = {**os.environ, **SINGLE_THREAD_ENV, **(env_extra or {})}

    def limit_memory() -> None:
        if memory_limit_bytes:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (memory_limit_bytes, memory_limit_bytes))

    start = time.perf_counter()
    peak = 0
    with open(stderr_path, "w") as stderr:
        process = subprocess.Popen(
            list(argv),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
            start_new_session=True,
            preexec_fn=limit_memory,
        )
        status = None
        while True:
            try:
                returncode = process.wait(timeout=poll_seconds)
                break
            except subprocess.TimeoutExpired:
                peak = max(peak, _status_bytes(process.pid, "VmHWM") or 0)
                if time.perf_counter() - start > timeout:
                    status = "timeout"
                    os.killpg(process.pid, signal.SIGKILL)  # the group this call started
                    returncode = process.wait()
                    break
    wall = time.perf_counter() - start
    result = None
    if result_path.exists():
        result = json.loads(result_path.read_text())
        peak = max(peak, result.get("peak_rss_bytes") or 0)
    if status is None:
        if returncode == 0 and result is not None:
            status = "ok"
        elif returncode < 0:
            status = "killed"  # e.g. SIGKILL from the kernel's out-of-memory killer
        else:
            status = "error"
    progress = []
    if progress_path.exists():
        progress = [json.loads(line) for line in progress_path.read_text().splitlines() if line]
    stderr_text = stderr_path.read_text(errors="replace") if stderr_path.exists() else ""
    return {
        "status": status,
        "returncode": returncode,
        "wall_s": wall,
        "timeout_s": timeout,
        "peak_rss_bytes": peak or None,
        "result": result,
        "progress": progress,
        "stderr_tail": stderr_text[-3000:] if status != "ok" else "",
    }


class Progress:
    """Child side of :func:`run_isolated`: append finished phases to a file as they end."""

    def __init__(self, path: str | None) -> None:
        self.path = path

    def __call__(self, **record: Any) -> None:
        if self.path:
            with open(self.path, "a") as handle:
                handle.write(json.dumps(record) + "\n")


# -------------------------------------------------------------------------------- data
def make_tree_data(
    n_samples: int,
    branching: Sequence[int],
    *,
    n_features: int = 20,
    tail_exponent: float = 1.0,
    random_state: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Random features and label paths on a complete tree with Zipf leaf sizes.

    Labels are unique per node and path-like (``"a3"``, ``"a3.1"``, ...). The features
    carry no signal: the benchmark measures the framework, not the models.
    """
    rng = np.random.default_rng(random_state)
    sizes = np.cumprod(branching)
    n_leaves = int(sizes[-1])
    weights = np.arange(1, n_leaves + 1, dtype=np.float64) ** -tail_exponent
    weights /= weights.sum()
    guaranteed = min(1, n_samples // n_leaves)
    support = np.full(n_leaves, guaranteed, dtype=np.int64)
    support[rng.permutation(n_leaves)] += rng.multinomial(n_samples - guaranteed * n_leaves, weights)
    leaf_of_row = rng.permutation(np.repeat(np.arange(n_leaves), support))
    Y = np.empty((n_samples, len(branching)), dtype=object)
    labels = np.array([f"a{i}" for i in range(branching[0])], dtype=object)
    for level in range(len(branching)):
        if level:
            suffixes = [f".{i}" for i in range(branching[level])]
            labels = np.array([p + s for p in labels.tolist() for s in suffixes], dtype=object)
        Y[:, level] = labels[leaf_of_row // (n_leaves // int(sizes[level]))]
    X = rng.standard_normal((n_samples, n_features), dtype=np.float32)
    return X, Y


def load_data(
    n_samples: int, branching: Sequence[int], *, n_features: int = 20, random_state: int = 0
) -> tuple[np.ndarray, np.ndarray, str]:
    """Data from ``hiercls.datasets`` when it works, else from :func:`make_tree_data`.

    X is float32 either way (what a production feature matrix usually is).
    """
    try:
        from hiercls.datasets import make_hierarchical_classification

        X, Y = make_hierarchical_classification(
            n_samples,
            n_levels=len(branching),
            branching=tuple(branching),
            n_features=n_features,
            tail_exponent=1.0,
            random_state=random_state,
        )
        return np.asarray(X, dtype=np.float32), np.asarray(Y), "hiercls.datasets"
    except Exception as exc:  # the generator is being written concurrently
        print(f"hiercls.datasets unavailable ({exc!r}); using the fallback", file=sys.stderr)
        X, Y = make_tree_data(n_samples, branching, n_features=n_features, random_state=random_state)
        return X, Y, "fallback"
