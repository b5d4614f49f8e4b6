"""Render a benchmark document as an aligned text table and as markdown.

Both are produced from benchmark.json alone, so the committed markdown always matches the JSON
next to it (and `python -m edge_emotion.benchmarks.report benchmark.json` re-renders it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from edge_emotion.benchmarks import compare
from edge_emotion.benchmarks.types import BenchmarkDoc, DocumentError, EvalInfo, Row, RunInfo
from edge_emotion.vocab import RowKind

COLUMNS = (
    ("row", "row"),
    ("p50 ms", "p50"),
    ("mean±std ms", "mean"),
    ("p99 ms", "p99"),
    ("img/s", "ips"),
    ("speed-up", "speedup"),
    ("load ms", "load"),
    ("1st ms", "first"),
    ("cold ms", "cold"),
    ("RSS MB", "rss"),
    ("size", "size"),
    ("size ×", "size_ratio"),
    ("acc", "acc"),
    ("Δacc", "dacc"),
    ("F1", "f1"),
    ("AUC", "auc"),
    ("agree", "agree"),
    ("XNNPACK", "xnn"),
)


def _size(n: int | None) -> str:
    if not n:
        return "-"
    for unit, div in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n} B"


def _ms(v: float | None) -> str:
    if v is None:
        return "-"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    if v >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def _xnn(row: Row) -> str:
    if row.kind != RowKind.TFLITE:
        return "-"
    if not row.xnnpack:
        return "off"
    info = row.xnnpack_delegate
    if info and info.nodes_replaced is not None:
        return f"{info.nodes_replaced}/{info.nodes_total} nodes"
    if info and info.delegate_nodes:
        return f"on ({info.delegate_nodes} part.)"
    # Requested (the default delegate) but the interpreter does not say whether it took any node.
    return "requested"


def columns(doc: BenchmarkDoc) -> tuple[tuple[str, str], ...]:
    """The table's columns: with several runs, a leading `run` column names each row's run."""
    return (("run", "run"), *COLUMNS) if doc.multi else COLUMNS


def _row_label(doc: BenchmarkDoc, row: Row) -> str:
    return f"{row.run}: {row.label}" if doc.multi and row.run else row.label


def cells(row: Row) -> dict[str, str]:
    """Display strings of one row (skipped/failed rows only carry their reason)."""
    out = {key: "-" for _, key in COLUMNS}
    out["row"] = row.label
    out["run"] = row.run or "-"
    lat = row.latency
    if not row.measured or lat is None:
        return out
    ratios, metrics = row.ratios, row.metrics
    cold = row.cold_start if row.cold_start and row.cold_start.status == "ok" else None
    out.update(
        p50=_ms(lat.p50_ms),
        mean=f"{_ms(lat.mean_ms)}±{_ms(lat.std_ms)}",
        p99=_ms(lat.p99_ms),
        ips=f"{lat.images_per_s:.0f}" if lat.images_per_s >= 10 else f"{lat.images_per_s:.1f}",
        speedup=f"{ratios.speedup_p50:.2f}x" if ratios else "-",
        load=_ms(row.load_ms),
        first=_ms(row.first_inference_ms),
        cold=_ms(cold.wall_ms_median) if cold else "-",
        rss=f"{cold.peak_rss_mb:.0f}" if cold else "-",
        size=_size(row.file_bytes),
        size_ratio=f"{ratios.size_ratio:.3f}" if ratios and ratios.size_ratio is not None else "-",
        acc=f"{metrics.accuracy:.4f}" if metrics else "-",
        dacc=f"{ratios.accuracy_delta:+.4f}"
        if ratios and ratios.accuracy_delta is not None
        else "-",
        f1=f"{metrics.f1:.4f}" if metrics else "-",
        auc=f"{metrics.roc_auc:.4f}" if metrics and metrics.roc_auc is not None else "-",
        agree=f"{row.agreement_with_keras:.4f}" if row.agreement_with_keras is not None else "-",
        xnn=_xnn(row),
    )
    return out


def failed_validation(doc: BenchmarkDoc) -> list[str]:
    """Variants whose embedded metadata says they failed validation at export."""
    seen = {
        f"{r.run} {r.variant}" if doc.multi and r.run else r.variant
        for r in doc.rows
        if r.validation_status == "failed"
    }
    return sorted(seen)


def _not_measured(doc: BenchmarkDoc) -> list[str]:
    return [
        f"{_row_label(doc, r)}: {r.status} "
        f"({r.reason if r.reason is not None else 'no reason given'})"
        for r in doc.rows
        if r.status != "ok"
    ]


def text_table(doc: BenchmarkDoc) -> str:
    """Plain aligned table for the terminal, skipped/failed rows listed below it (and, with
    several runs, the cross-run comparison)."""
    cols = columns(doc)
    left = 2 if doc.multi else 1  # text columns (run, row) are left-aligned
    headers = [h for h, _ in cols]
    body = [[cells(r)[k] for _, k in cols] for r in doc.rows if r.status == "ok"]
    widths = [
        max(len(h), *(len(line[i]) for line in body)) if body else len(h)
        for i, h in enumerate(headers)
    ]
    lines = [
        "  ".join(
            h.ljust(w) if i < left else h.rjust(w)
            for i, (h, w) in enumerate(zip(headers, widths, strict=True))
        )
    ]
    lines.append("  ".join("-" * w for w in widths))
    for line in body:
        lines.append(
            "  ".join(
                c.ljust(w) if i < left else c.rjust(w)
                for i, (c, w) in enumerate(zip(line, widths, strict=True))
            )
        )
    failed = failed_validation(doc)
    if failed:
        lines.append("")
        lines.append(f"failed validation at export (kept for inspection): {', '.join(failed)}")
    missing = _not_measured(doc)
    if missing:
        lines.append("")
        lines.append("not measured:")
        lines += [f"  {m}" for m in missing]
    photo_rows = [r for r in doc.rows if r.photo]
    if photo_rows:
        lines += ["", "photo pipeline, median ms (decode / detect / crop+classify = total):"]
        for r in photo_rows:
            assert r.photo is not None
            p = r.photo.p50_ms
            lines.append(
                f"  {_row_label(doc, r)}: {_ms(p.decode)} / {_ms(p.detect)} / "
                f"{_ms(p.classify)} = {_ms(p.total)}"
            )
    return "\n".join(lines) + "\n" + compare.text(doc)


def markdown_table(doc: BenchmarkDoc) -> str:
    cols = columns(doc)
    left = 2 if doc.multi else 1
    headers = [h for h, _ in cols]
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join(":---" if i < left else "---:" for i in range(len(headers))) + "|",
    ]
    for row in doc.rows:
        if row.status == "ok":
            c = cells(row)
            lines.append("| " + " | ".join(c[k] for _, k in cols) + " |")
    return "\n".join(lines) + "\n"


def _fmt_load(doc: BenchmarkDoc) -> str:
    start, end = doc.load_average.start, doc.load_average.end
    if not start:
        return "unknown"
    return (
        f"{start[0]:.2f} at start, {end[0]:.2f} at end (1-min load average)"
        if end
        else f"{start[0]:.2f}"
    )


def _provenance(run: RunInfo) -> list[str]:
    """The train/export commands that made the run, as far as the run dir records them."""
    lines = []
    if run.train_command:
        lines.append(run.train_command)
    export = run.export
    options = (export.options if export else None) or {}  # as export_report.json wrote them
    if export and options:
        chosen = options.get("modes") or []
        every = {"float32", "float16", "dynamic", "int8"}
        modes = "all" if set(chosen) >= every else ",".join(chosen)
        if options.get("io") and options["io"] != "int8":
            modes += f" --io {options['io']}"
        extra = (
            f" --calibration-samples {options['calibration_samples']}"
            if options.get("calibration_samples")
            else ""
        )
        lines.append(
            f"edge-emotion export --model {run.path} --quantize {modes}{extra}"
            f"   # options from export_report.json; status {export.status}"
        )
    return lines


def _size_note(doc: BenchmarkDoc) -> list[str]:
    out: list[str] = []
    for run in doc.runs:
        out += _size_note_of(run, f"{run.name}: " if doc.multi else "")
    return out


def _size_note_of(run: RunInfo, prefix: str) -> list[str]:
    params, size = run.parameters, run.keras_model_bytes
    if params and size and size > 1.5 * 4 * params:
        return [
            f"{prefix}Note: `model.keras` ({_size(size)}) also stores the optimizer state; the "
            f"weights alone are {params:,} parameters = {_size(4 * params)} in float32, so "
            f"the size ratios against it flatter TFLite by about "
            f"{size / (4 * params):.1f}x.",
            "",
        ]
    return []


def _eval_one(ev: EvalInfo) -> str:
    return f"{ev.n} images ({ev.source}" + (
        f", seeded random subset of {ev.n_available}, capped by --max-eval)"
        if ev.subset_seed is not None
        else ")"
    )


def _eval_text(doc: BenchmarkDoc) -> str:
    if not doc.multi:
        return _eval_one(doc.runs[0].eval)
    return "; ".join(f"{r.name}: {_eval_one(r.eval)}" for r in doc.runs)


def overhead_section(doc: BenchmarkDoc) -> list[str]:
    """Markdown lines: the Python wrapper's cost per TFLite row, against a bare invoke loop on
    the same interpreter and against ai-edge-litert's own `litert-benchmark`."""
    rows = [r for r in doc.rows if r.bare_latencies_ms and r.latency]
    if not rows:
        return []
    lines = [
        "### The invoke floor: `Classifier.predict` vs a bare invoke loop and `litert-benchmark`",
        "",
        "`predict` on one resized uint8 face and a bare `set_tensor`/`invoke`/`get_tensor` loop "
        "on the same interpreter, alternated call by call in one process (p50 ms); "
        "`litert-benchmark` (ai-edge-litert's CompiledModel tool, CPU, same threads) prints "
        "its median with two decimals.",
        "",
        "| row | predict p50 | bare invoke p50 | predict / bare | litert-benchmark median |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        assert r.latency is not None
        bare = float(np.median(r.bare_latencies_ms))
        lb = r.litert_benchmark
        shown = f"{lb.median_ms:.2f}" if lb and lb.median_ms is not None else "-"
        lines.append(
            f"| {_row_label(doc, r)} | {_ms(r.latency.p50_ms)} | {_ms(bare)} | "
            f"{r.latency.p50_ms / bare:.2f}x | {shown} |"
        )
    return [*lines, ""]


def photo_section(doc: BenchmarkDoc) -> list[str]:
    """Markdown lines: per TFLite row, median ms per stage of the photo pipeline on real photos."""
    rows = [r for r in doc.rows if r.photo]
    if not rows:
        return []
    first = rows[0].photo
    assert first is not None
    photos = doc.settings.photos or ()
    shown = ", ".join(
        f"{p.name} ({p.width}x{p.height} {p.format}, {first.faces.get(p.name, '?')} face(s))"
        for p in photos
    )
    lines = [
        "### Photo pipeline (whole photos: decode, detect, crop + classify)",
        "",
        f"`PhotoClassifier.analyze` on {len(photos)} real photos: {shown}; "
        f"{first.runs} timed runs each after one warm-up, median ms per stage "
        "over all photos and runs. Same model, backend, threads and XNNPACK setting as the row; "
        f"pipeline: {first.pipeline or 'the bundled BlazeFace short range, one view per face'}.",
        "",
        "| row | decode | detect | crop + classify | total | photos/s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        assert r.photo is not None
        p = r.photo.p50_ms
        rate = 1000.0 / p.total if p.total else float("nan")
        lines.append(
            f"| {_row_label(doc, r)} | {_ms(p.decode)} | {_ms(p.detect)} | "
            f"{_ms(p.classify)} | {_ms(p.total)} | {rate:.0f} |"
        )
    return [*lines, ""]


def markdown(doc: BenchmarkDoc, plots: list[str] | None = None) -> str:
    """benchmark.md: headline table, what was not measured, method, machine and the command."""
    s, m = doc.settings, doc.machine
    v = m.versions  # distribution -> version
    interp = ", ".join(
        f"{k} {e.backend_version or ''} (Python {e.python}, numpy {e.numpy})".replace("  ", " ")
        for k, e in sorted(doc.interpreters.items())
    )
    multi = doc.multi
    titles = [
        f"{r.name + ' = ' if multi else ''}{r.arch or 'model'} "
        f"{r.preprocess.height}x{r.preprocess.width}x{r.preprocess.channels}"
        for r in doc.runs
    ]
    provenance = [line for r in doc.runs for line in _provenance(r)]
    parts = [
        f"# Benchmark: {' vs '.join(titles)}",
        "",
        f"{doc.date} · {m.cpu_model} ({m.usable_cores} cores) · load {_fmt_load(doc)}",
        "",
        "```sh",
        *provenance,
        doc.command,
        "```",
        "",
        markdown_table(doc),
        *([compare.markdown(doc)] if multi else []),
        "Columns: latency of one single-image (batch 1) call after warm-up (p50, mean±std, p99 "
        f"over {s.runs} timed runs after {s.warmup} warm-up runs); img/s = 1000/mean; "
        "speed-up = compiled Keras (`tf.function` with XLA where it compiles) p50 / row p50"
        + (" (the Keras model of the row's own run)" if multi else "")
        + "; load = model load/interpreter creation; "
        "1st = first inference after load; cold = median wall time of a fresh process to its "
        f"first printed answer over {s.cold_runs} runs; RSS = peak resident memory of that "
        "process; size × = file size / the run's `float32.tflite` size; acc/F1/AUC on "
        + _eval_text(doc)
        + "; Δacc = accuracy − Keras accuracy; agree = fraction of images given the same label "
        "as Keras; XNNPACK = delegate status reported by the interpreter. Rows at other thread "
        "counts reuse the accuracy measured at the first thread count (same model, same backend).",
        "",
    ]
    parts += overhead_section(doc)
    parts += photo_section(doc)
    parts += _size_note(doc)
    failed = failed_validation(doc)
    if failed:
        parts += [f"Failed validation at export (kept for inspection): {', '.join(failed)}", ""]
    missing = _not_measured(doc)
    if missing:
        parts += ["Not measured:", ""] + [f"- {x}" for x in missing] + [""]
    parts += [
        "## Environment",
        "",
        f"- CPU: {m.cpu_model}, {m.logical_cores} logical cores "
        f"({m.usable_cores} usable), SIMD: {', '.join(m.cpu_flags) or 'n/a'}",
        f"- OS: {m.os}",
        f"- Python {m.python}; TensorFlow {v.get('tensorflow')}, Keras {v.get('keras')}, "
        f"numpy {v.get('numpy')}, ai-edge-litert {v.get('ai-edge-litert')}",
        f"- Interpreters used: {interp or 'n/a'}",
        f"- Process niceness {doc.nice}; total run time {doc.duration_s} s",
        "",
        "## Method",
        "",
        "Each backend's rows are measured in their own fresh worker process "
        f"(isolation: {s.isolation}), one after the other, all in this one invocation. "
        + (
            "The runs' worker groups were interleaved, in this order: "
            + ", ".join(f"`{g}`" for g in s.measurement_order or ())
            + ". "
            if multi
            else ""
        )
        + "See `benchmarks/README.md` in the repository for the full method. Raw per-run "
        "latencies and every figure are in `benchmark.json`.",
        "",
    ]
    if plots:
        parts += ["## Plots", ""] + [f"![{p}]({p})" for p in plots] + [""]
    return "\n".join(parts)


def main(argv: list[str]) -> int:
    """Re-print the table of a saved benchmark.json; `--write` also re-renders its md and PNGs."""
    write = "--write" in argv
    paths = [a for a in argv if a != "--write"]
    if len(paths) != 1:
        print(
            "usage: python -m edge_emotion.benchmarks.report benchmark.json [--write]",
            file=sys.stderr,
        )
        return 2
    path = Path(paths[0])
    try:
        doc = BenchmarkDoc.from_dict(json.loads(path.read_text()))
    except (OSError, json.JSONDecodeError, DocumentError) as err:
        print(f"error: {path}: {err}", file=sys.stderr)
        return 2
    sys.stdout.write(text_table(doc))
    if write:
        from edge_emotion.benchmarks.outputs import write_outputs

        write_outputs(doc, path.parent)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
