"""edge-emotion runtime: classify faces as happy or sad with a TFLite model and nothing else.

This package is the single source of truth for preprocessing and model metadata; the workstation
toolkit imports it so training, export and the device see exactly the same tensors.
"""

from __future__ import annotations

__version__ = "0.1.0"

from edge_emotion_runtime.classifier import Classifier, Prediction
from edge_emotion_runtime.errors import EdgeEmotionError, ImageError, ModelError
from edge_emotion_runtime.labels import DEFAULT_LABELS, DEFAULT_THRESHOLD
from edge_emotion_runtime.preprocess import PreprocessSpec, load_image, preprocess, to_pixels

__all__ = [
    "DEFAULT_LABELS",
    "DEFAULT_THRESHOLD",
    "Classifier",
    "EdgeEmotionError",
    "ImageError",
    "ModelError",
    "Prediction",
    "PreprocessSpec",
    "__version__",
    "load_image",
    "preprocess",
    "to_pixels",
]
