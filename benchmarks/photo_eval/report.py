"""The printed report of an evaluation: a few lines a person reads, from the summary document."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from edge_emotion.benchmarks.photo_eval.metrics import NO_FACE


def text(summary: Mapping[str, Any]) -> str:
    labels = summary["labels"]
    overall = summary["overall"]
    per_class = ", ".join(f"{label} {overall['recall'][label]['photos']}" for label in labels)
    lines = [
        f"{summary['dataset']}: {overall['photos']} labelled photos ({per_class}), "
        f"{summary['skipped']} skipped (unreadable)",
        f"pipeline: {_pipeline(summary)}",
        f"accuracy on covered {_pct(overall['accuracy'])} ({overall['correct']}/"
        f"{overall['covered']}), coverage {_pct(overall['coverage'])} ({overall['covered']}/"
        f"{overall['photos']}), uncertain {overall['uncertain']}",
        "recall on covered: "
        + ", ".join(
            f"{label} {_pct(r['recall'])} ({r['correct']}/{r['covered']}, coverage "
            f"{_pct(r['coverage'])})"
            for label, r in overall["recall"].items()
        ),
        *_confusion(overall["confusion"]),
        "by faces found: " + _buckets(summary["by_faces"]),
        "by face size (box side, px): " + _buckets(summary["by_face_size"]),
        "min confidence P: "
        + ", ".join(
            f"{row['min_confidence']:.1f} -> {_pct(row['accuracy'])} on {_pct(row['coverage'])}"
            for row in summary["min_confidence"]
        ),
        _timing(summary["ms"]),
    ]
    for name, other in summary["other_folders"].items():
        said = ", ".join(f"{k} {v}" for k, v in other["predicted"].items())
        lines.append(f"{name}/ (not scored): {other['photos']} photos: {said}")
    return "\n".join(lines) + "\n"


def _pipeline(summary: Mapping[str, Any]) -> str:
    """Model file, detector in use, then every option given (the rest are runtime defaults)."""
    pipeline = summary.get("pipeline", {})
    given = {**pipeline.get("load", {}), **pipeline.get("analyze", {})}
    given.pop("detector", None)
    parts = [
        f"model {Path(summary.get('model', {}).get('path', '?')).name}",
        f"detector {summary.get('detector') or 'none'}",
        *(f"{k.replace('_', '-')} {v}" for k, v in sorted(given.items())),
    ]
    return ", ".join(parts)


def _confusion(confusion: Mapping[str, Mapping[str, int]]) -> list[str]:
    columns = list(next(iter(confusion.values())).keys()) if confusion else [NO_FACE]
    width = max(len(c) for c in [*columns, *confusion]) + 2
    head = "truth \\ said".ljust(width) + "".join(c.rjust(width) for c in columns)
    rows = [
        t.ljust(width) + "".join(str(row[c]).rjust(width) for c in columns)
        for t, row in confusion.items()
    ]
    return ["confusion (rows truth, columns predicted):", "  " + head, *("  " + r for r in rows)]


def _buckets(buckets: Mapping[str, Mapping[str, Any]]) -> str:
    return ", ".join(
        f"{name}: {b['photos']} photos, {_pct(b['accuracy'])} on {_pct(b['coverage'])}"
        for name, b in buckets.items()
    )


def _timing(ms: Mapping[str, Any]) -> str:
    med = ms["median"]
    stages = ", ".join(f"{k} {_ms(med[k])}" for k in ("decode", "detect", "classify"))
    return (
        f"ms per photo (median): {stages}, total {_ms(med['total'])} "
        f"(p90 {_ms(ms['p90']['total'])}); wall {ms['wall_s']:.1f} s, {ms['photos_per_s']} photos/s"
    )


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"
