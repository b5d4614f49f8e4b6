"""TFRecord shards for data larger than memory: `edge-emotion prepare-data`, `train --shards`.

`prepare-data` (`prepare.py`) decodes a dataset once, in chunks, through exactly the loader
`train` uses in memory (`dataset.decode`: the runtime's `to_pixels`, or for `--detect` the
largest-face crop), splits it with the same `split.assign_splits`, and writes each split's pixels
as lossless PNG inside `tf.train.Example` records. `train --shards` streams them through the same
`pipeline` tail (scale, augment, batch), so a streamed run sees bit-for-bit the pixels an
in-memory run would.

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

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edge_emotion.errors import DataError, UsageError
from edge_emotion.training.manifest import SPLITS, Sample, read_manifest
from edge_emotion_runtime.preprocess import PreprocessSpec

if TYPE_CHECKING:
    from edge_emotion.training.framing import TrainingCrop

SHARDS_FILE = "shards.json"
MANIFEST = "split.csv"
FORMAT = "edge-emotion-shards"
FORMAT_VERSION = 1
DEFAULT_SHARD_SIZE = 1000  # images per shard file
MIN_TRAIN_SHARDS = 8  # so up to 8 workers each read their own files
SHUFFLE_BUFFER = 2048  # examples, on top of shuffling the order of shard files


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
    photo: bool = False,
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
    ds = batch_and_scale(
        ds, shards.spec, batch_size=batch_size, seed=seed, augment=augment, photo=photo
    )
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
