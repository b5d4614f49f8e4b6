"""`edge-emotion train`: data -> split -> seed CNN -> a complete run directory.

The run is assembled in a temporary sibling folder and renamed into place at the very end, so an
interrupted run (Ctrl-C, crash, power loss) leaves the previous good run directory untouched.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edge_emotion import __version__
from edge_emotion.errors import DataError, UsageError
from edge_emotion.paths import check_output_dir
from edge_emotion.rundir import (
    CONFIG_FILE,
    HISTORY_FILE,
    LEGACY_MODEL_FILE,
    MANIFEST_FILE,
    METRICS_FILE,
    MODEL_FILE,
    RunDir,
    write_json,
)
from edge_emotion.training.console import first_few, note
from edge_emotion.training.dataset import decode_candidates
from edge_emotion.training.discovery import discover
from edge_emotion.training.manifest import write_manifest
from edge_emotion.training.metrics import binary_metrics
from edge_emotion.training.models import Recipe, build_model, get_arch
from edge_emotion.training.predict import predict_probs
from edge_emotion.training.split import assign_splits
from edge_emotion.training.tfenv import import_keras, import_tf
from edge_emotion_runtime.labels import DEFAULT_LABELS, DEFAULT_THRESHOLD, POSITIVE_INDEX
from edge_emotion_runtime.preprocess import PreprocessSpec, scale

if TYPE_CHECKING:
    from edge_emotion.training.framing import FramingReport, TrainingCrop

SYNTH_COUNT = 400  # images per class of the embedded default dataset
SYNTH_IMAGE_SIZE = 128
SYNTH_PHOTO_SIZE = 256  # whole synthetic photos of the default `--detect` dataset
MAX_CACHE_BYTES = 6 * 1024**3  # decoded pixels are held in memory


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a training run (written to config.json)."""

    out: Path
    data: Path | None = None
    arch: str = "seed"
    force: bool = False
    epochs: int | None = None  # None: the arch's recipe
    batch_size: int | None = None
    lr: float | None = None
    patience: int | None = None
    augment: bool | None = None
    label_smoothing: float | None = None
    pretrain_data: Path | None = None  # other-class folders for K-class pre-training
    pretrain_epochs: int | None = None
    seed: int = 42
    image_size: int = 256
    channels: int = 3
    class_weight: str = "none"  # "none" or "balanced"
    strategy: str = "auto"  # "auto", "none" or "mirrored"
    labels: tuple[str, ...] = DEFAULT_LABELS
    synth_count: int = SYNTH_COUNT
    workers: int | None = None
    progress: bool | None = None  # Keras progress bar; None: only when stdout is a terminal
    # Whole photos: train on the crop of each photo's largest face found by this detector.
    detect: bool = False
    detector: str = "short"


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    epochs_run: int
    best_epoch: int
    seconds: float
    metrics: dict[str, Any] = field(default_factory=dict)


def resolve(config: TrainConfig) -> Recipe:
    """The architecture's recipe with every flag the user gave applied on top."""
    overrides = {
        "epochs": config.epochs,
        "batch_size": config.batch_size,
        "lr": config.lr,
        "patience": config.patience,
        "augment": config.augment,
        "label_smoothing": config.label_smoothing,
        "pretrain_epochs": config.pretrain_epochs,
    }
    resolved = replace(
        get_arch(config.arch).recipe, **{k: v for k, v in overrides.items() if v is not None}
    )
    if resolved.epochs < 1:
        raise UsageError(f"--epochs must be at least 1, got {resolved.epochs}")
    if resolved.batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, got {resolved.batch_size}")
    if not resolved.lr > 0:
        raise UsageError(f"--lr must be positive, got {resolved.lr}")
    if resolved.patience < 0:
        raise UsageError(f"--patience must be >= 0, got {resolved.patience}")
    if not 0.0 <= resolved.label_smoothing < 1.0:
        raise UsageError(f"--label-smoothing must be in [0, 1), got {resolved.label_smoothing}")
    if resolved.pretrain_epochs < 1 and config.pretrain_data is not None:
        raise UsageError(f"--pretrain-epochs must be at least 1, got {resolved.pretrain_epochs}")
    return resolved


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "edge-emotion"


