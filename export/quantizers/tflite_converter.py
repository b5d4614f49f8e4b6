"""Quantizer backed by `tf.lite.TFLiteConverter` (TensorFlow 2.21).

Conversion path: `from_keras_model` converts Keras 3 functional models reliably in TF 2.21
(tested for all four modes in tests/test_export_quantizers.py); if it raises - it did for some
Keras 3 models in TF 2.16, e.g. tensorflow/tensorflow#63867 - we fall back to the documented
Keras 3 route, `model.export(dir, format="tf_saved_model")` + `from_saved_model`.
Upstream marks converter-side quantization deprecated in favour of LiteRT / ai-edge-quantizer;
that is why this lives behind the `Quantizer` protocol.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

import numpy as np

from edge_emotion.export.quantizers.base import ConversionError
from edge_emotion.export.quiet import quiet_native
from edge_emotion.export.types import ExportMode, IoType
from edge_emotion.training.tfenv import import_tf


class TFLiteConverterQuantizer:
    name = "tflite_converter"

    def __init__(self, prefer: str = "keras") -> None:
        if prefer not in ("keras", "saved_model"):
            raise ValueError(f"prefer must be 'keras' or 'saved_model', got {prefer!r}")
        self.prefer = prefer
        self.last_path = ""

    def describe(self) -> str:
        tf = import_tf()
        path = self.last_path or (
            "from_keras_model" if self.prefer == "keras" else "from_saved_model"
        )
        return f"tf.lite.TFLiteConverter/{path} (tensorflow {tf.__version__})"

    def convert(
        self,
        model: Any,
        mode: ExportMode,
        representative_data: np.ndarray | None,
        io_type: IoType = IoType.INT8,
    ) -> bytes:
        mode = ExportMode(mode)
        if mode.needs_calibration and (
            representative_data is None or len(representative_data) == 0
        ):
            raise ConversionError(
                f"{mode.value}: full-integer quantization needs calibration images"
            )
        order = ["keras", "saved_model"] if self.prefer == "keras" else ["saved_model"]
        first_error: Exception | None = None
        for path in order:
            try:
                with quiet_native():
                    data = self._convert(path, model, mode, representative_data, io_type)
                self.last_path = "from_keras_model" if path == "keras" else "from_saved_model"
                return data
            except Exception as err:  # converter errors come in many types; try the next path
                first_error = first_error or err
        message = str(first_error).strip().splitlines()[-1] if first_error else "unknown error"
        raise ConversionError(
            f"{mode.value}: TFLite conversion failed "
            f"({type(first_error).__name__}: {message[:300]})"
        )

    def _convert(
        self,
        path: str,
        model: Any,
        mode: ExportMode,
        representative_data: np.ndarray | None,
        io_type: IoType,
    ) -> bytes:
        tf = import_tf()
        if path == "keras":
            return self._configure(
                tf.lite.TFLiteConverter.from_keras_model(model), mode, representative_data, io_type
            ).convert()
        with tempfile.TemporaryDirectory(prefix="edge-emotion-savedmodel-") as tmp:
            model.export(tmp, format="tf_saved_model", verbose=False)
            converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
            return self._configure(converter, mode, representative_data, io_type).convert()

    @staticmethod
    def _configure(
        converter: Any, mode: ExportMode, representative_data: np.ndarray | None, io_type: IoType
    ) -> Any:
        tf = import_tf()
        if mode is ExportMode.FLOAT32:
            return converter
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if mode is ExportMode.FLOAT16:
            converter.target_spec.supported_types = [tf.float16]
        elif mode is ExportMode.INT8:
            assert representative_data is not None
            data = np.asarray(representative_data, dtype=np.float32)
            converter.representative_dataset = lambda: _batches(data)
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            io_dtype = {IoType.INT8: tf.int8, IoType.UINT8: tf.uint8, IoType.FLOAT: tf.float32}[
                IoType(io_type)
            ]
            converter.inference_input_type = io_dtype
            converter.inference_output_type = io_dtype
        # DYNAMIC: Optimize.DEFAULT without a representative dataset = dynamic-range int8 weights
        return converter


def _batches(data: np.ndarray) -> Iterator[list[np.ndarray]]:
    """One image per step, as the converter's calibrator expects for a batch-1 signature."""
    for image in data:
        yield [image[None, ...]]
