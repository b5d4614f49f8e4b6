"""The settings of a training run: `TrainConfig` (what the user chose), each checked once, and the
recipe it resolves to. Nothing here reads data or imports TensorFlow."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge_emotion.errors import UsageError
from edge_emotion.training.models import Recipe, get_arch
from edge_emotion.vocab import ClassWeight, Strategy
from edge_emotion_runtime.labels import DEFAULT_LABELS
from edge_emotion_runtime.preprocess import PreprocessSpec
from edge_emotion_runtime.vocab import DetectorName, choices

if TYPE_CHECKING:
    from edge_emotion.training.framing import TrainingCrop

SYNTH_COUNT = 400  # images per class of the embedded default dataset
STRATEGIES = choices(Strategy)
CLASS_WEIGHTS = choices(ClassWeight)


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a training run (written to config.json)."""

    out: Path
    data: Path | None = None
    arch: str = "seed"
    force: bool = False
    epochs: int | None = None  # None: the arch's recipe
    batch_size: int | None = None
    lr: float | None = None
    patience: int | None = None
    augment: bool | None = None
    photo_aug: bool | None = None
    label_smoothing: float | None = None
    mixup: float | None = None
    ema: float | None = None
    pretrain_data: Path | None = None  # other-class folders for K-class pre-training
    pretrain_epochs: int | None = None
    seed: int = 42
    image_size: int = 256
    channels: int = 3
    class_weight: str = ClassWeight.NONE
    strategy: str = Strategy.AUTO  # multiworker: one process per worker (TF_CONFIG)
    labels: tuple[str, ...] = DEFAULT_LABELS
    synth_count: int = SYNTH_COUNT
    workers: int | None = None
    progress: bool | None = None  # Keras progress bar; None: only when stdout is a terminal
    # Whole photos: train on the crop of each photo's largest face found by this detector.
    detect: bool = False
    detector: str = DetectorName.SHORT
    # TFRecord shards written by `prepare-data`, streamed instead of decoding `data` into memory.
    shards: Path | None = None

    def __post_init__(self) -> None:
        # Checked here, once: the command line's choices already hold, the Python API's may not.
        if self.class_weight not in CLASS_WEIGHTS:
            raise UsageError(f"--class-weight must be none or balanced, got {self.class_weight!r}")
        if self.strategy not in STRATEGIES:
            raise UsageError(
                f"--strategy must be {', '.join(STRATEGIES[:-1])} or {STRATEGIES[-1]}, "
                f"got {self.strategy!r}"
            )


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    epochs_run: int
    best_epoch: int
    seconds: float
    metrics: dict[str, Any] = field(default_factory=dict)
    chief: bool = True  # False on a non-chief worker of --strategy multiworker (wrote nothing)


def resolve(config: TrainConfig) -> Recipe:
    """The architecture's recipe with every flag the user gave applied on top."""
    overrides = {
        "epochs": config.epochs,
        "batch_size": config.batch_size,
        "lr": config.lr,
        "patience": config.patience,
        "augment": config.augment,
        "photo_aug": config.photo_aug,
        "label_smoothing": config.label_smoothing,
        "mixup": config.mixup,
        "ema": config.ema,
        "pretrain_epochs": config.pretrain_epochs,
    }
    resolved = replace(
        get_arch(config.arch).recipe, **{k: v for k, v in overrides.items() if v is not None}
    )
    if resolved.epochs < 1:
        raise UsageError(f"--epochs must be at least 1, got {resolved.epochs}")
    if resolved.batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, got {resolved.batch_size}")
    if not resolved.lr > 0:
        raise UsageError(f"--lr must be positive, got {resolved.lr}")
    if resolved.patience < 0:
        raise UsageError(f"--patience must be >= 0, got {resolved.patience}")
    if not 0.0 <= resolved.label_smoothing < 1.0:
        raise UsageError(f"--label-smoothing must be in [0, 1), got {resolved.label_smoothing}")
    if resolved.mixup < 0:
        raise UsageError(f"--mixup must be >= 0 (0: off), got {resolved.mixup}")
    if not 0.0 <= resolved.ema < 1.0:
        raise UsageError(f"--ema must be in [0, 1) (0: off), got {resolved.ema}")
    if resolved.photo_aug and not resolved.augment:
        raise UsageError("--photo-aug is an augmentation: it needs --augment (not --no-augment)")
    if resolved.pretrain_epochs < 1 and config.pretrain_data is not None:
        raise UsageError(f"--pretrain-epochs must be at least 1, got {resolved.pretrain_epochs}")
    return resolved


def check_settings(config: TrainConfig, distributed: bool) -> PreprocessSpec:
    """Refuse bad flag combinations before any data is read; the model's input spec."""
    if config.channels not in (1, 3):
        raise UsageError(f"--channels must be 1 or 3, got {config.channels}")
    if not 8 <= config.image_size <= 1024:
        raise UsageError(f"--image-size must be between 8 and 1024, got {config.image_size}")
    if config.shards is not None and config.data is not None:
        raise UsageError("--shards and --data are alternatives: the shards already hold the data")
    if config.pretrain_data is not None and (config.shards is not None or distributed):
        raise UsageError(
            "--pretrain-data works on in-memory data in one process (not with --shards or "
            "--strategy multiworker)"
        )
    spec = PreprocessSpec.square(config.image_size, config.channels)
    get_arch(config.arch).check(spec)
    return spec


def training_crop(config: TrainConfig) -> TrainingCrop | None:
    """The `--detect` crop settings, or None when the images are trained on whole."""
    from edge_emotion.training.framing import TrainingCrop

    if not config.detect:
        if config.detector != DetectorName.SHORT:
            raise UsageError("--detector only applies with --detect")
        return None
    return TrainingCrop.for_detector(config.detector)
