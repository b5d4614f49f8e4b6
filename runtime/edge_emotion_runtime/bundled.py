"""Models that ship inside this package, pinned by sha256.

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
from typing import TYPE_CHECKING

from edge_emotion_runtime.errors import ModelError, UsageError

if TYPE_CHECKING:
    from edge_emotion_runtime.detector import DetectorSpec

MODELS_DIR = Path(__file__).resolve().parent / "models"

# The default emotion classifier: see models/MODEL_CARD.md for its data, command and metrics.
EMOTION_MODEL = "emotion_fer_edgeplus_int8.tflite"
EMOTION_MODEL_SHA256 = "ddb8edb525e9a08807d51dc1916fb4b85589d2c01ccd51885124f8ef8a6dc315"


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


def detector_path(spec: DetectorSpec) -> Path:
    """The bundled file of a detector, verified against its pin."""
    return _verified(MODELS_DIR / spec.filename, spec.sha256)


def emotion_model_path() -> Path:
    """The bundled default emotion classifier, verified against its pin."""
    return _verified(MODELS_DIR / EMOTION_MODEL, EMOTION_MODEL_SHA256)


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
