"""`edge-emotion evaluate-photos DIR`: the device pipeline on folders of labelled whole photos."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from edge_emotion.benchmarks.photo_eval.dataset import PhotoSet
    from edge_emotion.benchmarks.photo_eval.pipeline import PipelineOptions
    from edge_emotion_runtime.photo import PhotoClassifier

# The command's own options; every other option is a pipeline option, forwarded by name to
# PhotoClassifier.load / .analyze_image (pipeline.route). A new runtime option: one line below.
OWN = frozenset({"directory", "out", "force", "sheet", "decode_threads"})
SHEETS = ("errors", "all", "none")


def evaluate_photos_command(
    ctx: typer.Context,
    directory: Path = typer.Argument(
        ...,
        metavar="DIR",
        help="Folder of class folders of whole photos: happy/, sad/ (scored); any other folder, "
        "e.g. neutral/, is reported on its own.",
    ),
    model: str | None = typer.Option(
        None,
        "--model",
        "-m",
        help="A .tflite emotion model (default: $EDGE_EMOTION_MODEL, else the bundled model).",
    ),
    detector: str | None = typer.Option(
        None, "--detector", help="Face detector (the runtime's choices; default: its default)."
    ),
    detect: str | None = typer.Option(
        None, "--detect", help="auto, always or never, as edge-emotion-run (default: auto)."
    ),
    threads: int | None = typer.Option(
        None, "--threads", "-t", min=1, max=64, help="Interpreter threads."
    ),
    backend: str | None = typer.Option(
        None, "--backend", help="TFLite interpreter: auto, litert, tflite or tensorflow."
    ),
    no_xnnpack: bool = typer.Option(False, "--no-xnnpack", help="Disable the XNNPACK delegate."),
    no_mirror: bool = typer.Option(
        False, "--no-mirror", help="Classify each face once, not averaged with its mirror image."
    ),
    min_confidence: float | None = typer.Option(
        None,
        "--min-confidence",
        min=0.5,
        max=1.0,
        help="Label faces below this probability 'uncertain' (counted apart).",
    ),
    max_pixels: int | None = typer.Option(
        None, "--max-pixels", min=1, help="Refuse images larger than N pixels."
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Output folder (default runs/evaluate-photos/<DIR name>, or -2, -3, ... if taken).",
    ),
    force: bool = typer.Option(
        False, "--force", help="Replace an existing --out written by this command."
    ),
    sheet: str = typer.Option(
        "errors",
        "--sheet",
        help="Contact sheets: errors (default), all (also right and uncertain ones) or none.",
    ),
    decode_threads: int = typer.Option(
        2, "--decode-threads", min=1, max=16, help="Photos decoded ahead while models run."
    ),
) -> None:
    """Accuracy, coverage, recall, confusion and ms of the photo pipeline on labelled photos;
    writes per-image CSV/JSON, summary.json and a contact sheet of the errors."""
    from edge_emotion.benchmarks.photo_eval import pipeline
    from edge_emotion.benchmarks.photo_eval.dataset import scan
    from edge_emotion.benchmarks.photo_eval.outputs import resolve_out
    from edge_emotion.errors import UsageError
    from edge_emotion_runtime.backends import BACKEND_CHOICES
    from edge_emotion_runtime.options import DETECT_CHOICES, DETECTOR_CHOICES

    pipeline.check_choice("--detector", detector, DETECTOR_CHOICES)
    pipeline.check_choice("--detect", detect, DETECT_CHOICES)
    pipeline.check_choice("--backend", backend, BACKEND_CHOICES)
    if sheet not in SHEETS:
        raise UsageError(f"--sheet {sheet!r}: choose from {', '.join(SHEETS)}")
    options = pipeline.route({k: v for k, v in ctx.params.items() if k not in OWN})
    photo_set = scan(directory)
    target = resolve_out(out, directory, force)
    photos = pipeline.load(options)
    _run(photos, photo_set, options, target, sheet, decode_threads)


def _run(
    photos: PhotoClassifier,
    photo_set: PhotoSet,
    options: PipelineOptions,
    target: Path,
    sheet: str,
    decode_threads: int,
) -> None:
    """Evaluate, write every file into `target` (staged, renamed into place), print."""
    from edge_emotion.benchmarks.photo_eval import outputs, report, summary
    from edge_emotion.benchmarks.photo_eval import sheet as contact
    from edge_emotion.benchmarks.photo_eval.run import evaluate
    from edge_emotion.errors import DataError

    labels = tuple(photos.classifier.labels)
    if not set(labels) & set(photo_set.folders):
        raise DataError(
            f"{photo_set.root}: no {' or '.join(f'{x}/' for x in labels)} folder to score "
            f"(found {', '.join(f'{x}/' for x in photo_set.folders)})"
        )
    typer.echo(f"evaluating {len(photo_set.photos)} files of {photo_set.root} ...", err=True)
    evaluation = evaluate(photos, photo_set, options.analyze, decode_threads)
    info = {
        "command": shlex.join(["edge-emotion", *sys.argv[1:]]),
        "model": {"path": str(photos.classifier.path), "describe": photos.classifier.describe()},
        "detector": getattr(photos.detector, "name", None),
        "framings": {name: f.to_dict() for name, f in photos.framings.items()},
        "settings": {"mirror": photos.mirror, "min_confidence": photos.min_confidence},
        "pipeline": options.to_dict(),
    }
    doc = summary.build(evaluation, str(photo_set.root), labels, info)
    with outputs.staged(target) as folder:
        outputs.write_records(folder, evaluation.records, labels)
        doc["sheets"] = contact.write_sheets(
            photos, photo_set.root, evaluation.records, labels, folder, sheet
        )
        text = report.text(doc)
        outputs.write_summary(folder, doc, text)
    for skipped in evaluation.skipped[:5]:
        typer.echo(f"skipped: {skipped.path}: {skipped.reason}", err=True)
    if len(evaluation.skipped) > 5:
        typer.echo(f"skipped: ... {len(evaluation.skipped) - 5} more (summary.json)", err=True)
    typer.echo(text, nl=False)
    drawn = [f"{name}.png ({info['tiles']} tiles)" for name, info in doc["sheets"].items() if info]
    files = ", ".join(["summary.json", "summary.txt", "images.csv", "images.json", *drawn])
    typer.echo(f"wrote {target}/: {files}", err=True)


def register(app: typer.Typer) -> None:
    app.command("evaluate-photos")(evaluate_photos_command)
