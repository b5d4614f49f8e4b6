"""The data of a training run: decoded into memory, or streamed from `prepare-data` shards, split,
counted and batched (`Inputs`); and the `--pretrain-data` pool."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edge_emotion.errors import DataError
from edge_emotion.training.console import note
from edge_emotion.training.dataset import decode_candidates
from edge_emotion.training.discovery import discover
from edge_emotion.training.manifest import Sample
from edge_emotion.training.predict import PREDICT_BATCH, predict_probs
from edge_emotion.training.split import assign_splits
from edge_emotion.training.tfenv import seed_everything
from edge_emotion.training.train_config import TrainConfig
from edge_emotion.training.train_context import TrainContext
from edge_emotion.vocab import ClassWeight
from edge_emotion_runtime.preprocess import PreprocessSpec, scale

if TYPE_CHECKING:
    from edge_emotion.training.dataset import Decoded
    from edge_emotion.training.discovery import Discovered
    from edge_emotion.training.framing import FramingReport, TrainingCrop
    from edge_emotion.training.pretrain import PretrainPool
    from edge_emotion.training.split import SplitResult

SYNTH_IMAGE_SIZE = 128
SYNTH_PHOTO_SIZE = 256  # whole synthetic photos of the default `--detect` dataset
MAX_CACHE_BYTES = 6 * 1024**3  # decoded pixels are held in memory
SPLITS = ("train", "val", "test")


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


def class_weights(labels: np.ndarray, mode: str) -> np.ndarray | None:
    """Per-sample loss weights for `--class-weight balanced` (each class the same total), else
    None. `mode` was checked by `TrainConfig`."""
    if mode != ClassWeight.BALANCED:
        return None
    counts = np.bincount(labels, minlength=2).astype(np.float64)
    weights = len(labels) / (2.0 * np.maximum(counts, 1))
    return weights[labels]


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
class Inputs:
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


def _discover(config: TrainConfig, spec: PreprocessSpec, crop: TrainingCrop | None) -> Discovered:
    """The images of `--data` (default: the synthetic set), refused when they cannot fit."""
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
    return found


def _split(
    found: Discovered, decoded: Decoded, seed: int
) -> tuple[SplitResult, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The split (duplicates kept together, with a note) and its pixels and labels per split."""
    split = assign_splits(decoded.candidates, decoded.hashes, seed)
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
    order = {name: [index_of[s.path] for s in split.samples if s.split == name] for name in SPLITS}
    labels_all = np.array([c.label for c in decoded.candidates], dtype=np.int64)
    pix = {name: decoded.pixels[idx] for name, idx in order.items()}
    lab = {name: labels_all[idx] for name, idx in order.items()}
    for name in ("train", "val"):
        if len(lab[name]) == 0:
            raise DataError(
                f"{found.root}: too few images to make a '{name}' split "
                f"({len(decoded.candidates)} usable)"
            )
    return split, pix, lab


def memory_inputs(ctx: TrainContext) -> Inputs:
    """Decode every image into memory (the default path for data that fits)."""
    config, spec, hp = ctx.config, ctx.spec, ctx.hp
    found = _discover(config, spec, ctx.crop)
    decoded = decode_candidates(
        found.root, found.candidates, spec, config.labels, workers=config.workers, crop=ctx.crop
    )
    split, pix, lab = _split(found, decoded, config.seed)
    counts = {name: np.bincount(lab[name], minlength=2).tolist() for name in lab}
    _print_split(counts, config.labels)
    framing = _measure_framing(pix["train"], ctx.crop)
    _print_balance(counts["train"], config)

    seed_everything(config.seed)
    from edge_emotion.training.pipeline import make_dataset

    weights = class_weights(lab["train"], config.class_weight)
    train_ds = make_dataset(
        pix["train"],
        lab["train"],
        spec,
        batch_size=hp.batch_size,
        shuffle=True,
        seed=config.seed,
        augment=hp.augment,
        photo=hp.photo_aug,
        sample_weights=weights,
    )
    val_ds = make_dataset(pix["val"], lab["val"], spec, batch_size=hp.batch_size)

    def predict(model: Any, name: str) -> tuple[np.ndarray, np.ndarray] | None:
        if not len(lab[name]):
            return None
        return lab[name], predict_probs(model, scale(pix[name], spec))

    return Inputs(
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


def shard_inputs(ctx: TrainContext) -> Inputs:
    """Stream TFRecord shards written by `prepare-data` (data larger than memory), each worker
    of a cluster its own part."""
    from edge_emotion.training import shards as shard_io

    config, spec, crop, hp, workers = ctx.config, ctx.spec, ctx.crop, ctx.hp, ctx.role.workers

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
    counts = {name: shards.class_counts(name) for name in SPLITS}
    _print_split(counts, config.labels)
    _print_balance(counts["train"], config)
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
        photo=hp.photo_aug,
        weights=weights,
        workers=workers,
    )
    val_ds = shard_io.stream(shards, "val", batch_size=hp.batch_size, workers=workers)

    def predict(model: Any, name: str) -> tuple[np.ndarray, np.ndarray] | None:
        if not shards.count(name):
            return None
        return shard_io.predict_split(model, shards, name, PREDICT_BATCH)

    return Inputs(
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


def load_inputs(ctx: TrainContext) -> Inputs:
    """The run's data: streamed from `--shards`, else decoded into memory."""
    return shard_inputs(ctx) if ctx.config.shards is not None else memory_inputs(ctx)


def pretrain_pool(ctx: TrainContext, samples: list[Sample]) -> PretrainPool | None:
    """The `--pretrain-data` images, minus any whose content is in the happy/sad data (val/test
    copies would leak into evaluation), or None without the option."""
    config, spec = ctx.config, ctx.spec
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
