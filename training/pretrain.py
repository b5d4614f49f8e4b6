"""Pre-training on more faces: a K-class softmax head over the binary train split + other emotions.

`--pretrain-data DIR` points at folders of other classes (e.g. FER-2013's angry, disgust, fear,
neutral, surprise). Before the happy/sad training, the network is trained for
`pretrain_epochs` to tell all K classes apart: the binary run's **train** split (its own two
labels) plus every image of DIR. Then the K-class head is dropped and the normal binary training
starts from the learned backbone. On FER-2013 this teaches a small network more about faces than
the two classes alone (see README, Architectures).

No leakage: every image of DIR is hashed (sha256 of the file, like the split) and dropped when its
hash is that of any image of the binary dataset (val/test: it would leak evaluation images into
training; train: it is either the same image again or a copy under a conflicting label, FER-2013's
label noise), and exact duplicates inside DIR are kept once. The kept files are listed in the run's
`pretrain.csv` and the counts in `config.json`.
"""

from __future__ import annotations

import csv
import io
import os
import sys
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edge_emotion.errors import DataError
from edge_emotion.training.console import note
from edge_emotion.training.dataset import decode, warn_unreadable
from edge_emotion.training.discovery import _images_in, _subdirs
from edge_emotion.training.tfenv import import_keras, import_tf
from edge_emotion_runtime.metadata import write_atomic
from edge_emotion_runtime.preprocess import PreprocessSpec

PRETRAIN_MANIFEST = "pretrain.csv"
HEAD_NAME = "pretrain_head"


@dataclass(frozen=True)
class PretrainPool:
    """The extra images of `--pretrain-data` that survived de-duplication and the leak check."""

    root: Path
    classes: tuple[str, ...]  # the binary labels first, then DIR's class folders (sorted)
    pixels: np.ndarray  # uint8 (N,H,W,C) of the extra images only
    labels: np.ndarray  # int64 (N,): indices into `classes` (all >= 2)
    paths: list[str]  # relative to `root`
    hashes: list[str]
    dropped_held_out: int = 0  # same content as a binary val/test image (would leak)
    dropped_in_train: int = 0  # same content as a binary train image (copy or label conflict)
    dropped_duplicates: int = 0  # repeated inside DIR
    unreadable: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        counts = np.bincount(self.labels, minlength=len(self.classes)).tolist()
        return {
            "root": str(self.root),
            "classes": list(self.classes),
            "extra_images": len(self.paths),
            "extra_per_class": {
                name: counts[i] for i, name in enumerate(self.classes) if i >= 2 or counts[i]
            },
            "dropped_held_out": self.dropped_held_out,
            "dropped_in_train": self.dropped_in_train,
            "dropped_duplicates": self.dropped_duplicates,
            "unreadable_skipped": self.unreadable,
        }


def _class_dirs(data_dir: Path, labels: Sequence[str], notes: list[str]) -> dict[str, Path]:
    """Class name -> folder: DIR/<class>/ or DIR/train/<class>/ (the binary labels skipped)."""
    if not data_dir.is_dir():
        raise DataError(f"{data_dir}: no such --pretrain-data directory")
    subdirs = _subdirs(data_dir)
    base = subdirs.get("train", data_dir)
    if base is not data_dir:
        others = sorted(p.name for key, p in subdirs.items() if key != "train")
        if others:
            notes.append(f"--pretrain-data: using {base}; ignored {', '.join(others)}")
    folders = {key: path for key, path in _subdirs(base).items() if _images_in(path)}
    binary = [key for key in folders if key in {name.lower() for name in labels}]
    if binary:
        notes.append(
            f"--pretrain-data: ignored {', '.join(binary)}/ (those classes come from the "
            "binary dataset's train split only)"
        )
    out = {key: path for key, path in folders.items() if key not in binary}
    if not out:
        raise DataError(f"{base}: --pretrain-data has no class folders with images")
    return out


