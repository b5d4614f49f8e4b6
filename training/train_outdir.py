"""The run directory's housekeeping: refuse an `--out` that must not be replaced, clear temporary
folders left by killed runs, and the scratch folder a run is assembled in."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from edge_emotion.errors import UsageError
from edge_emotion.paths import check_output_dir
from edge_emotion.rundir import CONFIG_FILE
from edge_emotion.training.cluster import worker_scratch
from edge_emotion.training.staging import remove_stale_temps
from edge_emotion.training.train_context import Role

__all__ = ["prepare_out", "remove_stale_temps", "scratch_dir"]


def prepare_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is a file, not a run directory")
    # The run is built in a sibling temporary folder: the parent must take new entries.
    check_output_dir(out.parent, "--out")
    if out.exists():
        if not force:
            raise UsageError(
                f"{out}: run directory already exists (use --force to replace it, "
                "or --out for a new one)"
            )
        if any(out.iterdir()) and not (out / CONFIG_FILE).is_file():
            raise UsageError(
                f"{out}: exists and does not look like a run directory; "
                "refusing to replace it even with --force"
            )


def scratch_dir(out: Path, role: Role) -> Path:
    """Where the run is assembled: a sibling of `out` on the chief (renamed into place at the
    end); a non-chief's checkpoints go somewhere no user looks."""
    if not role.chief:
        assert role.task is not None
        return worker_scratch(out, role.task)
    out.parent.mkdir(parents=True, exist_ok=True)
    # A multi-worker chief may be restarted: a fixed name, so no stale temp dir is left.
    suffix = "chief" if role.distributed else str(os.getpid())
    tmp = out.with_name(f".{out.name}.tmp-{suffix}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp
