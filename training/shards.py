"""TFRecord shards for data larger than memory: `edge-emotion prepare-data`, `train --shards`.

`prepare-data` decodes a dataset once, in chunks, through exactly the loader `train` uses in memory
(`dataset.decode`: the runtime's `to_pixels`, or for `--detect` the largest-face crop), splits it
with the same `split.assign_splits`, and writes each split's pixels as lossless PNG inside
`tf.train.Example` records. `train --shards` streams them through the same `pipeline` tail (scale,
augment, batch), so a streamed run sees bit-for-bit the pixels an in-memory run would.

SHARDS/
  shards.json                  format, preprocessing spec, crop settings and measured framing,
                               labels, split seed, data root, counts, each shard's size and sha256
  split.csv                    the split manifest (path, label, split, sha256 of each image)
  train-00000-of-00008.tfrecord  examples: image (PNG bytes), label, index (manifest position)
  val-00000-of-00001.tfrecord, test-...

Train shards hold a seeded random order of the split (no class runs) and there are at least
`MIN_TRAIN_SHARDS` of them, so `tf.distribute` can give each worker its own files.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import struct
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
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
from edge_emotion.training.manifest import SPLITS, Sample, read_manifest, write_manifest
from edge_emotion.training.split import assign_splits
from edge_emotion.training.staging import staged_dir
from edge_emotion_runtime.labels import DEFAULT_LABELS
from edge_emotion_runtime.preprocess import PreprocessSpec

if TYPE_CHECKING:
    from edge_emotion.training.framing import TrainingCrop

SHARDS_FILE = "shards.json"
MANIFEST = "split.csv"
FORMAT = "edge-emotion-shards"
FORMAT_VERSION = 1
DEFAULT_SHARD_SIZE = 1000  # images per shard file
MIN_TRAIN_SHARDS = 8  # so up to 8 workers each read their own files
DECODE_CHUNK = 512  # images decoded at a time: memory stays bounded whatever the dataset size
SHUFFLE_BUFFER = 2048  # examples, on top of shuffling the order of shard files


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
class ShardFile:
    name: str
    count: int
    bytes: int
    sha256: str


@dataclass(frozen=True)
class ShardSet:
    """An opened, checked shards folder."""

    path: Path
    meta: dict[str, Any] = field(repr=False)

    @property
    def spec(self) -> PreprocessSpec:
        return PreprocessSpec.from_dict(self.meta["preprocess"])

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.meta["labels"])

    @property
    def training_crop(self) -> dict[str, Any] | None:
        return self.meta.get("training_crop")

    @property
    def crop_section(self) -> dict[str, Any]:
        return self.meta["crop"]

    @property
    def data(self) -> dict[str, Any]:
        return self.meta["data"]

    def files(self, split: str) -> list[ShardFile]:
        return [ShardFile(**f) for f in self.meta["splits"][split]["files"]]

    def count(self, split: str) -> int:
        return int(self.meta["splits"][split]["count"])

    def class_counts(self, split: str) -> list[int]:
        return [int(c) for c in self.meta["splits"][split]["class_counts"]]

    def samples(self) -> list[Sample]:
        return read_manifest(self.path / MANIFEST)

    def check(self, spec: PreprocessSpec, crop: TrainingCrop | None, labels: Sequence[str]) -> None:
        """A one-line `UsageError` when these shards were made for a different input."""
        made = self.spec
        if made != spec:
            raise UsageError(
                f"{self.path}: shards were made at {made.height}x{made.width}x{made.channels} "
                f"(prepare-data --image-size {made.height} --channels {made.channels}), but this "
                f"run asks for {spec.height}x{spec.width}x{spec.channels}; pass the same "
                "--image-size/--channels or run prepare-data again"
                + ("" if made.shape != spec.shape else f" (preprocessing differs: {made})")
            )
        if tuple(labels) != self.labels:
            raise UsageError(
                f"{self.path}: shards have labels {list(self.labels)}, not {list(labels)}"
            )
        theirs = self.training_crop
        ours = crop.to_dict() if crop is not None else None
        if theirs != ours:
            made_with = (
                f"--detect --detector {theirs['detector']}" if theirs else "without --detect"
            )
            asked = f"--detect --detector {crop.detector}" if crop else "without --detect"
            raise UsageError(
                f"{self.path}: shards were made {made_with}, but this run is {asked}; train with "
                "the same crop settings or run prepare-data again"
            )


def open_shards(path: str | os.PathLike[str]) -> ShardSet:
    """A shards folder written by `prepare-data`, with every listed file present at its size."""
    import json

    root = Path(path)
    if not root.is_dir():
        raise UsageError(
            f"{root}: no such shards folder (make one with `edge-emotion prepare-data`)"
        )
    try:
        meta = json.loads((root / SHARDS_FILE).read_text())
    except FileNotFoundError:
        raise UsageError(
            f"{root}: not a shards folder ({SHARDS_FILE} is missing; make one with "
            "`edge-emotion prepare-data`)"
        ) from None
    except (OSError, ValueError) as err:
        raise UsageError(f"{root / SHARDS_FILE}: unreadable ({err})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise UsageError(f"{root / SHARDS_FILE}: not an edge-emotion shards description")
    if meta.get("version") != FORMAT_VERSION:
        raise UsageError(
            f"{root}: shards format version {meta.get('version')!r}, this edge-emotion reads "
            f"{FORMAT_VERSION}; run prepare-data again"
        )
    shards = ShardSet(root, meta)
    for split in SPLITS:
        for f in shards.files(split):
            file = root / f.name
            if not file.is_file():
                raise DataError(f"{file}: shard listed in {SHARDS_FILE} is missing")
            if file.stat().st_size != f.bytes:
                raise DataError(
                    f"{file}: shard is {file.stat().st_size} bytes, {SHARDS_FILE} says {f.bytes} "
                    "(truncated or replaced; run prepare-data again)"
                )
    if not (root / MANIFEST).is_file():
        raise DataError(f"{root / MANIFEST}: the split manifest is missing")
    return shards


# --------------------------------------------------------------------------- writing


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
    if config.channels not in (1, 3):
        raise UsageError(f"--channels must be 1 or 3, got {config.channels}")
    if not 8 <= config.image_size <= 1024:
        raise UsageError(f"--image-size must be between 8 and 1024, got {config.image_size}")
    if config.shard_size < 1:
        raise UsageError(f"--shard-size must be at least 1, got {config.shard_size}")
    if not config.detect and config.detector != "short":
        raise UsageError("--detector only applies with --detect")
    _check_out(out, config.force)
    spec = PreprocessSpec.square(config.image_size, config.channels)
    crop = TrainingCrop.for_detector(config.detector) if config.detect else None
    found = discover(config.data, config.labels)
    for message in found.notes:
        note(message)
    candidates = found.candidates
    cropping = f", cropping the largest face ({crop.detector}-range detector)" if crop else ""
    print(
        f"data: {found.root} ({found.layout}, {len(candidates)} images); decoding at "
        f"{spec.height}x{spec.width}x{spec.channels}{cropping}",
        flush=True,
    )
    tf = import_tf()
    with staged_dir(out) as tmp:
        # Pass 1: decode in chunks, in a seeded random order (so shards hold no class runs),
        # spooling each kept image as PNG; only hashes and indices stay in memory.
        order = np.random.default_rng(config.seed).permutation(len(candidates))
        hashes: dict[int, str] = {}
        failures: list[str] = []
        no_face: list[str] = []
        spool = tmp / "spool.records"
        with tf.io.TFRecordWriter(str(spool)) as writer:
            for start in range(0, len(order), DECODE_CHUNK):
                chunk = [int(i) for i in order[start : start + DECODE_CHUNK]]
                result = decode(
                    found.root,
                    [candidates[i].path for i in chunk],
                    spec,
                    workers=config.workers,
                    crop=crop,
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
        warn_unreadable(failures)
        note_no_face(no_face, len(candidates))
        kept_ids = sorted(hashes)
        good = [candidates[i] for i in kept_ids]
        for label, name in enumerate(config.labels):
            if not any(c.label == label for c in good):
                usable = "readable photos with a face found" if crop else "readable images"
                raise DataError(f"{found.root}: class '{name}' has no {usable}")
        # The same split the in-memory path makes: same candidates, same hashes, same seed.
        split = assign_splits(good, [hashes[i] for i in kept_ids], config.seed)
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
        written = {name: [0] * n_files[name] for name in SPLITS}
        # The framing sample: the same train positions an in-memory run measures.
        sample_at = {int(i) for i in sample_indices(sizes["train"])}
        sampled: dict[int, np.ndarray] = {}
        writers = {
            name: [tf.io.TFRecordWriter(str(tmp / file)) for file in names[name]] for name in SPLITS
        }
        try:
            # Pass 2: route the spooled images, in their random order, round-robin into shards.
            routed = dict.fromkeys(SPLITS, 0)
            for record in tf.data.TFRecordDataset(str(spool)).as_numpy_iterator():
                (index,) = struct.unpack("<q", record[:8])
                png = record[8:]
                candidate = candidates[index]
                name, position = place[candidate.path]
                k = routed[name] % n_files[name]
                routed[name] += 1
                writers[name][k].write(_example(tf, png, candidate.label, position))
                written[name][k] += 1
                if name == "train" and position in sample_at:
                    sampled[position] = _unpng(png, spec.channels)
        finally:
            for group in writers.values():
                for w in group:
                    w.close()
        spool.unlink()
        train_sample = np.stack([sampled[i] for i in sorted(sampled)])
        framing = replace(measure_framings(train_sample, crop), available=sizes["train"])
        for message in framing.notes():
            note(message)
        write_manifest(tmp / MANIFEST, split.samples)
        splits_meta: dict[str, Any] = {}
        total_bytes = 0
        for name in SPLITS:
            files = []
            for file, count in zip(names[name], written[name], strict=True):
                size = (tmp / file).stat().st_size
                total_bytes += size
                digest = _file_sha256(tmp / file)
                files.append({"name": file, "count": count, "bytes": size, "sha256": digest})
            splits_meta[name] = {
                "count": sizes[name],
                "class_counts": class_counts[name],
                "files": files,
            }
        meta = {
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
                "images": len(good),
                "unreadable_skipped": len(failures),
                "no_face_skipped": len(no_face),
                "no_face_files": no_face,
                "duplicate_images": split.duplicate_images,
                "duplicate_groups": split.duplicate_groups,
                "split_counts": {name: class_counts[name] for name in SPLITS},
            },
            "splits": splits_meta,
            "manifest": MANIFEST,
            "manifest_sha256": _file_sha256(tmp / MANIFEST),
            "versions": {"edge_emotion": __version__, "tensorflow": tf.__version__},
            "command": " ".join(sys.argv),
            "created_unix": int(time.time()),
        }
        write_json(tmp / SHARDS_FILE, meta)
    return PrepareReport(
        out=out,
        counts=sizes,
        files=n_files,
        images=len(good),
        unreadable=len(failures),
        no_face=len(no_face),
        bytes=total_bytes,
        seconds=time.perf_counter() - started,
    )


# --------------------------------------------------------------------------- reading


def _parser(spec: PreprocessSpec) -> Any:
    from edge_emotion.training.tfenv import import_tf

    tf = import_tf()
    features = {
        "image": tf.io.FixedLenFeature([], tf.string),
        "label": tf.io.FixedLenFeature([], tf.int64),
        "index": tf.io.FixedLenFeature([], tf.int64),
    }

    def parse(record: Any) -> tuple[Any, Any, Any]:
        example = tf.io.parse_single_example(record, features)
        pixels = tf.io.decode_png(example["image"], channels=spec.channels, dtype=tf.uint8)
        return tf.ensure_shape(pixels, spec.shape), example["label"], example["index"]

    return parse


def records(shards: ShardSet, split: str, *, shuffle: bool = False, seed: int = 0) -> Any:
    """tf.data of (uint8 pixels, int64 label, int64 manifest index) for one split."""
    from edge_emotion.training.tfenv import import_tf

    tf = import_tf()
    files = [str(shards.path / f.name) for f in shards.files(split)]
    ds = tf.data.Dataset.from_tensor_slices(files)
    if shuffle:
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    ds = ds.interleave(
        tf.data.TFRecordDataset,
        cycle_length=max(1, min(len(files), 4)),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    if shuffle:
        ds = ds.shuffle(SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
    return ds.map(_parser(shards.spec), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def class_weights(counts: Sequence[int]) -> np.ndarray:
    """Per-class loss weights of `--class-weight balanced` (train's `_class_weights`, by class)."""
    counts_arr = np.asarray(counts, dtype=np.float64)
    return (counts_arr.sum() / (2.0 * np.maximum(counts_arr, 1))).astype(np.float32)


def stream(
    shards: ShardSet,
    split: str,
    *,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    augment: bool = False,
    weights: np.ndarray | None = None,
    workers: int = 1,
) -> Any:
    """Batches of (float32 images, float32 labels[, weights]) for `model.fit`, streamed.

    Auto-sharded across workers by `tf.distribute`: by file when each worker can have at least
    one, else by element.
    """
    from edge_emotion.training.pipeline import batch_and_scale
    from edge_emotion.training.tfenv import import_tf

    tf = import_tf()
    ds = records(shards, split, shuffle=shuffle, seed=seed)
    table = None if weights is None else tf.constant(weights, tf.float32)

    def to_xy(pixels: Any, label: Any, index: Any) -> tuple[Any, ...]:
        y = tf.reshape(tf.cast(label, tf.float32), [1])
        if table is None:
            return pixels, y
        return pixels, y, tf.gather(table, label)

    ds = ds.map(to_xy, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = batch_and_scale(ds, shards.spec, batch_size=batch_size, seed=seed, augment=augment)
    options = tf.data.Options()
    policy = tf.data.experimental.AutoShardPolicy
    by_file = len(shards.files(split)) >= workers
    options.experimental_distribute.auto_shard_policy = policy.FILE if by_file else policy.DATA
    return ds.with_options(options)


def read_split(shards: ShardSet, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 pixels, int64 labels) of a whole split in manifest order (small sets, tests)."""
    n = shards.count(split)
    pixels = np.zeros((n, *shards.spec.shape), dtype=np.uint8)
    labels = np.full((n,), -1, dtype=np.int64)
    for x, label, index in records(shards, split).as_numpy_iterator():
        pixels[index] = x
        labels[index] = label
    if (labels < 0).any():
        raise DataError(f"{shards.path}: the '{split}' shards miss some manifest positions")
    return pixels, labels


def predict_split(model: Any, shards: ShardSet, split: str, batch: int) -> tuple[Any, Any]:
    """(labels, P(labels[1])) over a split, streamed through a local (non-distributed) model."""
    from edge_emotion.training.pipeline import scale_tensor

    ds = records(shards, split).batch(batch)
    labels: list[np.ndarray] = []
    probs: list[np.ndarray] = []
    for pixels, label, _ in ds:
        x = scale_tensor(pixels, shards.spec)
        probs.append(np.asarray(model.predict_on_batch(x)).reshape(-1))
        labels.append(label.numpy())
    if not labels:
        return np.zeros((0,), np.int64), np.zeros((0,), np.float32)
    return np.concatenate(labels), np.concatenate(probs)