def load_pretrain_pool(
    data_dir: str | os.PathLike[str],
    spec: PreprocessSpec,
    labels: Sequence[str],
    held_out_hashes: Collection[str],
    train_hashes: Collection[str],
    workers: int | None = None,
) -> PretrainPool:
    """Decode DIR's class folders, drop leaks and duplicates (see the module docstring)."""
    notes: list[str] = []
    root = Path(data_dir).expanduser().resolve()
    dirs = _class_dirs(root, labels, notes)
    classes = (*labels, *sorted(dirs))
    paths: list[str] = []
    label_of: list[int] = []
    for key in sorted(dirs):
        files = _images_in(dirs[key])
        paths += [f.relative_to(root).as_posix() for f in files]
        label_of += [classes.index(key)] * len(files)
    result = decode(root, paths, spec, workers=workers)
    pixels, hashes, kept, failures = result.pixels, result.hashes, result.kept, result.failures
    warn_unreadable(failures)
    held = set(held_out_hashes)
    train = set(train_hashes)
    seen: set[str] = set()
    keep: list[int] = []  # positions in `kept`
    held_n = train_n = dup_n = 0
    for pos, digest in enumerate(hashes):
        if digest in held:
            held_n += 1
        elif digest in train:
            train_n += 1
        elif digest in seen:
            dup_n += 1
        else:
            seen.add(digest)
            keep.append(pos)
    return PretrainPool(
        root=root,
        classes=classes,
        pixels=pixels[keep],
        labels=np.array([label_of[kept[p]] for p in keep], dtype=np.int64),
        paths=[paths[kept[p]] for p in keep],
        hashes=[hashes[p] for p in keep],
        dropped_held_out=held_n,
        dropped_in_train=train_n,
        dropped_duplicates=dup_n,
        unreadable=len(failures),
        notes=notes,
    )


def write_pretrain_manifest(path: str | os.PathLike[str], pool: PretrainPool) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("path", "class", "sha256"))
    for p, label, digest in zip(pool.paths, pool.labels, pool.hashes, strict=True):
        writer.writerow((p, pool.classes[int(label)], digest))
    write_atomic(path, buffer.getvalue().encode())


def pretrain(
    model: Any,
    pool: PretrainPool,
    train_pixels: np.ndarray,
    train_labels: np.ndarray,
    spec: PreprocessSpec,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    label_smoothing: float,
    augment: bool,
    seed: int,
    photo: bool = False,
    mixup: float = 0.0,
    progress: bool = False,
) -> dict[str, list[float]]:
    """Train `model`'s backbone on all K classes in place; its own head is left untouched.

    A softmax head is put on the input of the model's last layer (the features the binary head
    reads), trained with Adam and cosine decay, and thrown away afterwards.
    """
    from edge_emotion.training.pipeline import make_dataset, with_mixup

    keras = import_keras()
    tf = import_tf()
    n_classes = len(pool.classes)
    x = np.concatenate([train_pixels, pool.pixels])
    y = np.concatenate([train_labels.astype(np.int64), pool.labels])
    ds = make_dataset(
        x, y, spec, batch_size=batch_size, shuffle=True, seed=seed, augment=augment, photo=photo
    )
    ds = ds.map(lambda xb, yb: (xb, tf.one_hot(tf.cast(tf.reshape(yb, [-1]), tf.int32), n_classes)))
    ds = with_mixup(ds, mixup, seed)
    features = model.layers[-1].input
    head = keras.layers.Dense(n_classes, activation="softmax", name=HEAD_NAME)(features)
    teacher = keras.Model(model.inputs, head, name=f"{model.name}_pretrain")
    steps = max(1, epochs * -(-len(y) // batch_size))
    teacher.compile(
        optimizer=keras.optimizers.Adam(
            keras.optimizers.schedules.CosineDecay(lr, decay_steps=steps, alpha=0.01)
        ),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing),
        metrics=["accuracy"],
    )
    print(
        f"pretrain: {len(y)} images in {n_classes} classes ({', '.join(pool.classes)}), "
        f"{epochs} epochs, lr {lr:g}",
        flush=True,
    )

    class Line(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            logs = logs or {}
            clear = "\r\033[K" if progress else ""
            print(
                f"{clear}pretrain epoch {epoch + 1:>{len(str(epochs))}}/{epochs}  "
                f"loss {logs.get('loss', float('nan')):.4f} "
                f"acc {logs.get('accuracy', float('nan')):.3f}  "
                f"{time.perf_counter() - self._start:.1f}s",
                flush=True,
            )
            sys.stdout.flush()

    fit = teacher.fit(ds, epochs=epochs, callbacks=[Line()], shuffle=False, verbose=0)
    if pool.notes:
        for message in pool.notes:
            note(message)
    return {k: [float(v) for v in vals] for k, vals in fit.history.items()}
