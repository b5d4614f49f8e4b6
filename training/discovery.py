"""Find the labelled images in a dataset folder, whatever supported layout it uses.

Layouts:
  1. DIR/happy/*, DIR/sad/*                       (the seed notebook's layout)
  2. DIR/train/{happy,sad} [+ DIR/test/{happy,sad}] (FER-2013 folder layout)
  3. DIR/fer2013.csv or the CSV itself             (emotion,pixels,Usage; 3 = happy, 4 = sad)
Class folders match case-insensitively; other emotion folders are ignored with a note.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from edge_emotion.errors import DataError
from edge_emotion.paths import missing_reason
from edge_emotion.training.fer_csv import iter_rows
from edge_emotion_runtime.labels import DEFAULT_LABELS
from edge_emotion_runtime.preprocess import IMAGE_SUFFIXES

FER_CSV = "fer2013.csv"
FER_EMOTIONS = {3: "happy", 4: "sad"}  # FER-2013 codes of the two classes we use
FER_TEST_USAGES = ("publictest", "privatetest")


@dataclass(frozen=True)
class Candidate:
    """An image found in the dataset, before decoding and splitting."""

    path: str  # relative to the data root, POSIX separators (or "fer2013.csv#<row>")
    label: int
    preset_split: str = ""  # "test" when the dataset already fixes it, else ""


@dataclass(frozen=True)
class Discovered:
    root: Path
    layout: str  # "class-folders", "train-test-folders" or "fer2013-csv"
    candidates: list[Candidate]
    notes: list[str] = field(default_factory=list)

    @property
    def has_test_split(self) -> bool:
        return any(c.preset_split == "test" for c in self.candidates)


def _subdirs(folder: Path) -> dict[str, Path]:
    """Lower-cased name -> path of the visible sub-folders."""
    out: dict[str, Path] = {}
    for entry in sorted(folder.iterdir()):
        if entry.is_dir() and not entry.name.startswith("."):
            out.setdefault(entry.name.lower(), entry)
    return out


def _images_in(folder: Path) -> list[Path]:
    files = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith(".") and name.lower().endswith(IMAGE_SUFFIXES):
                files.append(Path(dirpath) / name)
    return files


def _class_folders(
    folder: Path, root: Path, labels: tuple[str, ...], preset: str, notes: list[str]
) -> list[Candidate]:
    subdirs = _subdirs(folder)
    missing = [name for name in labels if name not in subdirs]
    if missing:
        raise DataError(
            f"{folder}: no '{missing[0]}/' class folder (expected "
            f"{', '.join(n + '/' for n in labels)}; names match case-insensitively)"
        )
    others = sorted(p.name for key, p in subdirs.items() if key not in labels)
    if others:
        notes.append(
            f"ignored folders in {folder}: {', '.join(others)} "
            f"(only {' and '.join(labels)} are used)"
        )
    found: list[Candidate] = []
    for label, name in enumerate(labels):
        files = _images_in(subdirs[name])
        if not files:
            raise DataError(
                f"{subdirs[name]}: class '{name}' has no images "
                f"({'/'.join(s.lstrip('.') for s in IMAGE_SUFFIXES)})"
            )
        found += [Candidate(f.relative_to(root).as_posix(), label, preset) for f in files]
    return found


def _fer_csv(csv_path: Path, root: Path, labels: tuple[str, ...]) -> list[Candidate]:
    wanted = {code: labels.index(name) for code, name in FER_EMOTIONS.items() if name in labels}
    found: list[Candidate] = []
    rel = csv_path.relative_to(root).as_posix()
    for row_index, row in enumerate(iter_rows(csv_path)):
        try:
            code = int(row.get("emotion") or "")
        except (TypeError, ValueError):
            continue
        if code in wanted:
            usage = row.get("Usage")
            preset = "test" if (usage or "").strip().lower() in FER_TEST_USAGES else ""
            found.append(Candidate(f"{rel}#{row_index}", wanted[code], preset))
    for label, name in enumerate(labels):
        if not any(c.label == label for c in found):
            raise DataError(f"{csv_path}: no rows of class '{name}'")
    return found


def discover(
    data_dir: str | os.PathLike[str], labels: tuple[str, ...] = DEFAULT_LABELS
) -> Discovered:
    """The dataset's images and their labels, or a one-line `DataError`."""
    path = Path(data_dir).expanduser()
    if not path.exists():
        raise DataError(missing_reason(path, "data directory"))
    if path.is_file():
        if path.suffix.lower() == ".csv":
            root = path.parent.resolve()
            return Discovered(root, "fer2013-csv", _fer_csv(path.resolve(), root, labels))
        raise DataError(f"{path}: expected a data directory (or a fer2013.csv), got a file")
    root = path.resolve()
    notes: list[str] = []
    subdirs = _subdirs(root)
    if any(name in subdirs for name in labels):
        found = _class_folders(root, root, labels, "", notes)
        return Discovered(root, "class-folders", found, notes)
    if "train" in subdirs:
        found = _class_folders(subdirs["train"], root, labels, "", notes)
        if "test" in subdirs:
            found += _class_folders(subdirs["test"], root, labels, "test", notes)
        return Discovered(root, "train-test-folders", found, notes)
    csvs = [p for p in sorted(root.iterdir()) if p.is_file() and p.name.lower() == FER_CSV]
    if csvs:
        return Discovered(root, "fer2013-csv", _fer_csv(csvs[0], root, labels), notes)
    seen = ", ".join(sorted(p.name for p in root.iterdir())[:5]) or "nothing"
    raise DataError(
        f"{root}: unknown dataset layout (expected happy/ and sad/ folders, "
        f"train/{{happy,sad}}/ [+ test/], or {FER_CSV}; found {seen})"
    )
