"""Quantize/dequantize arithmetic the runtime applies to int8/uint8 model inputs and outputs."""

from __future__ import annotations

import numpy as np
import pytest

from edge_emotion_runtime.metadata import QuantParams
from edge_emotion_runtime.quantization import (
    dequantize,
    params_from_details,
    quantize,
    same_params,
)

INT8_IMAGE = QuantParams("int8", scale=1 / 255, zero_point=-128)
UINT8_IMAGE = QuantParams("uint8", scale=1 / 255, zero_point=0)


def test_int8_quantize_maps_unit_interval_onto_full_range() -> None:
    x = np.array([0.0, 1 / 255, 0.5, 1.0], dtype=np.float32)
    q = quantize(x, INT8_IMAGE)
    assert q.dtype == np.int8
    assert q.tolist() == [-128, -127, 0, 127]


def test_uint8_quantize_of_pixels_over_255_gives_back_the_pixels() -> None:
    pixels = np.arange(256, dtype=np.uint8)
    q = quantize(pixels.astype(np.float32) / 255, UINT8_IMAGE)
    assert q.dtype == np.uint8
    np.testing.assert_array_equal(q, pixels)


def test_quantize_clips_out_of_range_values_instead_of_wrapping() -> None:
    q = quantize(np.array([-5.0, 7.0]), INT8_IMAGE)
    assert q.tolist() == [-128, 127]
    q = quantize(np.array([-5.0, 7.0]), UINT8_IMAGE)
    assert q.tolist() == [0, 255]


def test_dequantize_inverts_quantize_within_half_a_step() -> None:
    params = QuantParams("int8", scale=0.00390625, zero_point=-128)  # typical sigmoid output
    x = np.linspace(0, 0.996, 101)
    back = dequantize(quantize(x, params), params)
    assert back.dtype == np.float32
    assert np.max(np.abs(back - x)) <= params.scale / 2 + 1e-7


def test_float_tensors_pass_through_with_a_cast() -> None:
    params = QuantParams("float32")
    x = np.array([0.25, 0.75], dtype=np.float64)
    assert quantize(x, params).dtype == np.float32
    np.testing.assert_array_equal(dequantize(np.float32([0.3]), params), np.float32([0.3]))


def test_integer_dtype_without_scale_is_refused() -> None:
    with pytest.raises(ValueError, match="scale"):
        quantize(np.zeros(2), QuantParams("int8", scale=0.0, zero_point=0))
    with pytest.raises(ValueError, match="unsupported"):
        quantize(np.zeros(2), QuantParams("int16", scale=1.0))


def test_params_from_interpreter_details_prefers_quantization_parameters() -> None:
    detail = {
        "name": "input",
        "dtype": np.int8,
        "quantization": (0.5, 3),
        "quantization_parameters": {"scales": np.array([0.25]), "zero_points": np.array([-7])},
    }
    assert params_from_details(detail) == QuantParams("int8", 0.25, -7)
    detail["quantization_parameters"] = {"scales": np.array([]), "zero_points": np.array([])}
    assert params_from_details(detail) == QuantParams("int8", 0.5, 3)
    assert params_from_details({"dtype": np.float32}) == QuantParams("float32")


def test_per_channel_io_quantization_is_an_error() -> None:
    detail = {
        "name": "x",
        "dtype": np.int8,
        "quantization_parameters": {"scales": np.ones(2), "zero_points": np.zeros(2)},
    }
    with pytest.raises(ValueError, match="per channel"):
        params_from_details(detail)


def test_same_params_tolerates_json_round_off_only() -> None:
    a = QuantParams("int8", 0.003921568859368563, -128)
    assert same_params(a, QuantParams("int8", float(f"{a.scale:.12g}"), -128))
    assert not same_params(a, QuantParams("int8", a.scale * 1.01, -128))
    assert not same_params(a, QuantParams("uint8", a.scale, 0))
    assert same_params(QuantParams("float32"), QuantParams("float32", 1.0, 5))
