"""`edge-emotion prepare-data`: decode, split and write a dataset once as TFRecord shards.

The folder layout and the reading side are in `shards.py`. Writing is two passes inside one
staged folder: `_spool` decodes in chunks (through exactly the loader `train` uses in memory)
in a seeded random order and spools each kept image as PNG; `_plan` makes the same split the
in-memory path makes; `_route` writes the spooled images round-robin into each split's shard
files; `_describe` is shards.json.
"""

from __future__ import annotations

import hashlib
import io
import math
import struct
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from edge_emotion import __version__
from edge_emotion.errors import DataError, UsageError
from edge_emotion.rundir import write_json
from edge_emotion.training.console import note
from edge_emotion.training.dataset import decode, note_no_face, warn_unreadable
from edge_emotion.training.discovery import discover
from edge_emotion.training.manifest import SPLITS, write_manifest
from edge_emotion.training.shards import (
    DEFAULT_SHARD_SIZE,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    MIN_TRAIN_SHARDS,
    SHARDS_FILE,
)
from edge_emotion.training.split import assign_splits
from edge_emotion.training.staging import staged_dir
from edge_emotion_runtime.labels import DEFAULT_LABELS
from edge_emotion_runtime.preprocess import PreprocessSpec

if TYPE_CHECKING:
    from edge_emotion.training.discovery import Candidate, Discovered
    from edge_emotion.training.framing import FramingReport, TrainingCrop
    from edge_emotion.training.split import SplitResult

DECODE_CHUNK = 512  # images decoded at a time: memory stays bounded whatever the dataset size


@dataclass(frozen=True)
class PrepareConfig:
    """Settings of `edge-emotion prepare-data` (recorded in shards.json)."""

    data: Path
    out: Path
    image_size: int = 256
    channels: int = 3
    seed: int = 42  # the split's seed
    detect: bool = False
    detector: str = "short"
    labels: tuple[str, ...] = DEFAULT_LABELS
    shard_size: int = DEFAULT_SHARD_SIZE
    force: bool = False
    workers: int | None = None


@dataclass(frozen=True)
class PrepareReport:
    out: Path
    counts: dict[str, int]
    files: dict[str, int]
    images: int
    unreadable: int
    no_face: int
    bytes: int
    seconds: float


@dataclass(frozen=True)
class _Job:
    """What every step reads: the settings, the input spec and crop they imply, the data found."""

    config: PrepareConfig
    spec: PreprocessSpec
    crop: TrainingCrop | None
    found: Discovered


@dataclass(frozen=True)
class _Spooled:
    """Pass 1's result: the spool file and, per kept candidate index, its image's sha256."""

    path: Path
    hashes: dict[int, str]
    failures: list[str]
    no_face: list[str]


@dataclass(frozen=True)
class _Plan:
    """Where every kept image goes: its split and position, and each split's shard files."""

    good: list[Candidate]
    split: SplitResult
    place: dict[str, tuple[str, int]]
    sizes: dict[str, int]
    class_counts: dict[str, list[int]]
    n_files: dict[str, int]
    names: dict[str, list[str]]


def _png(pixels: np.ndarray) -> bytes:
    image = Image.fromarray(pixels[:, :, 0] if pixels.shape[-1] == 1 else pixels)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _unpng(data: bytes, channels: int) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        pixels = np.asarray(image, dtype=np.uint8)
    return pixels[:, :, None] if channels == 1 else pixels


def _example(tf: Any, png: bytes, label: int, index: int) -> bytes:
    feature = tf.train.Feature
    return tf.train.Example(
        features=tf.train.Features(
            feature={
                "image": feature(bytes_list=tf.train.BytesList(value=[png])),
                "label": feature(int64_list=tf.train.Int64List(value=[label])),
                "index": feature(int64_list=tf.train.Int64List(value=[index])),
            }
        )
    ).SerializeToString()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def shard_count(split: str, n: int, shard_size: int) -> int:
    if n == 0:
        return 0
    count = math.ceil(n / shard_size)
    if split == "train":
        count = max(count, min(MIN_TRAIN_SHARDS, n))
    return count


def _check_config(config: PrepareConfig) -> None:
    if config.channels not in (1, 3):
        raise UsageError(f"--channels must be 1 or 3, got {config.channels}")
    if not 8 <= config.image_size <= 1024:
        raise UsageError(f"--image-size must be between 8 and 1024, got {config.image_size}")
    if config.shard_size < 1:
        raise UsageError(f"--shard-size must be at least 1, got {config.shard_size}")
    if not config.detect and config.detector != "short":
        raise UsageError("--detector only applies with --detect")


