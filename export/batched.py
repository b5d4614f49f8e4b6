"""Score many preprocessed inputs through a `.tflite` model in batches, on an interpreter of its
own.

Exported models keep a dynamic batch dimension (`shape_signature[0] == -1`), so accuracy passes
(export validation, the benchmark's accuracy pass) resize a separate interpreter to a batch
instead of invoking the single-image one image by image; the `Classifier` used for latency is
never touched. Imports only numpy and `edge_emotion_runtime`, because the benchmark worker also
loads this file in a tflite-runtime venv that has nothing of the workstation toolkit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edge_emotion_runtime import backends
from edge_emotion_runtime.quantization import dequantize, params_from_details, quantize

BATCH = 64


def batch_probabilities(
    model_path: str,
    x: np.ndarray,
    *,
    backend: str = "auto",
    threads: int | None = None,
    use_xnnpack: bool = True,
    batch: int = BATCH,
) -> np.ndarray:
    """The model's output (P(positive class)) for float32 inputs (N,H,W,C) -> float32 (N,).

    The last, shorter batch is zero-padded so the interpreter is allocated once. A model whose
    batch dimension cannot be resized is scored one image at a time on the same interpreter.
    """
    x = np.asarray(x, dtype=np.float32)
    if len(x) == 0:
        return np.zeros(0, dtype=np.float32)
    interpreter = backends.resolve(backend).create(
        str(model_path), threads=threads, use_xnnpack=use_xnnpack, quiet=True
    )
    inp = interpreter.get_input_details()[0]
    size = _resize(interpreter, inp, min(batch, len(x)))
    in_q = params_from_details(interpreter.get_input_details()[0])
    out_detail = interpreter.get_output_details()[0]
    out_q = params_from_details(out_detail)
    parts = []
    for start in range(0, len(x), size):
        chunk = x[start : start + size]
        n = len(chunk)
        if n < size:
            chunk = np.concatenate([chunk, np.zeros((size - n, *chunk.shape[1:]), chunk.dtype)])
        interpreter.set_tensor(inp["index"], quantize(chunk, in_q))
        interpreter.invoke()
        raw = interpreter.get_tensor(out_detail["index"]).reshape(size, -1)[:n, 0]
        parts.append(dequantize(raw, out_q))
    return np.concatenate(parts).astype(np.float32, copy=False)


def _resize(interpreter: Any, detail: dict[str, Any], size: int) -> int:
    """Resize the input to `size` images and allocate; the batch size actually in use."""
    signature = detail.get("shape_signature")
    if size == 1 or (signature is not None and len(signature) and int(signature[0]) != -1):
        return 1
    try:
        interpreter.resize_tensor_input(detail["index"], [size, *detail["shape"][1:]])
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError):  # a graph that hard-codes batch 1 somewhere inside
        interpreter.resize_tensor_input(detail["index"], list(detail["shape"]))
        interpreter.allocate_tensors()
        return 1
    return size
