"""Cross-run comparison: the rows every compared run has, side by side, against the first run.

When one `edge-emotion benchmark` invocation measures several runs (`--model A --model B`), rows
that exist in every run with the same variant, backend, thread count and XNNPACK setting (matched
on the row id without its run prefix) are compared: each run's p50 latency, file size and
accuracy, and for every run after the first its speed-up (first run's p50 / its p50), size ratio
(its size / first run's size) and accuracy difference (its accuracy - first run's). Computed from
the rows alone, so `report` can re-render it from benchmark.json.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from edge_emotion.benchmarks.types import (
    Comparison,
    ComparisonRow,
    Row,
    RunFigures,
    RunInfo,
    Versus,
)

if TYPE_CHECKING:
    from edge_emotion.benchmarks.types import BenchmarkDoc


def _figures(row: Row) -> RunFigures:
    assert row.latency is not None
    return RunFigures(
        id=row.id,
        p50_ms=row.latency.p50_ms,
        mean_ms=row.latency.mean_ms,
        min_ms=row.latency.min_ms,
        file_bytes=row.file_bytes,
        accuracy=row.metrics.accuracy if row.metrics else None,
    )


def _versus(ref: RunFigures, other: RunFigures) -> Versus:
    return Versus(
        speedup_p50=ref.p50_ms / other.p50_ms,
        speedup_mean=ref.mean_ms / other.mean_ms,
        size_ratio=other.file_bytes / ref.file_bytes
        if ref.file_bytes and other.file_bytes
        else None,
        accuracy_delta=other.accuracy - ref.accuracy
        if ref.accuracy is not None and other.accuracy is not None
        else None,
    )


def compare(runs: Sequence[RunInfo], rows: Sequence[Row]) -> Comparison:
    """The `comparison` section of a benchmark document with several runs."""
    names = [r.name for r in runs]
    reference = names[0]
    by_run: dict[str, dict[str, Row]] = {name: {} for name in names}
    labels: dict[str, str] = {}  # key -> label, in the order of the rows
    for row in rows:
        if row.run in by_run and row.measured:
            by_run[row.run][row.key] = row
            labels.setdefault(row.key, row.label)
    out = []
    for key, label in labels.items():
        if not all(key in by_run[name] for name in names):
            continue
        figures = {name: _figures(by_run[name][key]) for name in names}
        versus = {name: _versus(figures[reference], figures[name]) for name in names[1:]}
        out.append(ComparisonRow(key=key, label=label, runs=figures, vs_reference=versus))
    hashes = {r.name: r.eval.images_sha256 for r in runs}
    same = None if None in hashes.values() else len(set(hashes.values())) == 1
    return Comparison(
        reference=reference,
        runs=tuple(names),
        same_eval_images=same,
        note="speedup = reference p50 / run p50; size_ratio = run file / reference file; "
        "accuracy_delta = run accuracy - reference accuracy; rows present in every run only",
        rows=tuple(out),
    )


def _size(n: int | None) -> str:
    from edge_emotion.benchmarks.report import _size as size

    return size(n)


def _faster(speedup: float, name: str) -> str:
    if speedup >= 1:
        return f"{name} {speedup:.2f}x faster"
    return f"{name} {1 / speedup:.2f}x slower"


def _acc(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def lines(doc: BenchmarkDoc) -> list[str]:
    """One plain-text line per compared row, e.g.
    `int8 litert t2: seed 0.140 ms, edge 0.050 ms -> edge 2.80x faster; 1.1 MB vs 200.0 kB
    (0.18x); acc 0.6915 vs 0.8900 (+0.1985)`."""
    from edge_emotion.benchmarks.report import _ms

    comp = doc.comparison
    if not comp:
        return []
    names = comp.runs
    out = []
    for row in comp.rows:
        figures, versus = row.runs, row.vs_reference
        latency = ", ".join(f"{n} {_ms(figures[n].p50_ms)} ms" for n in names)
        speed = ", ".join(_faster(versus[n].speedup_p50, n) for n in names[1:])
        sizes = " vs ".join(_size(figures[n].file_bytes) for n in names)
        ratios = ", ".join(
            f"{versus[n].size_ratio:.2f}x" for n in names[1:] if versus[n].size_ratio is not None
        )
        accs = " vs ".join(_acc(figures[n].accuracy) for n in names)
        deltas = ", ".join(
            f"{versus[n].accuracy_delta:+.4f}"
            for n in names[1:]
            if versus[n].accuracy_delta is not None
        )
        out.append(
            f"{row.label}: {latency} -> {speed}; {sizes}"
            + (f" ({ratios})" if ratios else "")
            + f"; acc {accs}"
            + (f" ({deltas})" if deltas else "")
        )
    return out


def intro(comp: Comparison) -> str:
    where = {
        True: "on the same evaluation images",
        False: "each on its own run's evaluation images (they differ)",
        None: "each on its own run's evaluation images",
    }[comp.same_eval_images]
    return (
        f"Cross-run comparison against {comp.reference} (rows every run has; p50 latency, "
        f"speed-up = {comp.reference} p50 / run p50, size ratio = run / "
        f"{comp.reference}, accuracy {where}):"
    )


def text(doc: BenchmarkDoc) -> str:
    """The comparison block under the stdout table ('' with one run)."""
    body = lines(doc)
    if not doc.comparison:
        return ""
    if not body:
        return "\nno row was measured in every run, so there is no cross-run comparison\n"
    return "\n" + intro(doc.comparison) + "\n" + "\n".join(f"  {line}" for line in body) + "\n"


def markdown(doc: BenchmarkDoc) -> str:
    """A markdown table: per run p50, size and accuracy; per other run the ratios."""
    comp = doc.comparison
    if not comp:
        return ""
    names = comp.runs
    others = names[1:]
    headers = ["row"]
    headers += [f"{n} p50 ms" for n in names]
    headers += [f"{n} speed-up" for n in others]
    headers += [f"{n} size" for n in names]
    headers += [f"{n} size ×" for n in others]
    headers += [f"{n} acc" for n in names]
    headers += [f"{n} Δacc" for n in others]
    table = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join(":---" if i == 0 else "---:" for i in range(len(headers))) + "|",
    ]
    from edge_emotion.benchmarks.report import _ms

    for row in comp.rows:
        f, v = row.runs, row.vs_reference
        cells = [row.label]
        cells += [_ms(f[n].p50_ms) for n in names]
        cells += [f"{v[n].speedup_p50:.2f}x" for n in others]
        cells += [_size(f[n].file_bytes) for n in names]
        cells += [f"{v[n].size_ratio:.3f}" if v[n].size_ratio is not None else "-" for n in others]
        cells += [_acc(f[n].accuracy) for n in names]
        cells += [
            f"{v[n].accuracy_delta:+.4f}" if v[n].accuracy_delta is not None else "-"
            for n in others
        ]
        table.append("| " + " | ".join(cells) + " |")
    if not comp.rows:
        table = ["No row was measured in every run."]
    return "\n".join(["## Cross-run comparison", "", intro(comp), "", *table]) + "\n"
