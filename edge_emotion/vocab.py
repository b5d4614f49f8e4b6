"""The workstation's named choices, defined once: training strategies, class weighting, benchmark
row kinds. The runtime's (detect modes, detector names, backends) are `edge_emotion_runtime.vocab`
and used from there; export modes are `export.types.ExportMode`.

StrEnums: a member is its plain string (equal, hashable, JSON and f-strings as its value), so
config.json, benchmark rows and typer's choices keep the strings they always had. Standard
library only: `edge-emotion --help` stays fast.
"""

from __future__ import annotations

from enum import StrEnum


class Strategy(StrEnum):
    """`edge-emotion train --strategy`."""

    AUTO = "auto"  # MirroredStrategy only with more than one GPU
    NONE = "none"
    MIRRORED = "mirrored"
    MULTIWORKER = "multiworker"  # one process per worker, from TF_CONFIG


class ClassWeight(StrEnum):
    """`edge-emotion train --class-weight`."""

    NONE = "none"
    BALANCED = "balanced"


class RowKind(StrEnum):
    """What one benchmark row times: a Keras model three ways, or a TFLite file."""

    KERAS_DIRECT = "keras_direct"
    KERAS_COMPILED = "keras_compiled"
    KERAS_PREDICT = "keras_predict"
    TFLITE = "tflite"

    @property
    def is_keras(self) -> bool:
        return self is not RowKind.TFLITE
