"""PNG plots of a benchmark document (matplotlib with the Agg backend, imported lazily).

- latency_vs_accuracy.png: p50 latency (log x) against accuracy; marker area ~ model file size,
  so "smaller, faster, as accurate" reads as small dots to the left at the Keras height.
- latency_distribution.png: box plot of every row's per-run latencies (log scale).

With several runs in one document (`--model A --model B`) latency_vs_accuracy draws one panel per
run (colour = backend throughout); the distribution plot colours by run and prefixes the run.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

from edge_emotion.benchmarks.types import BenchmarkDoc, Row
from edge_emotion.vocab import RowKind
from edge_emotion_runtime.metadata import write_atomic

LATENCY_VS_ACCURACY = "latency_vs_accuracy.png"
LATENCY_DISTRIBUTION = "latency_distribution.png"

_COLORS = {"keras": "#444444", "litert": "#1f77b4", "tflite": "#ff7f0e", "tensorflow": "#2ca02c"}
_MARKERS = {"keras": "s", "float32": "o", "float16": "D", "dynamic": "^", "int8": "v"}
_RUN_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2")


def _run_names(doc: BenchmarkDoc) -> list[str]:
    return [r.name for r in doc.runs] if doc.multi else []


def _color(row: Row, runs: list[str]) -> str:
    """Backend colour for one run; run colour when several runs share the plot."""
    if runs:
        index = runs.index(row.run) if row.run in runs else len(runs)
        return _RUN_COLORS[index % len(_RUN_COLORS)]
    return _COLORS.get(row.backend, "#9467bd")


def _label(row: Row, runs: list[str]) -> str:
    return f"{row.run}: {row.label}" if runs and row.run else row.label


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


def _measured(doc: BenchmarkDoc) -> list[Row]:
    return [r for r in doc.rows if r.measured]


def _p50(row: Row) -> float:
    assert row.latency is not None
    return row.latency.p50_ms


def _accuracy(row: Row) -> float:
    assert row.metrics is not None
    return row.metrics.accuracy


def _labelled(rows: list[Row]) -> list[Row]:
    """The points worth a label: every Keras row, and per variant the fastest TFLite row (any
    backend and thread count, XNNPACK on where measured). The other rows stay unlabelled dots."""
    best: dict[str, Row] = {}
    out = [r for r in rows if r.kind != RowKind.TFLITE]
    for r in rows:
        if r.kind != RowKind.TFLITE:
            continue
        seen = best.get(r.variant)
        if seen is None or (not r.xnnpack, _p50(r)) < (not seen.xnnpack, _p50(seen)):
            best[r.variant] = r
    return out + list(best.values())


def _panel(ax: Any, rows: list[Row], runs: list[str], biggest: int) -> None:
    """One run's points; labels staggered above and below so neighbours do not overprint."""
    chosen = {id(r) for r in _labelled(rows)}
    for r in rows:
        size = r.file_bytes or 1
        hollow = r.kind == RowKind.TFLITE and not r.xnnpack
        color = _color(r, [])
        ax.scatter(
            _p50(r),
            _accuracy(r),
            s=30 + 500 * math.sqrt(size / biggest),
            marker=_MARKERS.get(r.variant, "o"),
            alpha=0.75 if id(r) in chosen else 0.25,
            facecolors="none" if hollow else color,
            edgecolors=color,
            linewidths=1.2,
        )
    labelled = sorted((r for r in rows if id(r) in chosen), key=_p50)
    for i, r in enumerate(labelled):
        dy = (18 + 14 * (i // 2 % 2)) * (1 if i % 2 == 0 else -1)
        ax.annotate(
            f"{r.label}  {_p50(r):.3g} ms",
            (_p50(r), _accuracy(r)),
            fontsize=7,
            xytext=(0, dy),
            textcoords="offset points",
            ha="center",
            va="bottom" if dy > 0 else "top",
            arrowprops={"arrowstyle": "-", "color": "#888888", "lw": 0.6},
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
        )
    accuracies = [_accuracy(r) for r in rows]
    low, high = min(accuracies), max(accuracies)
    pad = max(0.004, (high - low) * 0.8)
    ax.set_ylim(low - pad, high + pad)
    ax.set_xscale("log")
    ax.grid(True, which="both", alpha=0.3)


def latency_vs_accuracy(doc: BenchmarkDoc, path: Path) -> Path:
    """One panel per run (their accuracies differ far more than their variants do); in each,
    every row is a dot but only the Keras rows and each variant's fastest TFLite row are named."""
    plt = _pyplot()
    rows = [r for r in _measured(doc) if r.metrics]
    runs = _run_names(doc)
    groups = [[r for r in rows if r.run == name] for name in runs] if runs else [rows]
    fig, axes = plt.subplots(
        len(groups), 1, figsize=(10, 1.0 + 4.2 * len(groups)), dpi=110, squeeze=False
    )
    biggest = max((r.file_bytes or 1 for r in rows), default=1)
    lows = [_p50(r) for r in rows]
    for i, (ax, group) in enumerate(zip(axes[:, 0], groups, strict=True)):
        if group:
            _panel(ax, group, runs, biggest)
            ax.set_xlim(min(lows) / 1.6, max(lows) * 1.6)
        if runs:
            n = doc.runs[i].eval.n
            ax.set_title(f"{runs[i]}: accuracy on {n} images", fontsize=10, loc="left")
        else:
            ax.set_title(f"accuracy on {doc.runs[0].eval.n} images", fontsize=10)
        ax.set_ylabel("accuracy")
    axes[-1, 0].set_xlabel("p50 latency per image, batch 1 (ms, log scale)")
    handles = [
        plt.Line2D([], [], marker="o", color=c, linestyle="", label=b)
        for b, c in _COLORS.items()
        if any(r.backend == b for r in rows)
    ] + [
        plt.Line2D([], [], marker=m, color="#777777", linestyle="", label=v)
        for v, m in _MARKERS.items()
        if v != "keras" and any(r.variant == v for r in rows)
    ]
    if handles:  # below the panels, where no point or label can be
        fig.legend(handles=handles, loc="lower center", fontsize=8, ncol=len(handles))
    fig.suptitle(
        "Latency vs accuracy: named = Keras and each variant's fastest TFLite row; "
        "faint = other backends/threads; hollow = XNNPACK off; area ~ file size",
        fontsize=9,
    )
    fig.tight_layout(rect=(0, 0.035 if handles else 0, 1, 1))
    _save(fig, path)
    plt.close(fig)
    return path


def latency_distribution(doc: BenchmarkDoc, path: Path) -> Path:
    plt = _pyplot()
    rows = _measured(doc)
    runs = _run_names(doc)
    fig, ax = plt.subplots(figsize=(9, max(3.0, 0.32 * len(rows) + 1.5)), dpi=110)
    data = [r.latencies_ms for r in rows]
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
    ax.set_title(f"Latency distribution, {doc.settings.runs} timed runs per row")
    ax.grid(True, axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return path


def write_plots(doc: BenchmarkDoc, out_dir: Path) -> list[str]:
    """Write both plots; returns their file names."""
    out_dir.mkdir(parents=True, exist_ok=True)
    latency_vs_accuracy(doc, out_dir / LATENCY_VS_ACCURACY)
    latency_distribution(doc, out_dir / LATENCY_DISTRIBUTION)
    return [LATENCY_VS_ACCURACY, LATENCY_DISTRIBUTION]
