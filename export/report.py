"""Human-readable rendering of an `ExportReport` (the JSON is `ExportReport.to_dict()`)."""

from __future__ import annotations

from edge_emotion.export.types import ExportReport, ExportResult

TABLE_SPLIT = "test"  # the split shown in the table; the JSON has every validated split


def human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover


def _cells(result: ExportResult, split: str) -> list[str]:
    cmp = result.validation.split(split) or (
        result.validation.splits[0] if result.validation.splits else None
    )
    if cmp is None:
        acc = keras = agree = maxd = "-"
    else:
        acc = f"{100 * cmp.model['accuracy']:.2f}%"
        keras = f"{100 * cmp.keras['accuracy']:.2f}%"
        agree = f"{100 * cmp.agreement:.2f}%"
        maxd = f"{cmp.max_abs_diff:.4f}"
    return [
        result.mode.value,
        human_bytes(result.bytes),
        f"{100 * result.ratio_to_float32:.1f}%",
        acc,
        keras,
        agree,
        maxd,
        result.status.value,
    ]


def render_table(report: ExportReport, split: str = TABLE_SPLIT) -> str:
    """Fixed-width table: one row per mode, metrics on `split` (test by default)."""
    header = [
        "mode",
        "size",
        "vs f32",
        f"acc({split})",
        "keras acc",
        "agreement",
        "max|dp|",
        "status",
    ]
    rows = [header] + [_cells(r, split) for r in report.results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render(report: ExportReport, split: str = TABLE_SPLIT) -> str:
    """Table plus where things went and why anything failed."""
    out = [render_table(report, split)]
    for result in report.results:
        for reason in result.validation.reasons:
            out.append(f"FAILED {result.mode.value}: {reason}")
        for note in result.validation.notes:
            out.append(f"note {result.mode.value}: {note}")
    if report.calibration is not None:
        c = report.calibration
        per = ", ".join(f"{k} {v}" for k, v in c.per_class.items())
        out.append(f"int8 calibration: {c.count} {c.split} images ({per}), seed {c.seed}")
    out.append(f"wrote {len(report.results)} model(s) and export_report.json to {report.out_dir}")
    return "\n".join(out)