def default_synthetic_data(count: int, seed: int, photos: bool = False) -> Path:
    """Generate (once) the embedded synthetic dataset into the user cache and return its path:
    face crops, or with `photos` (for `--detect`) whole synthetic photos."""
    from edge_emotion.training.synth import GENERATOR_VERSION, generate, generate_photos

    kind, size = ("photos", SYNTH_PHOTO_SIZE) if photos else ("synthetic", SYNTH_IMAGE_SIZE)
    folder = cache_root() / f"{kind}-v{GENERATOR_VERSION}-n{count}-s{seed}-{size}px"
    what = "synthetic photos" if photos else "synthetic faces"
    done = folder / ".complete"
    if done.is_file():
        note(f"no --data given: using {what} cached in {folder}")
        return folder
    note(f"no --data given: generating {count} {what} per class into {folder}")
    if photos:
        generate_photos(folder, count, seed=seed, image_size=size)
    else:
        generate(folder, count, seed=seed, image_size=size)
    done.write_text("ok\n")
    return folder


def versions() -> dict[str, str]:
    tf = import_tf()
    keras = import_keras()
    import PIL

    return {
        "edge_emotion": __version__,
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "pillow": PIL.__version__,
        "platform": platform.platform(),
    }


def learning_rate(hp: Recipe, steps_per_epoch: int) -> Any:
    """The optimizer's learning rate: a float, or a Keras schedule when the recipe asks for one."""
    if hp.schedule == "constant":
        return hp.lr
    if hp.schedule == "cosine":
        keras = import_keras()
        steps = max(1, hp.epochs * steps_per_epoch)
        return keras.optimizers.schedules.CosineDecay(hp.lr, decay_steps=steps, alpha=0.01)
    raise UsageError(f"unknown learning-rate schedule {hp.schedule!r} (constant or cosine)")


def _strategy(choice: str) -> Any:
    tf = import_tf()
    gpus = tf.config.list_physical_devices("GPU")
    if choice == "mirrored" or (choice == "auto" and len(gpus) > 1):
        if choice == "mirrored" and len(gpus) < 2:
            note(f"--strategy mirrored with {len(gpus)} GPU(s): replicas run on what is there")
        return tf.distribute.MirroredStrategy()
    if choice not in ("auto", "none", "mirrored"):
        raise UsageError(f"--strategy must be auto, none or mirrored, got {choice!r}")
    return tf.distribute.get_strategy()


def _strategy_name(strategy: Any) -> str:
    name = type(strategy).__name__
    return "default" if name.startswith("_Default") else name


def _class_weights(labels: np.ndarray, mode: str) -> np.ndarray | None:
    if mode == "none":
        return None
    if mode != "balanced":
        raise UsageError(f"--class-weight must be none or balanced, got {mode!r}")
    counts = np.bincount(labels, minlength=2).astype(np.float64)
    weights = len(labels) / (2.0 * np.maximum(counts, 1))
    return weights[labels]


def _epoch_line_callback(total: int) -> Any:
    keras = import_keras()

    class EpochLine(keras.callbacks.Callback):
        """One line per epoch on stdout: train/val loss, accuracy, precision, recall, time.

        The bar within an epoch, on a terminal, is Keras's own (`fit(verbose=1)`).
        """

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            logs = logs or {}
            seconds = time.perf_counter() - self._start

            def part(prefix: str) -> str:
                return (
                    f"loss {logs.get(prefix + 'loss', float('nan')):.4f} "
                    f"acc {logs.get(prefix + 'accuracy', float('nan')):.3f} "
                    f"prec {logs.get(prefix + 'precision', float('nan')):.3f} "
                    f"rec {logs.get(prefix + 'recall', float('nan')):.3f}"
                )

            width = len(str(total))
            print(
                f"epoch {epoch + 1:>{width}}/{total}  train {part('')}  |  "
                f"val {part('val_')}  auc {logs.get('val_auc', float('nan')):.3f}  "
                f"{seconds:.1f}s",
                flush=True,
            )

    return EpochLine()


def _prepare_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is a file, not a run directory")
    # The run is built in a sibling temporary folder: the parent must take new entries.
    check_output_dir(out.parent, "--out")
    if out.exists():
        if not force:
            raise UsageError(
                f"{out}: run directory already exists (use --force to replace it, "
                "or --out for a new one)"
            )
        if any(out.iterdir()) and not (out / CONFIG_FILE).is_file():
            raise UsageError(
                f"{out}: exists and does not look like a run directory; "
                "refusing to replace it even with --force"
            )