def _check_out(out: Path, force: bool) -> None:
    if out.exists():
        if not force:
            raise UsageError(f"{out}: already exists (use --force to replace it, or another --out)")
        if not out.is_dir() or (any(out.iterdir()) and not (out / SHARDS_FILE).is_file()):
            raise UsageError(
                f"{out}: exists and is not a shards folder; refusing to replace it even with "
                "--force"
            )


def prepare_data(config: PrepareConfig) -> PrepareReport:
    """Decode, split and write a dataset as TFRecord shards (see the module docstring)."""
    from edge_emotion.training.framing import TrainingCrop, measure_framings, sample_indices
    from edge_emotion.training.tfenv import import_tf

    started = time.perf_counter()
    out = Path(config.out)
    _check_config(config)
    _check_out(out, config.force)
    spec = PreprocessSpec.square(config.image_size, config.channels)
    crop = TrainingCrop.for_detector(config.detector) if config.detect else None
    found = discover(config.data, config.labels)
    for message in found.notes:
        note(message)
    cropping = f", cropping the largest face ({crop.detector}-range detector)" if crop else ""
    print(
        f"data: {found.root} ({found.layout}, {len(found.candidates)} images); decoding at "
        f"{spec.height}x{spec.width}x{spec.channels}{cropping}",
        flush=True,
    )
    tf = import_tf()
    job = _Job(config, spec, crop, found)
    with staged_dir(out) as tmp:
        spooled = _spool(tf, tmp / "spool.records", job)
        warn_unreadable(spooled.failures)
        note_no_face(spooled.no_face, len(found.candidates))
        plan = _plan(job, spooled)
        # The framing sample: the same train positions an in-memory run measures.
        sample_at = {int(i) for i in sample_indices(plan.sizes["train"])}
        written, sampled = _route(tf, tmp, spooled.path, found.candidates, plan, sample_at, spec)
        spooled.path.unlink()
        train_sample = np.stack([sampled[i] for i in sorted(sampled)])
        framing = replace(measure_framings(train_sample, crop), available=plan.sizes["train"])
        for message in framing.notes():
            note(message)
        write_manifest(tmp / MANIFEST, plan.split.samples)
        splits_meta, total_bytes = _split_files(tmp, plan, written)
        meta = _describe(tf, tmp, job, spooled, plan, framing, splits_meta)
        write_json(tmp / SHARDS_FILE, meta)
    return PrepareReport(
        out=out,
        counts=plan.sizes,
        files=plan.n_files,
        images=len(plan.good),
        unreadable=len(spooled.failures),
        no_face=len(spooled.no_face),
        bytes=total_bytes,
        seconds=time.perf_counter() - started,
    )


def _spool(tf: Any, spool: Path, job: _Job) -> _Spooled:
    """Pass 1: decode in chunks, in a seeded random order (so shards hold no class runs),
    spooling each kept image as PNG; only hashes and indices stay in memory."""
    found, config = job.found, job.config
    candidates = found.candidates
    order = np.random.default_rng(config.seed).permutation(len(candidates))
    hashes: dict[int, str] = {}
    failures: list[str] = []
    no_face: list[str] = []
    with tf.io.TFRecordWriter(str(spool)) as writer:
        for start in range(0, len(order), DECODE_CHUNK):
            chunk = [int(i) for i in order[start : start + DECODE_CHUNK]]
            result = decode(
                found.root,
                [candidates[i].path for i in chunk],
                job.spec,
                workers=config.workers,
                crop=job.crop,
            )
            failures += result.failures
            no_face += result.no_face
            for row, kept in enumerate(result.kept):
                index = chunk[kept]
                hashes[index] = result.hashes[row]
                writer.write(struct.pack("<q", index) + _png(result.pixels[row]))
            done = min(start + DECODE_CHUNK, len(order))
            if len(order) > DECODE_CHUNK:
                print(f"decoded {done}/{len(order)}", flush=True)
    return _Spooled(spool, hashes, failures, no_face)


