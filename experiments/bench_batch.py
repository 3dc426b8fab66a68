"""Batch prediction throughput and memory: hiercls.batch.predict_file against in-memory scoring.

The model is a HierarchicalClassifier with logistic regression at every node, 20 dense
features and 1,000 leaves (10 x 10 x 10), fitted on 100k rows. Every measurement runs in
its own process (one BLAS thread, as in the other benchmarks), so each has its own peak
RSS:

- ``memory``: the Parquet file read into a DataFrame first (not timed), then
  ``predict_paths`` (labels and per-level / path probabilities, the outputs the batch
  writes) in slices of 100k rows (the local engine's chunk size); the baseline;
- ``local``: ``predict_file`` with the local engine (chunks of 100k rows, Parquet
  parts), end to end: read, score, write, manifest, summary;
- ``local_top3``: the same with ``top_k=3`` (1M rows only);
- ``dask``: ``predict_file`` on a 2-worker ``distributed.LocalCluster`` (processes, one
  thread each), started first (timed apart); a cold run (workers import hiercls and get
  the model) then a warm one; peak RSS is the sum over the driver and workers, sampled;
- ``latency``: ``model.predict`` on single already-featurized rows (a 1-row DataFrame, and
  a 1-row ndarray to a model fitted on arrays), p50 / p99 over 2,000 calls, with a
  pyinstrument profile of where the time goes.

Input files of 1M and 10M rows (about 170 MB and 1.7 GB of Parquet, row groups of 250k
rows) are generated once under ``experiments/.cache/batch/`` (git-ignored).

Run::

    python experiments/bench_batch.py [--quick] [--out DIR]

writes ``batch.md`` and ``batch.json`` (``quick/batch_quick.*`` with ``--quick``: 100k and
1M rows, a smoke test of a few minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bench_utils as bu  # noqa: E402
import _runner as runner  # noqa: E402

CACHE = bu.REPO / "experiments" / ".cache" / "batch"
BRANCHING = (10, 10, 10)
N_FEATURES = 20
N_TRAIN = 100_000
BLOCK = 1_000_000  # rows per generated block
ROW_GROUP = 250_000  # rows per Parquet row group (Dask: one partition each)
CHUNK_ROWS = 100_000


# ----------------------------------------------------------------------- child side
class TreeSampler:
    """Peak of the summed RSS of this process and its descendants (Dask workers)."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, runner.tree_rss(os.getpid()))
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