def _swap_into_place(tmp: Path, out: Path) -> None:
    """Replace `out` by `tmp` with renames only; the old run is deleted last."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    except (OverflowError, ValueError):
        return False
    return True


def remove_stale_temps(out: Path) -> list[Path]:
    """Remove `.NAME.tmp-PID` / `.NAME.old-PID` beside `out` whose process is gone (kill -9,
    power loss), with one note; folders of live processes (a concurrent run) are kept."""
    parent = out.parent
    if not parent.is_dir():
        return []
    pattern = re.compile(rf"\.{re.escape(out.name)}\.(?:tmp|old)-(\d+)")
    removed: list[Path] = []
    for entry in sorted(parent.iterdir()):
        match = pattern.fullmatch(entry.name)
        stale = match and entry.is_dir() and not entry.is_symlink()
        if stale and not _pid_alive(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    if removed:
        note(
            f"removed {len(removed)} stale temporary folder(s) of interrupted runs in {parent}: "
            f"{first_few([p.name for p in removed])}"
        )
    return removed


def _save_legacy_h5(model: Any, path: Path) -> None:
    """The .h5 copy for seed-era code; Keras' 'legacy format' warning is expected here."""
    import logging

    absl = logging.getLogger("absl")
    level = absl.level
    absl.setLevel(logging.ERROR)
    try:
        model.save(path)
    finally:
        absl.setLevel(level)


def _training_crop(config: TrainConfig) -> TrainingCrop | None:
    """The `--detect` crop settings, or None when the images are trained on whole."""
    from edge_emotion.training.framing import TrainingCrop

    if not config.detect:
        if config.detector != "short":
            raise UsageError("--detector only applies with --detect")
        return None
    return TrainingCrop.for_detector(config.detector)


def _measure_framing(train_pixels: np.ndarray, crop: TrainingCrop | None) -> FramingReport:
    """Record the face framing of the training images, one line per detector, before fitting."""
    from edge_emotion.training.framing import measure_framings

    report = measure_framings(train_pixels, crop)
    for framing in report.framings:
        how = "cropped with" if crop and framing.detector == crop.detector else "measured"
        print(
            f"framing ({framing.detector}-range detector, {how}): face {framing.face_fraction:.3f}"
            f" of the image width, centre offset ({framing.offset_x:+.3f}, "
            f"{framing.offset_y:+.3f}); found in {report.found[framing.detector]} of "
            f"{report.measured} train images",
            flush=True,
        )
    for message in report.notes():
        note(message)
    return report


