"""Framework overhead of hiercls next to hiclass 5.0.8, with a model that costs nothing.

The base model is ``DummyClassifier`` and ``n_jobs=1`` everywhere (a process pool's
start-up would hide the overhead), so the time measured is the framework's own:
routing rows to nodes, encoding labels, cloning and calling node models, decoding.

Sections (each measurement runs in its own process with a time limit, so a timeout
or an out-of-memory kill is recorded as a result):

- ``headline``: 20k rows, 1,000 leaves on 2 levels; hiercls against hiclass's three
  strategies (fit, predict, predict_proba), best of 3 repeats, run in ``--rounds``
  rounds (the best round is reported, all are kept in the JSON);
- ``stress``: the same with ``DummyClassifier(strategy="stratified")``, whose random
  one-hot probabilities send rows to every node, so routing is really exercised;
- ``big``: 1M rows, 10,000 leaves on 3 levels; hiercls fit, predict and top-k paths
  (dense per-level probabilities for 1M x 10k do not fit in memory), and hiclass's
  fastest strategy (``LocalClassifierPerParentNode``) under ``--hiclass-timeout``;
- ``scaling``: hiercls at 20k / 100k / 1M rows with the number of leaves fixed, and at
  100k rows with 100 / 1,000 / 10,000 leaves;
- ``labels``: memory of the encoded labels for 1M rows x 3 levels;
- ``profiles``: pyinstrument profiles of hiercls (20k x 1k and 1M x 10k).

Run::

    python experiments/bench_overhead.py [--quick] [--out DIR]

writes ``overhead.md``, ``overhead.json``, ``overhead.csv`` and
``overhead_profiles.md`` (``results/quick/overhead_quick*`` with ``--quick``, a smoke test that
runs in under a minute).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bench_utils as bu  # noqa: E402
import _runner  # noqa: E402

SECTIONS = ("headline", "stress", "big", "scaling", "labels", "profiles")
HICLASS_STRATEGIES = (
    "LocalClassifierPerParentNode",
    "LocalClassifierPerNode",
    "LocalClassifierPerLevel",
)
# The targets, as hiclass LocalClassifierPerParentNode time / hiercls time.
TARGETS = {"fit": 20.0, "predict": 20.0, "predict_proba": 10.0}
LABEL_MEMORY_TARGET_MB = 50.0
TOP_K_CHUNK = 100_000
MB = 2**20


@dataclass(frozen=True)
class Plan:
    """Problem sizes; ``branching`` is the number of children per node, level by level."""

    headline: tuple[int, tuple[int, ...]] = (20_000, (20, 50))
    big: tuple[int, tuple[int, ...]] = (1_000_000, (20, 20, 25))
    row_counts: tuple[int, ...] = (20_000, 100_000, 1_000_000)
    row_branchings: tuple[tuple[int, ...], ...] = ((20, 50), (20, 20, 25))
    node_rows: int = 100_000
    node_branchings: tuple[tuple[int, ...], ...] = ((5, 5, 4), (10, 10, 10), (20, 20, 25))
    # Nodes no row visits: (children, grandchildren) of each of the 9 unvisited classes.
    unvisited_rows: int = 100_000
    unvisited_extra: tuple[tuple[int, int], ...] = ((1, 1), (10, 10), (32, 32), (100, 100))
    repeats: int = 3
    big_repeats: int = 3
    # Dense predict_proba only where n_samples x n_leaves float64 stays under ~0.8 GB.
    max_proba_cells: float = 1e8
    profile_big: bool = True
    profile_loops: dict[str, int] = field(
        default_factory=lambda: {"fit": 20, "predict": 50, "predict_proba": 3, "predict_top_k": 1}
    )


FULL = Plan()
# Few children: each one pays ~2 s of imports (more on a loaded machine). The scaling
# series reuse the "big" child (20k rows), so quick mode starts 8 processes.
QUICK = Plan(
    headline=(2_000, (5, 10)),
    big=(20_000, (5, 5, 8)),
    row_counts=(5_000, 20_000),
    row_branchings=((5, 5, 8),),
    node_rows=20_000,
    node_branchings=((2, 2, 5), (5, 5, 8)),
    unvisited_rows=5_000,
    unvisited_extra=((1, 1), (10, 10)),
    repeats=2,
    big_repeats=1,
    profile_big=False,
    profile_loops={"fit": 2, "predict": 2, "predict_proba": 1, "predict_top_k": 1},
)


# =====================================================================================
# Child side: one measurement in a fresh process
# =====================================================================================
def _make_model(library: str, strategy: str, dummy: str) -> Any:
    from sklearn.dummy import DummyClassifier

    base = DummyClassifier(strategy=dummy, random_state=0)
    if library == "hiercls":
        from hiercls import HierarchicalClassifier

        return HierarchicalClassifier(estimator=base, n_jobs=1)
    import hiclass

    # return_all_probabilities: every level, like hiercls (the work done is the same).
    return getattr(hiclass, strategy)(
        local_classifier=base, n_jobs=1, verbose=0, return_all_probabilities=True
    )


def _call(model: Any, method: str, X: Any, Y: Any, k: int) -> Any:
    if method == "fit":
        return model.fit(X, Y)
    if method == "predict_top_k":
        # In chunks, as batch prediction would call it: one call on 1M rows needs more
        # memory than the machine has (see predict_top_k_1call).
        return [
            model.predict_top_k(X[start : start + TOP_K_CHUNK], k=k)
            for start in range(0, X.shape[0], TOP_K_CHUNK)
        ]
    if method == "predict_top_k_1call":
        return model.predict_top_k(X, k=k)
    if method == "predict_top_k_chunk":
        return model.predict_top_k(X[:TOP_K_CHUNK], k=k)
    return getattr(model, method)(X)


class BaseModelClock:
    """Time spent inside the base model's own methods, whichever library calls them.

    ``DummyClassifier.fit/predict/predict_proba`` are wrapped at class level, so the
    clones hiercls makes and the deep copies hiclass makes are timed alike. Only the
    outermost call counts (``predict`` may call ``predict_proba``). Total time minus
    this is the framework's own time.
    """

    def __init__(self) -> None:
        from sklearn.dummy import DummyClassifier

        self.seconds = 0.0
        self.calls = 0
        self._depth = 0
        for name in ("fit", "predict", "predict_proba"):
            setattr(DummyClassifier, name, self._wrap(getattr(DummyClassifier, name)))

    def _wrap(self, method: Callable[..., Any]) -> Callable[..., Any]:
        import functools

        clock = self

        @functools.wraps(method)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if clock._depth:
                return method(*args, **kwargs)
            clock._depth += 1
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                clock.seconds += time.perf_counter() - start
                clock.calls += 1
                clock._depth -= 1

        return timed


def _measure(fn: Callable[[], Any], clock: BaseModelClock | None = None) -> tuple[dict[str, Any], Any]:
    gc.collect()
    _runner.reset_peak_rss()
    rss_before = _runner.current_rss()
    base0, calls0 = (clock.seconds, clock.calls) if clock else (0.0, 0)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    out = fn()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    base = clock.seconds - base0 if clock else None
    peak = _runner.peak_rss()
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "base_model_s": base,
        "base_model_calls": clock.calls - calls0 if clock else None,
        "framework_s": None if base is None else wall - base,
        "rss_before_bytes": rss_before,
        "peak_rss_bytes": peak,
        "peak_delta_bytes": None if peak is None or rss_before is None else peak - rss_before,
    }, out


def _data_summary(X: Any, Y: Any, source: str, seconds: float) -> dict[str, Any]:
    Y = np.asarray(Y)
    # Distinct nodes per level = distinct path prefixes (labels are unique per node).
    return {
        "source": source,
        "n_samples": int(X.shape[0]),
        "n_features": int(X.shape[1]),
        "X_dtype": str(X.dtype),
        "X_nbytes": int(X.nbytes),
        "n_levels": int(Y.shape[1]),
        "nodes_per_level": [int(len(set(Y[:, j].tolist()))) for j in range(Y.shape[1])],
        "generate_s": seconds,
    }


def _model_summary(model: Any) -> dict[str, Any]:
    if not hasattr(model, "estimators_"):
        return {}
    from hiercls.node_models import ConstantNodeModel

    fitted = [m for m in model.estimators_ if m is not None]
    return {
        "n_nodes": int(model.hierarchy_.n_nodes),
        "n_node_models": len(fitted),
        "n_constant_models": sum(isinstance(m, ConstantNodeModel) for m in fitted),
    }


def unvisited_tree_data(
    n_main: int, extra: Sequence[int], n_predict: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A tree whose visited path stays the same while the rest of it grows.

    Level 0 has the main class ``m`` and nine others ``e0..e8``; ``m`` has 10 children
    with 10 children each (100 leaves, Zipf-sized, ``n_main`` rows). Each ``e`` has
    ``extra[0]`` children with ``extra[1]`` children each, one row per leaf. With
    ``DummyClassifier(strategy="prior")`` every row goes down ``m``'s largest path,
    and every node model on that path has 10 outcomes whatever ``extra`` is: only
    the nodes no row visits change. Returns X (training rows), Y, and ``n_predict``
    fresh rows to predict.
    """
    rng = np.random.default_rng(seed)
    main = np.array([f"m.{i}.{j}" for i in range(10) for j in range(10)], dtype=object)
    weights = 1.0 / np.arange(1, 101)
    leaf = rng.choice(100, size=n_main, p=weights / weights.sum())
    rows = [
        np.column_stack(
            [
                np.full(n_main, "m", dtype=object),
                np.array([f"m.{i}" for i in range(10)], dtype=object)[leaf // 10],
                main[leaf],
            ]
        )
    ]
    n_children, n_grandchildren = extra
    for a in range(9):
        paths = [
            (f"e{a}", f"e{a}.{b}", f"e{a}.{b}.{c}") for b in range(n_children) for c in range(n_grandchildren)
        ]
        rows.append(np.array(paths, dtype=object).reshape(-1, 3))
    Y = np.concatenate(rows)
    Y = Y[rng.permutation(len(Y))]
    X = rng.standard_normal((len(Y), 20), dtype=np.float32)
    return X, Y, rng.standard_normal((n_predict, 20), dtype=np.float32)


def child_timing(spec: dict[str, Any], progress: _runner.Progress) -> dict[str, Any]:
    import logging
    import warnings

    warnings.simplefilter("ignore")
    logging.disable(logging.CRITICAL)  # hiclass attaches its own handlers
    clock = BaseModelClock()
    start = time.perf_counter()
    if spec.get("tree") == "unvisited":
        X, Y, X_predict = unvisited_tree_data(
            spec["n_samples"], spec["extra"], spec["n_predict"], spec["seed"]
        )
        source = "unvisited_tree_data"
    else:
        X, Y, source = bu.load_data(spec["n_samples"], spec["branching"], random_state=spec["seed"])
        X_predict = X
    data = _data_summary(X, Y, source, time.perf_counter() - start)
    data["n_predict"] = int(X_predict.shape[0])
    data_peak = _runner.peak_rss()
    progress(phase="data", **data)
    timings: dict[str, list[dict[str, Any]]] = {m: [] for m in spec["methods"]}
    model = None
    failed: set[str] = set()
    for repeat in range(spec["repeats"]):
        model = _make_model(spec["library"], spec["strategy"], spec["dummy"])
        for method in spec["methods"]:
            if method in failed or (repeat and method in spec.get("once", ())):
                continue
            try:
                record, out = _measure(
                    lambda m=method, model=model: _call(
                        model, m, X if m == "fit" else X_predict, Y, spec["k"]
                    ),
                    clock,
                )
                del out
            except Exception as exc:  # MemoryError under the cap is a result, not a crash
                record = {"error": f"{type(exc).__name__}: {str(exc)[:300]}", "peak_rss_bytes": _runner.peak_rss()}
                failed.add(method)
                gc.collect()
            timings[method].append(record)
            progress(phase=method, repeat=repeat, **record)
    peaks = [r["peak_rss_bytes"] or 0 for rs in timings.values() for r in rs]
    return {
        "data": data,
        "model": _model_summary(model),
        "timings": timings,
        "peak_rss_bytes": max([data_peak or 0, *peaks]),
    }


def child_labels(spec: dict[str, Any], progress: _runner.Progress) -> dict[str, Any]:
    """Memory of the encoded labels: what fit builds and what the fitted model keeps."""
    import pickle
    import tracemalloc
    import warnings

    from sklearn.dummy import DummyClassifier

    from hiercls import HierarchicalClassifier
    from hiercls.estimator import _node_training_sets  # measured, not used
    from hiercls.hierarchy import Hierarchy, read_label_paths

    warnings.simplefilter("ignore")
    X, Y, source = bu.load_data(spec["n_samples"], spec["branching"], random_state=spec["seed"])
    out: dict[str, Any] = {"data": _data_summary(X, Y, source, float("nan"))}
    out["input_Y_deep_bytes"] = bu.deep_nbytes(Y)
    progress(phase="data")

    tracemalloc.start()
    paths = read_label_paths(Y)
    hierarchy, node_codes = Hierarchy.from_label_paths(paths)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    out["encode_traced_peak_bytes"] = peak
    out["node_codes"] = {"dtype": str(node_codes.dtype), "nbytes": int(node_codes.nbytes)}
    out["missing_mask_nbytes"] = int(paths.missing.nbytes)
    sets = list(_node_training_sets(hierarchy, node_codes))
    out["training_sets"] = {
        "n_parent_nodes": len(sets),
        "rows_nbytes": int(sum(rows.nbytes for _, rows, _ in sets)),
        "targets_nbytes": int(sum(targets.nbytes for _, _, targets in sets)),
    }
    del sets, paths, node_codes
    progress(phase="encode")

    gc.collect()
    tracemalloc.start()
    clf = HierarchicalClassifier(estimator=DummyClassifier(), n_jobs=1).fit(X, Y)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    out["fit_traced_peak_bytes"] = peak
    h = clf.hierarchy_
    arrays = {
        name: int(getattr(h, name).nbytes)
        for name in ("parent", "depth", "label_index", "child_ptr", "level_ptr")
    }
    arrays["_level_keys"] = int(sum(a.nbytes for a in h._level_keys))
    arrays["level_labels_deep"] = int(sum(bu.deep_nbytes(a) for a in h.level_labels))
    out["hierarchy_bytes"] = arrays
    out["hierarchy_total_bytes"] = int(sum(arrays.values()))
    out["n_nodes"] = int(h.n_nodes)
    out["n_node_models"] = sum(m is not None for m in clf.estimators_)
    out["model_pickle_bytes"] = len(pickle.dumps(clf, protocol=pickle.HIGHEST_PROTOCOL))
    progress(phase="fit")

    try:  # how hiclass stores the same labels: one joined fixed-width string per cell
        from hiclass import LocalClassifierPerParentNode

        start = time.perf_counter()
        joined = LocalClassifierPerParentNode()._disambiguate(np.asarray(Y))
        out["hiclass_labels"] = {
            "dtype": str(joined.dtype),
            "nbytes": int(joined.nbytes),
            "seconds": time.perf_counter() - start,
        }
    except Exception as exc:  # recorded, not fatal: this is a side figure
        out["hiclass_labels"] = {"error": repr(exc)}
    progress(phase="hiclass_labels")
    out["peak_rss_bytes"] = _runner.peak_rss()
    return out


def _hiercls_costs(root: Any) -> list[dict[str, Any]]:
    """Time per hiercls function, excluding time spent in deeper hiercls functions.

    Each entry lists the function's busiest lines (time observed on that line, callees
    included) and what its own time consists of ("[self]": numpy work inline).
    """
    entries: dict[tuple[str, str, int], dict[str, Any]] = {}

    def is_hiercls(frame: Any) -> bool:
        path = frame.file_path or ""
        return not frame.is_synthetic and "/hiercls/" in path and "/experiments/" not in path

    def visit(frame: Any, owner: tuple[str, str, int] | None, parent_is_owner: bool) -> float:
        """Return the time of this subtree owned by hiercls frames at or below it."""
        if is_hiercls(frame):
            key = (frame.file_path.split("/hiercls/")[-1], frame.function, frame.line_no or 0)
            entry = entries.setdefault(key, {"exclusive_s": 0.0, "lines": Counter(), "parts": Counter()})
            below = sum(visit(child, key, True) for child in frame.children)
            entry["exclusive_s"] += frame.time - below
            for attribute, seconds in frame.attributes.items():
                if attribute.startswith("l"):
                    entry["lines"][int(attribute[1:])] += seconds
            return frame.time
        below = sum(visit(child, owner, False) for child in frame.children)
        if owner is not None and parent_is_owner:
            entries[owner]["parts"][frame.function] += frame.time - below
        return below

    visit(root, None, False)
    total = root.time
    table = []
    for (path, function, line), entry in sorted(entries.items(), key=lambda item: -item[1]["exclusive_s"]):
        table.append(
            {
                "function": function,
                "file": f"hiercls/{path}",
                "def_line": line,
                "exclusive_s": entry["exclusive_s"],
                "share": entry["exclusive_s"] / total if total else float("nan"),
                "top_lines": [[ln, s] for ln, s in entry["lines"].most_common(3)],
                "parts": [[name, s] for name, s in entry["parts"].most_common(3)],
            }
        )
    return table


def _resolve_function(file: str, name: str, def_line: int) -> Any:
    """The function object behind a profiled frame (module functions and methods)."""
    import importlib
    import inspect

    module = importlib.import_module(file.removesuffix(".py").replace("/", "."))
    candidates = list(vars(module).values())
    candidates += [m for c in vars(module).values() if inspect.isclass(c) for m in vars(c).values()]
    for obj in candidates:
        fn = inspect.unwrap(getattr(obj, "fget", obj))  # properties and decorated methods
        code = getattr(fn, "__code__", None)
        if code is not None and code.co_name == name and code.co_firstlineno == def_line:
            return fn
    return None


def _line_costs(costs: list[dict[str, Any]], run: Callable[[], None]) -> list[dict[str, Any]]:
    """Line-level times of the costliest hiercls functions, with line_profiler if installed.

    pyinstrument samples charge a long C call (a sort, a big allocation) to whichever
    line runs next, so lines come from a deterministic line profiler instead; its own
    overhead inflates cheap lines, so read the shares, not the absolute times.
    """
    try:
        from line_profiler import LineProfiler
    except ImportError:
        return []
    import linecache

    functions = [
        f for c in costs[:4] if (f := _resolve_function(c["file"], c["function"], c["def_line"])) is not None
    ]
    if not functions:
        return []
    profiler = LineProfiler(*functions)
    start = time.perf_counter()
    profiler.enable_by_count()
    try:
        run()
    except Exception:  # already recorded by the pyinstrument pass
        pass
    finally:
        profiler.disable_by_count()
    total = time.perf_counter() - start
    stats = profiler.get_stats()
    names = {f.__name__ for f in functions}
    out = []
    for (filename, _, name), timings in stats.timings.items():
        others = names - {name}
        for line, hits, units in sorted(timings, key=lambda t: -t[2])[:4]:
            if any(f"{n}(" in linecache.getline(filename, line) for n in others):
                continue  # its time is the profiled callee's, listed on its own lines
            seconds = units * stats.unit
            out.append(
                {
                    "function": name,
                    "file": "hiercls/" + filename.split("/hiercls/")[-1],
                    "line": line,
                    "hits": hits,
                    "seconds": seconds,
                    "share": seconds / total if total else float("nan"),
                    "source": linecache.getline(filename, line).strip(),
                }
            )
    return sorted(out, key=lambda e: -e["seconds"])


def child_profile(spec: dict[str, Any], progress: _runner.Progress) -> dict[str, Any]:
    import warnings

    from pyinstrument import Profiler

    warnings.simplefilter("ignore")
    X, Y, source = bu.load_data(spec["n_samples"], spec["branching"], random_state=spec["seed"])
    model = _make_model("hiercls", "HierarchicalClassifier", "prior").fit(X, Y)
    out: dict[str, Any] = {"data": _data_summary(X, Y, source, float("nan")), "profiles": {}}
    for method, loops in spec["loops"].items():

        def run(method: str = method, loops: int = loops) -> None:
            for _ in range(loops):
                fresh = _make_model("hiercls", "", "prior") if method == "fit" else model
                _call(fresh, method, X, Y, spec["k"])

        gc.collect()
        profiler = Profiler(interval=spec["interval"])
        profiler.start()
        try:
            run()
        except Exception as exc:  # recorded; the profile up to the failure is still kept
            out.setdefault("profile_errors", {})[method] = repr(exc)[:300]
        profiler.stop()
        session = profiler.last_session
        root = session.root_frame()
        costs = _hiercls_costs(root)[:8]
        out["profiles"][method] = {
            "loops": loops,
            "duration_s": session.duration,
            "seconds_per_call": session.duration / loops,
            "costs": costs,
            "lines": _line_costs(costs, run),
            "text": profiler.output_text(unicode=False, color=False, show_all=False),
        }
        progress(phase=method, seconds=session.duration)
    out["peak_rss_bytes"] = _runner.peak_rss()
    return out


CHILDREN = {"timing": child_timing, "labels": child_labels, "profile": child_profile}


def child_main(spec_json: str, progress_path: str, result_path: str) -> None:
    spec = json.loads(spec_json)
    result = CHILDREN[spec["kind"]](spec, _runner.Progress(progress_path))
    Path(result_path).write_text(json.dumps(result, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value)}")


# =====================================================================================
# Parent side: plan the runs, keep the results, write the report
# =====================================================================================
class Runner:
    """Launch child measurements, one process each, and cache them by their spec."""

    def __init__(
        self,
        workdir: Path,
        timeout: float,
        verbose: bool = True,
        pythonpath: str | None = None,
        memory_limit_bytes: int | None = None,
    ) -> None:
        self.workdir = workdir
        self.memory_limit_bytes = memory_limit_bytes
        self.env_extra = {"PYTHONPATH": pythonpath} if pythonpath else {}
        self.timeout = timeout
        self.verbose = verbose
        self.cache: dict[str, dict[str, Any]] = {}
        self.count = 0

    @staticmethod
    def _key(spec: dict[str, Any]) -> str:
        return json.dumps(
            {k: v for k, v in spec.items() if k not in ("methods", "repeats", "once")}, sort_keys=True
        )

    def run(
        self, spec: dict[str, Any], *, timeout: float | None = None, reuse: bool = True
    ) -> dict[str, Any]:
        """Run a child, or reuse one that measured a superset of the methods as often."""
        key = self._key(spec)
        cached = self.cache.get(key)
        if (
            reuse
            and cached is not None
            and set(spec.get("methods", ())) <= set(cached["spec"].get("methods", ()))
            and spec.get("repeats", 0) <= cached["spec"].get("repeats", 0)
        ):
            return cached
        self.count += 1
        tag = f"child{self.count:03d}"
        limit = timeout or self.timeout
        if self.verbose:
            print(f"[{time.strftime('%H:%M:%S')}] {tag} {_describe(spec)} (limit {limit:.0f} s)", flush=True)
        outcome = _runner.run_child(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--child",
                json.dumps(spec),
                "--progress",
                str(self.workdir / f"{tag}.progress"),
                "--result",
                str(self.workdir / f"{tag}.json"),
            ],
            timeout=limit,
            progress_path=self.workdir / f"{tag}.progress",
            result_path=self.workdir / f"{tag}.json",
            env_extra=self.env_extra,
            address_space_limit_bytes=self.memory_limit_bytes,
        )
        outcome["spec"] = spec
        outcome["started"] = time.strftime("%Y-%m-%d %H:%M:%S")
        outcome["load_average_after"] = list(os.getloadavg())
        if self.verbose:
            print(f"    -> {outcome['status']} in {outcome['wall_s']:.1f} s" + _brief(outcome), flush=True)
        self.cache[key] = outcome
        return outcome


