"""The one process runner of the benchmark suite, the provenance of a run, its table header.

Nothing here is imported by ``hiercls``. Every ``bench_*.py`` script runs each
measurement in a fresh child process (fork + exec of ``python script --child ...``)
through :func:`run_child`, so a timeout, an out-of-memory kill or a crash becomes a
result line instead of ending the benchmark, and the peak memory of one measurement is
not mixed with the one before it. The pieces:

- provenance: :func:`git_commit` (short hash, ``-dirty`` when tracked files differ),
  :func:`package_versions` of hiercls and its peers, :func:`machine_info`;
- child side: :func:`peak_rss` (``VmHWM`` of ``/proc/self/status``),
  :func:`current_rss`, :func:`reset_peak_rss` (a phase gets its own peak) and
  :class:`Progress` (finished phases, kept when the parent kills the child);
- parent side: :func:`run_child` (one child under a time and memory limit; peak RSS of
  the child and of its process tree, polled) and :func:`run_spec` (run
  ``script --child spec`` and append one JSON line, with commit and versions, to a
  ``*_runs.jsonl`` log);
- tables: :func:`provenance_note` and :func:`markdown_table`, whose header names the
  commit and versions of every row (one commit for the table, or a commit column).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "experiments" / "results"
QUICK_RESULTS = RESULTS / "quick"  # gitignored: smoke-test outputs never reach the tables

# One thread everywhere: the benchmarks measure the framework, not BLAS or OpenMP.
SINGLE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONWARNINGS": "ignore",
}

# The packages whose versions every run line and every table records.
PEERS = ("hiercls", "scikit-learn", "lightgbm", "numpy", "scipy", "pandas", "napkinxc", "hiclass")

NOT_RECORDED = "commit not recorded"


def results_dir(quick: bool) -> Path:
    """Where a script writes: the committed tables, or the gitignored ``results/quick/``."""
    out = QUICK_RESULTS if quick else RESULTS
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_table(lines: Sequence[str], name: str, quick: bool) -> Path:
    """Write a Markdown table's lines to ``name`` in :func:`results_dir`, and print them."""
    text = "\n".join(lines) + "\n"
    path = results_dir(quick) / name
    path.write_text(text)
    print(text, f"\nwritten to {path}", sep="")
    return path


# -------------------------------------------------------------------------- provenance
def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.rstrip("\n") if out.returncode == 0 else None


def git_commit() -> str | None:
    """``git rev-parse --short HEAD`` plus ``-dirty`` when tracked files have changes."""
    commit = (_git("rev-parse", "--short", "HEAD") or "").strip()
    if not commit:
        return None
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return commit + ("-dirty" if dirty else "")


def package_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def package_versions(names: Iterable[str] = PEERS) -> dict[str, str | None]:
    return {name: package_version(name) for name in names}


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


