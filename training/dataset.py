"""Decode labelled images into memory through the runtime's preprocessing.

Pixels are decoded once with `edge_emotion_runtime.preprocess.to_pixels` (the device's own code)
in a thread pool and kept as uint8; `SplitData.x()` applies the runtime's `scale`. Training,
evaluation, export calibration and benchmarks all get their arrays from here.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_emotion.errors import DataError
from edge_emotion.rundir import RunDir
from edge_emotion.training.console import first_few, warn
from edge_emotion.training.discovery import Candidate, discover
from edge_emotion.training.manifest import Sample, image_source, read_manifest, select
from edge_emotion_runtime.errors import ImageError
from edge_emotion_runtime.preprocess import PreprocessSpec, scale, to_pixels


@dataclass(frozen=True)
class SplitData:
    """Decoded images of one split: uint8 pixels (N,H,W,C), int64 labels (N,), their samples."""

    pixels: np.ndarray
    labels: np.ndarray
    samples: list[Sample]
    spec: PreprocessSpec
    root: Path | None = None  # what the samples' paths are relative to

    def __len__(self) -> int:
        return len(self.samples)

    def x(self) -> np.ndarray:
        """float32 model input, exactly the runtime's `scale(pixels)`."""
        return scale(self.pixels, self.spec)

    def class_counts(self) -> list[int]:
        return np.bincount(self.labels, minlength=2).astype(int).tolist()


@dataclass(frozen=True)
class Decoded:
    """Result of decoding candidates: the readable ones, their pixels and hashes."""

    candidates: list[Candidate]
    pixels: np.ndarray
    hashes: list[str]
    failures: list[str]  # "path (reason)" of the skipped ones


def default_workers() -> int:
    return max(2, min(8, 2 * (os.cpu_count() or 1)))


def content_hash(root: Path, path: str) -> str:
    """sha256 of the file's bytes (of the pixel values for a CSV row)."""
    source = image_source(root, Sample(path, 0, "", ""))
    if isinstance(source, (str, os.PathLike)):
        digest = hashlib.sha256()
        with open(source, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    return hashlib.sha256(source.tobytes()).hexdigest()


def _decode_one(
    root: Path, path: str, spec: PreprocessSpec, want_hash: bool
) -> tuple[np.ndarray | None, str, str]:
    try:
        pixels = to_pixels(image_source(root, Sample(path, 0, "", "")), spec)
        digest = content_hash(root, path) if want_hash else ""
        return pixels, digest, ""
    except ImageError as err:
        return None, "", str(err).removeprefix(str(root / path) + ": ")
    except (OSError, DataError, ValueError) as err:
        # "fer2013.csv#12 (row 12: ...)" rather than the CSV's full path again
        return None, "", str(err).removeprefix(str(root / path.split("#", 1)[0]) + ": ")


def decode(
    root: Path,
    paths: Sequence[str],
    spec: PreprocessSpec,
    *,
    want_hash: bool = True,
    workers: int | None = None,
) -> tuple[np.ndarray, list[str], list[int], list[str]]:
    """(pixels of the readable ones, their hashes, their indices, failure descriptions)."""
    out = np.empty((len(paths), *spec.shape), dtype=np.uint8)
    hashes: list[str] = []
    kept: list[int] = []
    failures: list[str] = []
    if paths and "#" in paths[0]:
        # A CSV dataset: parse the file once here rather than in every worker at the same time.
        _decode_one(root, paths[0], spec, want_hash=False)
    with ThreadPoolExecutor(max_workers=workers or default_workers()) as pool:
        results = pool.map(lambda p: _decode_one(root, p, spec, want_hash), paths)
        for index, (pixels, digest, error) in enumerate(results):
            if pixels is None:
                failures.append(f"{paths[index]} ({error})")
                continue
            out[len(kept)] = pixels
            kept.append(index)
            hashes.append(digest)
    return out[: len(kept)], hashes, kept, failures


def warn_unreadable(failures: list[str]) -> None:
    if failures:
        warn(f"skipped {len(failures)} unreadable image file(s): {first_few(failures)}")


def decode_candidates(
    root: Path,
    candidates: Sequence[Candidate],
    spec: PreprocessSpec,
    labels: Sequence[str],
    workers: int | None = None,
) -> Decoded:
    """Decode and hash every candidate; unreadable files are skipped with one counted warning.

    A class left with no readable image is a `DataError`.
    """
    pixels, hashes, kept, failures = decode(
        root, [c.path for c in candidates], spec, workers=workers
    )
    warn_unreadable(failures)
    good = [candidates[i] for i in kept]
    for label, name in enumerate(labels):
        if not any(c.label == label for c in good):
            raise DataError(f"{root}: class '{name}' has no readable images")
    return Decoded(good, pixels, hashes, failures)


def _split_data(
    pixels: np.ndarray, samples: list[Sample], spec: PreprocessSpec, root: Path
) -> SplitData:
    labels = np.array([s.label for s in samples], dtype=np.int64)
    return SplitData(pixels=pixels, labels=labels, samples=samples, spec=spec, root=root)


def load_split(
    run: RunDir, split: str, workers: int | None = None, *, allow_changed: bool = False
) -> SplitData:
    """The images of one split of a run's manifest, decoded with the run's preprocessing.

    Every listed image must still be readable and have the content recorded at training time
    (sha256 in split.csv): a changed set would make results incomparable, so a missing,
    unreadable or changed image is a `DataError` (changed ones only a counted warning with
    `allow_changed`).
    """
    spec = run.preprocess_spec()
    root = run.data_root()
    samples = select(read_manifest(run.manifest_path), split)
    if not samples:
        raise DataError(f"{run.manifest_path}: the manifest has no '{split}' images")
    if not root.exists():
        raise DataError(
            f"{root}: data root of run {run.path} is gone (pass --data to evaluate another folder)"
        )
    pixels, hashes, _, failures = decode(
        root, [s.path for s in samples], spec, want_hash=True, workers=workers
    )
    if failures:
        raise DataError(
            f"{len(failures)} image(s) of the '{split}' split under {root} are no "
            f"longer readable: {first_few(failures)}"
        )
    changed = [s.path for s, h in zip(samples, hashes, strict=True) if s.sha256 and s.sha256 != h]
    if changed:
        message = (
            f"{len(changed)} image(s) of the '{split}' split changed since training (sha256 "
            f"differs from {run.manifest_path.name}) under {root}: {first_few(changed)}"
        )
        if not allow_changed:
            raise DataError(
                f"{message}; results would not be comparable (restore the data or retrain; "
                "evaluate --allow-changed-data measures it anyway)"
            )
        warn(f"{message}; measuring them as they are now (--allow-changed-data)")
    return _split_data(pixels, samples, spec, root)


def load_folder(
    data_dir: str | os.PathLike[str],
    spec: PreprocessSpec,
    labels: Sequence[str] = ("happy", "sad"),
    workers: int | None = None,
) -> SplitData:
    """Every labelled image of a dataset folder (any supported layout), unreadable ones skipped.

    Samples keep the dataset's own split ("test" where the layout fixes one, else "").
    """
    found = discover(data_dir, tuple(labels))
    decoded = decode_candidates(found.root, found.candidates, spec, labels, workers=workers)
    samples = [
        Sample(c.path, c.label, c.preset_split, h)
        for c, h in zip(decoded.candidates, decoded.hashes, strict=True)
    ]
    return _split_data(decoded.pixels, samples, spec, found.root)