def _describe(spec: dict[str, Any]) -> str:
    if spec.get("tree") == "unvisited":
        return (
            f"{spec['kind']}: hiercls, {spec['n_samples']:,} rows on one path, unvisited "
            f"subtrees {spec['extra']}"
        )
    leaves = math.prod(spec["branching"])
    what = spec.get("library", "hiercls") + ("/" + spec["strategy"] if spec.get("strategy") else "")
    return (
        f"{spec['kind']}: {what} n={spec['n_samples']:,} leaves={leaves:,} "
        f"levels={len(spec['branching'])} {spec.get('dummy', '')}"
    )


def _brief(outcome: dict[str, Any]) -> str:
    result = outcome.get("result") or {}
    parts = []
    for method, records in (result.get("timings") or {}).items():
        times = [r["wall_s"] for r in records if "wall_s" in r]
        errors = [r["error"] for r in records if "error" in r]
        parts.append(f"{method}=" + (f"{min(times):.3f}s" if times else errors[0][:80]))
    if outcome["status"] != "ok":
        done = [p["phase"] for p in outcome["progress"]]
        parts.append(f"finished phases: {done}")
        if outcome["stderr_tail"]:
            parts.append("stderr: " + outcome["stderr_tail"].strip().splitlines()[-1][:200])
    return ("  " + " ".join(parts)) if parts else ""


