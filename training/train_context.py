"""What the steps of a training run share: `TrainContext` (the settings, decided once before any
data is read, with this process's multi-worker `Role`) and `Trained` (what the steps made)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from edge_emotion.training.cluster import TF_CONFIG, ClusterTask, task_from_env
from edge_emotion.training.console import note
from edge_emotion.training.models import Recipe
from edge_emotion.training.train_config import TrainConfig
from edge_emotion.vocab import Strategy
from edge_emotion_runtime.preprocess import PreprocessSpec

if TYPE_CHECKING:
    from edge_emotion.training.cluster import BatchPlan
    from edge_emotion.training.framing import TrainingCrop
    from edge_emotion.training.pretrain import PretrainPool
    from edge_emotion.training.train_fit import Fitted
    from edge_emotion.training.train_inputs import Inputs


@dataclass(frozen=True)
class Role:
    """This process's part in the run, decided once: training alone (`task` None), or one task
    of a `--strategy multiworker` cluster, the chief (writes the run directory) or not."""

    task: ClusterTask | None = None

    @classmethod
    def decide(cls, config: TrainConfig) -> Role:
        """From `--strategy` and TF_CONFIG (checked first for multiworker)."""
        if config.strategy == Strategy.MULTIWORKER:
            return cls(task_from_env())
        if os.environ.get(TF_CONFIG):
            note(f"{TF_CONFIG} is set but --strategy is {config.strategy}: training here only")
        return cls(None)

    @property
    def distributed(self) -> bool:
        return self.task is not None

    @property
    def chief(self) -> bool:
        return self.task is None or self.task.is_chief

    @property
    def workers(self) -> int:
        return self.task.num_workers if self.task is not None else 1


@dataclass(frozen=True)
class TrainContext:
    """The settings every step reads: the config, its resolved recipe, the model's input spec,
    the `--detect` crop, the role, whether Keras shows its progress bar, and the start time."""

    config: TrainConfig
    hp: Recipe
    spec: PreprocessSpec
    crop: TrainingCrop | None
    role: Role
    started: float

    @property
    def progress(self) -> bool:
        """Keras's bar (pre-training and training) only on a terminal, unless the caller says."""
        return sys.stdout.isatty() if self.config.progress is None else self.config.progress


@dataclass(frozen=True)
class Trained:
    """What the steps made, for the artifacts: the data, the pre-training pool and history, the
    fitted model and the strategy (with the cluster's batch plan under multiworker)."""

    inputs: Inputs
    pool: PretrainPool | None
    pretrain_history: dict[str, list[float]]
    model: Any
    strategy: Any
    plan: BatchPlan | None
    fitted: Fitted
