"""`edge-emotion train`: data -> split -> seed CNN -> a complete run directory.

The run is assembled in a temporary sibling folder and renamed into place at the very end, so an
interrupted run (Ctrl-C, crash, power loss) leaves the previous good run directory untouched.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edge_emotion import __version__
from edge_emotion.errors import DataError, UsageError
from edge_emotion.paths import check_output_dir, swap_into_place
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
from edge_emotion.training.console import note
from edge_emotion.training.dataset import decode_candidates
from edge_emotion.training.discovery import discover
from edge_emotion.training.manifest import Sample, write_manifest
from edge_emotion.training.metrics import binary_metrics
from edge_emotion.training.models import Recipe, build_model, get_arch
from edge_emotion.training.pipeline import with_mixup
from edge_emotion.training.predict import PREDICT_BATCH, predict_probs
from edge_emotion.training.split import assign_splits
from edge_emotion.training.staging import remove_stale_temps
from edge_emotion.training.tfenv import import_keras, import_tf, seed_everything
from edge_emotion.vocab import ClassWeight, Strategy
from edge_emotion_runtime.labels import DEFAULT_LABELS, DEFAULT_THRESHOLD, POSITIVE_INDEX
from edge_emotion_runtime.preprocess import PreprocessSpec, scale
from edge_emotion_runtime.vocab import choices

if TYPE_CHECKING:
    from edge_emotion.training.cluster import BatchPlan, ClusterTask
    from edge_emotion.training.framing import FramingReport, TrainingCrop
    from edge_emotion.training.pretrain import PretrainPool

SYNTH_COUNT = 400  # images per class of the embedded default dataset
SYNTH_IMAGE_SIZE = 128
SYNTH_PHOTO_SIZE = 256  # whole synthetic photos of the default `--detect` dataset
MAX_CACHE_BYTES = 6 * 1024**3  # decoded pixels are held in memory
STRATEGIES = choices(Strategy)
CLASS_WEIGHTS = choices(ClassWeight)


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
    mixup: float | None = None
    ema: float | None = None
    pretrain_data: Path | None = None  # other-class folders for K-class pre-training
    pretrain_epochs: int | None = None
    seed: int = 42
    image_size: int = 256
    channels: int = 3
    class_weight: str = ClassWeight.NONE
    strategy: str = Strategy.AUTO  # multiworker: one process per worker (TF_CONFIG)
    labels: tuple[str, ...] = DEFAULT_LABELS
    synth_count: int = SYNTH_COUNT
    workers: int | None = None
    progress: bool | None = None  # Keras progress bar; None: only when stdout is a terminal
    # Whole photos: train on the crop of each photo's largest face found by this detector.
    detect: bool = False
    detector: str = "short"
    # TFRecord shards written by `prepare-data`, streamed instead of decoding `data` into memory.
    shards: Path | None = None


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    epochs_run: int
    best_epoch: int
    seconds: float
    metrics: dict[str, Any] = field(default_factory=dict)
    chief: bool = True  # False on a non-chief worker of --strategy multiworker (wrote nothing)


def resolve(config: TrainConfig) -> Recipe:
    """The architecture's recipe with every flag the user gave applied on top."""
    overrides = {
        "epochs": config.epochs,
        "batch_size": config.batch_size,
        "lr": config.lr,
        "patience": config.patience,
        "augment": config.augment,
        "label_smoothing": config.label_smoothing,
        "mixup": config.mixup,
        "ema": config.ema,
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
    if resolved.mixup < 0:
        raise UsageError(f"--mixup must be >= 0 (0: off), got {resolved.mixup}")
    if not 0.0 <= resolved.ema < 1.0:
        raise UsageError(f"--ema must be in [0, 1) (0: off), got {resolved.ema}")
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
    if choice == Strategy.MIRRORED or (choice == Strategy.AUTO and len(gpus) > 1):
        if choice == Strategy.MIRRORED and len(gpus) < 2:
            note(f"--strategy mirrored with {len(gpus)} GPU(s): replicas run on what is there")
        return tf.distribute.MirroredStrategy()
    if choice not in (Strategy.AUTO, Strategy.NONE, Strategy.MIRRORED):
        raise UsageError(f"--strategy must be auto, none or mirrored here, got {choice!r}")
    return tf.distribute.get_strategy()


def _strategy_name(strategy: Any) -> str:
    name = type(strategy).__name__
    return "default" if name.startswith("_Default") else name


def _class_weights(labels: np.ndarray, mode: str) -> np.ndarray | None:
    if mode == ClassWeight.NONE:
        return None
    if mode != ClassWeight.BALANCED:
        raise UsageError(f"--class-weight must be none or balanced, got {mode!r}")
    counts = np.bincount(labels, minlength=2).astype(np.float64)
    weights = len(labels) / (2.0 * np.maximum(counts, 1))
    return weights[labels]


def _epoch_line_callback(total: int) -> Any:
    keras = import_keras()

    class EpochLine(keras.callbacks.Callback):
        """One line per epoch on stdout: train/val loss, accuracy, precision, recall, time; and
        the batches each epoch ran (`steps`: streamed shards have no length known up front).

        The bar within an epoch, on a terminal, is Keras's own (`fit(verbose=1)`).
        """

        def __init__(self) -> None:
            super().__init__()
            self.steps: list[int] = []  # batches per epoch (global batches under a strategy)

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self._start = time.perf_counter()
            self._batches = 0

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            self._batches = batch + 1

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            logs = logs or {}
            seconds = time.perf_counter() - self._start
            self.steps.append(self._batches)

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


@dataclass(frozen=True)
class _Inputs:
    """What `train` needs from the data, in memory or streamed from shards."""

    train: Any  # tf.data of (float32 images, float32 labels[, weights]) batches
    val: Any
    n_train: int
    counts: dict[str, list[int]]
    samples: list[Sample]  # the split manifest
    crop_section: dict[str, Any]  # config.json "crop"
    data_section: dict[str, Any]  # config.json "data"
    # (labels, P(labels[1])) of a split through a local model, or None when the split is empty
    predict: Callable[[Any, str], tuple[np.ndarray, np.ndarray] | None]
    # The decoded train split, for `--pretrain-data` (None for streamed shards).
    train_pixels: np.ndarray | None = None
    train_labels: np.ndarray | None = None


def _print_split(counts: dict[str, list[int]], labels: tuple[str, ...]) -> None:
    print(
        "split: "
        + "  ".join(
            f"{name} {sum(c)} ({labels[0]} {c[0]} / {labels[1]} {c[1]})"
            for name, c in counts.items()
        ),
        flush=True,
    )


def _print_balance(train_counts: list[int], config: TrainConfig) -> None:
    ratio = max(train_counts) / max(1, min(train_counts))
    weight_hint = (
        ""
        if config.class_weight == ClassWeight.BALANCED or ratio < 1.2
        else ("; consider --class-weight balanced")
    )
    print(
        f"class balance (train): {config.labels[0]} {train_counts[0]}, {config.labels[1]} "
        f"{train_counts[1]}, ratio {ratio:.2f}:1{weight_hint}",
        flush=True,
    )


def _memory_inputs(
    config: TrainConfig, spec: PreprocessSpec, crop: TrainingCrop | None, hp: Recipe
) -> _Inputs:
    """Decode every image into memory (the default path for data that fits)."""
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
            "--image-size, or stream them: edge-emotion prepare-data, then train --shards"
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
    _print_split(counts, config.labels)
    framing = _measure_framing(pix["train"], crop)
    _print_balance(counts["train"], config)

    seed_everything(config.seed)
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

    def predict(model: Any, name: str) -> tuple[np.ndarray, np.ndarray] | None:
        if not len(lab[name]):
            return None
        return lab[name], predict_probs(model, scale(pix[name], spec))

    return _Inputs(
        train=train_ds,
        val=val_ds,
        n_train=len(lab["train"]),
        counts=counts,
        samples=split.samples,
        train_pixels=pix["train"],
        train_labels=lab["train"],
        crop_section=framing.section(),
        data_section={
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
        predict=predict,
    )


def _shard_inputs(
    config: TrainConfig,
    spec: PreprocessSpec,
    crop: TrainingCrop | None,
    hp: Recipe,
    workers: int,
) -> _Inputs:
    """Stream TFRecord shards written by `prepare-data` (data larger than memory)."""
    from edge_emotion.training import shards as shard_io

    assert config.shards is not None
    shards = shard_io.open_shards(config.shards)
    shards.check(spec, crop, config.labels)
    meta_data = shards.data
    print(
        f"data: {shards.path} (TFRecord shards of {meta_data['root']}, {meta_data['images']} "
        f"images at {spec.height}x{spec.width}x{spec.channels}, split seed {shards.meta['seed']}"
        f"); streaming",
        flush=True,
    )
    counts = {name: shards.class_counts(name) for name in ("train", "val", "test")}
    _print_split(counts, config.labels)
    _print_balance(counts["train"], config)
    if config.class_weight not in CLASS_WEIGHTS:
        raise UsageError(f"--class-weight must be none or balanced, got {config.class_weight!r}")
    balanced = config.class_weight == ClassWeight.BALANCED
    weights = shard_io.class_weights(counts["train"]) if balanced else None
    seed_everything(config.seed)
    train_ds = shard_io.stream(
        shards,
        "train",
        batch_size=hp.batch_size,
        shuffle=True,
        seed=config.seed,
        augment=hp.augment,
        weights=weights,
        workers=workers,
    )
    val_ds = shard_io.stream(shards, "val", batch_size=hp.batch_size, workers=workers)

    def predict(model: Any, name: str) -> tuple[np.ndarray, np.ndarray] | None:
        if not shards.count(name):
            return None
        return shard_io.predict_split(model, shards, name, PREDICT_BATCH)

    return _Inputs(
        train=train_ds,
        val=val_ds,
        n_train=shards.count("train"),
        counts=counts,
        samples=shards.samples(),
        crop_section=shards.crop_section,
        data_section={
            **meta_data,
            "synthetic": False,
            "shards": str(shards.path.resolve()),
            "split_seed": shards.meta["seed"],
        },
        predict=predict,
    )


def _pretrain_pool(
    config: TrainConfig, spec: PreprocessSpec, samples: list[Sample]
) -> PretrainPool | None:
    """The `--pretrain-data` images, minus any whose content is in the happy/sad data (val/test
    copies would leak into evaluation), or None without the option."""
    if config.pretrain_data is None:
        return None
    from edge_emotion.training.pretrain import load_pretrain_pool

    by_split: dict[str, set[str]] = {"train": set(), "val": set(), "test": set()}
    for sample in samples:
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
    return pool


def _cluster_task(config: TrainConfig) -> ClusterTask | None:
    """This process's task for `--strategy multiworker` (TF_CONFIG checked first), else None."""
    from edge_emotion.training.cluster import TF_CONFIG, task_from_env

    if config.strategy == Strategy.MULTIWORKER:
        return task_from_env()
    if os.environ.get(TF_CONFIG):
        note(f"{TF_CONFIG} is set but --strategy is {config.strategy}: training here only")
    return None


def _fingerprint(config: TrainConfig, hp: Recipe) -> dict[str, Any]:
    """What must not change for a restarted worker to resume from its backup."""
    return {
        "arch": config.arch,
        "recipe": asdict(hp),
        "seed": config.seed,
        "image_size": config.image_size,
        "channels": config.channels,
        "class_weight": config.class_weight,
        "data": str(config.data) if config.data is not None else None,
        "shards": str(Path(config.shards).resolve()) if config.shards is not None else None,
        "detect": config.detect,
        "detector": config.detector,
    }


BACKUP_RUN_FILE = "edge-emotion-run.json"  # the settings the backup was made with
BACKUP_HISTORY_FILE = "edge-emotion-history.json"  # per-epoch logs up to the last backup
KERAS_BACKUP_METADATA = "training_metadata.json"  # written by keras' BackupAndRestore


def _open_backup(backup: Path, fingerprint: dict[str, Any]) -> tuple[int, dict[str, list[float]]]:
    """(epochs already done, their history) from this worker's backup; a backup made with other
    settings is discarded with a note."""
    import json

    if backup.is_dir():
        try:
            made = json.loads((backup / BACKUP_RUN_FILE).read_text())
        except (OSError, ValueError):
            made = None
        if made == fingerprint:
            try:
                done = int(json.loads((backup / KERAS_BACKUP_METADATA).read_text())["epoch"])
            except (OSError, ValueError, KeyError, TypeError):
                done = 0
            try:
                history = json.loads((backup / BACKUP_HISTORY_FILE).read_text())
            except (OSError, ValueError):
                history = {}
            history = {k: [float(v) for v in vals][:done] for k, vals in history.items()}
            if done and all(len(v) == done for v in history.values()) and history:
                return done, history
            if done:
                note(f"{backup}: backup has no usable history; starting again from epoch 1")
        else:
            note(f"{backup}: discarding a backup made with other settings")
        shutil.rmtree(backup, ignore_errors=True)
    backup.mkdir(parents=True, exist_ok=True)
    write_json(backup / BACKUP_RUN_FILE, fingerprint)
    return 0, {}


def _history_saver(backup: Path, past: dict[str, list[float]]) -> Any:
    keras = import_keras()

    class HistorySaver(keras.callbacks.Callback):
        """Keeps the per-epoch logs next to the weights backup, so a resumed run's history.json
        still has every epoch. Runs before BackupAndRestore: the history is never behind."""

        def __init__(self) -> None:
            super().__init__()
            self.history = {k: list(v) for k, v in past.items()}

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            for key, value in (logs or {}).items():
                self.history.setdefault(key, []).append(float(value))
            write_json(backup / BACKUP_HISTORY_FILE, self.history)

    return HistorySaver()


TEST_PAUSE_ENV = "EDGE_EMOTION_TEST_EPOCH_PAUSE"


def _test_pause() -> list[Any]:
    """A test hook: with EDGE_EMOTION_TEST_EPOCH_PAUSE=SECONDS, sleep after each epoch's backup so
    the fault-tolerance test can kill this worker at a known point. Unset: nothing."""
    seconds = float(os.environ.get(TEST_PAUSE_ENV) or 0)
    if seconds <= 0:
        return []
    keras = import_keras()

    class Pause(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            time.sleep(seconds)

    return [Pause()]


def _check_settings(config: TrainConfig, task: ClusterTask | None) -> PreprocessSpec:
    """Refuse bad flag combinations before any data is read; the model's input spec."""
    if config.channels not in (1, 3):
        raise UsageError(f"--channels must be 1 or 3, got {config.channels}")
    if not 8 <= config.image_size <= 1024:
        raise UsageError(f"--image-size must be between 8 and 1024, got {config.image_size}")
    if config.class_weight not in CLASS_WEIGHTS:
        raise UsageError(f"--class-weight must be none or balanced, got {config.class_weight!r}")
    if config.strategy not in STRATEGIES:
        raise UsageError(
            f"--strategy must be {', '.join(STRATEGIES[:-1])} or {STRATEGIES[-1]}, "
            f"got {config.strategy!r}"
        )
    if config.shards is not None and config.data is not None:
        raise UsageError("--shards and --data are alternatives: the shards already hold the data")
    if config.pretrain_data is not None and (config.shards is not None or task is not None):
        raise UsageError(
            "--pretrain-data works on in-memory data in one process (not with --shards or "
            "--strategy multiworker)"
        )
    spec = PreprocessSpec.square(config.image_size, config.channels)
    get_arch(config.arch).check(spec)
    return spec


def _join_cluster(task: ClusterTask, hp: Recipe) -> tuple[BatchPlan, Any]:
    """The batch plan and the multi-worker strategy, once every worker has joined.

    Must run before any other TensorFlow op: collective ops are configured at program start-up.
    """
    from edge_emotion.training.cluster import batch_plan
    from edge_emotion.training.multiworker import create_strategy

    plan = batch_plan(hp.batch_size, hp.lr, task.num_workers)
    print(f"cluster: this is {task.describe()}; waiting for every worker", flush=True)
    strategy = create_strategy(task)
    print(f"cluster: ready; {plan.describe()}", flush=True)
    return plan, strategy


def _build_model(
    config: TrainConfig,
    hp: Recipe,
    spec: PreprocessSpec,
    inputs: _Inputs,
    pool: PretrainPool | None,
    strategy: Any,
    progress: bool,
) -> tuple[Any, dict[str, list[float]]]:
    """The compiled model, pre-trained on `pool` first when there is one (and that history)."""
    keras = import_keras()
    pretrain_history: dict[str, list[float]] = {}
    with strategy.scope():
        model = build_model(config.arch, spec)
        if pool is not None:
            from edge_emotion.training.pretrain import pretrain

            assert inputs.train_pixels is not None and inputs.train_labels is not None
            pretrain_history = pretrain(
                model,
                pool,
                inputs.train_pixels,
                inputs.train_labels,
                spec,
                epochs=hp.pretrain_epochs,
                lr=hp.pretrain_lr,
                batch_size=hp.batch_size,
                label_smoothing=hp.label_smoothing,
                augment=hp.augment,
                mixup=hp.mixup,
                seed=config.seed,
                progress=progress,
            )
        model.compile(
            optimizer=keras.optimizers.Adam(
                learning_rate=learning_rate(
                    hp, steps_per_epoch=-(-inputs.n_train // hp.batch_size)
                ),
                use_ema=hp.ema > 0,
                ema_momentum=hp.ema or 0.99,
            ),
            loss=keras.losses.BinaryCrossentropy(label_smoothing=hp.label_smoothing),
            metrics=[
                "accuracy",
                keras.metrics.Precision(name="precision"),
                keras.metrics.Recall(name="recall"),
                keras.metrics.AUC(name="auc"),
            ],
        )
    return model, pretrain_history


def _scratch_dir(out: Path, task: ClusterTask | None, chief: bool) -> Path:
    """Where the run is assembled: a sibling of `out` on the chief (renamed into place at the
    end); a non-chief's checkpoints go somewhere no user looks."""
    if not chief:
        from edge_emotion.training.cluster import worker_scratch

        assert task is not None
        return worker_scratch(out, task)
    out.parent.mkdir(parents=True, exist_ok=True)
    # A multi-worker chief may be restarted: a fixed name, so no stale temp dir is left.
    suffix = "chief" if task is not None else str(os.getpid())
    tmp = out.with_name(f".{out.name}.tmp-{suffix}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp


@dataclass(frozen=True)
class _Fitted:
    """What `model.fit` left: the whole history (a resumed run's earlier epochs included)."""

    history: dict[str, list[float]]
    epochs_run: int
    best_epoch: int
    resumed: int  # epochs done before this process started (multi-worker backup)
    steps_per_epoch: int | None


def _fit(
    model: Any,
    inputs: _Inputs,
    hp: Recipe,
    config: TrainConfig,
    task: ClusterTask | None,
    strategy: Any,
    progress: bool,
) -> _Fitted:
    """Fit with early stopping (best weights restored), EMA swapping and, for multiworker,
    backup/resume; the model holds the weights to save afterwards."""
    keras = import_keras()
    line = _epoch_line_callback(hp.epochs)
    callbacks = [
        # With --ema: the averaged weights are in the model for validation and at each
        # epoch's end, so early stopping judges and keeps them (it must come after this).
        *([keras.callbacks.SwapEMAWeights(swap_on_epoch=True)] if hp.ema > 0 else []),
        # Restores the best epoch's weights at the end whether or not it stopped early, so
        # the model saved below is the best checkpoint; a ModelCheckpoint rewrote the whole
        # model (up to 700 MB at 256x256) on every improving epoch only to be overwritten.
        # Resuming a run is BackupAndRestore's job (multiworker).
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=hp.patience, restore_best_weights=True
        ),
    ]
    resumed, past = 0, {}
    backup = None
    if task is not None:
        from edge_emotion.training import multiworker
        from edge_emotion.training.cluster import backup_dir

        backup = backup_dir(config.out, task)
        resumed, past = _open_backup(backup, _fingerprint(config, hp))
        if not multiworker.agree(strategy, resumed):
            raise UsageError(
                f"the workers' backups stop at different epochs (this worker's: {resumed}, "
                f"in {backup}); delete every worker's backup and start again"
            )
        if resumed:
            print(
                f"resuming from the backup: {resumed} of {hp.epochs} epoch(s) already done "
                f"({backup})",
                flush=True,
            )
        callbacks += [_history_saver(backup, past), multiworker.keras_backup(str(backup))]
    callbacks += [line, *_test_pause()]
    try:
        with warnings.catch_warnings():
            # Streamed shards have no known length: Keras finds the epoch's end by running
            # out of data, and says so once; that is expected here.
            warnings.filterwarnings("ignore", message="Your input ran out of data")
            fit = model.fit(
                with_mixup(inputs.train, hp.mixup, config.seed),
                validation_data=inputs.val,
                epochs=hp.epochs,
                callbacks=callbacks,
                shuffle=False,  # the tf.data pipeline shuffles
                verbose=1 if progress else 0,  # Keras's bar on a terminal; EpochLine's lines
            )
    except Exception as err:
        if task is None:
            raise
        from edge_emotion.training import multiworker

        if not isinstance(err, multiworker.cluster_errors()):
            raise
        raise multiworker.cluster_failure(
            err, f"it resumes from this worker's backup in {backup}"
        ) from None
    history = {
        k: past.get(k, [])[:resumed] + [float(v) for v in vals] for k, vals in fit.history.items()
    }
    epochs_run = len(history.get("loss", []))
    val_losses = history.get("val_loss", [])
    # Early stopping restored the best weights of the epochs since a resume.
    best_epoch = (
        resumed + int(np.argmin(val_losses[resumed:])) + 1 if val_losses[resumed:] else epochs_run
    )
    return _Fitted(
        history=history,
        epochs_run=epochs_run,
        best_epoch=best_epoch,
        resumed=resumed,
        steps_per_epoch=line.steps[-1] if line.steps else None,
    )


def _evaluate_splits(
    local: Any, inputs: _Inputs, fitted: _Fitted, labels: tuple[str, ...]
) -> dict[str, Any]:
    """metrics.json: val and test metrics of the saved model."""
    metrics: dict[str, Any] = {
        "positive_label": labels[POSITIVE_INDEX],
        "threshold": DEFAULT_THRESHOLD,
        "best_epoch": fitted.best_epoch,
        "epochs_run": fitted.epochs_run,
    }
    for name in ("val", "test"):
        predicted = inputs.predict(local, name)
        if predicted is not None:
            metrics[name] = binary_metrics(predicted[0], predicted[1], DEFAULT_THRESHOLD, labels)
    return metrics


def _save_artifacts(
    tmp: Path,
    model: Any,
    distributed: bool,
    inputs: _Inputs,
    fitted: _Fitted,
    pool: PretrainPool | None,
    config: TrainConfig,
) -> dict[str, Any]:
    """The models, split manifests, history, metrics and plots into `tmp`; the metrics."""
    # EarlyStopping restored the best weights; the saved models are exactly those.
    model.save(tmp / MODEL_FILE)
    _save_legacy_h5(model, tmp / LEGACY_MODEL_FILE)
    # Predict through a local copy: the distributed model's predict is a collective.
    keras = import_keras()
    local = keras.models.load_model(tmp / MODEL_FILE, compile=False) if distributed else model
    metrics = _evaluate_splits(local, inputs, fitted, config.labels)
    write_manifest(tmp / MANIFEST_FILE, inputs.samples)
    if pool is not None:
        from edge_emotion.training.pretrain import PRETRAIN_MANIFEST, write_pretrain_manifest

        write_pretrain_manifest(tmp / PRETRAIN_MANIFEST, pool)
    write_json(
        tmp / HISTORY_FILE,
        {
            "epochs_run": fitted.epochs_run,
            "best_epoch": fitted.best_epoch,
            "metrics": fitted.history,
        },
    )
    write_json(tmp / METRICS_FILE, metrics)
    from edge_emotion.training.plots import plot_history

    plot_history(fitted.history, tmp)
    return metrics


def _run_config(
    config: TrainConfig,
    hp: Recipe,
    spec: PreprocessSpec,
    inputs: _Inputs,
    model: Any,
    fitted: _Fitted,
    pool: PretrainPool | None,
    pretrain_history: dict[str, list[float]],
    strategy: Any,
    cluster: tuple[ClusterTask, BatchPlan] | None,
    seconds: float,
) -> dict[str, Any]:
    """config.json: every setting, the data and what training did, versions and the command."""
    training: dict[str, Any] = {
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
        "epochs_run": fitted.epochs_run,
        "best_epoch": fitted.best_epoch,
        "steps_per_epoch": fitted.steps_per_epoch,
        "wall_seconds": round(seconds, 1),
    }
    if cluster is not None:
        task, plan = cluster
        training["cluster"] = {
            "workers": task.num_workers,
            "replicas": int(strategy.num_replicas_in_sync),
            "global_batch": plan.global_batch,
            "per_worker_batch": plan.per_worker_batch,
            "lr": plan.lr,
            "lr_scaling": plan.lr_scaling,
            "resumed_from_epoch": fitted.resumed,
            "chief": f"{task.task_type} {task.task_index} ({task.address})",
        }
    return {
        "arch": config.arch,
        "labels": list(config.labels),
        "positive_index": POSITIVE_INDEX,
        "threshold": DEFAULT_THRESHOLD,
        "image_size": config.image_size,
        "channels": config.channels,
        "preprocess": spec.to_dict(),
        "seed": config.seed,
        "crop": inputs.crop_section,
        "data": inputs.data_section,
        "training": training,
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


def train(config: TrainConfig) -> TrainResult:
    """Run a whole training job and return where its run directory is.

    The steps: check the settings, (join the cluster,) load the data, build and pre-train the
    model, fit it, then write every artifact into a scratch folder that replaces `out` at once.
    """
    started = time.perf_counter()
    out = Path(config.out)
    task = _cluster_task(config)
    chief = task is None or task.is_chief
    if chief:
        _prepare_out(out, config.force)
        remove_stale_temps(out)
    hp = resolve(config)
    spec = _check_settings(config, task)
    crop = _training_crop(config)
    plan, strategy = _join_cluster(task, hp) if task is not None else (None, None)

    if config.shards is not None:
        inputs = _shard_inputs(config, spec, crop, hp, task.num_workers if task else 1)
    else:
        inputs = _memory_inputs(config, spec, crop, hp)
    pool = _pretrain_pool(config, spec, inputs.samples)
    if strategy is None:
        strategy = _strategy(config.strategy)
    # Keras's bar (pre-training and training) only on a terminal, unless the caller says.
    progress = sys.stdout.isatty() if config.progress is None else config.progress
    model, pretrain_history = _build_model(config, hp, spec, inputs, pool, strategy, progress)
    if task is not None:
        from edge_emotion.training import multiworker

        multiworker.fix_symbolic_build(model, strategy)
    print(
        f"model: {config.arch} ({model.count_params():,} parameters), {hp.epochs} epochs, "
        f"batch {hp.batch_size}, lr {hp.lr:g}, patience {hp.patience}, augment "
        f"{'on' if hp.augment else 'off'}, strategy {_strategy_name(strategy)}",
        flush=True,
    )

    tmp = _scratch_dir(out, task, chief)
    try:
        fitted = _fit(model, inputs, hp, config, task, strategy, progress)
        if not chief:
            from edge_emotion.training import multiworker

            multiworker.barrier(strategy)  # wait for the chief's run directory
            return TrainResult(
                run_dir=out,
                epochs_run=fitted.epochs_run,
                best_epoch=fitted.best_epoch,
                seconds=time.perf_counter() - started,
                chief=False,
            )

        metrics = _save_artifacts(tmp, model, task is not None, inputs, fitted, pool, config)
        cluster = (task, plan) if task is not None and plan is not None else None
        run_config = _run_config(
            config,
            hp,
            spec,
            inputs,
            model,
            fitted,
            pool,
            pretrain_history,
            strategy,
            cluster,
            seconds=time.perf_counter() - started,
        )
        write_json(tmp / CONFIG_FILE, run_config)
        swap_into_place(tmp, out)
        if task is not None:
            from edge_emotion.training import multiworker

            multiworker.barrier(strategy)  # the other workers finish once the run is in place
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    RunDir.open(out)
    return TrainResult(
        run_dir=out,
        epochs_run=fitted.epochs_run,
        best_epoch=fitted.best_epoch,
        seconds=time.perf_counter() - started,
        metrics=metrics,
    )