def timing_spec(
    library: str,
    strategy: str,
    n: int,
    branching: Sequence[int],
    methods: Sequence[str],
    repeats: int,
    dummy: str = "prior",
) -> dict[str, Any]:
    return {
        "kind": "timing",
        "library": library,
        "strategy": strategy,
        "n_samples": n,
        "branching": list(branching),
        "methods": list(methods),
        "repeats": repeats,
        "dummy": dummy,
        "k": 5,
        "seed": 0,
    }


def hiercls_methods(n: int, branching: Sequence[int], plan: Plan, extras: bool) -> list[str]:
    methods = ["fit", "predict", "predict_top_k"]
    if n * math.prod(branching) <= plan.max_proba_cells:
        methods.append("predict_proba")
    if extras:
        methods.append("predict_paths")
    return methods


def best(outcome: dict[str, Any], method: str, key: str = "wall_s") -> float | None:
    """Best (smallest) time of a method in a finished child, or from its progress."""
    result = outcome.get("result")
    records = (result or {}).get("timings", {}).get(method)
    if not records:  # timed out or failed: use the phases that did finish
        records = [p for p in outcome.get("progress", []) if p.get("phase") == method]
    values = [r[key] for r in records if r.get(key) is not None]
    return min(values) if values else None


def summarize(outcome: dict[str, Any], methods: Sequence[str]) -> dict[str, Any]:
    spec = outcome["spec"]
    result = outcome.get("result") or {}
    data = result.get("data") or next(
        (p for p in outcome.get("progress", []) if p.get("phase") == "data"), {}
    )
    row: dict[str, Any] = {
        "library": spec["library"],
        "strategy": spec["strategy"],
        "n_samples": spec["n_samples"],
        "n_levels": len(spec["branching"]),
        "branching": spec["branching"],
        "n_leaves": data.get("nodes_per_level", [None])[-1],
        "n_tree_nodes": 1 + sum(data.get("nodes_per_level", [])),
        "dummy": spec["dummy"],
        "status": outcome["status"],
        "child_wall_s": outcome["wall_s"],
        "peak_rss_mb": (outcome["peak_rss_bytes"] or 0) / MB or None,
        "X_mb": (data.get("X_nbytes") or 0) / MB or None,
        "repeats": spec["repeats"],
    }
    for method in methods:
        row[f"{method}_s"] = best(outcome, method)
        row[f"{method}_cpu_s"] = best(outcome, method, "cpu_s")
        row[f"{method}_framework_s"] = best(outcome, method, "framework_s")
        row[f"{method}_base_model_s"] = best(outcome, method, "base_model_s")
        peaks = [r.get("peak_delta_bytes") for r in (result.get("timings") or {}).get(method, [])]
        peaks = [p for p in peaks if p is not None]
        row[f"{method}_peak_delta_mb"] = max(peaks) / MB if peaks else None
        records = (result.get("timings") or {}).get(method, [])
        if records and "wall_s" in records[0]:
            row[f"{method}_first_s"] = records[0]["wall_s"]
        errors = [r["error"] for r in records if "error" in r]
        if errors:
            row[f"{method}_error"] = errors[0]
    if outcome["status"] != "ok":
        done = [p["phase"] for p in outcome.get("progress", [])]
        pending = next((m for m in spec["methods"] if m not in done), None)
        row["unfinished_phase"] = pending
        row["error"] = (
            outcome["stderr_tail"].strip().splitlines()[-1] if outcome["stderr_tail"].strip() else None
        )
    row.update(result.get("model") or {})
    return row