def source_state(package_dir: Path = REPO / "hiercls") -> dict[str, Any]:
    """A hash of the package's sources as they are on disk, and its uncommitted files.

    Other people edit the working tree while benchmarks run, so the commit alone
    does not say which code was measured.
    """
    digest = hashlib.sha256()
    for path in sorted(p for p in package_dir.rglob("*.py") if "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(package_dir)).encode())
        digest.update(path.read_bytes())
    dirty = _git("status", "--porcelain", "--", str(package_dir))
    return {
        "hiercls_dirty_files": sorted(line[3:] for line in (dirty or "").splitlines()),
        "hiercls_sources_sha256": digest.hexdigest()[:16],
    }


def machine_info() -> dict[str, Any]:
    """CPU, memory, load, commit and versions: what a result needs to be compared."""
    return {
        "cpu_model": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "memory_gib": memory_total_gib(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "versions": package_versions((*PEERS, "joblib", "networkx", "pyinstrument")),
        **source_state(),
        "git_commit": git_commit(),
    }


# -------------------------------------------------------------------------- child side
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
    """Peak resident set size (VmHWM) of this process since start or the last reset, bytes."""
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


class Progress:
    """Child side of :func:`run_child`: append finished phases to a file as they end."""

    def __init__(self, path: str | None) -> None:
        self.path = path

    def __call__(self, **record: Any) -> None:
        if self.path:
            with open(self.path, "a") as handle:
                handle.write(json.dumps(record) + "\n")


# ------------------------------------------------------------------------- parent side
def tree_rss(pid: int) -> int:
    """RSS of a process and all its descendants (psutil when installed, else the process)."""
    try:
        import psutil
    except ImportError:
        return _status_bytes(pid, "VmRSS") or 0
    try:
        handle = psutil.Process(pid)
        total = handle.memory_info().rss
        for child in handle.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                pass
    except psutil.Error:
        return 0
    return total


def run_child(
    argv: Sequence[str],
    *,
    timeout: float,
    result_path: Path | None = None,
    progress_path: Path | None = None,
    stderr_path: Path | None = None,
    env: Mapping[str, str] | None = None,
    env_extra: Mapping[str, str] | None = None,
    memory_limit_bytes: int | None = None,
    address_space_limit_bytes: int | None = None,
    poll_seconds: float = 0.1,
) -> dict[str, Any]:
    """Run ``argv`` in a new process group under a time limit and watch its memory.

    The child writes its JSON result to ``result_path`` (it may rewrite it after
    every phase) and may append one JSON object per finished phase to
    ``progress_path``. The environment is ``env`` (default: this one) plus
    :data:`SINGLE_THREAD_ENV` plus ``env_extra``. On a timeout, or when the polled
    RSS of the process tree exceeds ``memory_limit_bytes``, the group (which this call
    started) is killed and what the child wrote so far is kept.
    ``address_space_limit_bytes`` caps the child's address space instead, so a runaway
    allocation raises MemoryError in the child rather than waking the kernel's
    out-of-memory killer on a shared machine.

    Returns
    -------
    outcome : dict
        ``status`` ("ok", "error", "timeout", "memory_limit" or "killed"),
        ``returncode``, ``wall_s``, ``timeout_s``, ``peak_rss_bytes`` (the largest of
        the child's VmHWM polled from outside, the process tree's RSS polled and the
        ``peak_rss_bytes`` the child reported), ``peak_rss_tree_polled``, ``result``
        (the child's JSON or None), ``progress`` (finished phases) and
        ``stderr_tail`` (empty when the run is ok).
    """
    for path in (result_path, progress_path):
        if path is not None:
            path.unlink(missing_ok=True)
    if stderr_path is None:
        stderr_path = (
            result_path.with_suffix(".stderr")
            if result_path is not None
            else Path(tempfile.gettempdir()) / f"run_child_{os.getpid()}.stderr"
        )
    full_env = {**(os.environ if env is None else env), **SINGLE_THREAD_ENV, **(env_extra or {})}

    def limit_address_space() -> None:
        if address_space_limit_bytes:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (address_space_limit_bytes, address_space_limit_bytes))

    start = time.perf_counter()
    peak_hwm = peak_tree = 0
    status = None
    with open(stderr_path, "w") as stderr:
        process = subprocess.Popen(
            list(argv),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=full_env,
            start_new_session=True,
            preexec_fn=limit_address_space if address_space_limit_bytes else None,
        )
        try:
            while True:
                try:
                    returncode = process.wait(timeout=poll_seconds)
                    break
                except subprocess.TimeoutExpired:
                    pass
                peak_hwm = max(peak_hwm, _status_bytes(process.pid, "VmHWM") or 0)
                peak_tree = max(peak_tree, tree_rss(process.pid))
                elapsed = time.perf_counter() - start
                over_memory = memory_limit_bytes is not None and peak_tree > memory_limit_bytes
                if elapsed > timeout or over_memory:
                    status = "timeout" if elapsed > timeout else "memory_limit"
                    os.killpg(process.pid, signal.SIGKILL)
                    returncode = process.wait()
                    break
        except BaseException:  # Ctrl-C in the parent: do not leave the child's group running
            os.killpg(process.pid, signal.SIGKILL)
            raise
    wall = time.perf_counter() - start
    result = None
    if result_path is not None and result_path.exists():
        try:
            result = json.loads(result_path.read_text())
        except json.JSONDecodeError:  # killed while writing
            result = None
    reported = (result or {}).get("peak_rss_bytes") or (result or {}).get("peak_rss_self_bytes") or 0
    if status is None:
        if returncode == 0 and (result_path is None or result is not None):
            status = "ok"
        elif returncode < 0:
            status = "killed"  # e.g. SIGKILL from the kernel's out-of-memory killer
        else:
            status = "error"
    progress = []
    if progress_path is not None and progress_path.exists():
        progress = [json.loads(line) for line in progress_path.read_text().splitlines() if line]
    stderr_text = stderr_path.read_text(errors="replace") if stderr_path.exists() else ""
    return {
        "status": status,
        "returncode": returncode,
        "wall_s": wall,
        "timeout_s": timeout,
        "peak_rss_bytes": max(peak_hwm, peak_tree, reported) or None,
        "peak_rss_tree_polled": peak_tree or None,
        "result": result,
        "progress": progress,
        "stderr_tail": stderr_text[-3000:] if status != "ok" else "",
    }


def append_run(out: Path, record: Mapping[str, Any]) -> dict[str, Any]:
    """Append one run as a JSON line, adding commit, versions and time stamp when absent."""
    line = {"git_commit": git_commit(), "versions": package_versions(), **record}
    line.setdefault("timestamp", time.strftime("%Y-%m-%dT%H:%M:%S"))
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "a") as handle:
        handle.write(json.dumps(line, default=float) + "\n")
    return line


