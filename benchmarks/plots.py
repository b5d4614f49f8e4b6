"""PNG plots of a benchmark document (matplotlib with the Agg backend, imported lazily).

- latency_vs_accuracy.png: p50 latency (log x) against accuracy; marker area ~ model file size,
  so "smaller, faster, as accurate" reads as small dots to the left at the Keras height.
- latency_distribution.png: box plot of every row's per-run latencies (log scale).

With several runs in one document (`--model A --model B`) the colour is the run instead of the
backend (the backend is in each point's label) and labels start with the run's name.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

from edge_emotion_runtime.metadata import write_atomic

LATENCY_VS_ACCURACY = "latency_vs_accuracy.png"
LATENCY_DISTRIBUTION = "latency_distribution.png"

_COLORS = {"keras": "#444444", "litert": "#1f77b4", "tflite": "#ff7f0e", "tensorflow": "#2ca02c"}
_MARKERS = {"keras": "s", "float32": "o", "float16": "D", "dynamic": "^", "int8": "v"}
_RUN_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2")


def _run_names(doc: dict[str, Any]) -> list[str]:
    runs = doc.get("runs") or []
    return [r["name"] for r in runs] if len(runs) > 1 else []


def _color(row: dict[str, Any], runs: list[str]) -> str:
    """Backend colour for one run; run colour when several runs share the plot."""
    if runs:
        index = runs.index(row["run"]) if row.get("run") in runs else len(runs)
        return _RUN_COLORS[index % len(_RUN_COLORS)]
    return _COLORS.get(row["backend"], "#9467bd")


def _label(row: dict[str, Any], runs: list[str]) -> str:
    return f"{row['run']}: {row['label']}" if runs and row.get("run") else row["label"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> None:
    """Render to memory, then write temp + rename: a crash never leaves a half-written PNG."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    write_atomic(path, buffer.getvalue())


def _measured(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in doc["rows"] if r.get("status") == "ok" and r.get("latency")]


def latency_vs_accuracy(doc: dict[str, Any], path: Path) -> Path:
    plt = _pyplot()
    rows = [r for r in _measured(doc) if r.get("metrics")]
    runs = _run_names(doc)
    fig, ax = plt.subplots(figsize=(9, 6), dpi=110)
    first_threads = min((r["threads"] for r in rows if r["threads"]), default=None)
    biggest = max((r.get("file_bytes") or 1 for r in rows), default=1)
    for r in rows:
        size = r.get("file_bytes") or 1
        area = 40 + 900 * math.sqrt(size / biggest)
        hollow = r["kind"] == "tflite" and not r["xnnpack"]
        color = _color(r, runs)
        ax.scatter(
            r["latency"]["p50_ms"],
            r["metrics"]["accuracy"],
            s=area,
            marker=_MARKERS.get(r["variant"], "o"),
            alpha=0.55,
            facecolors="none" if hollow else color,
            edgecolors=color,
            linewidths=1.5,
        )
        if r["kind"] != "tflite" or (r["xnnpack"] and r["threads"] == first_threads):
            ax.annotate(
                _label(r, runs),
                (r["latency"]["p50_ms"], r["metrics"]["accuracy"]),
                fontsize=6,
                xytext=(4, 4),
                textcoords="offset points",
            )
    ax.set_xscale("log")
    ax.set_xlabel("p50 latency per image, batch 1 (ms, log scale)")
    if runs:
        counts = ", ".join(f"{r['name']} {r['eval']['n']}" for r in doc["runs"])
        ax.set_ylabel(f"accuracy (images: {counts})")
    else:
        ax.set_ylabel(f"accuracy ({doc['settings']['eval']['n']} images)")
    ax.set_title("Latency vs accuracy (marker area ~ model file size; hollow = XNNPACK off)")
    if runs:
        handles = [
            plt.Line2D(
                [],
                [],
                marker="o",
                color=_RUN_COLORS[i % len(_RUN_COLORS)],
                linestyle="",
                label=name,
            )
            for i, name in enumerate(runs)
        ] + [
            plt.Line2D([], [], marker=m, color="#777777", linestyle="", label=v)
            for v, m in _MARKERS.items()
            if any(r["variant"] == v for r in rows)
        ]
        if handles:
            ax.legend(handles=handles, title="run / variant", loc="best", fontsize=8)
    else:
        handles = [
            plt.Line2D([], [], marker="o", color=c, linestyle="", label=b)
            for b, c in _COLORS.items()
            if any(r["backend"] == b for r in rows)
        ]
        if handles:
            ax.legend(handles=handles, title="backend", loc="best", fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return path


def latency_distribution(doc: dict[str, Any], path: Path) -> Path:
    plt = _pyplot()
    rows = _measured(doc)
    runs = _run_names(doc)
    fig, ax = plt.subplots(figsize=(9, max(3.0, 0.32 * len(rows) + 1.5)), dpi=110)
    data = [r["latencies_ms"] for r in rows]
    if data:
        box = ax.boxplot(
            data,
            vert=False,
            whis=(1, 99),
            showfliers=True,
            patch_artist=True,
            flierprops={"markersize": 2, "alpha": 0.5},
        )
        for patch, r in zip(box["boxes"], rows, strict=True):
            patch.set_facecolor(_color(r, runs))
            patch.set_alpha(0.5)
        ax.set_yticks(range(1, len(rows) + 1), [_label(r, runs) for r in rows], fontsize=7)
        ax.invert_yaxis()
        ax.set_xscale("log")
    ax.set_xlabel("latency per call (ms, log scale); box = quartiles, whiskers = p1..p99")
    ax.set_title(f"Latency distribution, {doc['settings']['runs']} timed runs per row")
    ax.grid(True, axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return path


def write_plots(doc: dict[str, Any], out_dir: Path) -> list[str]:
    """Write both plots; returns their file names."""
    out_dir.mkdir(parents=True, exist_ok=True)
    latency_vs_accuracy(doc, out_dir / LATENCY_VS_ACCURACY)
    latency_distribution(doc, out_dir / LATENCY_DISTRIBUTION)
    return [LATENCY_VS_ACCURACY, LATENCY_DISTRIBUTION]
