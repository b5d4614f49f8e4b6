"""Backup and resume for `--strategy multiworker`: a restarted worker continues from its last
epoch, if the backup was made with the same settings (`fingerprint`) and every worker agrees."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edge_emotion.errors import UsageError
from edge_emotion.rundir import write_json
from edge_emotion.training import multiworker
from edge_emotion.training.cluster import backup_dir
from edge_emotion.training.console import note
from edge_emotion.training.models import Recipe
from edge_emotion.training.train_config import TrainConfig
from edge_emotion.training.train_context import TrainContext

BACKUP_RUN_FILE = "edge-emotion-run.json"  # the settings the backup was made with
BACKUP_HISTORY_FILE = "edge-emotion-history.json"  # per-epoch logs up to the last backup
KERAS_BACKUP_METADATA = "training_metadata.json"  # written by keras' BackupAndRestore


def fingerprint(config: TrainConfig, hp: Recipe) -> dict[str, Any]:
    """What must not change for a restarted worker to resume from its backup."""
    return {
        "arch": config.arch,
        "recipe": asdict(hp),
        "seed": config.seed,
        "image_size": config.image_size,
        "channels": config.channels,
        "class_weight": config.class_weight,
        "data": str(config.data) if config.data is not None else None,
        "shards": str(Path(config.shards).resolve()) if config.shards is not None else None,
        "detect": config.detect,
        "detector": config.detector,
    }


def _open_backup(backup: Path, fingerprint: dict[str, Any]) -> tuple[int, dict[str, list[float]]]:
    """(epochs already done, their history) from this worker's backup; a backup made with other
    settings is discarded with a note."""
    if backup.is_dir():
        try:
            made = json.loads((backup / BACKUP_RUN_FILE).read_text())
        except (OSError, ValueError):
            made = None
        if made == fingerprint:
            try:
                done = int(json.loads((backup / KERAS_BACKUP_METADATA).read_text())["epoch"])
            except (OSError, ValueError, KeyError, TypeError):
                done = 0
            try:
                history = json.loads((backup / BACKUP_HISTORY_FILE).read_text())
            except (OSError, ValueError):
                history = {}
            history = {k: [float(v) for v in vals][:done] for k, vals in history.items()}
            if done and all(len(v) == done for v in history.values()) and history:
                return done, history
            if done:
                note(f"{backup}: backup has no usable history; starting again from epoch 1")
        else:
            note(f"{backup}: discarding a backup made with other settings")
        shutil.rmtree(backup, ignore_errors=True)
    backup.mkdir(parents=True, exist_ok=True)
    write_json(backup / BACKUP_RUN_FILE, fingerprint)
    return 0, {}


@dataclass(frozen=True)
class Resume:
    """Where this worker's backup is and what it holds: epochs done, and their logs."""

    backup: Path | None = None
    done: int = 0
    past: dict[str, list[float]] = field(default_factory=dict)


def resume(ctx: TrainContext, strategy: Any) -> Resume:
    """This worker's backup, opened (made anew when missing or stale); nothing when training
    alone. Every worker must stop at the same epoch, or none can resume."""
    if ctx.role.task is None:
        return Resume()
    backup = backup_dir(ctx.config.out, ctx.role.task)
    done, past = _open_backup(backup, fingerprint(ctx.config, ctx.hp))
    if not multiworker.agree(strategy, done):
        raise UsageError(
            f"the workers' backups stop at different epochs (this worker's: {done}, "
            f"in {backup}); delete every worker's backup and start again"
        )
    if done:
        print(
            f"resuming from the backup: {done} of {ctx.hp.epochs} epoch(s) already done ({backup})",
            flush=True,
        )
    return Resume(backup, done, past)