def _plan(job: _Job, spooled: _Spooled) -> _Plan:
    """The same split the in-memory path makes (same candidates, same hashes, same seed), each
    image's position in it and each split's shard file names; DataError for a class with no
    usable image or a split left empty."""
    found, config = job.found, job.config
    kept_ids = sorted(spooled.hashes)
    good = [found.candidates[i] for i in kept_ids]
    for label, name in enumerate(config.labels):
        if not any(c.label == label for c in good):
            usable = "readable photos with a face found" if job.crop else "readable images"
            raise DataError(f"{found.root}: class '{name}' has no {usable}")
    split = assign_splits(good, [spooled.hashes[i] for i in kept_ids], config.seed)
    place: dict[str, tuple[str, int]] = {}
    sizes = dict.fromkeys(SPLITS, 0)
    class_counts = {name: [0] * len(config.labels) for name in SPLITS}
    for sample in split.samples:
        place[sample.path] = (sample.split, sizes[sample.split])
        sizes[sample.split] += 1
        class_counts[sample.split][sample.label] += 1
    for name in ("train", "val"):
        if sizes[name] == 0:
            raise DataError(
                f"{found.root}: too few images to make a '{name}' split ({len(good)} usable)"
            )
    n_files = {name: shard_count(name, sizes[name], config.shard_size) for name in SPLITS}
    names = {
        name: [f"{name}-{k:05d}-of-{n_files[name]:05d}.tfrecord" for k in range(n_files[name])]
        for name in SPLITS
    }
    return _Plan(good, split, place, sizes, class_counts, n_files, names)


def _route(
    tf: Any,
    tmp: Path,
    spool: Path,
    candidates: list[Candidate],
    plan: _Plan,
    sample_at: set[int],
    spec: PreprocessSpec,
) -> tuple[dict[str, list[int]], dict[int, np.ndarray]]:
    """Pass 2: route the spooled images, in their random order, round-robin into shards.
    Returns the examples written per shard file and the framing sample's pixels by position."""
    written = {name: [0] * plan.n_files[name] for name in SPLITS}
    sampled: dict[int, np.ndarray] = {}
    writers = {
        name: [tf.io.TFRecordWriter(str(tmp / file)) for file in plan.names[name]]
        for name in SPLITS
    }
    try:
        routed = dict.fromkeys(SPLITS, 0)
        for record in tf.data.TFRecordDataset(str(spool)).as_numpy_iterator():
            (index,) = struct.unpack("<q", record[:8])
            png = record[8:]
            candidate = candidates[index]
            name, position = plan.place[candidate.path]
            k = routed[name] % plan.n_files[name]
            routed[name] += 1
            writers[name][k].write(_example(tf, png, candidate.label, position))
            written[name][k] += 1
            if name == "train" and position in sample_at:
                sampled[position] = _unpng(png, spec.channels)
    finally:
        for group in writers.values():
            for w in group:
                w.close()
    return written, sampled


def _split_files(
    tmp: Path, plan: _Plan, written: dict[str, list[int]]
) -> tuple[dict[str, Any], int]:
    """shards.json's "splits" section (each file's count, size and sha256) and the total size."""
    splits_meta: dict[str, Any] = {}
    total_bytes = 0
    for name in SPLITS:
        files = []
        for file, count in zip(plan.names[name], written[name], strict=True):
            size = (tmp / file).stat().st_size
            total_bytes += size
            digest = _file_sha256(tmp / file)
            files.append({"name": file, "count": count, "bytes": size, "sha256": digest})
        splits_meta[name] = {
            "count": plan.sizes[name],
            "class_counts": plan.class_counts[name],
            "files": files,
        }
    return splits_meta, total_bytes


def _describe(
    tf: Any,
    tmp: Path,
    job: _Job,
    spooled: _Spooled,
    plan: _Plan,
    framing: FramingReport,
    splits_meta: dict[str, Any],
) -> dict[str, Any]:
    """The shards.json document (the manifest must already be written: its sha256 is in it)."""
    config, spec, crop, found = job.config, job.spec, job.crop, job.found
    split = plan.split
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "encoding": "png",
        "preprocess": spec.to_dict(),
        "image_size": config.image_size,
        "channels": config.channels,
        "labels": list(config.labels),
        "seed": config.seed,
        "training_crop": crop.to_dict() if crop else None,
        "crop": framing.section(recorded_by="edge-emotion prepare-data"),
        "data": {
            "root": str(found.root),
            "layout": found.layout,
            "images": len(plan.good),
            "unreadable_skipped": len(spooled.failures),
            "no_face_skipped": len(spooled.no_face),
            "no_face_files": spooled.no_face,
            "duplicate_images": split.duplicate_images,
            "duplicate_groups": split.duplicate_groups,
            "split_counts": {name: plan.class_counts[name] for name in SPLITS},
        },
        "splits": splits_meta,
        "manifest": MANIFEST,
        "manifest_sha256": _file_sha256(tmp / MANIFEST),
        "versions": {"edge_emotion": __version__, "tensorflow": tf.__version__},
        "command": " ".join(sys.argv),
        "created_unix": int(time.time()),
    }
