"""Batched scoring on a separate interpreter gives the single-image Classifier's probabilities."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge_emotion.export.batched import batch_probabilities
from edge_emotion_runtime.classifier import Classifier

FIXTURES = Path(__file__).parent / "fixtures"
MODELS = [
    "tiny_gray_float32",
    "tiny_gray_int8_int8io",
    "tiny_gray_int8_uint8io",
    "tiny_rgb_float32",
]


@pytest.mark.parametrize("name", MODELS)
def test_batches_match_the_single_image_classifier(name):
    path = FIXTURES / f"{name}.tflite"
    clf = Classifier.load(path, threads=1, quiet=True)
    # 70 images: one full batch of 32 twice and a zero-padded tail of 6.
    x = np.random.default_rng(0).random((70, *clf.spec.shape), dtype=np.float32)
    batched = batch_probabilities(path, x, threads=1, batch=32)
    assert batched.shape == (70,) and batched.dtype == np.float32
    np.testing.assert_allclose(batched, clf.probabilities(x), atol=1e-6)
    # The Classifier's own interpreter keeps its single-image input.
    assert tuple(clf.interpreter.get_input_details()[0]["shape"]) == (1, *clf.spec.shape)


def test_empty_input_and_a_single_image():
    path = FIXTURES / "tiny_gray_int8_int8io.tflite"
    assert batch_probabilities(path, np.zeros((0, 48, 48, 1), np.float32)).shape == (0,)
    one = np.full((1, 48, 48, 1), 0.5, np.float32)
    assert batch_probabilities(path, one).shape == (1,)