def _prepare(spec: dict[str, Any]) -> dict[str, Any]:
    """Fit the model and write the input files (cached across runs)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from hiercls import HierarchicalClassifier
    from hiercls.datasets import make_hierarchical_classification
    from hiercls.artifacts import save_model

    CACHE.mkdir(parents=True, exist_ok=True)
    info_path = CACHE / "data.json"
    info = json.loads(info_path.read_text()) if info_path.exists() else {}
    key = {
        "branching": BRANCHING,
        "n_features": N_FEATURES,
        "n_train": N_TRAIN,
        "block": BLOCK,
        "row_group": ROW_GROUP,
    }
    if info.get("key") != json.loads(json.dumps(key)):
        info = {"key": key, "files": {}}
        for path in CACHE.iterdir():
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
    needed = [n for n in spec["sizes"] if str(n) not in info["files"]]
    if not (CACHE / "model").exists() or needed:
        started = time.perf_counter()
        X, Y = make_hierarchical_classification(
            N_TRAIN + BLOCK,
            n_levels=3,
            branching=BRANCHING,
            n_features=N_FEATURES,
            as_frame=True,
            random_state=0,
        )
        info["generate_s"] = time.perf_counter() - started
        if not (CACHE / "model").exists():
            started = time.perf_counter()
            model = HierarchicalClassifier(
                min_samples=1, sufficiency_policy="ignore", n_jobs=2, random_state=0
            ).fit(X.iloc[:N_TRAIN], Y.iloc[:N_TRAIN])
            info["fit_s"] = time.perf_counter() - started
            save_model(model, CACHE / "model", training_data=(X.iloc[:N_TRAIN], Y.iloc[:N_TRAIN]))
        new = X.iloc[N_TRAIN:].to_numpy()
        names = list(X.columns)
        rng = np.random.default_rng(1)
        for n_rows in needed:
            path = CACHE / f"rows_{n_rows}.parquet"
            writer = None
            for start in range(0, n_rows, BLOCK):
                size = min(BLOCK, n_rows - start)
                # Later blocks: the same rows, jittered, so no two blocks are equal.
                block = (
                    new[:size]
                    if start == 0
                    else new[:size] + rng.normal(0, 0.05, (size, N_FEATURES))
                )
                table = pa.table(
                    {
                        "row_id": np.arange(start, start + size),
                        **{name: block[:, j] for j, name in enumerate(names)},
                    }
                )
                if writer is None:
                    writer = pq.ParquetWriter(path, table.schema)
                writer.write_table(table, row_group_size=ROW_GROUP)
            writer.close()
            info["files"][str(n_rows)] = {
                "path": str(path),
                "bytes": path.stat().st_size,
                "row_groups": pq.read_metadata(path).num_row_groups,
            }
        info_path.write_text(json.dumps(info, indent=2))
    return info


def _in_memory(spec: dict[str, Any]) -> dict[str, Any]:
    import pyarrow.parquet as pq

    from hiercls.artifacts import load_model

    model = load_model(CACHE / "model")
    frame = pq.read_table(spec["path"], columns=[f"x{i}" for i in range(N_FEATURES)]).to_pandas()
    rss_loaded = runner.current_rss()
    seconds = 0.0
    cpu_started = time.process_time()
    # Slices of the local engine's chunk size: one call on 1M rows is slower (cache), and
    # the comparison is about I/O and bookkeeping, not chunking.
    for start in range(0, len(frame), CHUNK_ROWS):
        rows = frame.iloc[start : start + CHUNK_ROWS]
        started = time.perf_counter()
        model.predict_paths(rows)
        seconds += time.perf_counter() - started
    return {
        "rows": len(frame),
        "seconds": seconds,
        "cpu_seconds": time.process_time() - cpu_started,
        "rows_per_s": len(frame) / seconds,
        "rss_after_load_bytes": rss_loaded,
        "peak_rss_bytes": runner.peak_rss(),
    }


def _batch(spec: dict[str, Any]) -> dict[str, Any]:
    from hiercls.batch import DaskEngine, LocalEngine, predict_file
    from hiercls.artifacts import load_model

    model = load_model(CACHE / "model")
    extra: dict[str, Any] = {}
    close = None
    if spec["engine"] == "local":
        engines = [("run", LocalEngine())]
    else:
        import distributed

        started = time.perf_counter()
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = distributed.Client(cluster)
        extra["cluster_start_s"] = time.perf_counter() - started

        def close() -> None:
            client.close()
            cluster.close()

        # Cold: workers import hiercls and receive the model; warm: the same job again.
        engines = [("cold", DaskEngine(client=client)), ("run", DaskEngine(client=client))]
    rss_before = runner.current_rss()
    runner.reset_peak_rss()
    try:
        with TreeSampler() as tree:
            for label, engine in engines:
                out = Path(tempfile.mkdtemp(prefix="out_", dir=CACHE))
                try:
                    started = time.perf_counter()
                    cpu_started = time.process_time()
                    summary = predict_file(
                        model,
                        spec["path"],
                        out,
                        chunk_rows=CHUNK_ROWS,
                        top_k=spec.get("top_k", 0),
                        quiet=True,
                        engine=engine,
                    )
                    seconds = time.perf_counter() - started
                    cpu_seconds = time.process_time() - cpu_started  # this process's threads
                    output_bytes = sum(p.stat().st_size for p in out.glob("part-*"))
                finally:
                    shutil.rmtree(out, ignore_errors=True)
                if label == "cold":
                    extra["cold_seconds"] = seconds
    finally:
        if close is not None:
            close()
    return {
        "rows": summary.rows,
        "parts": summary.parts,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "rows_per_s": summary.rows / seconds,
        "rss_before_bytes": rss_before,
        "peak_rss_bytes": runner.peak_rss(),
        "peak_tree_rss_bytes": tree.peak,
        "output_bytes": output_bytes,
        "summary_line": summary.line(),
        **extra,
    }


def _latency(spec: dict[str, Any]) -> dict[str, Any]:
    from hiercls import HierarchicalClassifier
    from hiercls.datasets import make_hierarchical_classification
    from hiercls.artifacts import load_model

    model = load_model(CACHE / "model")
    X, Y = make_hierarchical_classification(
        N_TRAIN + 2000,
        n_levels=3,
        branching=BRANCHING,
        n_features=N_FEATURES,
        as_frame=True,
        random_state=0,
    )
    rows = X.iloc[N_TRAIN:]
    results: dict[str, Any] = {}
    frames = [rows.iloc[[i]] for i in range(len(rows))]
    arrays = [rows.to_numpy()[[i]] for i in range(len(rows))]
    # The same model fitted on arrays, for rows that arrive as plain vectors.
    array_model = HierarchicalClassifier(
        min_samples=1, sufficiency_policy="ignore", n_jobs=2, random_state=0
    ).fit(X.iloc[:N_TRAIN].to_numpy(), Y.iloc[:N_TRAIN])
    for name, clf, inputs in (
        ("dataframe_row", model, frames),
        ("ndarray_row", array_model, arrays),
    ):
        for item in inputs[:100]:  # warm-up
            clf.predict(item)
        times = np.empty(len(inputs))
        cpu = np.empty(len(inputs))
        for i, item in enumerate(inputs):
            started, cpu_started = time.perf_counter(), time.thread_time()
            clf.predict(item)
            times[i] = time.perf_counter() - started
            cpu[i] = time.thread_time() - cpu_started
        results[name] = {
            "calls": len(inputs),
            "p50_ms": float(np.percentile(times, 50) * 1e3),
            "p99_ms": float(np.percentile(times, 99) * 1e3),
            "p999_ms": float(np.percentile(times, 99.9) * 1e3),
            "mean_ms": float(times.mean() * 1e3),
            "max_ms": float(times.max() * 1e3),
            # CPU time of the calling thread: what the call costs, without the time
            # other processes on this shared machine took the core away.
            "cpu_p50_ms": float(np.percentile(cpu, 50) * 1e3),
            "cpu_p99_ms": float(np.percentile(cpu, 99) * 1e3),
        }
    try:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0001)
        profiler.start()
        for item in frames[:1000]:
            model.predict(item)
        profiler.stop()
        results["profile_dataframe_row"] = profiler.output_text(unicode=False, color=False)
        profiler = Profiler(interval=0.0001)
        profiler.start()
        for item in arrays[:1000]:
            array_model.predict(item)
        profiler.stop()
        results["profile_ndarray_row"] = profiler.output_text(unicode=False, color=False)
    except ImportError:
        results["profile_dataframe_row"] = "pyinstrument is not installed"
    return results


KINDS = {"prepare": _prepare, "memory": _in_memory, "batch": _batch, "latency": _latency}


def child(spec: dict[str, Any], result_path: str) -> None:
    warnings.simplefilter("ignore")
    result = KINDS[spec["kind"]](spec)
    result.setdefault("peak_rss_bytes", runner.peak_rss())
    Path(result_path).write_text(json.dumps(result))


# ---------------------------------------------------------------------- parent side
# Children import this frozen copy of hiercls/ (see main), not the working tree that
# other people edit while the benchmark runs.
ENV_EXTRA: dict[str, str] = {}


def run(spec: dict[str, Any], timeout: float, work: Path) -> dict[str, Any]:
    name = "_".join(str(v) for v in spec.values() if not isinstance(v, (list, dict)))[:80]
    name = "".join(c if c.isalnum() or c in "_-" else "_" for c in name)
    argv = [
        sys.executable,
        __file__,
        "--child",
        json.dumps(spec),
        "--result",
        str(work / f"{name}.json"),
    ]
    outcome = runner.run_child(
        argv,
        timeout=timeout,
        progress_path=work / f"{name}.progress",
        result_path=work / f"{name}.json",
        env_extra=ENV_EXTRA,
    )
    print(
        f"  {spec['kind']:8s} {json.dumps({k: v for k, v in spec.items() if k != 'kind'})[:90]}"
        f" -> {outcome['status']} in {outcome['wall_s']:.1f}s",
        flush=True,
    )
    if outcome["status"] != "ok":
        print(outcome["stderr_tail"], flush=True)
    return outcome


def mb(value: Any) -> str:
    return "" if value is None else f"{value / 2**20:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=None, help="folder (default: results/, with --quick results/quick/)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--child")
    parser.add_argument("--result")
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child), args.result)
        return

    sizes = [100_000, 1_000_000] if args.quick else [1_000_000, 10_000_000]
    repeats = 1 if args.quick else args.repeats
    out_dir = Path(args.out) if args.out else runner.results_dir(args.quick)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = "batch_quick" if args.quick else "batch"
    work = Path(tempfile.mkdtemp(prefix="bench_batch_"))
    (work / "snapshot").mkdir()
    snapshot = bu.snapshot_package(work / "snapshot", source="worktree")
    ENV_EXTRA["PYTHONPATH"] = snapshot["path"]
    started = time.perf_counter()
    report: dict[str, Any] = {
        "snapshot": snapshot,
        "machine": runner.machine_info(),
        "sizes": sizes,
        "chunk_rows": CHUNK_ROWS,
        "repeats": repeats,
        "runs": {},
    }
    print("prepare", flush=True)
    prepared = run({"kind": "prepare", "sizes": sizes}, args.timeout, work)
    if prepared["status"] != "ok":
        raise SystemExit("preparation failed")
    report["data"] = prepared["result"]

    def best(spec: dict[str, Any], n: int) -> dict[str, Any]:
        outcomes = [run(spec, args.timeout, work) for _ in range(n)]
        done = [o for o in outcomes if o["status"] == "ok"]
        if not done:
            return {"status": outcomes[-1]["status"], "all": outcomes}
        chosen = min(done, key=lambda o: o["result"]["seconds"])
        return {
            "status": "ok",
            **chosen["result"],
            "peak_rss_observed_bytes": chosen["peak_rss_bytes"],
            "all_seconds": [o["result"]["seconds"] for o in done],
        }

    for n_rows in sizes:
        path = report["data"]["files"][str(n_rows)]["path"]
        runs: dict[str, Any] = {}
        # Interleaved so that load from other processes on this shared machine hits both.
        for _ in range(repeats):
            for label, spec in (
                ("memory", {"kind": "memory", "path": path}),
                ("local", {"kind": "batch", "engine": "local", "path": path}),
            ):
                result = best(spec, 1)
                previous = runs.get(label)
                if previous is None or (
                    result["status"] == "ok" and result["seconds"] < previous.get("seconds", 1e18)
                ):
                    runs[label] = result
                runs.setdefault(f"{label}_all_seconds", []).append(result.get("seconds"))
        runs["dask"] = best({"kind": "batch", "engine": "dask", "path": path}, 1)
        if n_rows == sizes[0] or args.quick:
            runs["local_top3"] = best(
                {"kind": "batch", "engine": "local", "path": path, "top_k": 3}, 1
            )
        report["runs"][str(n_rows)] = runs
    print("latency", flush=True)
    latency = run({"kind": "latency"}, args.timeout, work)
    report["latency"] = latency["result"] if latency["status"] == "ok" else latency
    report["total_s"] = time.perf_counter() - started
    report["load_average_end"] = list(os.getloadavg())
    (out_dir / f"{stem}.json").write_text(json.dumps(report, indent=2, default=str))
    (out_dir / f"{stem}.md").write_text(render(report))
    print((out_dir / f"{stem}.md").read_text())
    shutil.rmtree(work, ignore_errors=True)


def render(report: dict[str, Any]) -> str:
    machine = report["machine"]
    dirty = ", ".join(machine.get("hiercls_dirty_files") or [])
    lines = [
        "# Batch prediction: throughput and memory",
        "",
        f"Machine: {machine['cpu_model']}, {machine['logical_cpus']} logical CPUs, "
        f"{machine['memory_gib']} GiB; Python {machine['python']}; one BLAS thread per process. "
        f"Load average at start {[round(x, 2) for x in machine.get('load_average') or []]}, "
        f"at the end {[round(x, 2) for x in report.get('load_average_end') or []]} (the "
        f"machine is shared: about 2 means another job kept one of the two cores busy).",
        runner.provenance_note([machine])[0] + f" hiercls sources "
        f"{machine.get('hiercls_sources_sha256')} (uncommitted: {dirty or 'none'}).",
        "",
        f"Model: HierarchicalClassifier, LogisticRegression at every node, {N_FEATURES} dense "
        f"features, {np.prod(BRANCHING):,} leaves ({' x '.join(map(str, BRANCHING))}), fitted on "
        f"{N_TRAIN:,} rows. Local engine: chunks of {report['chunk_rows']:,} rows, Parquet parts. "
        f"Best of {report['repeats']} interleaved runs for in-memory and local; each run in its "
        f"own process.",
        "",
        "| rows | file | in memory (predict_paths) | local engine | local / in-memory time | "
        "local peak RSS | in-memory peak RSS | Dask, 2 workers | "
        "Dask peak RSS (driver + workers) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for n_rows, runs in report["runs"].items():
        file_info = report["data"]["files"][n_rows]
        memory, local, dask = runs.get("memory", {}), runs.get("local", {}), runs.get("dask", {})
        ratio = (
            (local["seconds"] / memory["seconds"])
            if local.get("seconds") and memory.get("seconds")
            else None
        )
        lines.append(
            f"| {int(n_rows):,} | {file_info['bytes'] / 2**30:.2f} GiB, "
            f"{file_info['row_groups']} row groups "
            f"| {memory.get('rows_per_s', 0):,.0f} rows/s ({memory.get('seconds', 0):.1f} s) "
            f"| {local.get('rows_per_s', 0):,.0f} rows/s ({local.get('seconds', 0):.1f} s) "
            f"| {'' if ratio is None else f'{ratio:.2f}x'} "
            f"| {mb(local.get('peak_rss_bytes'))} MiB "
            f"(before: {mb(local.get('rss_before_bytes'))}) "
            f"| {mb(memory.get('peak_rss_bytes'))} MiB "
            f"| {dask.get('rows_per_s', 0):,.0f} rows/s ({dask.get('seconds', 0):.1f} s warm; "
            f"cold {dask.get('cold_seconds', 0):.1f} s; cluster start "
            f"{dask.get('cluster_start_s', 0):.1f} s) "
            f"| {mb(dask.get('peak_tree_rss_bytes'))} MiB |"
        )
    cpu_notes = []
    for n, runs in report["runs"].items():
        memory_cpu = runs.get("memory", {}).get("cpu_seconds") or float("nan")
        local_cpu = runs.get("local", {}).get("cpu_seconds") or float("nan")
        cpu_notes.append(
            f"{int(n):,} rows: in memory {memory_cpu:.1f}, local {local_cpu:.1f} "
            f"({local_cpu / memory_cpu:.2f}x)"
        )
    lines += [
        "",
        "CPU seconds of the process (all its threads; less sensitive to other jobs than wall "
        "time): " + "; ".join(cpu_notes) + ".",
    ]
    sizes = list(report["runs"])
    if len(sizes) >= 2:
        small, large = (report["runs"][s].get("local", {}) for s in sizes[:2])
        if small.get("peak_rss_bytes") and large.get("peak_rss_bytes"):
            lines += [
                "",
                f"Local engine peak RSS, {int(sizes[1]):,} rows minus {int(sizes[0]):,} rows "
                f"({int(sizes[1]) // int(sizes[0])}x the file): "
                f"{(large['peak_rss_bytes'] - small['peak_rss_bytes']) / 2**20:+,.0f} MiB.",
            ]
    for n_rows, runs in report["runs"].items():
        top = runs.get("local_top3")
        if top and top.get("seconds"):
            lines += [
                "",
                f"Local engine with top_k=3 on {int(n_rows):,} rows: "
                f"{top['rows_per_s']:,.0f} rows/s "
                f"({top['seconds']:.1f} s), peak RSS {mb(top['peak_rss_bytes'])} MiB.",
            ]
    lines += [
        "",
        "All timings (s): "
        + "; ".join(
            f"{n}: in memory {runs.get('memory_all_seconds')}, "
            f"local {runs.get('local_all_seconds')}"
            for n, runs in report["runs"].items()
        ),
    ]
    latency = report.get("latency", {})
    if "dataframe_row" in latency:
        lines += [
            "",
            "## Single-row latency of `model.predict` (already featurized rows)",
            "",
            "| input | calls | p50 | p99 | p99.9 | mean | max | CPU p50 | CPU p99 |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for name in ("dataframe_row", "ndarray_row"):
            item = latency[name]
            lines.append(
                f"| {name.replace('_', ' ')} | {item['calls']:,} | {item['p50_ms']:.2f} ms "
                f"| {item['p99_ms']:.2f} ms | {item['p999_ms']:.2f} ms | {item['mean_ms']:.2f} ms "
                f"| {item['max_ms']:.2f} ms | {item.get('cpu_p50_ms', float('nan')):.2f} ms "
                f"| {item.get('cpu_p99_ms', float('nan')):.2f} ms |"
            )
        for name in ("profile_dataframe_row", "profile_ndarray_row"):
            if name in latency:
                lines += [
                    "",
                    f"### pyinstrument: {name.replace('profile_', '')} x 1,000",
                    "",
                    "```",
                    latency[name].strip()[:6000],
                    "```",
                ]
    lines += ["", f"Total benchmark time: {report['total_s'] / 60:.1f} min.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
