"""Models that ship inside this package, pinned by sha256: every pin is in `PINS`, here only.

The face detectors are MediaPipe's BlazeFace (Apache-2.0; `models/LICENSE-mediapipe`, `NOTICE`);
the emotion model is the default classifier, described by `models/MODEL_CARD.md`. A file whose
hash differs from its pin (a corrupted or hand-replaced install) is refused with one line.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Protocol

from edge_emotion_runtime.errors import ModelError, UsageError

MODELS_DIR = Path(__file__).resolve().parent / "models"

# The default emotion classifier: see models/MODEL_CARD.md for its data, command and metrics.
EMOTION_MODEL = "emotion_fer_edgeplus_int8.tflite"
EMOTION_MODEL_SHA256 = "ddb8edb525e9a08807d51dc1916fb4b85589d2c01ccd51885124f8ef8a6dc315"
# MediaPipe's BlazeFace models, named by `detector.SHORT_RANGE` / `FULL_RANGE`.
SHORT_RANGE_DETECTOR = "face_detection_short_range.tflite"
FULL_RANGE_DETECTOR = "face_detection_full_range_sparse.tflite"

# File name -> sha256 of every bundled model.
PINS: dict[str, str] = {
    EMOTION_MODEL: EMOTION_MODEL_SHA256,
    SHORT_RANGE_DETECTOR: "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
    FULL_RANGE_DETECTOR: "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1",
}


class _BundledFile(Protocol):
    @property
    def filename(self) -> str: ...


@cache
def _verified(path: Path, sha256: str) -> Path:
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as err:
        raise ModelError(
            f"{path}: bundled model missing or unreadable ({err.strerror or err}); "
            "reinstall edge-emotion-runtime"
        ) from None
    if digest != sha256:
        raise ModelError(
            f"{path}: bundled model does not match its pinned sha256 (got {digest[:12]}..., "
            f"expected {sha256[:12]}...); reinstall edge-emotion-runtime"
        )
    return path


def pinned_path(filename: str) -> Path:
    """A bundled model file, verified against its pin in `PINS`."""
    return _verified(MODELS_DIR / filename, PINS[filename])


def detector_path(spec: _BundledFile) -> Path:
    """The bundled file of a detector (a `detector.DetectorSpec`), verified against its pin."""
    return pinned_path(spec.filename)


def emotion_model_path() -> Path:
    """The bundled default emotion classifier, verified against its pin."""
    return pinned_path(EMOTION_MODEL)


MODEL_ENV = "EDGE_EMOTION_MODEL"


def resolve_model(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> tuple[Path, str]:
    """(model path, where it came from): `path`, else $EDGE_EMOTION_MODEL, else the bundled model.

    A path that was asked for but does not exist is a UsageError naming where it came from.
    """
    env = os.environ if environ is None else environ
    if path:
        chosen, origin = Path(path), "--model"
    elif env.get(MODEL_ENV):
        chosen, origin = Path(env[MODEL_ENV]), f"${MODEL_ENV}"
    else:
        return emotion_model_path(), "bundled"
    if not chosen.exists():
        raise UsageError(
            f"no model at {chosen} ({origin}); pass --model PATH, set {MODEL_ENV}, or leave both "
            "unset for the bundled model"
        )
    return chosen, origin
