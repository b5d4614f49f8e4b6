"""CLI commands of the training side: `train`, `evaluate`, `synth-data` and `prepare-data`.

Heavy imports (TensorFlow, matplotlib) happen inside the commands so `edge-emotion --help` is fast.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import typer

from edge_emotion.training.models import ARCHS
from edge_emotion.vocab import ClassWeight, Strategy
from edge_emotion_runtime.vocab import DetectorName as Detector


def train_command(
    data: Path | None = typer.Option(
        None,
        "--data",
        help="Dataset: happy/ + sad/ folders, train/{happy,sad} [+ test/], or a "
        "fer2013.csv. Default: synthetic faces generated into the user cache.",
    ),
    arch: str = typer.Option("seed", "--arch", help=f"Model architecture: {', '.join(ARCHS)}."),
    out: Path | None = typer.Option(
        None, "--out", help="Run directory to create. Default: models/<name>/."
    ),
    name: str | None = typer.Option(
        None, "--name", help="Run name for the default --out (default: the arch name)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing run directory."),
    epochs: int | None = typer.Option(None, "--epochs", help="Max epochs (recipe: 20)."),
    batch_size: int | None = typer.Option(None, "--batch-size", help="Batch size (recipe: 32)."),
    lr: float | None = typer.Option(None, "--lr", help="Adam learning rate (recipe: 1e-5)."),
    patience: int | None = typer.Option(
        None, "--patience", help="Early-stopping patience on val loss (recipe: 5)."
    ),
    seed: int = typer.Option(42, "--seed", help="Seed of the split, weights and shuffling."),
    image_size: int = typer.Option(256, "--image-size", help="Square input size in pixels."),
    channels: int = typer.Option(3, "--channels", help="1 (grayscale) or 3 (RGB)."),
    augment: bool | None = typer.Option(
        None,
        "--augment/--no-augment",
        help="Flip/rotate/zoom/brightness/contrast in the input pipeline (recipe default: off).",
    ),
    photo_aug: bool = typer.Option(
        False,
        "--photo-aug",
        help="Photo-like augmentation instead of the standard one: faces made to look like "
        "crops of real colour photos (lower resolution or sharper, JPEG, lighting, hand-like "
        "occlusion, stronger tilt, off-centre boxes); also in pre-training.",
    ),
    label_smoothing: float | None = typer.Option(
        None, "--label-smoothing", help="Smooth the 0/1 targets by this much (recipe: 0)."
    ),
    mixup: float | None = typer.Option(
        None, "--mixup", help="Mixup alpha: blend image pairs and their targets (recipe: 0, off)."
    ),
    ema: float | None = typer.Option(
        None,
        "--ema",
        help="Keep an exponential moving average of the weights with this momentum, and "
        "validate and save it (recipe: 0, off; e.g. 0.998).",
    ),
    pretrain_data: Path | None = typer.Option(
        None,
        "--pretrain-data",
        help="Folders of other classes (e.g. FER-2013's other emotions): pre-train on them "
        "plus the train split as one K-class task first. Copies of val/test images are dropped.",
    ),
    pretrain_epochs: int | None = typer.Option(
        None, "--pretrain-epochs", help="Epochs of pre-training with --pretrain-data (recipe: 30)."
    ),
    class_weight: ClassWeight = typer.Option(
        ClassWeight.NONE, "--class-weight", help="Weight the loss to balance the classes."
    ),
    strategy: Strategy = typer.Option(
        Strategy.AUTO,
        "--strategy",
        help="auto: MirroredStrategy only with more than one GPU; multiworker: one process per "
        "machine, cluster from TF_CONFIG, --batch-size is the global batch (README).",
    ),
    shards: Path | None = typer.Option(
        None,
        "--shards",
        help="Stream TFRecord shards made by `edge-emotion prepare-data` instead of decoding "
        "--data into memory (data larger than memory; same split and pixels).",
    ),
    detect: bool = typer.Option(
        False,
        "--detect",
        help="The data are whole photos: train on the crop of each photo's largest face "
        "(framed as FER-2013 frames faces); photos with no face found are skipped and counted.",
    ),
    detector: Detector = typer.Option(
        Detector.SHORT,
        "--detector",
        help="Face detector for --detect: BlazeFace short or full range.",
    ),
) -> None:
    """Train a happy-vs-sad classifier and write a complete run directory."""
    from edge_emotion.training.train import TrainConfig, train

    run_name = name or arch
    if out is None:
        out = Path("models") / run_name
    result = train(
        TrainConfig(
            out=out,
            data=data,
            arch=arch,
            force=force,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            patience=patience,
            augment=augment,
            photo_aug=photo_aug or None,
            label_smoothing=label_smoothing,
            mixup=mixup,
            ema=ema,
            pretrain_data=pretrain_data,
            pretrain_epochs=pretrain_epochs,
            seed=seed,
            image_size=image_size,
            channels=channels,
            class_weight=class_weight.value,
            strategy=strategy.value,
            detect=detect,
            detector=detector.value,
            shards=shards,
        )
    )
    if not result.chief:
        typer.echo(
            f"done: {result.epochs_run} epoch(s), best {result.best_epoch}, "
            f"{result.seconds:.0f}s; this worker wrote nothing, the chief wrote the run directory"
        )
        # Leave at once, before the chief (which hosts the cluster's coordination service)
        # shuts down: a slow TensorFlow teardown here would only log heartbeat errors.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    parts = []
    for split in ("val", "test"):
        m = result.metrics.get(split)
        if m:
            auc = "n/a" if m["roc_auc"] is None else f"{m['roc_auc']:.3f}"
            parts.append(f"{split} acc {m['accuracy']:.3f} f1 {m['f1']:.3f} auc {auc}")
    typer.echo(
        f"done: {result.epochs_run} epoch(s), best {result.best_epoch}, "
        f"{result.seconds:.0f}s; {'; '.join(parts)}"
    )
    typer.echo(f"run directory: {result.run_dir}")


def evaluate_command(
    model: Path = typer.Option(..., "--model", help="Run directory or a .keras/.h5 file."),
    data: Path | None = typer.Option(
        None, "--data", help="Evaluate every image of this dataset instead of the run's split."
    ),
    split: str = typer.Option(
        "test", "--split", help="Split of the run's manifest: train, val or test."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    allow_changed_data: bool = typer.Option(
        False,
        "--allow-changed-data",
        help="Evaluate even if images of the split changed since training (sha256 in split.csv "
        "differs); a counted warning instead of an error.",
    ),
) -> None:
    """Accuracy, precision, recall, F1, ROC AUC, confusion matrix and support per class."""
    from edge_emotion.training.evaluate import evaluate, format_table

    result = evaluate(model, data=data, split=split, allow_changed=allow_changed_data)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2, sort_keys=True))
    else:
        typer.echo(format_table(result))


def synth_data_command(
    out_dir: Path = typer.Argument(..., help="Folder to write happy/ and sad/ into."),
    count: int = typer.Option(200, "--count", help="Images per class."),
    seed: int = typer.Option(0, "--seed", help="Same seed, same images."),
    image_size: int | None = typer.Option(
        None, "--image-size", help="Square image size in pixels (default 128; photos 256)."
    ),
    photos: bool = typer.Option(
        False,
        "--photos",
        help="Whole photos for `train --detect`: faces of varied size and place on a larger "
        "scene, sometimes two, sometimes none; true boxes in faces.json.",
    ),
) -> None:
    """Write a synthetic happy/sad dataset of procedurally drawn faces (or whole photos)."""
    if not photos:
        from edge_emotion.training.synth import generate

        report = generate(out_dir, count, seed=seed, image_size=image_size or 128)
        typer.echo(
            f"wrote {2 * report.per_class} images ({report.per_class} per class, "
            f"{report.image_size}x{report.image_size}) to {report.root}"
        )
        return
    from edge_emotion.training.synth import check_detection, generate_photos

    shot = generate_photos(out_dir, count, seed=seed, image_size=image_size or 256)
    n = shot.photos_by_faces
    typer.echo(
        f"wrote {2 * shot.per_class} photos ({shot.per_class} per class, "
        f"{shot.image_size}x{shot.image_size}; {n[1]} with one face, {n[2]} with two, {n[0]} "
        f"with none) to {shot.root}"
    )
    # Say how much of this data a --detect run will actually see: the detector is made for
    # real faces, and these are drawn ones.
    check = check_detection(shot.root, "short")
    typer.echo(
        f"face detector (BlazeFace short range) finds {check.found} of {check.faces} faces "
        f"({100 * check.hit_rate:.0f}%), {check.false_alarms} false face(s) in the "
        f"{check.photos_without_face} photos without one"
    )


def prepare_data_command(
    data: Path = typer.Argument(..., help="Dataset folder or fer2013.csv (any train layout)."),
    out: Path = typer.Option(..., "--out", help="Shards folder to create."),
    image_size: int = typer.Option(256, "--image-size", help="Square input size in pixels."),
    channels: int = typer.Option(3, "--channels", help="1 (grayscale) or 3 (RGB)."),
    seed: int = typer.Option(42, "--seed", help="Seed of the train/val/test split."),
    detect: bool = typer.Option(
        False, "--detect", help="Whole photos: store the crop of each photo's largest face."
    ),
    detector: Detector = typer.Option(
        Detector.SHORT, "--detector", help="Face detector for --detect: short or full range."
    ),
    shard_size: int = typer.Option(1000, "--shard-size", help="Images per shard file."),
    force: bool = typer.Option(False, "--force", help="Replace an existing shards folder."),
) -> None:
    """Decode, split and write a dataset once as TFRecord shards for `train --shards`."""
    from edge_emotion.training.prepare import PrepareConfig, prepare_data

    report = prepare_data(
        PrepareConfig(
            data=data,
            out=out,
            image_size=image_size,
            channels=channels,
            seed=seed,
            detect=detect,
            detector=detector.value,
            shard_size=shard_size,
            force=force,
        )
    )
    split = ", ".join(
        f"{name} {report.counts[name]} in {report.files[name]} file(s)" for name in report.counts
    )
    typer.echo(
        f"wrote {report.images} images ({split}; {report.bytes / 1e6:.1f} MB) to {report.out} "
        f"in {report.seconds:.0f}s"
    )


def register(app: typer.Typer) -> None:
    """Add this sub-package's commands to the app."""
    app.command("train")(train_command)
    app.command("evaluate")(evaluate_command)
    app.command("synth-data")(synth_data_command)
    app.command("prepare-data")(prepare_data_command)
