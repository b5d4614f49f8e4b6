"""Path checks shared by the commands: say the real cause, and check outputs before any work.

`check_output_dir` runs before decoding, training or converting, so an --out that cannot be
written costs nothing; it creates nothing. Permissions are asked with `os.access` (root passes
those checks, as it would pass the real write).
"""

from __future__ import annotations

import errno
import os
import shutil
import zipfile
from pathlib import Path

from edge_emotion.errors import UsageError


def missing_reason(path: str | os.PathLike[str], what: str) -> str:
    """Why `path` cannot be used although named: 'no such X', a symlink loop, a broken link."""
    try:
        os.stat(path)
    except OSError as err:
        if err.errno == errno.ELOOP:
            return f"{path}: symbolic link loop (not a {what})"
        if os.path.islink(path):
            return f"{path}: broken symbolic link to {os.readlink(path)} (no such {what})"
        if err.errno in (errno.EACCES, errno.EPERM):
            return f"{path}: permission denied"
        if err.errno == errno.ENOTDIR:
            return f"{path}: no such {what} (a parent is a file, not a directory)"
        return f"{path}: no such {what}"
    return f"{path}: no such {what}"


def check_output_dir(path: str | os.PathLike[str], flag: str) -> None:
    """A `UsageError` unless files can be created in `path` (made on demand with its parents)."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise UsageError(f"{flag} {target}: exists and is a file, not a directory")
    probe = target
    while not os.path.lexists(probe):
        if probe.parent == probe:
            break
        probe = probe.parent
    try:
        os.stat(probe)
    except OSError as err:
        reason = "symbolic link loop" if err.errno == errno.ELOOP else (err.strerror or str(err))
        raise UsageError(f"{flag} {target}: cannot create it ({probe}: {reason})") from None
    if not probe.is_dir():
        raise UsageError(f"{flag} {target}: cannot create it, {probe} is a file, not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {target}: cannot write into {probe} (not writable)")


def model_file_problem(path: str | os.PathLike[str]) -> str | None:
    """'truncated or corrupt ...' when a model file is visibly damaged, else None."""
    path = Path(path)
    size = path.stat().st_size if path.is_file() else 0
    if size == 0:
        return "empty file (truncated or corrupt)"
    if path.suffix.lower() == ".keras" and not zipfile.is_zipfile(path):
        return f"truncated or corrupt .keras file (not a complete zip archive, {size} bytes)"
    if path.suffix.lower() == ".h5":
        with open(path, "rb") as fh:
            head = fh.read(8)
        if head != b"\x89HDF\r\n\x1a\n":
            return f"truncated or corrupt .h5 file (no HDF5 signature, {size} bytes)"
    return None


def describe_load_error(path: str | os.PathLike[str], err: BaseException) -> str:
    """The cause of a failed Keras load: a damaged file, else Keras' own first line."""
    problem = model_file_problem(path)
    if problem:
        return problem
    first = (str(err).strip().splitlines() or [""])[0][:200]
    if Path(path).is_file() and ("not found" in first.lower() or "truncated" in first.lower()):
        return f"truncated or corrupt model file ({type(err).__name__}: {first})"
    return f"{type(err).__name__}: {first}" if first else type(err).__name__


def swap_into_place(tmp: Path, out: Path) -> None:
    """Replace the folder `out` by the finished folder `tmp` with renames only (a run directory,
    a shard set); the old one is deleted last, so an interruption never leaves neither."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
