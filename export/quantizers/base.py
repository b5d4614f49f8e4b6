"""The one interface every converter/quantizer implements."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from edge_emotion.errors import EdgeEmotionError
from edge_emotion.export.types import ExportMode, IoType


class ConversionError(EdgeEmotionError):
    """The converter could not produce a model for a mode (exit 1: a tool failure, not usage)."""

    exit_code = 1


@runtime_checkable
class Quantizer(Protocol):
    """Turns a Keras model into TFLite flatbuffer bytes for one export mode.

    `representative_data` is the float32 calibration batch (N,H,W,C) already passed through the
    runtime preprocessing; it is required for `ExportMode.INT8` and ignored otherwise.
    `io_type` only matters for int8 (the other modes keep float32 input and output).
    Implementations return the bare flatbuffer; metadata is added by the exporter.
    """

    name: str

    def describe(self) -> str:
        """Short identification recorded in metadata (e.g. `tflite_converter/from_keras_model`)."""
        ...

    def convert(
        self, model: Any, mode: ExportMode, representative_data: np.ndarray | None, io_type: IoType
    ) -> bytes: ...
