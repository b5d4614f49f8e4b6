"""The tf.data tensors training sees equal the runtime's `preprocess(path)` bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from edge_emotion.training.dataset import load_folder
from edge_emotion.training.pipeline import make_dataset
from edge_emotion_runtime.preprocess import PreprocessSpec, preprocess


@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory):
    """Real JPEG and PNG files in several modes and sizes."""
    root = tmp_path_factory.mktemp("mixed")
    rng = np.random.default_rng(3)
    for label, name in enumerate(("happy", "sad")):
        (root / name).mkdir()
        for i in range(4):
            arr = rng.integers(0, 256, (20 + 7 * i, 31 - 3 * i, 3), dtype=np.uint8)
            Image.fromarray(arr).save(root / name / f"{i}.jpg", quality=85)
        Image.fromarray(rng.integers(0, 256, (17, 23), dtype=np.uint8), "L").save(
            root / name / "gray.png"
        )
        rgba = rng.integers(0, 256, (26, 26, 4), dtype=np.uint8)
        Image.fromarray(rgba, "RGBA").save(root / name / f"alpha{label}.png")
    return root


@pytest.mark.parametrize("channels", [1, 3])
def test_tf_data_batches_equal_runtime_preprocess_of_each_file(mixed_folder, channels):
    spec = PreprocessSpec.square(24, channels)
    data = load_folder(mixed_folder, spec)
    ds = make_dataset(data.pixels, data.labels, spec, batch_size=5)
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds], strict=True)
    x, y = np.concatenate(xs), np.concatenate(ys).ravel()
    expected = np.stack([preprocess(mixed_folder / s.path, spec) for s in data.samples])
    assert x.dtype == np.float32 and x.shape == expected.shape
    assert np.array_equal(x, expected)  # exact, not approximately
    assert np.array_equal(y, data.labels.astype(np.float32))
    assert np.array_equal(data.x(), expected)


def test_shuffle_keeps_every_example_and_augment_changes_values_in_range(mixed_folder):
    spec = PreprocessSpec.square(16, 3)
    data = load_folder(mixed_folder, spec)
    plain = np.concatenate(
        [x.numpy() for x, _ in make_dataset(data.pixels, data.labels, spec, batch_size=4)]
    )
    shuffled = np.concatenate(
        [
            x.numpy()
            for x, _ in make_dataset(
                data.pixels, data.labels, spec, batch_size=4, shuffle=True, seed=1
            )
        ]
    )
    key = lambda a: sorted(a.reshape(len(a), -1).sum(axis=1).round(4).tolist())  # noqa: E731
    assert key(plain) == key(shuffled)
    augmented = np.concatenate(
        [
            x.numpy()
            for x, _ in make_dataset(
                data.pixels, data.labels, spec, batch_size=4, augment=True, seed=1
            )
        ]
    )
    assert augmented.shape == plain.shape
    assert not np.array_equal(augmented, plain)
    assert augmented.min() >= 0.0 and augmented.max() <= 1.0
