"""Layout of a training run directory: the contract between train, evaluate, export, benchmark.

RUN_DIR/
  model.keras        best model (Keras 3 format)
  model.h5           legacy copy for code written against the seed's cnn_emotion_model.h5
  config.json        every setting, versions, preprocessing, labels, threshold, data root
  split.csv          manifest: path (relative to the data root), label, split, sha256
  history.json       per-epoch metrics
  metrics.json       final val/test metrics
  accuracy.png, loss.png
  export/            TFLite models and export report (written by `edge-emotion export`)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_emotion.errors import UsageError
from edge_emotion_runtime.metadata import write_atomic
from edge_emotion_runtime.preprocess import PreprocessSpec

MODEL_FILE = "model.keras"
LEGACY_MODEL_FILE = "model.h5"
CONFIG_FILE = "config.json"
MANIFEST_FILE = "split.csv"
HISTORY_FILE = "history.json"
METRICS_FILE = "metrics.json"
EXPORT_DIR = "export"


@dataclass(frozen=True)
class RunDir:
    path: Path

    @property
    def model_path(self) -> Path:
        return self.path / MODEL_FILE

    @property
    def legacy_model_path(self) -> Path:
        return self.path / LEGACY_MODEL_FILE

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG_FILE

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST_FILE

    @property
    def history_path(self) -> Path:
        return self.path / HISTORY_FILE

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS_FILE

    @property
    def export_dir(self) -> Path:
        return self.path / EXPORT_DIR

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> RunDir:
        """An existing, complete run directory, or a one-line `UsageError` saying what is wrong."""
        run = cls(Path(path))
        if not run.path.exists():
            from edge_emotion.paths import missing_reason

            raise UsageError(missing_reason(run.path, "run directory"))
        if not run.path.is_dir():
            raise UsageError(
                f"{run.path}: not a run directory (expected a folder made by `edge-emotion train`)"
            )
        for needed in (run.config_path, run.model_path):
            if not needed.is_file():
                raise UsageError(f"{run.path}: not a run directory ({needed.name} is missing)")
        return run

    def config(self) -> dict[str, Any]:
        try:
            return json.loads(self.config_path.read_text())
        except (OSError, ValueError) as err:
            raise UsageError(f"{self.config_path}: unreadable run config ({err})") from None

    def preprocess_spec(self) -> PreprocessSpec:
        return PreprocessSpec.from_dict(self.config()["preprocess"])

    def data_root(self) -> Path:
        """Data root recorded at training time; relative roots are relative to the run dir."""
        root = Path(self.config()["data"]["root"])
        return root if root.is_absolute() else (self.path / root).resolve()


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    """Pretty, stable JSON written atomically."""
    write_atomic(path, (json.dumps(data, indent=2, sort_keys=True, default=str) + "\n").encode())


def write_text(path: str | os.PathLike[str], text: str) -> None:
    write_atomic(path, text.encode())
