"""Turn command-line IMAGE arguments (files, folders, glob patterns) into the files to process.

One traversal rule for folders and globs alike: walk with `os.walk` (symlinked directories are
not followed, so a link loop cannot hang the run; hidden entries are skipped), report every
directory that cannot be read, and keep each real file once however many paths reach it.
Globs are matched segment by segment on that walk (`*`, `?`, `[...]` within a name, `**` across
folders), never by `glob.glob`, which follows directory links into loops.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from pathlib import Path

from edge_emotion_runtime.preprocess import IMAGE_SUFFIXES

GLOB_CHARS = frozenset("*?[")


def is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def _walk(directory: Path, problems: list[str], keep_dir=None) -> list[Path]:
    """Image files under `directory` in sorted order; unreadable folders become problems.

    `keep_dir(parts)` (relative path parts) prunes folders that cannot hold a match.
    """
    found: list[Path] = []

    def unreadable(err: OSError) -> None:
        problems.append(f"{err.filename}: cannot read directory ({err.strerror or err})")

    for root, dirs, files in os.walk(directory, onerror=unreadable):
        base = Path(root)
        rel = base.relative_to(directory).parts
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and (keep_dir is None or keep_dir((*rel, d)))
        )
        found.extend(base / f for f in sorted(files) if is_image_name(Path(f)))
    return found


def _match(segments: Sequence[str], parts: Sequence[str]) -> bool:
    """Do path `parts` match glob `segments` (one name pattern each, `**` = any depth)?"""
    if not segments:
        return not parts
    head, rest = segments[0], segments[1:]
    if head == "**":
        return any(_match(rest, parts[i:]) for i in range(len(parts) + 1))
    return bool(parts) and fnmatch.fnmatchcase(parts[0], head) and _match(rest, parts[1:])


def _may_lead_to_match(segments: Sequence[str], parts: Sequence[str]) -> bool:
    """Could a folder at `parts` hold a match (or be one, then everything in it counts)?"""
    for i, part in enumerate(parts):
        if i >= len(segments):
            return True  # below a matched folder
        if segments[i] == "**":
            return True
        if not fnmatch.fnmatchcase(part, segments[i]):
            return False
    return True


def expand_glob(pattern: str, problems: list[str]) -> list[Path]:
    """Image files matched by `pattern`, or inside folders it matches, in sorted order."""
    path = Path(pattern)
    parts = path.parts[1:] if path.anchor else path.parts
    fixed = 0
    while fixed < len(parts) and not GLOB_CHARS & set(parts[fixed]):
        fixed += 1
    base = Path(path.anchor, *parts[:fixed]) if path.anchor or fixed else Path(".")
    segments = parts[fixed:]
    if not segments or not base.is_dir():
        return []
    found = []
    for file in _walk(base, problems, lambda rel: _may_lead_to_match(segments, rel)):
        rel = file.relative_to(base).parts
        if any(_match(segments, rel[:n]) for n in range(1, len(rel) + 1)):
            found.append(file if fixed or path.anchor else Path(*rel))
    return found


def collect(args: Sequence[str]) -> tuple[list[Path], list[str]]:
    """Expand the IMAGE arguments into files to process, plus one problem line per argument
    that found nothing and per directory that could not be read.

    Files named explicitly are taken whatever their suffix (a bad one fails when decoded);
    folders and globs contribute only files with an image suffix. A file reached by several
    paths (symlinks, overlapping arguments) is kept once, under the first path seen.
    """
    images: list[Path] = []
    problems: list[str] = []
    for arg in args:
        try:
            images.extend(_expand(arg, problems))
        except (OSError, ValueError) as err:  # e.g. a name longer than NAME_MAX or PATH_MAX
            reason = getattr(err, "strerror", None) or str(err)
            problems.append(f"{arg}: cannot use this path ({reason})")
    return _unique(images), problems


def _expand(arg: str, problems: list[str]) -> list[Path]:
    """The image files one IMAGE argument names (problems appended for what it cannot)."""
    path = Path(arg)
    if path.is_dir():
        found = _walk(path, problems)
        if not found:
            kinds = ", ".join(IMAGE_SUFFIXES)
            problems.append(f"{arg}: directory contains no images ({kinds})")
        return found
    if path.exists():
        return [path]
    if path.is_symlink():
        problems.append(f"{arg}: broken symbolic link")
    elif GLOB_CHARS & set(arg):
        found = expand_glob(arg, problems)
        if not found:
            problems.append(f"{arg}: no image files match this pattern")
        return found
    else:
        problems.append(f"{arg}: no such file or directory")
    return []


def _unique(paths: list[Path]) -> list[Path]:
    seen: set[str] = set()
    out = []
    for p in paths:
        try:
            key = os.path.realpath(p)
        except (OSError, ValueError):  # e.g. a symlink loop: keep it, it fails when read
            key = str(p)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out
