"""Benchmark rows from what the workers reported: accuracy metrics, file facts, the photo
pipeline's times, cold starts, and the ratios of each row to its run's fair baselines."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from edge_emotion.benchmarks import plan
from edge_emotion.benchmarks.stats import summarize
from edge_emotion.benchmarks.types import ColdStart, EvalInfo, Metrics, PhotoTimes, Ratios, Row
from edge_emotion.export.types import ExportMode
from edge_emotion.vocab import RowKind
from edge_emotion_runtime.metadata import read_metadata


@dataclass(frozen=True)
class EvalSet:
    pixels: np.ndarray
    labels: np.ndarray
    image: str  # one image file for the cold-start processes
    info: EvalInfo


# A worker's JSON line for a row is that row's JSON, plus these: the row's id, and what the runner
# turns into figures of its own (the raw probabilities, the photo pipeline's times).
_NOT_ROW_KEYS = ("row", "probs", "photo")


def _metrics(
    labels: np.ndarray, probs: np.ndarray, threshold: float, names: tuple[str, ...]
) -> Metrics:
    from edge_emotion.training.metrics import binary_metrics

    return Metrics.from_dict(binary_metrics(labels, probs, threshold, names))


def _file_facts(row: plan.RowSpec) -> tuple[int | None, str | None]:
    """The model file's size and, for a .tflite, the validation status in its metadata."""
    path = Path(row.model_path)
    if not path.is_file():
        return None, None
    status = None
    if row.kind == RowKind.TFLITE:
        try:
            meta = read_metadata(path)
        except Exception:
            meta = None
        status = meta.validation_status if meta else "no metadata"
    return path.stat().st_size, status


def _photo(reported: dict[str, Any]) -> PhotoTimes:
    """The worker's photo-pipeline times with their medians per stage."""
    p50 = {stage: float(np.median(ms)) for stage, ms in reported["ms"].items()}
    return PhotoTimes.from_dict({**reported, "p50_ms": p50})


def _row(spec: plan.RowSpec, got: dict[str, Any] | None, cold: ColdStart | None) -> Row:
    """A row from its spec and what its worker reported (None: never measured)."""
    file_bytes, validation = _file_facts(spec)
    facts = {"file_bytes": file_bytes, "validation_status": validation}
    if spec.skip_reason is not None:
        return Row.of(spec, status="skipped", reason=spec.skip_reason, **facts)
    if got is None:
        return Row.of(spec, status="failed", reason="not measured", **facts)
    reported = {k: v for k, v in got.items() if k not in _NOT_ROW_KEYS}
    if not reported.get("reason"):
        reported.pop("reason", None)
    row = replace(Row.from_dict({**spec.to_dict(), **facts, **reported}), cold_start=cold)
    if row.status != "ok":
        return row
    assert row.latencies_ms is not None
    return replace(
        row,
        latency=summarize(row.latencies_ms),
        photo=_photo(got["photo"]) if "photo" in got else None,
    )


def assemble(
    groups: list[plan.Group],
    raw: dict[str, dict[str, Any]],
    cold: dict[str, ColdStart],
    evalset: EvalSet,
    threshold: float,
    names: tuple[str, ...],
) -> list[Row]:
    """One row per spec with every raw figure, stats, metrics, agreement and ratios."""
    specs = [row for group in groups for row in group.rows]
    probs: dict[str, np.ndarray] = {}
    rows: dict[str, Row] = {}
    for spec in specs:
        got = raw.get(spec.id)
        row = _row(spec, got, cold.get(spec.id))
        if row.status == "ok" and got is not None and "probs" in got:
            probs[spec.id] = np.asarray(got["probs"], dtype=np.float64)
            row = replace(
                row,
                metrics=_metrics(evalset.labels, probs[spec.id], threshold, names),
                eval_n=len(probs[spec.id]),
            )
        rows[spec.id] = row

    reference_id = next((s.id for s in specs if s.kind == RowKind.KERAS_DIRECT), "")
    reference = probs.get(reference_id)
    for spec in specs:
        if spec.id in probs and reference is not None and len(reference) == len(probs[spec.id]):
            p = probs[spec.id]
            same = (p > threshold) == (reference > threshold)
            rows[spec.id] = replace(
                rows[spec.id],
                agreement_with_keras=float(same.mean()) if len(p) else None,
                disagreements_with_keras=int((~same).sum()),
                max_abs_prob_diff_vs_keras=float(np.abs(p - reference).max()) if len(p) else None,
            )
    for spec in specs:  # rows that reuse another row's evaluation (other thread counts)
        row = rows[spec.id]
        source = rows.get(spec.metrics_from or "")
        if row.status == "ok" and row.metrics is None and source and source.metrics:
            rows[spec.id] = replace(
                row,
                metrics=source.metrics,
                eval_n=source.eval_n,
                agreement_with_keras=source.agreement_with_keras,
                disagreements_with_keras=source.disagreements_with_keras,
                max_abs_prob_diff_vs_keras=source.max_abs_prob_diff_vs_keras,
            )
    return add_ratios(list(rows.values()))


def add_ratios(rows: list[Row]) -> list[Row]:
    """The rows with ratios against fair baselines: speed against the compiled Keras call (eager
    `model(x)` pays Python dispatch per layer, which flatters small models), size against the
    run's float32 .tflite (`model.keras` also stores the optimizer state)."""
    ok = [r for r in rows if r.status == "ok"]
    eager = next((r for r in ok if r.kind == RowKind.KERAS_DIRECT), None)
    base = next((r for r in ok if r.kind == RowKind.KERAS_COMPILED), eager)
    if base is None:
        return rows
    f32 = next(
        (r for r in rows if r.kind == RowKind.TFLITE and r.variant == ExportMode.FLOAT32), None
    )
    f32_bytes = f32.file_bytes if f32 else None
    return [
        replace(r, ratios=_ratios(r, base, eager, f32_bytes)) if r.status == "ok" else r
        for r in rows
    ]


def _ratios(row: Row, base: Row, eager: Row | None, f32_bytes: int | None) -> Ratios:
    assert row.latency is not None and base.latency is not None
    p50 = row.latency.p50_ms
    bc, rc = base.cold_start, row.cold_start
    colds = bc and rc and bc.status == "ok" and rc.status == "ok"
    return Ratios(
        baseline=base.kind,
        speedup_p50=base.latency.p50_ms / p50,
        speedup_mean=base.latency.mean_ms / row.latency.mean_ms,
        speedup_p50_vs_eager=eager.latency.p50_ms / p50 if eager and eager.latency else None,
        wrapper_overhead_p50=p50 / float(np.median(row.bare_latencies_ms))
        if row.bare_latencies_ms
        else None,
        size_ratio=row.file_bytes / f32_bytes
        if f32_bytes and row.file_bytes and row.kind == RowKind.TFLITE
        else None,
        accuracy_delta=row.metrics.accuracy - base.metrics.accuracy
        if base.metrics and row.metrics
        else None,
        cold_start_speedup=bc.wall_ms_median / rc.wall_ms_median if colds else None,
        peak_rss_ratio=rc.peak_rss_mb / bc.peak_rss_mb if colds else None,
    )
