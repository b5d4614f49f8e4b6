"""The runtime's named choices, defined once: detect modes, detector names, interpreter backends,
video smoothing kinds.

StrEnums, so each member is also its plain string: it compares equal to, hashes as, prints and
serialises to JSON as its value. `choices()` gives the plain values, for argparse (which would
show members' reprs in its "invalid choice" error) and for messages. Standard library only (argparse
already imports `enum`), so `options.py` and every `--help` stay instant. The workstation
(`edge_emotion`) uses these too instead of spelling the names again.
"""

from __future__ import annotations

from enum import StrEnum


def choices(kind: type[StrEnum]) -> tuple[str, ...]:
    """The values of `kind` as plain strings, in definition order."""
    return tuple(member.value for member in kind)


class DetectMode(StrEnum):
    """How a picture's faces are found (`--detect`)."""

    AUTO = "auto"  # find faces; classify the whole image only if it already is a face crop
    ALWAYS = "always"  # detected faces only
    NEVER = "never"  # the whole image (pre-cropped data)


class DetectorName(StrEnum):
    """The bundled BlazeFace models (`--detector`)."""

    SHORT = "short"  # faces within ~2 m
    FULL = "full"  # smaller, farther faces


class BackendName(StrEnum):
    """The TFLite interpreters, in the order "auto" tries them (`--backend`)."""

    LITERT = "litert"
    TFLITE = "tflite"
    TENSORFLOW = "tensorflow"


AUTO_BACKEND = "auto"
BACKEND_CHOICES: tuple[str, ...] = (AUTO_BACKEND, *choices(BackendName))


class SmoothingKind(StrEnum):
    """How a video track's probability is smoothed (`--smooth`)."""

    EMA = "ema"
    WINDOW = "window"
    NONE = "none"


# Both BlazeFace models fused (`fusion.FUSED`): the photo pipeline's default detector.
FUSED_DETECTOR = "fused"
DETECTOR_CHOICES: tuple[str, ...] = (FUSED_DETECTOR, *choices(DetectorName))