# ------------------------------------------------------------------------- sections
def run_headline(
    runner: Runner, plan: Plan, rounds: int, dummy: str, strategies: Sequence[str]
) -> dict[str, Any]:
    n, branching = plan.headline
    hier_methods = ["fit", "predict", "predict_proba", "predict_paths", "predict_top_k"]
    rounds_out = []
    for _ in range(rounds):
        rows = []
        # Interleave libraries inside a round, so background load hits them alike.
        out = runner.run(
            timing_spec("hiercls", "HierarchicalClassifier", n, branching, hier_methods, plan.repeats, dummy),
            reuse=False,
        )
        rows.append(summarize(out, hier_methods))
        for strategy in strategies:
            out = runner.run(
                timing_spec(
                    "hiclass",
                    strategy,
                    n,
                    branching,
                    ["fit", "predict", "predict_proba"],
                    plan.repeats,
                    dummy,
                ),
                reuse=False,
            )
            rows.append(summarize(out, ["fit", "predict", "predict_proba"]))
        rounds_out.append(rows)
    return {
        "n_samples": n,
        "branching": list(branching),
        "dummy": dummy,
        "rounds": rounds_out,
        "best": _best_over_rounds(rounds_out),
    }


def _best_over_rounds(rounds: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per library/strategy, the best time of each method over all rounds."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for rows in rounds:
        for row in rows:
            key = (row["library"], row["strategy"])
            if key not in merged:
                merged[key] = dict(row)
                continue
            for name, value in row.items():
                if (
                    name.endswith("_s")
                    and not name.startswith("child")
                    and not name.endswith("_first_s")
                    and value is not None
                ):
                    old = merged[key].get(name)
                    merged[key][name] = value if old is None else min(old, value)
    return list(merged.values())


def ratios(rows: list[dict[str, Any]], methods: Sequence[str]) -> list[dict[str, Any]]:
    ours = next(r for r in rows if r["library"] == "hiercls")
    out = []
    for row in rows:
        if row["library"] != "hiclass":
            continue
        entry = {"strategy": row["strategy"]}
        for method in methods:
            a, b = row.get(f"{method}_s"), ours.get(f"{method}_s")
            entry[method] = a / b if a and b else None
            a, b = row.get(f"{method}_cpu_s"), ours.get(f"{method}_cpu_s")
            entry[f"{method}_cpu"] = a / b if a and b else None
            a, b = row.get(f"{method}_framework_s"), ours.get(f"{method}_framework_s")
            entry[f"{method}_framework"] = a / b if a and b else None
        out.append(entry)
    return out


def run_big(runner: Runner, plan: Plan, hiclass_timeout: float, skip_hiclass: bool) -> dict[str, Any]:
    n, branching = plan.big
    methods = hiercls_methods(n, branching, plan, extras=True)
    spec = timing_spec(
        "hiercls", "HierarchicalClassifier", n, branching, [*methods, "predict_top_k_1call"], plan.big_repeats
    )
    spec["once"] = ["predict_top_k_1call"]  # expected to hit the memory cap: try it once
    ours = runner.run(spec)
    rows = [summarize(ours, [*methods, "predict_top_k_1call"])]
    if not skip_hiclass:
        theirs = runner.run(
            timing_spec("hiclass", "LocalClassifierPerParentNode", n, branching, ["fit", "predict"], 1),
            timeout=hiclass_timeout,
        )
        rows.append(summarize(theirs, ["fit", "predict"]))
    return {
        "n_samples": n,
        "branching": list(branching),
        "methods": methods,
        "rows": rows,
        "hiclass_timeout_s": hiclass_timeout,
    }


def run_scaling(runner: Runner, plan: Plan) -> dict[str, Any]:
    methods = ["fit", "predict", "predict_top_k", "predict_proba"]

    def measure(n: int, branching: tuple[int, ...]) -> dict[str, Any]:
        if (n, tuple(branching)) == (plan.big[0], tuple(plan.big[1])):
            spec_methods, repeats = hiercls_methods(n, branching, plan, True), plan.big_repeats
        else:
            spec_methods = hiercls_methods(n, branching, plan, False)
            repeats = plan.repeats if n <= 100_000 else plan.big_repeats
        out = runner.run(
            timing_spec("hiercls", "HierarchicalClassifier", n, branching, spec_methods, repeats)
        )
        return summarize(out, methods)

    by_rows = [measure(n, b) for b in plan.row_branchings for n in plan.row_counts]
    by_nodes = [measure(plan.node_rows, b) for b in plan.node_branchings]
    unvisited = []
    for extra in plan.unvisited_extra:
        spec = timing_spec(
            "hiercls",
            "HierarchicalClassifier",
            plan.unvisited_rows,
            (10, 10, 10),
            ["fit", "predict", "predict_top_k"],
            plan.repeats,
        )
        spec.update(tree="unvisited", extra=list(extra), n_predict=plan.unvisited_rows)
        row = summarize(runner.run(spec), ["fit", "predict", "predict_top_k"])
        row["extra"] = list(extra)
        unvisited.append(row)
    return {"by_rows": by_rows, "by_nodes": by_nodes, "unvisited": unvisited}


def run_labels(runner: Runner, plan: Plan) -> dict[str, Any]:
    n, branching = plan.big
    spec = {"kind": "labels", "n_samples": n, "branching": list(branching), "seed": 0}
    outcome = runner.run(spec)
    return {
        "status": outcome["status"],
        "error": outcome["stderr_tail"][-500:] or None,
        **(outcome.get("result") or {}),
    }


def run_profiles(runner: Runner, plan: Plan) -> dict[str, Any]:
    out = {}
    n, branching = plan.headline
    spec = {
        "kind": "profile",
        "n_samples": n,
        "branching": list(branching),
        "seed": 0,
        "loops": plan.profile_loops,
        "interval": 0.0005,
        "k": 5,
    }
    out["headline"] = runner.run(spec)
    if not plan.profile_big:
        return out
    n, branching = plan.big
    spec = {
        "kind": "profile",
        "n_samples": n,
        "branching": list(branching),
        "seed": 0,
        "loops": {"fit": 1, "predict": 1, "predict_top_k_chunk": 1},
        "interval": 0.001,
        "k": 5,
    }
    out["big"] = runner.run(spec)
    return out


# --------------------------------------------------------------------------- report
def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        if value >= 100:
            return f"{value:,.0f}"
        return f"{value:.{digits}g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_fmt(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _status_cell(row: dict[str, Any], method: str) -> str:
    value = row.get(f"{method}_s")
    if value is not None:
        return _fmt(value)
    if row["status"] == "timeout" and row.get("unfinished_phase") == method:
        return f"> {row.get('_timeout', 0):.0f} (timeout)"
    if row["status"] != "ok" and row.get("unfinished_phase") == method:
        return f"{row['status']}"
    return "not run"


def _short(strategy: str) -> str:
    return {
        "LocalClassifierPerParentNode": "hiclass LCPPN",
        "LocalClassifierPerNode": "hiclass LCPN",
        "LocalClassifierPerLevel": "hiclass LCPL",
        "HierarchicalClassifier": "hiercls",
    }.get(strategy, strategy)


def _headline_md(section: dict[str, Any], title: str) -> list[str]:
    rows = section["best"]
    methods = ["fit", "predict", "predict_proba"]
    n_leaves = rows[0].get("n_leaves")
    lines = [
        f"### {title}",
        "",
        f"{section['n_samples']:,} rows, {n_leaves:,} leaves on "
        f"{len(section['branching'])} levels (branching {tuple(section['branching'])}), "
        f"`DummyClassifier(strategy={section['dummy']!r})`, `n_jobs=1`. Seconds, best of "
        f"{rows[0]['repeats']} repeats in each of {len(section['rounds'])} rounds, per "
        f"method (each round is one process per library, interleaved; every repeat is in "
        f"the JSON). Peak RSS is the child process's whole peak (data included).",
        "",
    ]
    table_rows = []
    for row in rows:
        extra = ""
        if row["library"] == "hiercls":
            extra = f"paths {_fmt(row.get('predict_paths_s'))}, top-5 {_fmt(row.get('predict_top_k_s'))}"
        table_rows.append(
            [_short(row["strategy"]), *(_status_cell(row, m) for m in methods), row.get("peak_rss_mb"), extra]
        )
    lines.append(
        _table(
            ["library", "fit s", "predict s", "predict_proba s", "peak RSS MB", "hiercls extras s"],
            table_rows,
        )
    )
    lines += ["", "Ratio hiclass / hiercls (wall time; CPU-time ratio in brackets):", ""]
    ratio_rows = []
    for entry in ratios(rows, methods):
        cells = [_short(entry["strategy"])]
        for method in methods:
            cells.append(f"{_fmt(entry[method])}× ({_fmt(entry[method + '_cpu'])}×)")
        ratio_rows.append(cells)
    lines.append(_table(["vs", "fit", "predict", "predict_proba"], ratio_rows))
    if any(r.get("fit_framework_s") is not None for r in rows):
        lines += [
            "",
            "The frameworks' own time: total minus the time spent inside "
            "`DummyClassifier.fit/predict/predict_proba` (which hiercls and hiclass call "
            "differently: hiercls routes with `predict_proba`, hiclass's `predict` uses "
            "`predict`). Seconds, best repeat:",
            "",
        ]
        own = []
        for row in rows:
            own.append(
                [
                    _short(row["strategy"]),
                    *(
                        f"{_fmt(row.get(m + '_framework_s'))} (+{_fmt(row.get(m + '_base_model_s'))} base)"
                        for m in methods
                    ),
                ]
            )
        lines.append(_table(["library", "fit", "predict", "predict_proba"], own))
        lines += ["", "Ratio of the frameworks' own time, hiclass / hiercls:", ""]
        lines.append(
            _table(
                ["vs", "fit", "predict", "predict_proba"],
                [
                    [_short(e["strategy"]), *(f"{_fmt(e[m + '_framework'])}×" for m in methods)]
                    for e in ratios(rows, methods)
                ],
            )
        )
    cold = [
        f"{_short(r['strategy'])} {_fmt(r.get('predict_proba_first_s'))} s"
        for r in rows
        if r.get("predict_proba_first_s")
    ]
    if cold:
        lines += [
            "",
            "First `predict_proba` call in a fresh process (round 1): "
            + ", ".join(cold)
            + ". Calls that allocate hundreds of MB are several times "
            "slower the first time on this VM (fresh memory is expensive to fault in), "
            "hence best-of-repeats for every library.",
        ]
    return lines


def _target_lines(section: dict[str, Any]) -> list[str]:
    entry = next(
        (
            e
            for e in ratios(section["best"], list(TARGETS))
            if e["strategy"] == "LocalClassifierPerParentNode"
        ),
        None,
    )
    if entry is None:
        return []
    lines = ["", "Targets (hiclass LocalClassifierPerParentNode / hiercls):", ""]
    rows = []
    for method, target in TARGETS.items():
        value = entry[method]
        verdict = "–" if value is None else ("met" if value >= target else "**not met**")
        rows.append([method, f"≥ {target:.0f}×", f"{_fmt(value)}×", verdict])
    lines.append(_table(["method", "target", "measured", "verdict"], rows))
    return lines


def _slope(x: Sequence[float], y: Sequence[float]) -> float | None:
    if len(x) < 2 or any(v is None or v <= 0 for v in y):
        return None
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def _scaling_md(section: dict[str, Any], plan: Plan) -> list[str]:
    methods = ["fit", "predict", "predict_top_k", "predict_proba"]
    lines = [
        "## Scaling (hiercls alone)",
        "",
        "CPU seconds of the measuring process, best of the repeats (wall time is in the "
        "CSV; other jobs shared the 2 cores, which inflates wall time but hardly CPU "
        "time). µs/row = CPU time / rows. The exponent is the slope of log CPU time "
        "against log rows between the two largest sizes (1 = linear). `predict_top_k` "
        f"runs in chunks of {TOP_K_CHUNK:,} rows.",
        "",
    ]
    for branching in plan.row_branchings:
        rows = [r for r in section["by_rows"] if tuple(r["branching"]) == tuple(branching)]
        if not rows:
            continue
        leaves = math.prod(branching)
        lines += [f"Tree: {leaves:,} leaves on {len(branching)} levels (branching {tuple(branching)}).", ""]
        table = []
        for row in rows:
            cells = [row["n_samples"], row.get("n_leaves")]
            for method in methods:
                value = row.get(f"{method}_cpu_s")
                cells.append(_fmt(value) + (f" ({value / row['n_samples'] * 1e6:.2f})" if value else ""))
            table.append(cells)
        lines.append(_table(["rows", "leaves with rows", *(f"{m} CPU s (µs/row)" for m in methods)], table))
        exps = [f"{m} {_fmt(e)}" for m, e in _row_exponents(rows, methods).items()]
        lines += ["", "Exponent (two largest sizes): " + ", ".join(exps) + ".", ""]
    rows = section["by_nodes"]
    lines += [f"Nodes, with {plan.node_rows:,} rows fixed (CPU seconds):", ""]
    table = []
    for row in rows:
        cells = [
            math.prod(row["branching"]),
            row.get("n_leaves"),
            row.get("n_tree_nodes"),
            row.get("n_node_models"),
        ]
        cells += [row.get(f"{m}_cpu_s") for m in methods]
        cells.append(row.get("predict_framework_s"))
        table.append(cells)
    lines.append(
        _table(
            [
                "leaves (tree)",
                "leaves with rows",
                "nodes",
                "node models",
                *(f"{m} CPU s" for m in methods),
                "predict own time s",
            ],
            table,
        )
    )
    per_node = _fit_cost_per_node(rows)
    if per_node is not None:
        lines += [
            "",
            f"Fit cost per extra node model: {per_node * 1e6:,.0f} µs CPU "
            f"(clone + DummyClassifier.fit + hiercls bookkeeping); fit grows with the "
            f"nodes that have rows by design, one model each.",
        ]
    for method, growth in _node_growth(rows).items():
        lines.append(f"{method}: {_fmt(growth)}× from the smallest to the largest tree.")
    lines += _unvisited_md(section.get("unvisited") or [], plan)
    lines += [
        "",
        "With `DummyClassifier(strategy='prior')` every row takes the same path, so "
        "`predict` visits one node per level whatever the tree, and the other nodes are "
        "never touched (the traversal loops over visited nodes only). What growth "
        "remains comes from the visited nodes being wider in the larger trees "
        "(5/5/4 → 20/20/25 outcomes: wider probability arrays to compute and argmax). "
        "`predict_top_k` expands k paths and, in its exactness pass, every partial path "
        "above the k-th best, materialising all their children: it grows with "
        "branching (see the profile). Dense `predict_proba` grows with its output "
        "(rows × labels): at 100,000 rows × 1,000 labels it writes 0.8 GB per call, "
        "and its time per row rises with that size (cache misses when it transposes "
        "each node's probabilities into the label-major accumulator, page faults on "
        "fresh memory), hence an exponent above 1 between the two sizes where it runs.",
    ]
    return lines


def _unvisited_md(rows: list[dict[str, Any]], plan: Plan) -> list[str]:
    if not rows:
        return []
    lines = [
        "",
        f"Nodes no row visits: {plan.unvisited_rows:,} rows all go down one path "
        "whose three node models have 10 outcomes each, while nine sibling subtrees "
        "that no row reaches grow (`unvisited_tree_data`; fit also sees one row per "
        "leaf of those subtrees, predict gets fresh rows). CPU seconds:",
        "",
    ]
    table = []
    for row in rows:
        table.append(
            [
                f"{row['extra'][0]} × {row['extra'][1]}",
                row.get("n_tree_nodes"),
                row.get("n_node_models"),
                row.get("fit_cpu_s"),
                row.get("predict_cpu_s"),
                row.get("predict_framework_s"),
                row.get("predict_top_k_cpu_s"),
            ]
        )
    lines.append(
        _table(
            [
                "unvisited subtrees (children × grandchildren)",
                "nodes",
                "node models",
                "fit CPU s",
                "predict CPU s",
                "predict own time s",
                "predict_top_k CPU s",
            ],
            table,
        )
    )
    growth = _unvisited_growth(rows)
    if growth:
        lines += [
            "",
            "From the smallest to the largest tree: "
            + ", ".join(f"{m} {_fmt(g)}×" for m, g in growth.items())
            + ". Top-k's beam does expand the unvisited level-0 classes (they are "
            "among each row's 5 best), so it sees their children; greedy `predict` "
            "never does.",
        ]
    return lines


def _unvisited_growth(rows: list[dict[str, Any]]) -> dict[str, float]:
    out = {}
    for label, key in (
        ("predict", "predict_cpu_s"),
        ("predict (own time)", "predict_framework_s"),
        ("predict_top_k", "predict_top_k_cpu_s"),
    ):
        a, b = rows[0].get(key), rows[-1].get(key)
        if a and b:
            out[label] = b / a
    return out


def _row_exponents(rows: list[dict[str, Any]], methods: Sequence[str]) -> dict[str, float]:
    return {m: e for m, (e, _) in _row_exponents_with_sizes(rows, methods).items()}


def _row_exponents_with_sizes(
    rows: list[dict[str, Any]], methods: Sequence[str]
) -> dict[str, tuple[float, tuple[int, int]]]:
    """Per method: slope of log CPU time on log rows between its two largest sizes."""
    out = {}
    for method in methods:
        pts = [(r["n_samples"], r.get(f"{method}_cpu_s")) for r in rows if r.get(f"{method}_cpu_s")]
        if len(pts) >= 2:
            value = _slope(*zip(*pts[-2:], strict=True))
            if value is not None:
                out[method] = (value, (pts[-2][0], pts[-1][0]))
    return out


def _node_growth(rows: list[dict[str, Any]]) -> dict[str, float]:
    out = {}
    for method, key in (
        ("predict", "cpu_s"),
        ("predict (own time)", "framework_s"),
        ("predict_top_k", "cpu_s"),
    ):
        name = method.split(" ")[0]
        a, b = rows[0].get(f"{name}_{key}"), rows[-1].get(f"{name}_{key}")
        if a and b:
            out[method] = b / a
    return out


def _fit_cost_per_node(rows: list[dict[str, Any]]) -> float | None:
    if len(rows) < 2 or not rows[0].get("fit_cpu_s") or not rows[-1].get("fit_cpu_s"):
        return None
    d_nodes = (rows[-1].get("n_node_models") or 0) - (rows[0].get("n_node_models") or 0)
    return (rows[-1]["fit_cpu_s"] - rows[0]["fit_cpu_s"]) / d_nodes if d_nodes > 0 else None


def _labels_md(section: dict[str, Any], big: dict[str, Any] | None) -> list[str]:
    if section.get("status") != "ok":
        return ["## Label memory", "", f"Failed: {section.get('error')}"]
    data = section["data"]
    codes = section["node_codes"]["nbytes"]
    sets = section["training_sets"]
    tasks = sets["rows_nbytes"] + sets["targets_nbytes"]
    kept = section["hierarchy_total_bytes"]
    lines = [
        "## Label memory",
        "",
        f"{data['n_samples']:,} rows × {data['n_levels']} levels "
        f"({data['nodes_per_level']} nodes per level).",
        "",
    ]
    table = [
        ["input Y (object array of str, deep)", section["input_Y_deep_bytes"] / MB],
        [f"node codes built in fit ({section['node_codes']['dtype']}, n × levels)", codes / MB],
        ["path-ended mask (bool, n × levels)", section["missing_mask_nbytes"] / MB],
        ["traced peak of reading + encoding the paths", section["encode_traced_peak_bytes"] / MB],
        [
            f"row index + outcome arrays of all {sets['n_parent_nodes']} parent nodes, held at once by fit",
            tasks / MB,
        ],
        ["traced peak of the whole fit (X copies included)", section["fit_traced_peak_bytes"] / MB],
        ["fitted `hierarchy_` (arrays + label objects)", kept / MB],
        [
            f"pickled fitted model ({section.get('n_node_models')} DummyClassifiers included)",
            section["model_pickle_bytes"] / MB,
        ],
    ]
    hiclass = section.get("hiclass_labels", {})
    if "nbytes" in hiclass:
        table.append([f"hiclass's label matrix for the same Y ({hiclass['dtype']})", hiclass["nbytes"] / MB])
    lines.append(_table(["what", "MB"], table))
    stored = codes + section["missing_mask_nbytes"]
    verdict = "met" if stored / MB < LABEL_MEMORY_TARGET_MB else "**not met**"
    lines += [
        "",
        f"Encoded labels (node codes + path-ended mask): {stored / MB:.1f} MB against "
        f"the < {LABEL_MEMORY_TARGET_MB:.0f} MB target: {verdict}. On top of them fit "
        f"holds the row index and outcome arrays of all parent nodes at once "
        f"({tasks / MB:.1f} MB; {(stored + tasks) / MB:.1f} MB together), and reading "
        f"plus encoding the paths peaks at {section['encode_traced_peak_bytes'] / MB:.0f}"
        f" MB of temporaries. The fitted model keeps {kept / MB:.2f} MB of hierarchy "
        f"(hiclass keeps its joined-string matrix while fitting: "
        f"{section.get('hiclass_labels', {}).get('nbytes', 0) / MB:.0f} MB).",
    ]
    if big:
        ours = next((r for r in big["rows"] if r["library"] == "hiercls"), None)
        if ours and ours.get("fit_peak_delta_mb") is not None:
            lines.append(
                f"Peak RSS growth during fit at this size: "
                f"{ours['fit_peak_delta_mb']:.0f} MB, with X = {ours['X_mb']:.0f} MB."
            )
    return lines


def _profiles_summary(profiles: dict[str, Any]) -> list[str]:
    lines = [
        "## Where hiercls spends its time",
        "",
        "pyinstrument: time per hiercls function excluding deeper hiercls calls, and what "
        "that time is made of ([self] = numpy work written inline in the function). "
        "Profiled runs are slower than the timed ones (profiler overhead, shared "
        "machine); read the shares. Full call trees are in `overhead_profiles.md`.",
        "",
    ]
    for name, outcome in profiles.items():
        result = outcome.get("result")
        if not result:
            lines.append(f"Profile {name}: {outcome['status']}")
            continue
        data = result["data"]
        for method, prof in result["profiles"].items():
            lines.append(
                f"**{method}**, {data['n_samples']:,} rows × "
                f"{data['nodes_per_level'][-1]:,} leaves: "
                f"{prof['seconds_per_call']:.4g} s per call ({prof['loops']} calls "
                f"profiled)"
            )
            lines.append("")
            rows = []
            for cost in prof["costs"][:3]:
                parts = ", ".join(f"{p} {s / prof['loops']:.3g} s" for p, s in cost["parts"])
                rows.append(
                    [
                        f"`{cost['function']}` ({cost['file']}:{cost['def_line']})",
                        f"{cost['share']:.0%}",
                        parts,
                    ]
                )
            lines.append(
                _table(["function (def line)", "share of the call", "what its own time is (per call)"], rows)
            )
            if prof.get("lines"):
                lines += ["", "Costliest lines (line_profiler; a line's time includes what it calls):", ""]
                lines.append(
                    _table(
                        ["line", "share", "source"],
                        [
                            [
                                f"{e['file']}:{e['line']} (`{e['function']}`)",
                                f"{e['share']:.0%}",
                                "`" + e["source"].replace("|", "\\|")[:90] + "`",
                            ]
                            for e in prof["lines"][:5]
                        ],
                    )
                )
            lines.append("")
    return lines


def _verdicts_md(results: dict[str, Any], plan: Plan) -> list[str]:
    """One table: each target of the issue, what was measured, met or not."""
    sections = results["sections"]
    rows: list[list[str]] = []

    def verdict(ok: bool | None) -> str:
        return "–" if ok is None else ("met" if ok else "**not met**")

    headline = sections.get("headline")
    if headline:
        entry = next(
            (
                e
                for e in ratios(headline["best"], list(TARGETS))
                if e["strategy"] == "LocalClassifierPerParentNode"
            ),
            {},
        )
        n, branching = headline["n_samples"], headline["branching"]
        for method, target in TARGETS.items():
            value = entry.get(method)
            own = entry.get(method + "_framework")
            rows.append(
                [
                    f"{method} ≥ {target:.0f}× faster than hiclass LCPPN "
                    f"({n // 1000}k rows × {math.prod(branching):,} leaves)",
                    f"{_fmt(value)}× (CPU time {_fmt(entry.get(method + '_cpu'))}×"
                    + (f"; own time without the base model's {_fmt(own)}×" if own else "")
                    + ")",
                    verdict(None if value is None else value >= target),
                ]
            )
    big = sections.get("big")
    if big and len(big["rows"]) > 1:
        ours, theirs = big["rows"][0], big["rows"][1]
        for method in ("fit", "predict"):
            a, b = theirs.get(f"{method}_s"), ours.get(f"{method}_s")
            if a and b:
                text = f"{a / b:,.0f}× ({a:.1f} s vs {b:.2f} s)"
            elif theirs["status"] == "timeout" and theirs.get("unfinished_phase") == method and b:
                text = (
                    f"> {big['hiclass_timeout_s'] / b:,.0f}× (hiclass timed out after "
                    f"{big['hiclass_timeout_s']:.0f} s; hiercls {b:.2f} s)"
                )
            else:
                continue
            rows.append(
                [
                    f"{method} at {_rows(big['n_samples'])} rows × "
                    f"{math.prod(big['branching']):,} leaves vs hiclass LCPPN",
                    text,
                    "–",
                ]
            )
    scaling = sections.get("scaling")
    if scaling:
        for branching in plan.row_branchings:
            pts = [r for r in scaling["by_rows"] if tuple(r["branching"]) == tuple(branching)]
            exps_sizes = _row_exponents_with_sizes(pts, ("fit", "predict", "predict_top_k", "predict_proba"))
            exps = {m: e for m, (e, _) in exps_sizes.items()}
            if exps:
                sizes = [r["n_samples"] for r in pts]
                over = [m for m, e in exps.items() if e > 1.15]
                rows.append(
                    [
                        f"linear in rows ({math.prod(branching):,} leaves; CPU-time exponent "
                        f"≤ 1.15 between the two largest sizes, {_rows(sizes[-2])} → "
                        f"{_rows(sizes[-1])} rows unless noted)",
                        ", ".join(
                            f"{m} {_fmt(e)}"
                            + ("" if (a, b) == (sizes[-2], sizes[-1]) else f" ({_rows(a)} → {_rows(b)})")
                            for m, (e, (a, b)) in exps_sizes.items()
                        ),
                        verdict(not over)
                        + (
                            f" for {', '.join(over)}; met for the rest"
                            if over and len(over) < len(exps)
                            else ""
                        ),
                    ]
                )
        nodes = scaling["by_nodes"]
        unvisited = scaling.get("unvisited") or []
        growth = _unvisited_growth(unvisited)
        if growth:
            sizes = [r.get("n_tree_nodes") or 0 for r in unvisited]
            rows.append(
                [
                    f"flat in nodes no row visits (`predict` of {plan.unvisited_rows:,} "
                    f"rows down a fixed path, {sizes[0]:,} → {sizes[-1]:,} nodes in the "
                    f"tree; growth ≤ 1.5×)",
                    ", ".join(f"{m} {_fmt(g)}×" for m, g in growth.items()),
                    verdict(max(growth.get("predict", 99), growth.get("predict (own time)", 99)) <= 1.5),
                ]
            )
        growth = _node_growth(nodes)
        if growth:
            leaves = [math.prod(r["branching"]) for r in nodes]
            rows.append(
                [
                    f"complete trees at {plan.node_rows:,} rows, {leaves[0]:,} → "
                    f"{leaves[-1]:,} leaves (visited nodes get wider too)",
                    ", ".join(f"{m} {_fmt(g)}×" for m, g in growth.items()),
                    "–",
                ]
            )
        per_node = _fit_cost_per_node(nodes)
        if per_node is not None:
            rows.append(
                [
                    "fit: cost per node model (each node with rows gets a model, so fit "
                    "grows with nodes by design)",
                    f"{per_node * 1e6:,.0f} µs CPU",
                    "–",
                ]
            )
    nodes = (scaling or {}).get("by_nodes") or []
    peaks = [(r.get("n_node_models"), r.get("fit_peak_delta_mb")) for r in nodes]
    if len(peaks) >= 2 and all(p[1] for p in peaks) and peaks[-1][0] > peaks[0][0]:
        x_mb = nodes[0]["X_mb"]
        per_node_mb = (peaks[-1][1] - peaks[0][1]) / (peaks[-1][0] - peaks[0][0])
        text = (
            f"fit's peak RSS growth at {plan.node_rows:,} rows: {peaks[0][1]:.0f} MB with "
            f"{peaks[0][0]} node models, {peaks[-1][1]:.0f} MB with {peaks[-1][0]}: "
            f"{per_node_mb:.3f} MB per extra node model, against X = {x_mb:.1f} MB"
        )
        per_node = _fit_cost_per_node(nodes)
        if per_node is not None:
            text += f"; {per_node * 1e6:,.0f} µs CPU per node model"
        if big and big["rows"][0].get("fit_peak_delta_mb") and big["rows"][0].get("X_mb"):
            ours = big["rows"][0]
            text += (
                f". At {_rows(big['n_samples'])} rows: {ours['fit_peak_delta_mb']:.0f} MB "
                f"= {ours['fit_peak_delta_mb'] / ours['X_mb']:.1f} × X (one copy of X for "
                f"the root's rows, node codes, per-node row lists)"
            )
        rows.append(
            [
                "no per-node copy of the whole X (memory per extra node model ≪ X)",
                text,
                verdict(per_node_mb < 0.1 * x_mb),
            ]
        )
    labels = sections.get("labels")
    if labels and labels.get("status") == "ok":
        sets = labels["training_sets"]
        encoded = (
            labels["node_codes"]["nbytes"]
            + labels["missing_mask_nbytes"]
            + sets["rows_nbytes"]
            + sets["targets_nbytes"]
        )
        stored = labels["node_codes"]["nbytes"] + labels["missing_mask_nbytes"]
        rows.append(
            [
                f"labels as integer codes, < {LABEL_MEMORY_TARGET_MB:.0f} MB for "
                f"{_rows(labels['data']['n_samples'])} rows × "
                f"{labels['data']['n_levels']} levels",
                f"{labels['node_codes']['dtype']} node codes + mask {stored / MB:.0f} MB "
                f"(fit also holds {encoded / MB - stored / MB:.0f} MB of per-node row and "
                f"outcome arrays at once: {encoded / MB:.0f} MB together)",
                verdict(stored / MB < LABEL_MEMORY_TARGET_MB)
                + ("" if encoded / MB < LABEL_MEMORY_TARGET_MB else "; over 50 MB with the per-node arrays"),
            ]
        )
    if not rows:
        return []
    return ["## Summary against the issue's targets", "", _table(["target", "measured", "verdict"], rows), ""]


def _rows(n: int) -> str:
    if n >= 10**6 and n % 10**6 == 0:
        return f"{n // 10**6}M"
    return f"{n // 1000}k" if n >= 10**4 and n % 1000 == 0 else f"{n:,}"


def _sources_note(results: dict[str, Any]) -> str:
    """Which hiercls code was measured: commit, and the hash of the frozen copy per section."""
    machine = results["machine"]
    runs = results.get("section_runs", {})
    by_hash: dict[str, list[str]] = {}
    for name, run in runs.items():
        label = f"{run.get('hiercls_source', '?')} {run.get('hiercls_sources_sha256', '?')}"
        by_hash.setdefault(label, []).append(name)
    copies = "; ".join(f"{label}: {', '.join(names)}" for label, names in by_hash.items())
    dirty = machine.get("hiercls_dirty_files") or []
    return (
        f"git {str(machine.get('git_commit'))[:10]}"
        + (f" plus uncommitted edits to {len(dirty)} files" if dirty else "")
        + f"; frozen copy measured, sources sha256 {copies}"
    )


def write_report(results: dict[str, Any], plan: Plan, out_dir: Path, stem: str) -> None:
    machine = results["machine"]
    md = [
        "# hiercls framework overhead",
        "",
        "Written by `experiments/bench_overhead.py`"
        + (" (--quick smoke test: tiny sizes, not the real result)" if results["quick"] else "")
        + ". Base model `DummyClassifier`, `n_jobs=1`, one thread for BLAS/OpenMP; every "
        "(library, strategy, size) runs in its own process. Times are wall-clock seconds "
        "(CPU seconds are in the JSON/CSV).",
        "",
        f"Machine: {machine['cpu_model']}, {machine['logical_cpus']} logical CPUs, "
        f"{machine['memory_gib']} GiB; load average at start "
        f"{', '.join(f'{x:.1f}' for x in machine['load_average'] or [])}, at end "
        f"{', '.join(f'{x:.1f}' for x in results.get('load_average_end') or [])} "
        f"(shared machine: other jobs ran alongside).  ",
        _runner.provenance_note([machine])[0] + f" hiercls sources: {_sources_note(results)}; "
        f"Python {machine['python']}.  ",
        "Data: `hiercls.datasets.make_hierarchical_classification` (Zipf leaf sizes, "
        "tail_exponent=1, unique labels per node), 20 float32 features. Sections "
        + ", ".join(
            f"{name} finished {run['finished'][11:16]} ({run['seconds'] / 60:.1f} min)"
            for name, run in results.get("section_runs", {}).items()
        )
        + " (UTC).",
        "",
    ]
    sections = results["sections"]
    md += _verdicts_md(results, plan)
    if "headline" in sections:
        md += ["## Headline: hiercls vs hiclass", ""]
        md += _headline_md(sections["headline"], "Default DummyClassifier (prior)")
        md += _target_lines(sections["headline"])
        md += [""]
    if "stress" in sections:
        md += _headline_md(sections["stress"], "Routing stress: rows spread over every node")
        md += [
            "",
            "`strategy='stratified'` gives random one-hot probabilities, so rows "
            "scatter over all nodes at every level; with the default `prior` strategy every "
            "row follows the same path and routing is nearly free for both libraries.",
            "",
        ]
    if "big" in sections:
        big = sections["big"]
        n, branching = big["n_samples"], big["branching"]
        md += [
            f"## {n:,} rows, {math.prod(branching):,} leaves, {len(branching)} levels",
            "",
            "Dense per-level probabilities for this size do not fit in memory, so "
            "`predict_top_k(k=5)` stands in for `predict_proba`. hiclass runs only its "
            f"fastest strategy, with a {big['hiclass_timeout_s']:.0f} s limit.",
            "",
        ]
        table = []
        for row in big["rows"]:
            row["_timeout"] = big["hiclass_timeout_s"]
            ours_row = row["library"] == "hiercls"
            table.append(
                [
                    _short(row["strategy"]),
                    row["status"],
                    _status_cell(row, "fit"),
                    _status_cell(row, "predict"),
                    _fmt(row.get("predict_top_k_s")) if ours_row else "n/a",
                    _fmt(row.get("predict_paths_s")) if ours_row else "n/a",
                    row.get("fit_peak_delta_mb"),
                    row.get("predict_peak_delta_mb"),
                    row.get("predict_top_k_peak_delta_mb") if ours_row else "n/a",
                ]
            )
        md.append(
            _table(
                [
                    "library",
                    "status",
                    "fit s",
                    "predict s",
                    "top-5 paths s",
                    "predict_paths s",
                    "fit peak RSS growth MB",
                    "predict peak growth MB",
                    "top-5 peak growth MB",
                ],
                table,
            )
        )
        ours = big["rows"][0]
        one_call = ours.get("predict_top_k_1call_s")
        error = ours.get("predict_top_k_1call_error")
        md.append(
            f"\nTop-5 paths are computed in chunks of {TOP_K_CHUNK:,} rows. In one call on "
            f"all {n:,} rows: "
            + (
                f"{one_call:.1f} s."
                if one_call
                else f"failed with `{error}` under the {results.get('memory_limit_gb')} GiB "
                f"address-space cap."
                if error
                else "not run."
            )
        )
        if len(big["rows"]) > 1:
            theirs = big["rows"][1]
            for method in ("fit", "predict"):
                a, b = theirs.get(f"{method}_s"), ours.get(f"{method}_s")
                if a and b:
                    md.append(f"\n{method}: hiclass / hiercls = {a / b:,.0f}×.")
                elif theirs["status"] == "timeout" and theirs.get("unfinished_phase") == method:
                    md.append(
                        f"\n{method}: hiclass did not finish in "
                        f"{big['hiclass_timeout_s']:.0f} s, i.e. more than "
                        f"{big['hiclass_timeout_s'] / b:,.0f}× hiercls's {b:.2f} s."
                    )
        md += [""]
    if "scaling" in sections:
        md += _scaling_md(sections["scaling"], plan) + [""]
    if "labels" in sections:
        md += _labels_md(sections["labels"], sections.get("big")) + [""]
    if "profiles" in sections:
        md += _profiles_summary(sections["profiles"]) + [""]
    (out_dir / f"{stem}.md").write_text("\n".join(md).rstrip() + "\n")

    if "profiles" in sections:
        text = [
            "# pyinstrument profiles of hiercls",
            "",
            "Written by `experiments/bench_overhead.py`; DummyClassifier base, n_jobs=1.",
            "",
        ]
        for outcome in sections["profiles"].values():
            result = outcome.get("result") or {}
            for method, prof in (result.get("profiles") or {}).items():
                data = result["data"]
                text += [
                    f"## {method}: {data['n_samples']:,} rows × "
                    f"{data['nodes_per_level'][-1]:,} leaves ({prof['loops']} calls)",
                    "",
                    "```",
                    prof["text"].strip(),
                    "```",
                    "",
                ]
        (out_dir / f"{stem}_profiles.md").write_text("\n".join(text))


def write_csv(results: dict[str, Any], out_dir: Path, stem: str) -> None:
    import csv

    rows = []
    sections = results["sections"]
    for name in ("headline", "stress"):
        if name in sections:
            for round_index, round_rows in enumerate(sections[name]["rounds"]):
                rows += [{"section": name, "round": round_index, **r} for r in round_rows]
    if "big" in sections:
        rows += [{"section": "big", **r} for r in sections["big"]["rows"]]
    if "scaling" in sections:
        rows += [{"section": "scaling_rows", **r} for r in sections["scaling"]["by_rows"]]
        rows += [{"section": "scaling_nodes", **r} for r in sections["scaling"]["by_nodes"]]
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns and not c.startswith("_")]
    with open(out_dir / f"{stem}.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: (json.dumps(v) if isinstance(v, (list, dict)) else v) for k, v in row.items()}
            )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, < 1 minute")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--sections", nargs="+", choices=SECTIONS, default=None, help="default: all (quick: all but stress)"
    )
    parser.add_argument(
        "--rounds", type=int, default=None, help="rounds of the headline comparison (default 3, quick 1)"
    )
    parser.add_argument(
        "--hiclass-timeout",
        type=float,
        default=None,
        help="limit for hiclass at the big size, s (default 900, quick 20)",
    )
    parser.add_argument("--timeout", type=float, default=1800.0, help="limit for every other measurement, s")
    parser.add_argument("--skip-big-hiclass", action="store_true")
    parser.add_argument(
        "--memory-limit-gb",
        type=float,
        default=12.0,
        help="address-space cap per measurement process (MemoryError beyond)",
    )
    parser.add_argument(
        "--source",
        choices=("worktree", "head"),
        default="worktree",
        help="which hiercls to measure: the working tree as it is at start "
        "(copied, so later edits do not leak in) or the last commit",
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the sections of an existing result JSON that this run "
        "does not redo, then rewrite the report from all of them",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite the Markdown and CSV from the existing JSON, run nothing",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--progress", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(args.child, args.progress, args.result)
        return

    plan = QUICK if args.quick else FULL
    chosen = args.sections or [s for s in SECTIONS if not (args.quick and s == "stress")]
    rounds = args.rounds or (1 if args.quick else 3)
    hiclass_timeout = args.hiclass_timeout or (20.0 if args.quick else 900.0)
    args.out = args.out or _runner.results_dir(args.quick)
    stem = "overhead_quick" if args.quick else "overhead"
    args.out.mkdir(parents=True, exist_ok=True)
    if args.report_only:
        results = json.loads((args.out / f"{stem}.json").read_text())
        write_csv(results, args.out, stem)
        write_report(results, plan, args.out, stem)
        return
    started = time.perf_counter()
    results: dict[str, Any] = {
        "quick": args.quick,
        "plan": asdict(plan),
        "machine": _runner.machine_info(),
        "targets": TARGETS,
        "sections": {},
        "section_runs": {},
    }
    json_path = args.out / f"{stem}.json"
    if args.merge and json_path.exists():
        previous = json.loads(json_path.read_text())
        results["sections"] = {k: v for k, v in previous["sections"].items() if k not in chosen}
        results["section_runs"] = {
            k: v for k, v in previous.get("section_runs", {}).items() if k not in chosen
        }
        results["merged_from_previous"] = sorted(results["sections"])
    sections = results["sections"]
    with tempfile.TemporaryDirectory(prefix="bench_overhead_") as tmp:
        snapshot = bu.snapshot_package(Path(tmp) / "snapshot", source=args.source)
        results["snapshot"] = snapshot
        print(
            f"measuring hiercls from the {args.source} (sources {snapshot['hiercls_sources_sha256']})",
            flush=True,
        )
        runner = Runner(
            Path(tmp),
            timeout=args.timeout,
            pythonpath=snapshot["path"],
            memory_limit_bytes=int(args.memory_limit_gb * 2**30),
        )
        results["memory_limit_gb"] = args.memory_limit_gb

        def run_section(name: str, fn: Callable[[], dict[str, Any]]) -> None:
            started = time.perf_counter()
            try:
                sections[name] = fn()
            except Exception:  # a bug in one section must not lose the others
                import traceback

                traceback.print_exc()
                results.setdefault("section_errors", {})[name] = traceback.format_exc()[-3000:]
                return
            results["section_runs"][name] = {
                "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
                "seconds": time.perf_counter() - started,
                "hiercls_source": snapshot["source"],
                "hiercls_sources_sha256": snapshot["hiercls_sources_sha256"],
                "load_average_after": list(os.getloadavg()),
            }
            # Saved after every section: an hour of measurements should survive a crash.
            json_path.write_text(json.dumps(results, indent=1, default=_json_default))

        # Quick mode skips the slow hiclass strategies: each takes seconds even on 2k rows.
        strategies = HICLASS_STRATEGIES[:1] if args.quick else HICLASS_STRATEGIES
        if "headline" in chosen:
            run_section("headline", lambda: run_headline(runner, plan, rounds, "prior", strategies))
        if "stress" in chosen:
            run_section("stress", lambda: run_headline(runner, plan, 1, "stratified", strategies))
        if "big" in chosen:
            run_section("big", lambda: run_big(runner, plan, hiclass_timeout, args.skip_big_hiclass))
        if "scaling" in chosen:
            run_section("scaling", lambda: run_scaling(runner, plan))
        if "labels" in chosen:
            run_section("labels", lambda: run_labels(runner, plan))
        if "profiles" in chosen:
            run_section("profiles", lambda: run_profiles(runner, plan))
    results["total_s"] = time.perf_counter() - started
    results["load_average_end"] = list(os.getloadavg())
    json_path.write_text(json.dumps(results, indent=1, default=_json_default))
    write_csv(results, args.out, stem)
    write_report(results, plan, args.out, stem)
    print(f"wrote {args.out / stem}.md/.json/.csv in {results['total_s']:.0f} s")


if __name__ == "__main__":
    main()
