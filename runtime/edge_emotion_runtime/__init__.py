"""edge-emotion runtime: classify faces as happy or sad with a TFLite model and nothing else.

This package is the single source of truth for preprocessing and model metadata; the workstation
toolkit imports it so training, export and the device see exactly the same tensors.

Public names are resolved lazily (PEP 562), so importing a light submodule such as
`edge_emotion_runtime.errors` does not pull in numpy and Pillow: `--help` stays instant. The
`preprocess` function is reached as `edge_emotion_runtime.preprocess.preprocess`: the package
attribute of that name is the submodule.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Classifier": "classifier",
    "PhotoClassifier": "photo",
    "PhotoResult": "photo",
    "Face": "photo",
    "FaceDetector": "detector",
    "Prediction": "classifier",
    "EdgeEmotionError": "errors",
    "ImageError": "errors",
    "ModelError": "errors",
    "DEFAULT_LABELS": "labels",
    "DEFAULT_THRESHOLD": "labels",
    "PreprocessSpec": "preprocess",
    "load_image": "preprocess",
    "to_pixels": "preprocess",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'edge_emotion_runtime' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"edge_emotion_runtime.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
