"""The split manifest: which image went to train, val or test, so every later step reuses it.

Paths are relative to the data root recorded in the run's config. Rows of a FER-2013 CSV are
addressed as `fer2013.csv#<row>` (row counted from 0 after the header).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath, PureWindowsPath

from PIL import Image

from edge_emotion.errors import DataError
from edge_emotion.training.fer_csv import iter_rows, parse_pixels
from edge_emotion_runtime.metadata import write_atomic
from edge_emotion_runtime.preprocess import ImageSource

FIELDS = ("path", "label", "split", "sha256")
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Sample:
    path: str  # relative to the data root, POSIX separators
    label: int  # index into the run's labels
    split: str  # "train", "val" or "test" ("" before splitting)
    sha256: str  # content hash: finds duplicates and detects changed data


def write_manifest(path: str | os.PathLike[str], samples: Iterable[Sample]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(FIELDS)
    for s in samples:
        writer.writerow((s.path, s.label, s.split, s.sha256))
    write_atomic(path, buffer.getvalue().encode())


def read_manifest(path: str | os.PathLike[str]) -> list[Sample]:
    try:
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as err:
        raise DataError(f"{path}: cannot read split manifest ({err.strerror or err})") from None
    try:
        samples = [Sample(r["path"], int(r["label"]), r["split"], r["sha256"]) for r in rows]
    except (KeyError, TypeError, ValueError) as err:
        raise DataError(f"{path}: malformed split manifest ({err})") from None
    escaping = [s.path for s in samples if not is_inside_root(s.path)]
    if escaping:
        raise DataError(
            f"{path}: {len(escaping)} path(s) point outside the data root (absolute or '..'), "
            f"refused: {', '.join(escaping[:3])}"
        )
    return samples


def is_inside_root(path: str) -> bool:
    """True for a plain relative path (no drive, no leading '/', no '..' component)."""
    name = path.split("#", 1)[0] if "#" in path else path
    if not name or "\0" in name:
        return False
    for flavour in (PurePosixPath(name), PureWindowsPath(name)):
        if flavour.is_absolute() or flavour.drive or flavour.root or ".." in flavour.parts:
            return False
    return True


def select(samples: Iterable[Sample], split: str) -> list[Sample]:
    return [s for s in samples if s.split == split]


@lru_cache(maxsize=2)
def _csv_pixels(csv_path: str) -> tuple[list[str | None], str]:
    """Every row's pixels field, and the file's error message ("" when it was readable).

    A failure is cached too, so a broken file is read once, not once per row.
    """
    try:
        return [row.get("pixels") for row in iter_rows(csv_path)], ""
    except DataError as err:
        return [], str(err)


def csv_row_image(csv_path: str | os.PathLike[str], row: int) -> Image.Image:
    """One FER-2013 CSV row as a square (48x48) grayscale image, or a one-line `DataError`."""
    fields, error = _csv_pixels(str(csv_path))
    if error:
        raise DataError(error)
    if not 0 <= row < len(fields):
        raise DataError(f"{csv_path}: no row {row} (the file has {len(fields)} rows)")
    return Image.fromarray(parse_pixels(csv_path, row, fields[row]), mode="L")


def image_source(root: str | os.PathLike[str], sample: Sample) -> ImageSource:
    """What to hand to the runtime's `preprocess` for this sample."""
    root = Path(root)
    if not is_inside_root(sample.path):
        raise DataError(f"{sample.path}: outside the data root {root}, refused")
    if "#" in sample.path and sample.path.split("#", 1)[0].lower().endswith(".csv"):
        name, row = sample.path.split("#", 1)
        return csv_row_image(root / name, int(row))
    return root / sample.path
