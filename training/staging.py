"""One staged-directory helper: build a folder under a temporary name, swap it into place whole.

A run directory (`train`) and a shard set (`prepare-data`) are both written as `.NAME.tmp-PID`
beside their destination and renamed into place only when complete, so an interruption never
leaves a half-written folder under the real name. Temporary folders of processes that died
(kill -9, power loss) are removed before a new one starts; those of live processes are kept.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from edge_emotion.paths import swap_into_place
from edge_emotion.training.console import first_few, note


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    except (OverflowError, ValueError):
        return False
    return True


def remove_stale_temps(out: Path) -> list[Path]:
    """Remove `.NAME.tmp-PID` / `.NAME.old-PID` beside `out` whose process is gone (kill -9,
    power loss), with one note; folders of live processes (a concurrent run) are kept."""
    parent = out.parent
    if not parent.is_dir():
        return []
    pattern = re.compile(rf"\.{re.escape(out.name)}\.(?:tmp|old)-(\d+)")
    removed: list[Path] = []
    for entry in sorted(parent.iterdir()):
        match = pattern.fullmatch(entry.name)
        stale = match and entry.is_dir() and not entry.is_symlink()
        if stale and not _pid_alive(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    if removed:
        note(
            f"removed {len(removed)} stale temporary folder(s) of interrupted runs in {parent}: "
            f"{first_few([p.name for p in removed])}"
        )
    return removed


@contextmanager
def staged_dir(out: Path) -> Iterator[Path]:
    """An empty `.NAME.tmp-PID` beside `out` to fill; swapped into place as `out` when the block
    ends normally, removed when it raises. Stale temporary folders of `out` go first."""
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(out)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
        swap_into_place(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
