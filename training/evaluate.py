"""`edge-emotion evaluate`: metrics of a Keras model on a run's split or on any dataset folder."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_emotion.errors import ModelError, UsageError
from edge_emotion.paths import describe_load_error, missing_reason, model_file_problem
from edge_emotion.rundir import RunDir
from edge_emotion.training.dataset import SplitData, load_folder, load_split
from edge_emotion.training.framing import training_crop
from edge_emotion.training.manifest import SPLITS
from edge_emotion.training.metrics import binary_metrics
from edge_emotion.training.predict import predict_probs
from edge_emotion.training.tfenv import import_keras
from edge_emotion_runtime.labels import DEFAULT_LABELS, DEFAULT_THRESHOLD
from edge_emotion_runtime.preprocess import PreprocessSpec

MODEL_SUFFIXES = (".keras", ".h5")


@dataclass(frozen=True)
class Evaluation:
    model: Path
    source: str  # "<run>/split.csv [test]" or the data folder
    metrics: dict[str, Any]
    labels: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"model": str(self.model), "source": self.source, **self.metrics}


def load_keras_model(path: Path) -> Any:
    if not path.is_file():
        raise ModelError(missing_reason(path, "model file"))
    if path.suffix.lower() not in MODEL_SUFFIXES:
        raise ModelError(f"{path}: expected a run directory or a .keras/.h5 model file")
    keras = import_keras()
    problem = model_file_problem(path)
    if problem:
        raise ModelError(f"{path}: cannot load Keras model ({problem})")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as err:  # Keras raises many types for a bad file
        raise ModelError(
            f"{path}: cannot load Keras model ({describe_load_error(path, err)})"
        ) from None


def spec_from_model(model: Any) -> PreprocessSpec:
    """Input size and channels from the model's input shape (defaults for everything else)."""
    shape = tuple(model.inputs[0].shape)
    if len(shape) != 4 or shape[1] is None or shape[2] is None or shape[3] not in (1, 3):
        raise ModelError(f"model input shape {shape} is not (batch, height, width, 1 or 3)")
    return PreprocessSpec(height=int(shape[1]), width=int(shape[2]), channels=int(shape[3]))


def evaluate(
    model_arg: str | os.PathLike[str],
    data: str | os.PathLike[str] | None = None,
    split: str = "test",
    workers: int | None = None,
    *,
    allow_changed: bool = False,
) -> Evaluation:
    path = Path(model_arg)
    labels: tuple[str, ...] = DEFAULT_LABELS
    threshold = DEFAULT_THRESHOLD
    if split not in SPLITS:
        raise UsageError(f"--split must be one of {', '.join(SPLITS)}, got {split!r}")
    if path.is_dir():
        run = RunDir.open(path)
        config = run.config()
        labels = tuple(config.get("labels", labels))
        threshold = float(config.get("threshold", threshold))
        spec = run.preprocess_spec()
        model_file = run.model_path
        model = load_keras_model(model_file)
        if data is None:
            loaded: SplitData = load_split(run, split, workers=workers, allow_changed=allow_changed)
            source = f"{run.manifest_path} [{split}]"
        else:
            # A --detect run crops the faces of any other folder of photos the same way.
            crop = training_crop(config)
            loaded = load_folder(data, spec, labels, workers=workers, crop=crop)
            source = str(loaded.root)
    else:
        if not path.exists():
            raise UsageError(missing_reason(path, "run directory or model file"))
        if data is None:
            raise UsageError(
                f"{path}: a bare model file needs --data (a run directory "
                "carries its own test split)"
            )
        model_file = path
        model = load_keras_model(path)
        spec = spec_from_model(model)
        loaded = load_folder(data, spec, labels, workers=workers)
        source = str(loaded.root)
    probs = predict_probs(model, loaded.x())
    metrics = binary_metrics(loaded.labels, probs, threshold, labels)
    return Evaluation(model=model_file, source=source, metrics=metrics, labels=labels)


def format_table(result: Evaluation) -> str:
    m = result.metrics
    labels = result.labels
    auc = "n/a (one class)" if m["roc_auc"] is None else f"{m['roc_auc']:.4f}"
    lines = [
        f"model:  {result.model}",
        f"data:   {result.source}  ({m['n']} images)",
        "",
        f"accuracy   {m['accuracy']:.4f}",
        f"precision  {m['precision']:.4f}   (positive class: {labels[1]})",
        f"recall     {m['recall']:.4f}",
        f"f1         {m['f1']:.4f}",
        f"roc auc    {auc}",
        "",
        f"{'class':<10}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}",
    ]
    for name in labels[:2]:
        c = m["per_class"][name]
        lines.append(
            f"{name:<10}{c['precision']:>10.4f}{c['recall']:>10.4f}{c['f1']:>10.4f}"
            f"{c['support']:>10d}"
        )
    cm = m["confusion_matrix"]
    width = max(10, *(len(n) + 2 for n in labels))
    lines += [
        "",
        "confusion matrix (rows: true, columns: predicted)",
        f"{'':<{width}}" + "".join(f"{n:>{width}}" for n in labels[:2]),
    ]
    for i, name in enumerate(labels[:2]):
        lines.append(f"{name:<{width}}" + "".join(f"{cm[i][j]:>{width}d}" for j in range(2)))
    return "\n".join(lines)
