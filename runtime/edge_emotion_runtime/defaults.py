"""The photo pipeline's measured defaults, defined once (standard library only, so `--help`
stays instant and the browser build can copy them without loading a model).

Each was chosen on the wild dev photos and the non-face images (runtime README, "How faces are
found"); the CLI, the HTTP server, video, `evaluate-photos` and the in-browser app all start
from these.
"""

from __future__ import annotations

from typing import Any

from edge_emotion_runtime.vocab import FUSED_DETECTOR

# Both BlazeFace models, fused (`fusion.FUSED`): faces from selfie size down to small, far faces.
DEFAULT_DETECTOR = FUSED_DETECTOR
# Classify each detected face as the mean of it and its mirror image.
DEFAULT_MIRROR = True
# Faces in real photos are cropped this much tighter than the training images framed them
# (face_fraction x 1.25): FER-2013's faces are upscaled, soft 48 px crops that BlazeFace boxes
# looser than sharp faces. Chosen among 0.8-1.8 for the bundled model on the wild dev photos
# (both halves agreed): 84.7% -> 85.4% (short range), 87.2% -> 89.6% (full range) on the photos
# each covers. `edge-emotion export --framing-scale` records it in each model's metadata.
PHOTO_FRAMING_SCALE = 1.25
# Off: every face is happy or sad unless a caller asks for `uncertain`.
DEFAULT_MIN_CONFIDENCE: float | None = None


def pipeline_defaults() -> dict[str, Any]:
    """The defaults as one JSON-able object (written next to the in-browser app)."""
    return {
        "detector": DEFAULT_DETECTOR,
        "detect": "auto",
        "mirror": DEFAULT_MIRROR,
        "min_confidence": DEFAULT_MIN_CONFIDENCE,
    }
