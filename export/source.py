"""The Keras model being exported: load it from a run and check it is shaped like ours.

Checked before anything is written, so a wrong run or model is one line and exit 2 with no
files touched.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edge_emotion.errors import ModelError, UsageError
from edge_emotion.paths import describe_load_error, model_file_problem
from edge_emotion.rundir import RunDir
from edge_emotion_runtime.crop import framings_from_metadata
from edge_emotion_runtime.labels import DEFAULT_LABELS, DEFAULT_THRESHOLD, POSITIVE_INDEX
from edge_emotion_runtime.metadata import sha256_file
from edge_emotion_runtime.preprocess import PreprocessSpec


@dataclass(frozen=True)
class SourceModel:
    run: RunDir
    model: Any  # keras.Model
    sha256: str
    spec: PreprocessSpec
    labels: tuple[str, ...]
    threshold: float
    positive_index: int
    arch: str
    # The run's face framing (`crop` metadata section); {} until measured for an older run.
    crop: dict[str, Any] = field(default_factory=dict)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """P(positive class) from Keras for float32 inputs, shape (N,)."""
        from edge_emotion.training.predict import predict_probs

        return predict_probs(self.model, x)


def _is_sigmoid(layer: Any) -> bool:
    activation = getattr(layer, "activation", None)
    if activation is None:
        return False
    name = getattr(activation, "__name__", "") or str(activation)
    return "sigmoid" in name.lower()


def check_single_sigmoid(model: Any, path: str) -> None:
    """One input, one output of exactly one unit produced by a sigmoid."""
    inputs = list(getattr(model, "inputs", None) or [])
    outputs = list(getattr(model, "outputs", None) or [])
    if len(inputs) != 1 or len(outputs) != 1:
        raise ModelError(
            f"{path}: expected a model with one input and one output, got "
            f"{len(inputs)} inputs and {len(outputs)} outputs"
        )
    shape = tuple(outputs[0].shape)
    if len(shape) != 2 or shape[-1] != 1:
        raise ModelError(f"{path}: output shape is {shape}; expected one sigmoid unit (None, 1)")
    producer = getattr(outputs[0], "_keras_history", None)
    layer = producer[0] if producer else model.layers[-1]
    if not _is_sigmoid(layer):
        act = getattr(getattr(layer, "activation", None), "__name__", "none")
        raise ModelError(
            f"{path}: the output layer '{layer.name}' has activation '{act}'; "
            "expected one sigmoid unit (P(positive class))"
        )


def load_source(run: RunDir) -> SourceModel:
    """Load and check `RUN_DIR/model.keras` plus the run's labels, threshold and preprocessing."""
    from edge_emotion.training.tfenv import import_keras

    keras = import_keras()
    config = run.config()
    try:
        spec = run.preprocess_spec()
    except (KeyError, TypeError, ValueError) as err:
        raise UsageError(f"{run.config_path}: no usable 'preprocess' section ({err})") from None
    path = run.model_path
    problem = model_file_problem(path)
    if problem:
        raise ModelError(f"{path}: not a loadable Keras model ({problem})")
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            model = keras.models.load_model(path, compile=False)
    except Exception as err:  # keras raises many types for a bad file
        raise ModelError(
            f"{path}: not a loadable Keras model ({describe_load_error(path, err)})"
        ) from None
    if not isinstance(model, keras.Model):
        raise ModelError(f"{path}: not a Keras model")
    check_single_sigmoid(model, str(path))
    in_shape = tuple(model.inputs[0].shape[1:])
    if in_shape != spec.shape:
        raise ModelError(
            f"{path}: model input is {in_shape} but the run's preprocessing gives {spec.shape}"
        )
    crop = config.get("crop") or {}
    try:
        framings_from_metadata(crop)
    except (KeyError, TypeError, ValueError) as err:
        raise UsageError(f"{run.config_path}: malformed 'crop' section ({err})") from None
    labels = tuple(config.get("labels") or DEFAULT_LABELS)
    if len(labels) != 2:
        raise UsageError(f"{run.config_path}: expected two labels, got {list(labels)}")
    return SourceModel(
        run=run,
        model=model,
        sha256=sha256_file(path),
        spec=spec,
        labels=labels,
        threshold=float(config.get("threshold", DEFAULT_THRESHOLD)),
        positive_index=int(config.get("positive_index", POSITIVE_INDEX)),
        arch=str(config.get("arch", "unknown")),
        crop=dict(crop),
    )
