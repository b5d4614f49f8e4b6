"""Affine quantization of model inputs and outputs: real = scale * (q - zero_point).

Full-integer models take int8/uint8 tensors; the runtime feeds them the same float input the
float model gets, quantized with the tensor's own scale and zero point, and reads the output back
as a float. Kept separate and pure numpy so export tests can check the arithmetic directly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edge_emotion_runtime.metadata import QuantParams

INTEGER_DTYPES = ("int8", "uint8")
FLOAT_DTYPES = ("float32", "float16", "float64")


def _integer_dtype(params: QuantParams) -> np.dtype[Any]:
    if params.dtype not in INTEGER_DTYPES:
        raise ValueError(f"unsupported quantized dtype {params.dtype!r}")
    if not params.scale > 0:
        raise ValueError(f"{params.dtype} tensor has no quantization scale ({params.scale!r})")
    return np.dtype(params.dtype)


def quantize(x: np.ndarray, params: QuantParams) -> np.ndarray:
    """Float values -> the tensor's dtype: round(x / scale) + zero_point, clipped, cast.

    A float tensor is simply cast. Rounding is half-to-even (numpy); TFLite's reference kernels
    round half away from zero, which only differs on exact .5 ties.
    """
    x = np.asarray(x)
    if params.dtype in FLOAT_DTYPES:
        return x.astype(params.dtype, copy=False)
    dtype = _integer_dtype(params)
    info = np.iinfo(dtype)
    q = np.rint(x.astype(np.float64) / params.scale) + params.zero_point
    return np.clip(q, info.min, info.max).astype(dtype)


def dequantize(q: np.ndarray, params: QuantParams) -> np.ndarray:
    """The tensor's values as float32: scale * (q - zero_point); float tensors pass through."""
    q = np.asarray(q)
    if params.dtype in FLOAT_DTYPES:
        return q.astype(np.float32, copy=False)
    _integer_dtype(params)
    return ((q.astype(np.float64) - params.zero_point) * params.scale).astype(np.float32)


def params_from_details(detail: dict[str, Any]) -> QuantParams:
    """QuantParams of one tensor from an interpreter's get_input/output_details() entry.

    Only per-tensor quantization makes sense for a model's input and output; per-channel
    parameters there are reported as an error rather than silently using the first channel.
    """
    dtype = np.dtype(detail["dtype"]).name
    if dtype in FLOAT_DTYPES:
        return QuantParams(dtype=dtype)
    qp = detail.get("quantization_parameters") or {}
    scales = np.asarray(qp.get("scales", []), dtype=np.float64).ravel()
    zeros = np.asarray(qp.get("zero_points", []), dtype=np.int64).ravel()
    if scales.size > 1 or zeros.size > 1:
        raise ValueError(f"tensor {detail.get('name', '?')!r} is quantized per channel")
    if scales.size == 1:
        scale, zero = float(scales[0]), int(zeros[0]) if zeros.size else 0
    else:
        scale, zero = (float(v) for v in detail.get("quantization", (0.0, 0)))
        zero = int(zero)
    return QuantParams(dtype=dtype, scale=scale, zero_point=zero)


def same_params(a: QuantParams, b: QuantParams, rel_tol: float = 1e-6) -> bool:
    """Equal dtype and zero point, and scales equal up to JSON float round-off."""
    if a.dtype != b.dtype:
        return False
    if a.dtype in FLOAT_DTYPES:
        return True
    return a.zero_point == b.zero_point and abs(a.scale - b.scale) <= rel_tol * max(
        abs(a.scale), abs(b.scale)
    )
