"""`edge-emotion export`: a thin typer shell over `edge_emotion.export.exporter.export_run`."""

from __future__ import annotations

from pathlib import Path

import typer

from edge_emotion.export.types import (
    DEFAULT_CALIBRATION_SAMPLES,
    DEFAULT_MAX_DROP,
    DEFAULT_SEED,
)
from edge_emotion_runtime.defaults import PHOTO_FRAMING_SCALE


def export(
    model: Path = typer.Option(
        ..., "--model", "-m", help="Training run directory (made by `edge-emotion train`)."
    ),
    quantize: list[str] = typer.Option(
        ["all"],
        "--quantize",
        "-q",
        help="Mode to export: float32, float16, dynamic, int8, or all. Repeatable.",
    ),
    io: str = typer.Option(
        "int8", "--io", help="int8 model input/output type: int8, uint8 or float."
    ),
    calibration_samples: int = typer.Option(
        DEFAULT_CALIBRATION_SAMPLES,
        "--calibration-samples",
        help="int8 calibration images, stratified by class, from the run's train split only.",
    ),
    seed: int = typer.Option(DEFAULT_SEED, "--seed", help="Seed of the calibration draw."),
    max_drop: float = typer.Option(
        DEFAULT_MAX_DROP,
        "--max-drop",
        help="Fail a model whose accuracy is more than this many points below Keras.",
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Output folder (default RUN_DIR/export)."
    ),
    force: bool = typer.Option(
        False,
        "--force",
        help="Replace this command's own earlier outputs (<mode>.tflite/.json, "
        "export_report.json) in the output folder; other files are never touched.",
    ),
    validate: bool = typer.Option(
        True, "--validate/--no-validate", help="Validate every model against Keras on val and test."
    ),
    quantizer: str = typer.Option(
        "tflite_converter",
        "--quantizer",
        help="Conversion backend (registered in edge_emotion.export.quantizers).",
    ),
    threads: int | None = typer.Option(
        None, "--threads", help="Interpreter threads for validation."
    ),
    framing_scale: float | None = typer.Option(
        None,
        "--framing-scale",
        help=f"Crop faces in photos this much tighter than the training images framed them "
        f"(recorded in the model; 1 = the measured framing; default {PHOTO_FRAMING_SCALE}, or 1 "
        "for a --detect run, trained on the device's own crops).",
    ),
    strip: bool = typer.Option(
        False,
        "--strip",
        help="Also write MODE.bare.tflite: the flatbuffer without embedded metadata "
        "(microcontroller flows; the runtime then assumes defaults and warns).",
    ),
) -> None:
    """Export a trained run to TFLite (float32/float16/dynamic/int8), validated against Keras."""
    from edge_emotion.errors import ValidationFailed
    from edge_emotion.export.exporter import export_run
    from edge_emotion.export.report import render
    from edge_emotion.export.types import ExportMode, ExportOptions, IoType

    options = ExportOptions(
        modes=ExportMode.parse_many(quantize),
        io_type=IoType.parse(io),
        calibration_samples=calibration_samples,
        seed=seed,
        max_drop=max_drop,
        out_dir=out,
        force=force,
        validate=validate,
        quantizer=quantizer,
        threads=threads,
        strip=strip,
        framing_scale=framing_scale,
    )
    report = export_run(model, options, echo=lambda msg: typer.echo(msg, err=True))
    typer.echo(render(report))
    if not report.passed:
        names = ", ".join(r.mode.value for r in report.failed)
        raise ValidationFailed(
            f"validation failed for {names} (files kept, marked failed; "
            f"see {report.out_dir / 'export_report.json'})"
        )


def register(app: typer.Typer) -> None:
    """Add `export` to the app."""
    app.command("export")(export)
