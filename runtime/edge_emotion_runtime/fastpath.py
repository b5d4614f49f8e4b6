"""One interpreter's input and output for the classifier, with the measured int8 fast path.

`ModelIO` is all the Classifier knows of tensors: `run_pixels` (a resized uint8 face, the
per-frame call of a camera loop), `run_tensor` (any ready input tensor) and `pixels_tensor`.
What to change where:
- how pixels become tensor values: `pixel_fast_path` picks the mode ("xor", "identity",
  "float") and `ModelIO.fill` is the one write every path shares;
- where they are written: `IN_PLACE_BYTES` decides between the interpreter's own buffer and a
  scratch array copied by set_tensor;
- the output: dequantized as `(raw - zero) * scale` with two floats.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from edge_emotion_runtime.metadata import QuantParams
from edge_emotion_runtime.preprocess import PreprocessSpec, scale, scale_into
from edge_emotion_runtime.quantization import quantize

_UINT8 = np.dtype(np.uint8)
_bitwise_xor = np.bitwise_xor
# Inputs this large are written straight into the interpreter's buffer (see ModelIO).
IN_PLACE_BYTES = 16 * 1024


def pixel_fast_path(spec: PreprocessSpec, quant: QuantParams) -> str:
    """How uint8 pixels become the input tensor: "xor", "identity" or "float".

    With input = pixel / 255 and the usual full-integer input quantization (scale 1/255, zero
    point -128 for int8, 0 for uint8), quantize(pixel / 255) is exactly `pixel ^ 0x80` viewed as
    int8, or the pixel itself: no float round trip is needed (a test checks all 256 levels).
    Anything else takes the general float path.
    """
    if spec.divisor != 255.0 or spec.offset != 0.0 or not quant.is_quantized:
        return "float"
    if abs(quant.scale * 255.0 - 1.0) > 1e-6:
        return "float"
    if quant.dtype == "int8" and quant.zero_point == -128:
        return "xor"
    if quant.dtype == "uint8" and quant.zero_point == 0:
        return "identity"
    return "float"


class ModelIO:
    """Feeds one (1,H,W,C) input, invokes, reads the dequantized scalar; under `lock`, since a
    TFLite interpreter is not thread-safe.

    A small input (a 48x48 face, 2 KB) is written into a scratch array and copied by
    set_tensor; a large one (256x256x3 float32, 768 KB) straight into the interpreter's own
    buffer, which saves that copy (~30 µs) but costs ~1 µs of view set-up that a 2 KB copy
    does not. The callable from `tensor()` may be kept; the views it returns must be gone by
    invoke().
    """

    def __init__(
        self,
        interpreter: Any,
        spec: PreprocessSpec,
        input_quantization: QuantParams,
        output_quantization: QuantParams,
        lock: threading.Lock,
    ) -> None:
        inp = interpreter.get_input_details()[0]
        out = interpreter.get_output_details()[0]
        self._interpreter = interpreter
        self._lock = lock
        self._spec = spec
        self._input_quantization = input_quantization
        self._input_index = inp["index"]
        self._output_index = out["index"]
        self._dtype = np.dtype(inp["dtype"])
        oq = output_quantization
        # Output dequantization as two floats: one multiply on the hot path.
        self._out_scale = oq.scale if oq.is_quantized else 1.0
        self._out_zero = float(oq.zero_point) if oq.is_quantized else 0.0
        self.mode = pixel_fast_path(spec, input_quantization)
        self._xor = self.mode == "xor"
        # A 0-d array, not the int 0x80: numpy converts a Python int operand on every call.
        self._x80 = np.array(0x80, dtype=np.uint8)
        self._float_input = self._dtype == np.float32
        # Pixels map onto the tensor directly (xor, copy or `scale_into`), or need quantizing.
        self.direct = self.mode != "float" or self._float_input
        self._scratch = np.zeros((1, *spec.shape), dtype=self._dtype)
        self._scratch_face = self._scratch[0]
        self.in_place = self._scratch.nbytes >= IN_PLACE_BYTES
        self._input_view = interpreter.tensor(self._input_index)

    def run_pixels(self, pixels: np.ndarray) -> tuple[float, float]:
        """Already-resized uint8 pixels (shaped like the input; only when `direct`) into the
        input tensor, invoke, read: (the dequantized output, milliseconds).

        Written for its ~1 µs of Python around invoke (the benchmark reports it against a bare
        invoke loop): no temporaries, no per-call allocation but the result.
        """
        interpreter = self._interpreter
        with self._lock:
            start = time.perf_counter()
            if self.in_place:
                face = self._input_view()[0]
                try:
                    self.fill(pixels, face)
                finally:
                    del face  # invoke() refuses to run while a view of its buffers is alive
            else:
                self.fill(pixels, self._scratch_face)
                interpreter.set_tensor(self._input_index, self._scratch)
            interpreter.invoke()
            raw = interpreter.get_tensor(self._output_index).item()
            ms = (time.perf_counter() - start) * 1000.0
        return (raw - self._out_zero) * self._out_scale, ms

    def run_tensor(self, tensor: np.ndarray) -> float:
        """set_tensor / invoke / get_tensor for a ready input tensor; the dequantized output."""
        with self._lock:
            self._interpreter.set_tensor(self._input_index, tensor)
            self._interpreter.invoke()
            raw = self._interpreter.get_tensor(self._output_index)
        return (float(raw.flat[0]) - self._out_zero) * self._out_scale

    def pixels_tensor(self, pixels: np.ndarray) -> np.ndarray:
        """uint8 pixels (N,H,W,C) -> a new input tensor, through `fill` (the fast path's own
        code) wherever pixels map onto the tensor directly; else scaled and quantized."""
        if not self.direct:
            return quantize(scale(pixels, self._spec), self._input_quantization)
        tensor = np.empty(pixels.shape, dtype=self._dtype)
        self.fill(pixels, tensor)
        return tensor

    def fill(self, pixels: np.ndarray, face: np.ndarray) -> None:
        """Write resized uint8 pixels into `face`, an array of the input's dtype and shape."""
        if self._xor:
            _bitwise_xor(pixels, self._x80, face.view(_UINT8))
        elif self._float_input:
            scale_into(pixels, self._spec, face)
        else:
            face[...] = pixels