def run_spec(
    script: str,
    spec: Mapping[str, Any],
    result_path: Path,
    *,
    timeout: float,
    memory_limit: int,
    env: Mapping[str, str],
    out: Path,
    machine: Mapping[str, Any],
) -> dict[str, Any]:
    """Run ``script --child spec --result result_path`` and append its line to ``out``.

    The child rewrites its JSON result at ``result_path`` after every phase, with
    ``phase: "done"`` when it finished. The line adds status, wall time, peak RSS of
    the process tree, load averages, time stamp, CPU model, versions and commit; a
    failed run keeps the tail of its stderr.
    """
    load_before = list(os.getloadavg())
    outcome = run_child(
        [sys.executable, script, "--child", json.dumps(spec), "--result", str(result_path)],
        timeout=timeout,
        result_path=result_path,
        env=env,
        memory_limit_bytes=memory_limit,
    )
    result = outcome["result"] or {}
    status = outcome["status"]
    if status == "ok" and result.get("phase") != "done":
        status = "error"
    line = {
        **result,
        "status": status,
        "timeout_s": timeout,
        "wall_s": outcome["wall_s"],
        "peak_rss_tree_bytes": outcome["peak_rss_bytes"],
        "load_average_before": load_before,
        "load_average_after": list(os.getloadavg()),
        "cpu_model": machine["cpu_model"],
        "versions": machine.get("versions"),
        "git_commit": machine.get("git_commit"),
    }
    if status != "ok":
        line["stderr_tail"] = (
            outcome["stderr_tail"] or result_path.with_suffix(".stderr").read_text(errors="replace")
        )[-1500:]
    return append_run(out, line)


# ------------------------------------------------------------------------------ tables
def _versions_text(versions: Any) -> str:
    if not isinstance(versions, Mapping):
        return "versions not recorded"
    return ", ".join(f"{k} {v}" for k, v in sorted((versions or {}).items()) if v) or "versions not recorded"


def row_commit(row: Mapping[str, Any]) -> str:
    """The commit a run line recorded, shortened, or "commit not recorded"."""
    commit = row.get("git_commit") or row.get("commit")
    if not commit or (isinstance(commit, float) and commit != commit):  # None or NaN
        return NOT_RECORDED
    commit, _, dirty = str(commit).partition("-")
    return commit[:10] + (f"-{dirty}" if dirty else "")


def provenance_note(rows: Sequence[Mapping[str, Any]]) -> tuple[str, bool]:
    """The header sentence naming the commit(s) and versions of ``rows``.

    Returns ``(text, per_row)``: ``per_row`` is True when the rows come from several
    commits or versions, and the table must then show a commit column.
    """
    commits = list(dict.fromkeys(row_commit(r) for r in rows))
    versions = list(dict.fromkeys(_versions_text(r.get("versions")) for r in rows))
    if len(commits) <= 1 and len(versions) <= 1:
        commit = commits[0] if commits else NOT_RECORDED
        named = commit if commit == NOT_RECORDED else f"commit {commit}"
        return f"Every row: {named}; {versions[0] if versions else 'versions not recorded'}.", False
    counts = {c: sum(row_commit(r) == c for r in rows) for c in commits}
    text = (
        f"Rows come from {len(commits)} commit(s) ("
        + ", ".join(f"{c}: {n} row{'s' * (n != 1)}" for c, n in counts.items())
        + "); the commit column names each row's."
    )
    if len(versions) == 1:
        text += f" Versions: {versions[0]}."
    else:
        first = {c: next(r.get("versions") for r in rows if row_commit(r) == c) for c in commits}
        per_commit = "; ".join(f"{c}: {_versions_text(v)}" for c, v in first.items())
        text += f" Versions per commit: {per_commit}."
    return text, True


def markdown_table(
    columns: Sequence[str], rows: Sequence[Mapping[str, Any]], cells: Sequence[Sequence[str]]
) -> list[str]:
    """A provenance sentence and a Markdown table; adds a commit column when rows differ.

    ``rows`` are the run records (for ``git_commit`` and ``versions``); ``cells`` the
    formatted cells of each, in ``columns`` order.
    """
    note, per_row = provenance_note(rows)
    header = [*columns, "commit"] if per_row else list(columns)
    lines = [note, "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row, cell in zip(rows, cells, strict=True):
        lines.append("| " + " | ".join([*cell, *([row_commit(row)] if per_row else [])]) + " |")
    return lines
