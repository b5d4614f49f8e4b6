"""The summary document of one evaluation (summary.json; the printed report is made from it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from edge_emotion.benchmarks.photo_eval import metrics
from edge_emotion.benchmarks.photo_eval.run import Evaluation

SCHEMA = "edge-emotion/evaluate-photos/1"


def build(
    evaluation: Evaluation,
    root: str,
    labels: Sequence[str],
    info: Mapping[str, Any],
) -> dict[str, Any]:
    """Every figure of the evaluation; `info` adds what was run (model, options, command)."""
    records = evaluation.records
    return {
        "schema": SCHEMA,
        "dataset": root,
        "labels": list(labels),
        "photos": len(records),
        "skipped": len(evaluation.skipped),
        "skipped_files": [{"path": s.path, "reason": s.reason} for s in evaluation.skipped],
        "overall": metrics.score(records, labels).to_dict(),
        "by_faces": {k: v.to_dict() for k, v in metrics.by_face_count(records, labels).items()},
        "by_face_size": {k: v.to_dict() for k, v in metrics.by_face_size(records, labels).items()},
        "min_confidence": metrics.confidence_sweep(records, labels),
        "other_folders": metrics.other_folders(records, labels),
        "ms": metrics.timing(records, evaluation.seconds),
        **info,
    }
