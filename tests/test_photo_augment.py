"""The photo-like augmentation (`train --photo-aug`): shapes, range, determinism, real change."""

from __future__ import annotations

import numpy as np
import pytest

from edge_emotion.training.photo_augment import photo_augment_batch
from edge_emotion.training.pipeline import augment_batch, make_dataset
from edge_emotion_runtime.preprocess import PreprocessSpec


def _faces(n: int = 16, side: int = 48, channels: int = 1) -> np.ndarray:
    """A batch of smooth face-like [0,1] images: a bright ellipse with dark eyes and mouth."""
    ys, xs = np.mgrid[0:side, 0:side] / side
    face = 0.3 + 0.5 * (((xs - 0.5) / 0.35) ** 2 + ((ys - 0.5) / 0.45) ** 2 < 1)
    for cx in (0.35, 0.65):
        face[(np.abs(xs - cx) < 0.06) & (np.abs(ys - 0.4) < 0.04)] = 0.1
    face[(np.abs(xs - 0.5) < 0.15) & (np.abs(ys - 0.75) < 0.03)] = 0.15
    rng = np.random.default_rng(0)
    batch = face[None, :, :, None] + rng.uniform(-0.05, 0.05, (n, side, side, channels))
    return np.clip(batch, 0.0, 1.0).astype(np.float32)


@pytest.mark.parametrize(("side", "channels"), [(48, 1), (64, 3), (30, 1)])
def test_photo_augment_keeps_shape_dtype_and_unit_range(side, channels):
    images = _faces(side=side, channels=channels)
    out = photo_augment_batch(images, np.int64(7)).numpy()
    assert out.shape == images.shape
    assert out.dtype == np.float32
    assert np.isfinite(out).all()
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_photo_augment_is_a_function_of_the_seed():
    images = _faces()
    first = photo_augment_batch(images, np.int64(3)).numpy()
    again = photo_augment_batch(images, np.int64(3)).numpy()
    other = photo_augment_batch(images, np.int64(4)).numpy()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_photo_augment_changes_every_image_more_than_the_standard_one():
    images = _faces(n=64)
    photo = np.concatenate([photo_augment_batch(images, np.int64(s)).numpy() for s in range(4)])
    plain = np.concatenate([augment_batch(images, np.int64(s)).numpy() for s in range(4)])
    reference = np.concatenate([images] * 4)
    photo_change = np.abs(photo - reference).mean(axis=(1, 2, 3))
    plain_change = np.abs(plain - reference).mean(axis=(1, 2, 3))
    assert (photo_change > 0.005).all()
    assert photo_change.mean() > plain_change.mean()


def test_photo_augment_varies_brightness_and_sharpness_across_images():
    """Lighting and resolution are drawn per image: the batch spreads in mean and in detail."""
    images = _faces(n=64)
    out = photo_augment_batch(images, np.int64(11)).numpy()
    means = out.mean(axis=(1, 2, 3))
    detail = np.abs(np.diff(out, axis=2)).mean(axis=(1, 2, 3))
    assert means.std() > 3 * images.mean(axis=(1, 2, 3)).std()
    assert detail.max() > 1.5 * detail.min()


def test_make_dataset_with_photo_uses_the_photo_augmentation_deterministically():
    pixels = (_faces(n=8) * 255).astype(np.uint8)
    labels = np.array([0, 1] * 4)
    spec = PreprocessSpec(height=48, width=48, channels=1)

    def batches(photo: bool) -> np.ndarray:
        ds = make_dataset(pixels, labels, spec, batch_size=4, augment=True, photo=photo, seed=5)
        return np.concatenate([x.numpy() for x, _ in ds])

    photo, again, standard = batches(True), batches(True), batches(False)
    np.testing.assert_array_equal(photo, again)
    assert not np.array_equal(photo, standard)
    assert photo.min() >= 0.0 and photo.max() <= 1.0


def test_photo_aug_is_recorded_in_the_recipe_and_needs_augmentation(tmp_path):
    from edge_emotion.errors import UsageError
    from edge_emotion.training.train_config import TrainConfig, resolve

    assert resolve(TrainConfig(out=tmp_path, arch="edge-plus", photo_aug=True)).photo_aug
    assert not resolve(TrainConfig(out=tmp_path, arch="edge-plus")).photo_aug
    with pytest.raises(UsageError, match="--photo-aug"):
        resolve(TrainConfig(out=tmp_path, arch="edge-plus", photo_aug=True, augment=False))


def test_cli_photo_aug_without_augmentation_is_one_error_line(tmp_path):
    import subprocess
    import sys

    from PIL import Image

    for name in ("happy", "sad"):
        for i in range(3):
            (tmp_path / "d" / name).mkdir(parents=True, exist_ok=True)
            Image.new("L", (16, 16), 40 * i + (100 if name == "sad" else 0)).save(
                tmp_path / "d" / name / f"{i}.png"
            )
    args = ["train", "--data", str(tmp_path / "d"), "--image-size", "32", "--epochs", "1"]
    flags = ["--photo-aug", "--no-augment", "--out", str(tmp_path / "r")]
    proc = subprocess.run(
        [sys.executable, "-m", "edge_emotion.cli", *args, *flags],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "--photo-aug" in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "r").exists()