def train(config: TrainConfig) -> TrainResult:
    """Run a whole training job and return where its run directory is."""
    started = time.perf_counter()
    out = Path(config.out)
    _prepare_out(out, config.force)
    remove_stale_temps(out)
    hp = resolve(config)
    arch = get_arch(config.arch)
    if config.channels not in (1, 3):
        raise UsageError(f"--channels must be 1 or 3, got {config.channels}")
    if not 8 <= config.image_size <= 1024:
        raise UsageError(f"--image-size must be between 8 and 1024, got {config.image_size}")
    if config.class_weight not in ("none", "balanced"):
        raise UsageError(f"--class-weight must be none or balanced, got {config.class_weight!r}")
    if config.strategy not in ("auto", "none", "mirrored"):
        raise UsageError(f"--strategy must be auto, none or mirrored, got {config.strategy!r}")
    spec = PreprocessSpec.square(config.image_size, config.channels)
    arch.check(spec)
    crop = _training_crop(config)

    data_dir = (
        Path(config.data)
        if config.data is not None
        else default_synthetic_data(config.synth_count, seed=0, photos=config.detect)
    )
    found = discover(data_dir, config.labels)
    for message in found.notes:
        note(message)
    n_found = len(found.candidates)
    if n_found * int(np.prod(spec.shape)) > MAX_CACHE_BYTES:
        raise DataError(
            f"{n_found} images at {spec.height}x{spec.width}x{spec.channels} need "
            f"{n_found * np.prod(spec.shape) / 1e9:.1f} GB of memory; use a smaller "
            "--image-size"
        )
    cropping = f", cropping the largest face ({crop.detector}-range detector)" if crop else ""
    print(
        f"data: {found.root} ({found.layout}, {n_found} images); decoding at "
        f"{spec.height}x{spec.width}x{spec.channels}{cropping}",
        flush=True,
    )
    decoded = decode_candidates(
        found.root, found.candidates, spec, config.labels, workers=config.workers, crop=crop
    )
    split = assign_splits(decoded.candidates, decoded.hashes, config.seed)
    if split.duplicate_images:
        conflict = (
            f", {split.conflicting_groups} of them with conflicting labels"
            if split.conflicting_groups
            else ""
        )
        note(
            f"found {split.duplicate_images} exact duplicate image(s) in "
            f"{split.duplicate_groups} group(s){conflict}; each group is kept in one split"
        )
    else:
        note("found 0 exact duplicate images")

    # Pixels in manifest order, then per split.
    index_of = {c.path: i for i, c in enumerate(decoded.candidates)}
    order = {
        name: [index_of[s.path] for s in split.samples if s.split == name]
        for name in ("train", "val", "test")
    }
    labels_all = np.array([c.label for c in decoded.candidates], dtype=np.int64)
    pix = {name: decoded.pixels[idx] for name, idx in order.items()}
    lab = {name: labels_all[idx] for name, idx in order.items()}
    for name in ("train", "val"):
        if len(lab[name]) == 0:
            raise DataError(
                f"{found.root}: too few images to make a '{name}' split "
                f"({len(decoded.candidates)} usable)"
            )
    counts = {name: np.bincount(lab[name], minlength=2).tolist() for name in lab}
    print(
        "split: "
        + "  ".join(
            f"{name} {len(lab[name])} ({config.labels[0]} {c[0]} / {config.labels[1]} {c[1]})"
            for name, c in counts.items()
        ),
        flush=True,
    )
    framing = _measure_framing(pix["train"], crop)
    train_counts = counts["train"]
    ratio = max(train_counts) / max(1, min(train_counts))
    weight_hint = (
        ""
        if config.class_weight == "balanced" or ratio < 1.2
        else ("; consider --class-weight balanced")
    )
    print(
        f"class balance (train): {config.labels[0]} {train_counts[0]}, {config.labels[1]} "
        f"{train_counts[1]}, ratio {ratio:.2f}:1{weight_hint}",
        flush=True,
    )

    pool = None
    if config.pretrain_data is not None:
        from edge_emotion.training.pretrain import load_pretrain_pool

        by_split: dict[str, set[str]] = {"train": set(), "val": set(), "test": set()}
        for sample in split.samples:
            by_split[sample.split].add(sample.sha256)
        pool = load_pretrain_pool(
            config.pretrain_data,
            spec,
            config.labels,
            held_out_hashes=by_split["val"] | by_split["test"],
            train_hashes=by_split["train"],
            workers=config.workers,
        )
        print(
            f"pretrain data: {pool.root} ({len(pool.paths)} extra images in "
            f"{len(pool.classes) - 2} classes; dropped {pool.dropped_held_out} held-out "
            f"(val/test) copies, {pool.dropped_in_train} copies of train images, "
            f"{pool.dropped_duplicates} duplicates)",
            flush=True,
        )

    keras = import_keras()
    keras.utils.set_random_seed(config.seed)
    from edge_emotion.training.pipeline import make_dataset

    weights = _class_weights(lab["train"], config.class_weight)
    train_ds = make_dataset(
        pix["train"],
        lab["train"],
        spec,
        batch_size=hp.batch_size,
        shuffle=True,
        seed=config.seed,
        augment=hp.augment,
        sample_weights=weights,
    )
    val_ds = make_dataset(pix["val"], lab["val"], spec, batch_size=hp.batch_size)

    strategy = _strategy(config.strategy)
    with strategy.scope():
        model = build_model(config.arch, spec)
        pretrain_history: dict[str, list[float]] = {}
        if pool is not None:
            from edge_emotion.training.pretrain import pretrain

            pretrain_history = pretrain(
                model,
                pool,
                pix["train"],
                lab["train"],
                spec,
                epochs=hp.pretrain_epochs,
                lr=hp.pretrain_lr,
                batch_size=hp.batch_size,
                label_smoothing=hp.label_smoothing,
                augment=hp.augment,
                seed=config.seed,
                progress=sys.stdout.isatty() if config.progress is None else config.progress,
            )
        model.compile(
            optimizer=keras.optimizers.Adam(
                learning_rate=learning_rate(
                    hp, steps_per_epoch=-(-len(lab["train"]) // hp.batch_size)
                )
            ),
            loss=keras.losses.BinaryCrossentropy(label_smoothing=hp.label_smoothing),
            metrics=[
                "accuracy",
                keras.metrics.Precision(name="precision"),
                keras.metrics.Recall(name="recall"),
                keras.metrics.AUC(name="auc"),
            ],
        )
    print(
        f"model: {arch.name} ({model.count_params():,} parameters), {hp.epochs} epochs, "
        f"batch {hp.batch_size}, lr {hp.lr:g}, patience {hp.patience}, augment "
        f"{'on' if hp.augment else 'off'}, strategy {_strategy_name(strategy)}",
        flush=True,
    )

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        progress = sys.stdout.isatty() if config.progress is None else config.progress
        callbacks = [
            # Restores the best epoch's weights at the end whether or not it stopped early, so
            # the model saved below is the best checkpoint; a ModelCheckpoint rewrote the whole
            # model (up to 700 MB at 256x256) on every improving epoch only to be overwritten.
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=hp.patience, restore_best_weights=True
            ),
            _epoch_line_callback(hp.epochs),
        ]
        fit = model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=hp.epochs,
            callbacks=callbacks,
            shuffle=False,  # the tf.data pipeline shuffles
            verbose=1 if progress else 0,  # Keras's bar on a terminal; EpochLine's lines always
        )
        history = {k: [float(v) for v in vals] for k, vals in fit.history.items()}
        epochs_run = len(history.get("loss", []))
        val_losses = history.get("val_loss", [])
        best_epoch = int(np.argmin(val_losses)) + 1 if val_losses else epochs_run

        # EarlyStopping restored the best weights; the saved models are exactly those.
        model.save(tmp / MODEL_FILE)
        _save_legacy_h5(model, tmp / LEGACY_MODEL_FILE)
        metrics: dict[str, Any] = {
            "positive_label": config.labels[POSITIVE_INDEX],
            "threshold": DEFAULT_THRESHOLD,
            "best_epoch": best_epoch,
            "epochs_run": epochs_run,
        }
        for name in ("val", "test"):
            if len(lab[name]):
                probs = predict_probs(model, scale(pix[name], spec))
                metrics[name] = binary_metrics(lab[name], probs, DEFAULT_THRESHOLD, config.labels)
        write_manifest(tmp / MANIFEST_FILE, split.samples)
        if pool is not None:
            from edge_emotion.training.pretrain import PRETRAIN_MANIFEST, write_pretrain_manifest

            write_pretrain_manifest(tmp / PRETRAIN_MANIFEST, pool)
        write_json(
            tmp / HISTORY_FILE,
            {"epochs_run": epochs_run, "best_epoch": best_epoch, "metrics": history},
        )
        write_json(tmp / METRICS_FILE, metrics)
        from edge_emotion.training.plots import plot_history

        plot_history(history, tmp)
        seconds = time.perf_counter() - started
        run_config = {
            "arch": config.arch,
            "labels": list(config.labels),
            "positive_index": POSITIVE_INDEX,
            "threshold": DEFAULT_THRESHOLD,
            "image_size": config.image_size,
            "channels": config.channels,
            "preprocess": spec.to_dict(),
            "seed": config.seed,
            "crop": framing.section(),
            "data": {
                "root": str(found.root),
                "layout": found.layout,
                "synthetic": config.data is None,
                "images": len(decoded.candidates),
                "unreadable_skipped": len(decoded.failures),
                "no_face_skipped": len(decoded.no_face),
                "no_face_files": decoded.no_face,
                "duplicate_images": split.duplicate_images,
                "duplicate_groups": split.duplicate_groups,
                "split_counts": counts,
            },
            "training": {
                **asdict(hp),
                "class_weight": config.class_weight,
                "strategy": config.strategy,
                "strategy_used": _strategy_name(strategy),
                "optimizer": "adam",
                "loss": "binary_crossentropy",
                "pretrain": None
                if pool is None
                else {
                    **pool.summary(),
                    "epochs": hp.pretrain_epochs,
                    "lr": hp.pretrain_lr,
                    "final_loss": (pretrain_history.get("loss") or [None])[-1],
                    "final_accuracy": (pretrain_history.get("accuracy") or [None])[-1],
                },
                "monitor": "val_loss",
                "epochs_run": epochs_run,
                "best_epoch": best_epoch,
                "wall_seconds": round(seconds, 1),
            },
            "model": {
                "parameters": int(model.count_params()),
                "input_shape": list(spec.shape),
                "file": MODEL_FILE,
                "legacy_file": LEGACY_MODEL_FILE,
            },
            "versions": versions(),
            "command": " ".join(sys.argv),
            "created_unix": int(time.time()),
        }
        write_json(tmp / CONFIG_FILE, run_config)
        _swap_into_place(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    RunDir.open(out)
    return TrainResult(
        run_dir=out,
        epochs_run=epochs_run,
        best_epoch=best_epoch,
        seconds=time.perf_counter() - started,
        metrics=metrics,
    )
