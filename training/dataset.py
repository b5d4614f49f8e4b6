"""Decode labelled images into memory through the runtime's preprocessing.

Pixels are decoded once with `edge_emotion_runtime.preprocess.to_pixels` (the device's own code)
in a thread pool and kept as uint8; `SplitData.x()` applies the runtime's `scale`. Training,
evaluation, export calibration and benchmarks all get their arrays from here.

For a `--detect` run (whole photos) the crop happens here too: each photo becomes the crop of its
largest detected face (`framing.TrainingCrop`), so every later step sees the same crops, and a
photo with no face found is skipped and counted, never trained on whole.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from edge_emotion.errors import DataError
from edge_emotion.rundir import RunDir
from edge_emotion.training.console import first_few, note, warn
from edge_emotion.training.discovery import Candidate, discover
from edge_emotion.training.manifest import Sample, image_source, read_manifest, select
from edge_emotion_runtime.errors import ImageError
from edge_emotion_runtime.preprocess import PreprocessSpec, load_image, scale, to_pixels

if TYPE_CHECKING:
    from edge_emotion.training.framing import TrainingCrop


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
    no_face: list[str] = field(default_factory=list)  # paths of photos with no face (--detect)


@dataclass(frozen=True)
class DecodeResult:
    """`decode`'s answer: pixels and hashes of the kept images, which ones, and why not others."""

    pixels: np.ndarray
    hashes: list[str]
    kept: list[int]  # indices into the paths given
    failures: list[str]  # "path (reason)" of the unreadable ones
    no_face: list[str]  # paths where the detector found no face (only with a crop)


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
    root: Path, path: str, spec: PreprocessSpec, want_hash: bool, crop: TrainingCrop | None
) -> tuple[np.ndarray | None, str, str]:
    """(pixels, hash, error); pixels None with error "" means no face was found."""
    try:
        source = image_source(root, Sample(path, 0, "", ""))
        if crop is None:
            pixels = to_pixels(source, spec)
        else:
            pixels = crop.crop(load_image(source), spec, str(root / path))
            if pixels is None:
                return None, "", ""
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
    crop: TrainingCrop | None = None,
) -> DecodeResult:
    """Decode (and with `crop`, detect and crop) every path; keep the usable ones."""
    out = np.empty((len(paths), *spec.shape), dtype=np.uint8)
    hashes: list[str] = []
    kept: list[int] = []
    failures: list[str] = []
    no_face: list[str] = []
    if crop is not None and paths:
        # Load the detector once, up front: a broken install fails here, not in every worker.
        from edge_emotion.training.framing import load_detector

        load_detector(crop.detector)
    if paths and "#" in paths[0]:
        # A CSV dataset: parse the file once here rather than in every worker at the same time.
        _decode_one(root, paths[0], spec, False, None)
    with ThreadPoolExecutor(max_workers=workers or default_workers()) as pool:
        results = pool.map(lambda p: _decode_one(root, p, spec, want_hash, crop), paths)
        for index, (pixels, digest, error) in enumerate(results):
            if pixels is None:
                if error:
                    failures.append(f"{paths[index]} ({error})")
                else:
                    no_face.append(paths[index])
                continue
            out[len(kept)] = pixels
            kept.append(index)
            hashes.append(digest)
    return DecodeResult(out[: len(kept)], hashes, kept, failures, no_face)


def warn_unreadable(failures: list[str]) -> None:
    if failures:
        warn(f"skipped {len(failures)} unreadable image file(s): {first_few(failures)}")


def note_no_face(no_face: list[str], total: int) -> None:
    if no_face:
        note(f"no face found in {len(no_face)} of {total} photo(s), skipped: {first_few(no_face)}")


def decode_candidates(
    root: Path,
    candidates: Sequence[Candidate],
    spec: PreprocessSpec,
    labels: Sequence[str],
    workers: int | None = None,
    crop: TrainingCrop | None = None,
) -> Decoded:
    """Decode and hash every candidate; unreadable files are skipped with one counted warning,
    and with `crop`, photos with no face found with one counted note.

    A class left with no usable image is a `DataError`.
    """
    result = decode(root, [c.path for c in candidates], spec, workers=workers, crop=crop)
    warn_unreadable(result.failures)
    note_no_face(result.no_face, len(candidates))
    good = [candidates[i] for i in result.kept]
    for label, name in enumerate(labels):
        if not any(c.label == label for c in good):
            usable = "readable photos with a face found" if crop else "readable images"
            raise DataError(f"{root}: class '{name}' has no {usable}")
    return Decoded(good, result.pixels, result.hashes, result.failures, result.no_face)


def _split_data(
    pixels: np.ndarray, samples: list[Sample], spec: PreprocessSpec, root: Path
) -> SplitData:
    labels = np.array([s.label for s in samples], dtype=np.int64)
    return SplitData(pixels=pixels, labels=labels, samples=samples, spec=spec, root=root)


def load_split(
    run: RunDir, split: str, workers: int | None = None, *, allow_changed: bool = False
) -> SplitData:
    """The images of one split of a run's manifest, decoded with the run's preprocessing (and,
    for a `--detect` run, cropped to the largest face as in training).

    Every listed image must still be readable and have the content recorded at training time
    (sha256 in split.csv): a changed set would make results incomparable, so a missing,
    unreadable or changed image (or a photo whose face is no longer found) is a `DataError`
    (changed ones only a counted warning with `allow_changed`).
    """
    from edge_emotion.training.framing import training_crop

    spec = run.preprocess_spec()
    crop = training_crop(run.config())
    root = run.data_root()
    samples = select(read_manifest(run.manifest_path), split)
    if not samples:
        raise DataError(f"{run.manifest_path}: the manifest has no '{split}' images")
    if not root.exists():
        raise DataError(
            f"{root}: data root of run {run.path} is gone (pass --data to evaluate another folder)"
        )
    result = decode(
        root, [s.path for s in samples], spec, want_hash=True, workers=workers, crop=crop
    )
    if result.failures:
        raise DataError(
            f"{len(result.failures)} image(s) of the '{split}' split under {root} are no "
            f"longer readable: {first_few(result.failures)}"
        )
    if result.no_face:
        raise DataError(
            f"{len(result.no_face)} photo(s) of the '{split}' split under {root} no longer have "
            f"a face found: {first_few(result.no_face)}"
        )
    hashes = result.hashes
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
    return _split_data(result.pixels, samples, spec, root)


def load_folder(
    data_dir: str | os.PathLike[str],
    spec: PreprocessSpec,
    labels: Sequence[str] = ("happy", "sad"),
    workers: int | None = None,
    crop: TrainingCrop | None = None,
) -> SplitData:
    """Every labelled image of a dataset folder (any supported layout), unreadable ones skipped;
    with `crop` (a `--detect` run's), each photo's largest face, photos without one skipped.

    Samples keep the dataset's own split ("test" where the layout fixes one, else "").
    """
    found = discover(data_dir, tuple(labels))
    decoded = decode_candidates(
        found.root, found.candidates, spec, labels, workers=workers, crop=crop
    )
    samples = [
        Sample(c.path, c.label, c.preset_split, h)
        for c, h in zip(decoded.candidates, decoded.hashes, strict=True)
    ]
    return _split_data(decoded.pixels, samples, spec, found.root)
