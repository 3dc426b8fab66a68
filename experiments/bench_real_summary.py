"""Summary of ``bench_real.py`` runs: Markdown + CSV table, targets, recall-bucket plot.

    python experiments/bench_real_summary.py [results.jsonl] [--quick]

Keeps the newest line per (dataset, model) of the requested mode. Times are compared
only between lines from the same CPU model; the table names the CPU of every line.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _runner as runner  # noqa: E402

BUCKETS = ("<10", "10–99", "100–999", "≥1000")
DATASET_ORDER = ("wordnet", "oews", "synthetic")
MODEL_ORDER = (
    "hiercls_default", "hiercls_default_top1", "hiercls_lr", "hiercls_proposed", "hiercls_lr_c10", "hiercls_lr_balanced", "hiercls_lgbm",
    "hiercls_lgbm_mcs5", "hiercls_lgbm_balanced",
    "hiercls_lgbm_lr_small", "hiclass_lcppn_lr", "hiclass_lcppn_lgbm", "hiclass_lcpn_lr",
    "hiclass_lcpl_lr", "flat_lr", "flat_lr_saga", "flat_lgbm", "napkinxc_plt",
)


def load_lines(path: Path, mode: str) -> pd.DataFrame:
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    lines = [line for line in lines if line.get("mode") == mode]
    if not lines:
        return pd.DataFrame()
    frame = pd.DataFrame(lines)
    frame = frame.sort_values("timestamp").drop_duplicates(["dataset", "model"], keep="last")
    frame["_d"] = frame["dataset"].map({d: i for i, d in enumerate(DATASET_ORDER)}).fillna(9)
    frame["_m"] = frame["model"].map({m: i for i, m in enumerate(MODEL_ORDER)}).fillna(99)
    return frame.sort_values(["_d", "_m"]).drop(columns=["_d", "_m"]).reset_index(drop=True)


def _get(row: pd.Series, key: str) -> Any:
    value = row.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _fmt(value: Any, spec: str = ".3f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return format(value, spec)


def _mib(value: Any) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else (
        f"{value / 2**20:,.0f}")


def table(frame: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for _, r in frame.iterrows():
        buckets = _get(r, "leaf_bucket_recall") or {}
        levels = _get(r, "per_level_accuracy") or {}
        status = r["status"]
        if status == "timeout":
            status = f"timeout ({r['timeout_s']:.0f} s, phase '{r.get('phase')}')"
        rows.append({
            "dataset": r["dataset"], "model": r["model"], "status": status,
            "n_train": _get(r, "n_train"), "fit_s": _get(r, "fit_s"),
            "fit_cpu_s": _get(r, "fit_cpu_s"),
            "predict_rows_per_s": _get(r, "predict_rows_per_s"),
            "latency_p50_ms": _get(r, "latency_p50_ms"),
            "latency_p99_ms": _get(r, "latency_p99_ms"),
            "latency_cpu_p99_ms": _get(r, "latency_cpu_p99_ms"),
            "peak_rss_tree_mib": None if _get(r, "peak_rss_tree_bytes") is None
            else r["peak_rss_tree_bytes"] / 2**20,
            "fit_extra_rss_mib": None if _get(r, "fit_extra_rss_bytes") is None
            else max(r["fit_extra_rss_bytes"], 0) / 2**20,
            "per_level_accuracy": " / ".join(f"{v:.3f}" for v in levels.values()) or None,
            "hierarchical_f1": _get(r, "hierarchical_f1"),
            "leaf_accuracy": _get(r, "leaf_accuracy"),
            **{f"recall_{b}": (buckets.get(b) or {}).get("macro_recall") for b in BUCKETS},
            **{f"n_classes_{b}": (buckets.get(b) or {}).get("n_classes") for b in BUCKETS},
            "recall_lt100": _get(r, "rare_recall_lt100"),
            "n_invalid_paths": _get(r, "n_invalid_paths"),
            "n_stopped_at_internal": _get(r, "n_stopped_at_internal"),
            "cpu_model": r["cpu_model"], "load_before": (r.get("load_average_before") or [None])[0],
            "git_commit": runner.row_commit(r),
            "hiercls_sources_sha256": _get(r, "hiercls_sources_sha256"),
        })
    return pd.DataFrame(rows)


def markdown_table(t: pd.DataFrame, frame: pd.DataFrame) -> str:
    """The results table, with the provenance sentence of ``runner.markdown_table`` above it."""
    columns = ("dataset", "model", "status", "fit s (CPU s)", "predict rows/s", "p50 ms", "p99 ms (CPU)",
               "peak RSS MiB (fit +MiB)", "per-level acc", "hF1", "leaf acc", "recall <10", "10–99",
               "100–999", "≥1000", "<100", "invalid")
    cells = []
    for _, r in t.iterrows():
        cells.append([
            r["dataset"], f"`{r['model']}`", r["status"],
            f"{_fmt(r['fit_s'], '.1f')} ({_fmt(r['fit_cpu_s'], '.1f')})",
            _fmt(r["predict_rows_per_s"], ",.0f"), _fmt(r["latency_p50_ms"], ".3f"),
            f"{_fmt(r['latency_p99_ms'], '.3f')} ({_fmt(r['latency_cpu_p99_ms'], '.3f')})",
            f"{_fmt(r['peak_rss_tree_mib'], ',.0f')} (+{_fmt(r['fit_extra_rss_mib'], ',.0f')})",
            r["per_level_accuracy"] if isinstance(r["per_level_accuracy"], str) else "–",
            _fmt(r["hierarchical_f1"], ".4f"),
            _fmt(r["leaf_accuracy"], ".4f"),
            *[_fmt(r[f"recall_{b}"], ".3f") for b in BUCKETS], _fmt(r["recall_lt100"], ".3f"),
            _fmt(r["n_invalid_paths"], ".0f"),
        ])
    rows = [{"git_commit": r.get("git_commit"), "versions": r.get("versions")} for _, r in frame.iterrows()]
    return "\n".join(runner.markdown_table(columns, rows, cells))


# ---------------------------------------------------------------------------- targets
def _row(frame: pd.DataFrame, dataset: str, model: str) -> pd.Series | None:
    hit = frame[(frame["dataset"] == dataset) & (frame["model"] == model)]
    return None if hit.empty else hit.iloc[0]


def _fit_bound(row: pd.Series) -> tuple[float | None, bool]:
    """Fit seconds, or a lower bound when the run timed out during fit."""
    if _get(row, "fit_s") is not None:
        return float(row["fit_s"]), False
    if row["status"] == "timeout":
        return float(row["timeout_s"]) - float(_get(row, "load_s") or 0) - float(
            _get(row, "featurize_s") or 0), True
    return None, False


def _label(model: str) -> str:
    if model == "hiercls_default":
        return "hiercls defaults"
    if model == "hiercls_default_top1":
        return "hiercls defaults, most probable path (`predict_top_k(X, 1)`)"
    return f"`{model}` (not default)"


def targets(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []

    def add(dataset: str, target: str, met: bool | None, figure: str) -> None:
        out.append({"dataset": dataset, "target": target,
                    "met": "–" if met is None else ("met" if met else "NOT met"),
                    "figure": figure})

    for dataset in DATASET_ORDER:
        # Same base model as hiclass: hiercls_lr when it was run (the default node model
        # differs from hiclass's on sparse data), else the default (the same on dense).
        same_lr = "hiercls_lr" if _row(frame, dataset, "hiercls_lr") is not None else "hiercls_default"
        for ours, theirs, label in ((same_lr, "hiclass_lcppn_lr", "LR"),
                                    ("hiercls_lgbm", "hiclass_lcppn_lgbm", "LightGBM")):
            a, b = _row(frame, dataset, ours), _row(frame, dataset, theirs)
            if a is None or b is None:
                continue
            vs = f"vs hiclass LCPPN ({label})"
            if a["cpu_model"] != b["cpu_model"]:
                add(dataset, f"{vs}: speed", None, "different CPUs: times not compared")
            else:
                fa, _ = _fit_bound(a)
                fb, bound = _fit_bound(b)
                if fa and fb:
                    ratio = fb / fa
                    ca, cb = _get(a, "fit_cpu_s"), _get(b, "fit_cpu_s")
                    cpu = f"; CPU {cb / ca:.1f}×" if ca and cb else ""
                    add(dataset, f"{vs}: fit ≥ 2× faster", ratio >= 2,
                        f"{'>' if bound else ''}{ratio:.1f}× ({fa:.1f} s vs "
                        f"{'>' if bound else ''}{fb:.1f} s{cpu})")
                pa, pb = _get(a, "predict_rows_per_s"), _get(b, "predict_rows_per_s")
                if pa and pb:
                    ca, cb = _get(a, "predict_cpu_s"), _get(b, "predict_cpu_s")
                    cpu = f"; CPU {cb / ca:.1f}×" if ca and cb else ""
                    add(dataset, f"{vs}: predict ≥ 10× faster", pa / pb >= 10,
                        f"{pa / pb:.1f}× ({pa:,.0f} vs {pb:,.0f} rows/s{cpu})")
            ma, mb = _get(a, "peak_rss_tree_bytes"), _get(b, "peak_rss_tree_bytes")
            if ma and mb and b["status"] == "ok":
                add(dataset, f"{vs}: peak memory no higher", ma <= mb,
                    f"{ma / 2**20:,.0f} vs {mb / 2**20:,.0f} MiB (during fit: "
                    f"+{_mib(_get(a, 'fit_extra_rss_bytes'))} vs "
                    f"+{_mib(_get(b, 'fit_extra_rss_bytes'))} MiB)")
            ha, hb = _get(a, "hierarchical_f1"), _get(b, "hierarchical_f1")
            if ha is not None and hb is not None:
                add(dataset, f"{vs}: hierarchical F1 no lower", ha >= hb - 1e-12,
                    f"{ha:.4f} vs {hb:.4f}")
        b = _row(frame, dataset, "hiclass_lcppn_lr")
        for ours in ("hiercls_default", "hiercls_default_top1", "hiercls_proposed",
                     "hiercls_lr_balanced"):
            a = _row(frame, dataset, ours)
            if a is None or b is None or a["status"] != "ok" or b["status"] != "ok":
                continue
            ra, rb = _get(a, "rare_recall_lt100"), _get(b, "rare_recall_lt100")
            label = _label(ours)
            add(dataset, f"{label} vs hiclass LCPPN (LR): recall on leaf classes with < 100 "
                "training rows ≥ +5 points", ra - rb >= 0.05,
                f"{ra:.3f} vs {rb:.3f} ({100 * (ra - rb):+.1f} points, "
                f"{int(_get(a, 'n_rare_leaf_classes_tested') or 0)} classes)")
        n = _row(frame, dataset, "napkinxc_plt")
        for ours in ("hiercls_default", "hiercls_default_top1", "hiercls_proposed"):
            a = _row(frame, dataset, ours)
            if a is None or n is None or n["status"] != "ok" or a["status"] != "ok" or (
                    dataset != "wordnet"):
                continue
            label = _label(ours)
            add(dataset, f"{label} vs napkinXC PLT: leaf accuracy reached",
                a["leaf_accuracy"] >= n["leaf_accuracy"],
                f"{a['leaf_accuracy']:.4f} vs {n['leaf_accuracy']:.4f}")
            add(dataset, f"{label} vs napkinXC PLT: rare-class (<100) recall reached",
                a["rare_recall_lt100"] >= n["rare_recall_lt100"],
                f"{a['rare_recall_lt100']:.3f} vs {n['rare_recall_lt100']:.3f}")
            if a["cpu_model"] == n["cpu_model"]:
                cpu = ""
                if _get(a, "fit_cpu_s") and _get(n, "fit_cpu_s"):
                    cpu = f"; CPU {a['fit_cpu_s'] / n['fit_cpu_s']:.1f}×"
                add(dataset, f"{label} vs napkinXC PLT: fit within 2×",
                    a["fit_s"] <= 2 * n["fit_s"],
                    f"{a['fit_s'] / n['fit_s']:.1f}× ({a['fit_s']:.1f} s vs {n['fit_s']:.1f} s{cpu})")
        a = _row(frame, dataset, "hiercls_default")
        g = _row(frame, dataset, "hiercls_lgbm")
        if dataset == "oews" and a is not None and g is not None and g["status"] == "ok":
            add(dataset, "hiercls+LightGBM beats hiercls+LR on tabular data",
                g["hierarchical_f1"] > a["hierarchical_f1"],
                f"hF1 {g['hierarchical_f1']:.4f} vs {a['hierarchical_f1']:.4f}; leaf acc "
                f"{g['leaf_accuracy']:.4f} vs {a['leaf_accuracy']:.4f}")
        if a is not None and _get(a, "latency_p99_ms") is not None:
            n_levels = len(_get(a, "levels") or [])
            cpu99 = _get(a, "latency_cpu_p99_ms")
            add(dataset, f"single-row latency p99 < 0.5 ms (hiercls defaults, {n_levels} levels)",
                a["latency_p99_ms"] < 0.5,
                f"wall p99 {a['latency_p99_ms']:.3f} ms, p50 {a['latency_p50_ms']:.3f} ms"
                + (f"; thread CPU p99 {cpu99:.3f} ms, p50 {a['latency_cpu_p50_ms']:.3f} ms"
                   if cpu99 is not None else ""))
    return out


# ---------------------------------------------------------------------------- plot
def plot(frame: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = [d for d in DATASET_ORDER if d in set(frame["dataset"])]
    ok = frame[frame["status"] == "ok"]
    fig, axes = plt.subplots(len(datasets), 1, figsize=(12, 3.8 * len(datasets)), squeeze=False)
    for ax, dataset in zip(axes[:, 0], datasets):
        rows = ok[ok["dataset"] == dataset]
        models = rows["model"].tolist()
        width = 0.8 / max(len(models), 1)
        x = np.arange(len(BUCKETS))
        cmap = plt.get_cmap("tab20")
        n_classes = None
        for k, (_, r) in enumerate(rows.iterrows()):
            buckets = r["leaf_bucket_recall"]
            values = [np.nan if buckets[b]["macro_recall"] is None else buckets[b]["macro_recall"]
                      for b in BUCKETS]
            n_classes = [buckets[b]["n_classes"] for b in BUCKETS]
            hatch = "" if r["model"].startswith("hiercls") else "//"
            ax.bar(x - 0.4 + width * (k + 0.5), values, width, label=r["model"],
                   color=cmap(k % 20), hatch=hatch, edgecolor="black", linewidth=0.3)
        labels = [f"{b}\n({n} classes)" if n_classes else b
                  for b, n in zip(BUCKETS, n_classes or [None] * 4)]
        ax.set_xticks(x, labels)
        ax.set_ylim(0, 1)
        ax.set_ylabel("macro recall of leaf classes")
        n_train = int(rows["n_train"].iloc[0]) if len(rows) else 0
        ax.set_title(f"{dataset}: recall by training support of the leaf class "
                     f"({n_train:,} training rows)")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=7, ncol=2, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------- writer
def write_summary(runs: Path, out_dir: Path, *, stem: str, mode: str) -> Path | None:
    frame = load_lines(runs, mode)
    if frame.empty:
        print(f"no {mode} lines in {runs}")
        return None
    t = table(frame)
    t.to_csv(out_dir / f"{stem}.csv", index=False)
    goals = targets(frame)
    plot(frame, out_dir / f"{stem}_recall_buckets.png")
    cpus = sorted(set(frame["cpu_model"]))
    # Lines written before the shared runner did not record these three.
    unrecorded = [name for name in ("lightgbm", "napkinxc", "scipy")
                  if not all(isinstance(v, dict) and v.get(name) for v in frame["versions"])]
    sources = frame.groupby(t["git_commit"].to_numpy())["hiercls_sources_sha256"].agg(
        lambda v: ", ".join(sorted({str(x) for x in v if isinstance(x, str)})) or "–")
    data_notes = []
    for dataset in DATASET_ORDER:
        rows = frame[(frame["dataset"] == dataset) & frame["n_train"].notna()]
        if rows.empty:
            continue
        r = rows.iloc[0]
        data_notes.append(
            f"- **{dataset}**: {int(r['n_rows_used']):,} of {int(r['n_total_rows']):,} rows "
            f"({int(r['n_train']):,} train / {int(r['n_test']):,} test, split seed 0, test 0.2); "
            f"classes per level {r['n_classes_per_level']}; {int(r['n_leaf_classes_train'])} "
            f"leaf classes (paths) in training; levels {r['levels']}. "
            f"Linear features: {rows[rows['features'] == 'linear']['featurizer'].iloc[0] if (rows['features'] == 'linear').any() else '–'}"
            f" ({int(rows[rows['features'] == 'linear']['n_features'].iloc[0]) if (rows['features'] == 'linear').any() else 0:,} columns). "
            f"Tree features: {rows[rows['features'] == 'tree']['featurizer'].iloc[0] if (rows['features'] == 'tree').any() else '–'}.")
    lines = [
        f"# Real-data benchmark ({mode} mode)",
        "",
        f"Generated by `experiments/bench_real_summary.py` from `{runs.name}` "
        f"({len(frame)} runs, newest per dataset × model). "
        f"CPU: {', '.join(cpus)}; {int(frame.iloc[0]['logical_cpus'])} logical CPUs; "
        "every run single-threaded. Machine shared with other jobs: load average before each "
        f"run {frame['load_average_before'].map(lambda v: v[0]).min():.1f}–"
        f"{frame['load_average_before'].map(lambda v: v[0]).max():.1f}.",
        "",
        "Commits: each run line records the commit checked out when it started (`git_commit`) "
        "and a hash of the hiercls sources it measured (the working tree could hold uncommitted "
        "changes; older lines carry no `-dirty` mark). hiercls sources sha256 per commit: "
        + "; ".join(f"{c}: {h}" for c, h in sources.items()) + "."
        + (f" Not recorded per run: {', '.join(unrecorded)} versions." if unrecorded else ""),
        "",
        "## Data",
        *data_notes,
        "",
        "## Results",
        "fit s: `fit` only (features precomputed). predict rows/s: `predict` on the whole "
        "test set, best of up to 5 passes. p50/p99: 1,000 single-row `predict` calls on already-featurized rows "
        "(fewer if they took over 60 s). Peak RSS: whole process tree (psutil polling, "
        "children included) over the run, including data loading; '+MiB' is the rise "
        "during `fit` (VmHWM reset before fit). Recall columns: macro recall of leaf classes "
        "(full paths, where a path ends) by training support; `<100` pools the first two "
        "buckets. invalid: predicted paths with a node no train/test path passes through.",
        "",
        markdown_table(t, frame),
        "",
        "## Targets",
        "| dataset | target | result | figure |",
        "|---|---|---|---|",
        *[f"| {g['dataset']} | {g['target']} | {g['met']} | {g['figure']} |" for g in goals],
        "",
        f"![recall by bucket]({stem}_recall_buckets.png)",
        "",
    ]
    errors = frame[~frame["status"].isin(["ok"])]
    if len(errors):
        lines += ["## Runs that did not finish", ""]
        for _, r in errors.iterrows():
            error = r.get("error")
            if isinstance(error, str):
                tail = error.splitlines()[0]
            else:
                stderr = r.get("stderr_tail")
                last = stderr.strip().splitlines()[-1:] if isinstance(stderr, str) else []
                tail = last[0] if last else ""
            lines.append(f"- {r['dataset']} `{r['model']}`: {r['status']} after "
                         f"{r['wall_s']:.0f} s (last finished phase: {r.get('phase')}) {tail[:300]}")
        lines.append("")
    diag = frame[frame["model"].str.startswith("hiercls_lgbm") & (frame["dataset"] == "oews")]
    if len(diag):
        lines += ["## hiercls + LightGBM on OEWS: accuracy of each level's choice given a "
                  "right parent", ""]
        for _, r in diag.iterrows():
            d = r.get("node_diagnosis")
            if isinstance(d, dict):
                acc = ", ".join(f"L{c['level']} {_fmt(c['conditional_accuracy'])}"
                                for c in d["conditional_accuracy"])
                lines.append(f"- `{r['model']}`: {acc}; {d['n_node_models']} node models, "
                             f"{d['n_constant']} constant"
                             + (f"; {int(r['n_nodes_on_lr'])} small nodes on LR"
                                if _get(r, "n_nodes_on_lr") else ""))
        lines.append("")
    notes = out_dir / f"{stem}_notes.md"
    if notes.exists():
        lines += [notes.read_text()]
    out = out_dir / f"{stem}.md"
    out.write_text("\n".join(lines))
    (out_dir / f"{stem}_targets.json").write_text(json.dumps(goals, indent=1))
    print(f"wrote {out}, {stem}.csv, {stem}_recall_buckets.png")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("runs", nargs="?", type=Path)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    stem = "real_quick" if args.quick else "real"
    out_dir = HERE / "results" / ("quick" if args.quick else "")
    runs = args.runs or out_dir / f"{stem}_runs.jsonl"
    write_summary(runs, out_dir, stem=stem, mode="quick" if args.quick else "full")


if __name__ == "__main__":
    main()
