"""The int8 representative dataset: a seeded, class-stratified draw from the TRAIN split only.

Why train only: val/test measure the exported model; calibrating on them would leak the
evaluation images into the quantization ranges. Why the runtime preprocessing: the quantization
ranges are only right if calibration sees exactly the tensors a device will feed (`load_split`
decodes with the runtime's `to_pixels`, `SplitData.x()` is the runtime's `scale`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edge_emotion.errors import DataError
from edge_emotion.export.types import CalibrationManifest
from edge_emotion.rundir import RunDir
from edge_emotion_runtime.preprocess import scale

CALIBRATION_SPLIT = "train"


@dataclass(frozen=True)
class CalibrationSet:
    x: np.ndarray  # float32 (N,H,W,C), runtime-preprocessed
    manifest: CalibrationManifest


def stratified_indices(
    labels: Sequence[int] | np.ndarray,
    keys: Sequence[str],
    count: int,
    seed: int,
    n_classes: int = 2,
) -> list[int]:
    """Indices of `count` items drawn per class in proportion to class frequency.

    Deterministic for a seed, independent of the input order (items are ordered by `keys`
    first), every class gets at least one image, and no item is drawn twice.
    """
    labels = np.asarray(labels, dtype=np.int64)
    total = labels.size
    if count > total:
        raise DataError(
            f"the {CALIBRATION_SPLIT} split has only {total} images, fewer than the "
            f"{count} calibration samples asked for (lower --calibration-samples)"
        )
    by_class = []
    for cls in range(n_classes):
        members = [i for i in np.flatnonzero(labels == cls)]
        members.sort(key=lambda i: keys[i])
        by_class.append(members)
    present = [c for c in range(n_classes) if by_class[c]]
    if len(present) < n_classes:
        raise DataError(
            f"the {CALIBRATION_SPLIT} split has no images of class "
            f"{[c for c in range(n_classes) if c not in present]}; "
            "calibration must see every class"
        )
    if count < n_classes:
        raise DataError(f"--calibration-samples {count} cannot cover {n_classes} classes")
    # Largest-remainder allocation of `count` in proportion to class sizes, at least 1 each.
    sizes = np.array([len(m) for m in by_class], dtype=np.float64)
    exact = sizes / sizes.sum() * count
    alloc = np.maximum(1, np.floor(exact)).astype(int)
    while alloc.sum() > count:
        alloc[int(np.argmax(alloc))] -= 1
    order = np.argsort(-(exact - np.floor(exact)), kind="stable")
    i = 0
    while alloc.sum() < count:
        cls = int(order[i % n_classes])
        if alloc[cls] < sizes[cls]:
            alloc[cls] += 1
        i += 1
    rng = np.random.default_rng(seed)
    chosen: list[int] = []
    for cls, members in enumerate(by_class):
        picks = rng.permutation(len(members))[: alloc[cls]]
        chosen.extend(members[int(p)] for p in picks)
    # Interleave deterministically so the calibrator never sees one class in a long run.
    rng.shuffle(chosen)
    return [int(i) for i in chosen]


def build_calibration(
    run: RunDir, count: int, seed: int, source_model_sha256: str, labels: Sequence[str]
) -> CalibrationSet:
    """Load the train split through the runtime preprocessing and draw the calibration set."""
    from edge_emotion.training.dataset import load_split

    if count < 1:
        raise DataError(f"--calibration-samples must be at least 1, got {count}")
    if not run.manifest_path.is_file():
        raise DataError(
            f"{run.path}: no {run.manifest_path.name}; cannot find the train split "
            "for int8 calibration"
        )
    try:
        split = load_split(run, CALIBRATION_SPLIT)
    except DataError as err:
        raise DataError(f"int8 calibration: {err}") from None
    keys = [s.path for s in split.samples]
    idx = stratified_indices(split.labels, keys, count, seed, n_classes=len(labels))
    # Same as split.x()[idx] (the runtime's `scale`) without scaling the whole train split.
    x = scale(split.pixels[idx], split.spec)
    chosen = [split.samples[i] for i in idx]
    per_class = {name: sum(1 for s in chosen if s.label == c) for c, name in enumerate(labels)}
    manifest = CalibrationManifest(
        count=len(chosen),
        seed=seed,
        split=CALIBRATION_SPLIT,
        per_class=per_class,
        samples=[{"path": s.path, "label": s.label, "sha256": s.sha256} for s in chosen],
        preprocess=split.spec.to_dict(),
        source_model_sha256=source_model_sha256,
        requested=count,
    )
    return CalibrationSet(x=np.ascontiguousarray(x, dtype=np.float32), manifest=manifest)
