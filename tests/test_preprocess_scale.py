"""`scale`, the one place pixels become model input: 255 -> 1.0 and 128 -> 128/255 exactly for
the default spec, and every other spec's divisor and offset honoured (not a hard-coded 256)."""

from __future__ import annotations

import numpy as np
import pytest

from edge_emotion_runtime.preprocess import PreprocessSpec, scale


def test_default_spec_maps_0_128_255_to_0_128_over_255_and_1():
    spec = PreprocessSpec.square(2, 1)
    assert spec.divisor == 255.0 and spec.offset == 0.0
    out = scale(np.array([[0, 128], [255, 1]], dtype=np.uint8).reshape(2, 2, 1), spec)
    assert out.dtype == np.float32 and out.shape == (2, 2, 1)
    assert out[1, 0, 0] == np.float32(1.0)  # 255/256 would be 0.99609375
    assert out[0, 1, 0] == np.float32(128) / np.float32(255)
    assert out[0, 0, 0] == 0.0
    assert out[1, 1, 0] == pytest.approx(1 / 255, rel=1e-6)


def test_every_uint8_value_is_divided_by_255():
    pixels = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)  # leading batch dim kept
    out = scale(pixels, PreprocessSpec.square(16, 1))
    assert out.shape == pixels.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out.ravel(), np.arange(256, dtype=np.float32) / 255)
    assert out.max() == 1.0 and out.min() == 0.0


@pytest.mark.parametrize(
    ("divisor", "offset", "low", "high"), [(127.5, -1.0, -1.0, 1.0), (1.0, 0.0, 0.0, 255.0)]
)
def test_the_spec_divisor_and_offset_are_used(divisor, offset, low, high):
    spec = PreprocessSpec(height=1, width=2, channels=1, divisor=divisor, offset=offset)
    out = scale(np.array([0, 255], dtype=np.uint8).reshape(1, 2, 1), spec)
    assert out.ravel().tolist() == pytest.approx([low, high])
