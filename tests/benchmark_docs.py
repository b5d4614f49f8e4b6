"""Benchmark documents for the fast benchmark tests: the committed results and small typed rows."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from edge_emotion.benchmarks.types import BenchmarkDoc, Metrics, Row

RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results"
COMMITTED = sorted(RESULTS.glob("*/benchmark.json"))


def committed_doc(path: Path | None = None) -> BenchmarkDoc:
    return BenchmarkDoc.from_dict(json.loads((path or COMMITTED[0]).read_text()))


def single_run_doc(rows: list[Row]) -> BenchmarkDoc:
    """A committed document's settings and machine, reduced to its first run, around `rows`."""
    doc = committed_doc()
    return replace(doc, runs=doc.runs[:1], rows=tuple(rows), comparison=None)


def tflite_row(
    variant: str, backend: str, threads: int, *, run: str = "", status: str = "ok", **figures
) -> Row:
    """A row of `variant` on `backend` (id `variant-backend-tN`, prefixed by the run if any)."""
    key = f"{variant}-{backend}-t{threads}"
    return Row(
        id=f"{run}:{key}" if run else key,
        kind="tflite",
        variant=variant,
        backend=backend,
        threads=threads,
        xnnpack=True,
        model_path=f"export/{variant}.tflite",
        evaluate=True,
        run=run,
        status=status,
        file_bytes=figures.pop("file_bytes", None),
        **figures,
    )


def metrics(accuracy: float, f1: float = 0.5, roc_auc: float | None = None) -> Metrics:
    return Metrics(
        n=4,
        threshold=0.5,
        accuracy=accuracy,
        precision=0.5,
        recall=0.5,
        f1=f1,
        roc_auc=roc_auc,
        confusion_matrix=((2, 1), (0, 1)),
        support={"happy": 3, "sad": 1},
        per_class={},
        positive_label="sad",
    )
