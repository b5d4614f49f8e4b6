"""File building blocks the runtime shares: one readable-file check, one write-into-a-free-name.

Standard library only. Both exist once so that photos, videos and models are refused for the
same reasons in the same words, and no writer ever replaces a file another one just wrote.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

# Names tried before giving up on a folder (a bound, so a hostile folder cannot spin forever).
MAX_FREE_NAME_TRIES = 10_000


def unreadable_reason(path: str | os.PathLike[str], kind: str = "a file") -> str | None:
    """None when `path` can be opened for reading as a `kind`, else why not (one phrase).

    "Empty" is what reading finds, not what `stat` says: a FIFO, a character device or a
    `/proc` file reports size 0 yet has content (and a FIFO is never opened here: that would
    block until a writer comes). A name longer than the system allows
    (ENAMETOOLONG) is a reason like any other, never an exception.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return "no such file" if not os.path.islink(path) else "broken symbolic link"
    except OSError as err:
        return f"cannot access file ({err.strerror or err})"
    if stat.S_ISDIR(info.st_mode):
        return f"is a directory, not {kind}"
    if not os.access(path, os.R_OK):
        return "cannot read file (permission denied)"
    if stat.S_ISREG(info.st_mode) and info.st_size == 0 and _reads_nothing(path):
        return "empty file (0 bytes)"
    return None


def _reads_nothing(path: str | os.PathLike[str]) -> bool:
    """Does a size-0 regular file really hold nothing? (`/proc` files say 0 and hold text.)"""
    try:
        with open(path, "rb") as fh:
            return fh.read(1) == b""
    except OSError:
        return False  # the reader will say what is wrong


def numbered(name: str, n: int) -> str:
    """`name` for n == 0, else `stem-n.suffix` (the last suffix: a.b.png -> a.b-1.png)."""
    if n == 0:
        return name
    stem, dot, suffix = name.rpartition(".")
    if not stem:  # no suffix (or a dot-file): number the whole name
        return f"{name}-{n}"
    return f"{stem}-{n}{dot}{suffix}"


def link_free_name(
    source: str | os.PathLike[str],
    directory: str | os.PathLike[str],
    name: str,
    protected: Iterable[str | os.PathLike[str]] = (),
) -> Path:
    """Hard-link the finished file `source` as `directory/name`, or the first free
    `stem-1.ext`, `stem-2.ext`...; returns the name it got.

    The name is claimed by the link itself (atomic, fails if taken), and a collision moves on to
    the next number: any number of processes writing into one folder all land, none replaces a
    file, none replaces a `protected` path (the run's inputs). `source` is left in place.
    """
    folder = Path(directory)
    taken = {os.path.realpath(p) for p in protected}
    for n in range(MAX_FREE_NAME_TRIES):
        candidate = folder / numbered(name, n)
        if os.path.realpath(candidate) in taken:
            continue
        try:
            os.link(source, candidate)
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(17, f"no free name like {name} after {MAX_FREE_NAME_TRIES} tries", folder)
