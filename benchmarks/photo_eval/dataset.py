"""The photos to evaluate: every file in the class folders of DIR, truth = the folder's name.

Files are taken whatever their suffix (decoding goes by content: some web photos' extensions lie,
some have none); a file that turns out not to be an image is skipped and counted when decoded.
Hidden entries are skipped and symlinked folders are not followed (no loops).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from edge_emotion.errors import DataError
from edge_emotion.paths import missing_reason


@dataclass(frozen=True)
class LabelledPhoto:
    path: Path
    truth: str  # the class folder's name
    name: str  # path relative to DIR, with forward slashes (what reports show)


@dataclass(frozen=True)
class PhotoSet:
    root: Path
    photos: tuple[LabelledPhoto, ...]
    folders: tuple[str, ...]  # class folder names with at least one file, sorted


def scan(root: Path) -> PhotoSet:
    """Every file under each non-hidden sub-folder of `root`; a one-line `DataError` when `root`
    is missing or holds no class folder with files in it."""
    if not root.is_dir():
        if root.exists():
            raise DataError(f"{root}: not a directory (expected a folder of class folders)")
        raise DataError(missing_reason(root, "directory"))
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError as err:
        raise DataError(f"{root}: cannot read directory ({err.strerror or err})") from None
    photos: list[LabelledPhoto] = []
    folders: list[str] = []
    for entry in entries:
        if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
            continue
        found = _files(Path(entry.path))
        if found:
            folders.append(entry.name)
        photos.extend(
            LabelledPhoto(path, entry.name, path.relative_to(root).as_posix()) for path in found
        )
    if not photos:
        raise DataError(
            f"{root}: no class folders with files (expected e.g. {root}/happy/ and {root}/sad/)"
        )
    return PhotoSet(root, tuple(photos), tuple(folders))


def _files(folder: Path) -> list[Path]:
    found: list[Path] = []
    for base, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(Path(base) / f for f in sorted(files) if not f.startswith("."))
    return [p for p in found if p.is_file()]
