"""The `tf.data` input pipeline over decoded, cached uint8 pixels.

Decoding already happened once through the runtime (`dataset.decode`, in a thread pool); the
pipeline only scales, shuffles, batches, optionally augments and prefetches. Scaling is the
runtime's `scale` written as the identical float32 ops (cast, true division, optional offset);
a test checks the tensors equal `edge_emotion_runtime.preprocess.preprocess(path)` bit for bit.
Augmentation layers run here, never inside the saved model, so exported graphs stay clean.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from edge_emotion.training.tfenv import import_tf
from edge_emotion_runtime.preprocess import PreprocessSpec

_TF: list[Any] = []

# Augmentation ranges (see `augment_batch`).
AUG_ROTATION = 0.1 * 3.141592653589793  # radians: +-18 degrees
AUG_ZOOM = 0.1
AUG_SHIFT = 0.1  # of the side
AUG_BRIGHTNESS = 0.1
AUG_CONTRAST = 0.1


def _tf() -> Any:
    """TensorFlow, fetched without side effects (safe inside traced `tf.data` functions)."""
    if not _TF:
        _TF.append(import_tf())
    return _TF[0]


def scale_tensor(pixels: Any, spec: PreprocessSpec) -> Any:
    """tf version of `edge_emotion_runtime.preprocess.scale` (same float32 operations)."""
    tf = _tf()
    out = tf.cast(pixels, tf.float32) / tf.constant(spec.divisor, tf.float32)
    if spec.offset:
        out = out + tf.constant(spec.offset, tf.float32)
    return out


def augment_batch(images: Any, seed: Any) -> Any:
    """Mild, label-preserving augmentation of a [0,1] float batch, reproducible from `seed`.

    Every random number is drawn with a stateless op from `seed` (a scalar, one per batch, from
    `tf.data.Dataset.random`), so the same seed gives the same batch on any run, however the
    parallel `map` schedules it: a seeded run trains bit for bit the same (Keras's random layers
    draw from one shared state instead, so their order depended on thread timing; two runs of the
    same seeded command differed by 0.9 points). Flip, rotation, zoom and translation are one
    projective transform (bilinear, edge pixels repeated), then brightness and contrast; the
    ranges are those the Keras layers had: flip 50%, rotation +-18 degrees, zoom +-10%, shift
    +-10%, brightness +-0.1, contrast x[0.9, 1.1].
    """
    tf = _tf()
    uniform = batch_uniform(images, seed, stream=0)
    out = affine(images, uniform, rotation=AUG_ROTATION, zoom=AUG_ZOOM, shift=AUG_SHIFT)
    out = out + tf.reshape(uniform(6, -AUG_BRIGHTNESS, AUG_BRIGHTNESS), [-1, 1, 1, 1])
    out = tf.clip_by_value(out, 0.0, 1.0)
    mean = tf.reduce_mean(out, axis=[1, 2], keepdims=True)
    factor = tf.reshape(uniform(7, 1.0 - AUG_CONTRAST, 1.0 + AUG_CONTRAST), [-1, 1, 1, 1])
    return tf.clip_by_value((out - mean) * factor + mean, 0.0, 1.0)


def batch_uniform(images: Any, seed: Any, stream: int) -> Callable[[int, float, float], Any]:
    """`uniform(k, low, high)`: one draw per image of the batch in [low, high), from the k-th
    independent stateless stream of (`seed`, `stream`); `stream` keeps augmentations apart."""
    tf = _tf()
    n = tf.shape(images)[0]
    base = tf.stack([tf.cast(seed, tf.int64), tf.constant(stream, tf.int64)])

    def uniform(k: int, low: float, high: float) -> Any:
        return tf.random.stateless_uniform([n], base + tf.constant([0, k], tf.int64), low, high)

    return uniform


def affine(
    images: Any,
    uniform: Callable[[int, float, float], Any],
    *,
    rotation: float,
    zoom: float | tuple[float, float],
    shift: float,
) -> Any:
    """Flip (50%), rotation +-`rotation` rad, zoom and shift (fraction of the side) as one
    projective transform, bilinear with edge pixels repeated; draws streams 1-5 of `uniform`.
    `zoom` is +-zoom around 1, or a (low, high) range of input pixels per output pixel."""
    tf = _tf()
    shape = tf.shape(images)
    h, w = tf.cast(shape[1], tf.float32), tf.cast(shape[2], tf.float32)
    zlow, zhigh = zoom if isinstance(zoom, tuple) else (1.0 - zoom, 1.0 + zoom)
    flip = tf.where(uniform(1, 0.0, 1.0) < 0.5, -1.0, 1.0)
    angle = uniform(2, -rotation, rotation)
    scale = uniform(3, zlow, zhigh)  # input pixels per output pixel
    dx = uniform(4, -shift, shift) * w
    dy = uniform(5, -shift, shift) * h
    cos, sin = tf.cos(angle) * scale, tf.sin(angle) * scale
    cx, cy = (w - 1.0) / 2.0, (h - 1.0) / 2.0
    # Output (x, y) -> input: centre + scale * R(angle) @ (flip_x * (x - cx), y - cy) + shift.
    a0, a1 = cos * flip, -sin
    b0, b1 = sin * flip, cos
    a2 = cx - a0 * cx - a1 * cy + dx
    b2 = cy - b0 * cx - b1 * cy + dy
    zeros = tf.zeros_like(a0)
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=shape[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="NEAREST",
    )


def mix_batch(images: Any, targets: Any, seed: Any, alpha: float) -> tuple[Any, Any]:
    """Mixup: each image blended with its partner in the reversed batch, by lam ~ Beta(a, a)
    drawn statelessly from `seed`; the targets (binary or one-hot) are blended the same way."""
    tf = _tf()
    n = tf.shape(images)[0]
    base = tf.stack([tf.cast(seed, tf.int64), tf.constant(1, tf.int64)])
    g1 = tf.random.stateless_gamma([n], base, alpha)
    g2 = tf.random.stateless_gamma([n], base + tf.constant([0, 1], tf.int64), alpha)
    lam = g1 / (g1 + g2)
    lam_x = tf.reshape(lam, [-1, 1, 1, 1])
    lam_y = tf.reshape(lam, [-1, 1])
    mixed = lam_x * images + (1.0 - lam_x) * tf.reverse(images, axis=[0])
    targets = tf.cast(targets, tf.float32)
    return mixed, lam_y * targets + (1.0 - lam_y) * tf.reverse(targets, axis=[0])


def make_dataset(
    pixels: np.ndarray,
    labels: np.ndarray,
    spec: PreprocessSpec,
    *,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    augment: bool = False,
    photo: bool = False,
    sample_weights: np.ndarray | None = None,
) -> Any:
    """Batches of (float32 images, float32 labels[, weights]) ready for `model.fit`."""
    tf = import_tf()
    y = labels.astype(np.float32).reshape(-1, 1)
    parts: tuple[Any, ...] = (
        (pixels, y) if sample_weights is None else (pixels, y, sample_weights.astype(np.float32))
    )
    ds = tf.data.Dataset.from_tensor_slices(parts)
    if shuffle:
        ds = ds.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    return batch_and_scale(ds, spec, batch_size=batch_size, seed=seed, augment=augment, photo=photo)


def batch_and_scale(
    ds: Any,
    spec: PreprocessSpec,
    *,
    batch_size: int,
    seed: int = 0,
    augment: bool = False,
    photo: bool = False,
) -> Any:
    """Batch (uint8 pixels, labels[, weights]) elements, scale, optionally augment (`photo`: the
    photo-like augmentation instead of `augment_batch`), prefetch: the one tail of every
    training input, in memory or streamed from TFRecord shards."""
    tf = import_tf()
    ds = ds.batch(batch_size)

    def _scale(x: Any, *rest: Any) -> tuple[Any, ...]:
        return (scale_tensor(x, spec), *rest)

    ds = ds.map(_scale, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if augment:
        if photo:
            from edge_emotion.training.photo_augment import photo_augment_batch as fn
        else:
            fn = augment_batch

        def _augment(parts: tuple[Any, ...], batch_seed: Any) -> tuple[Any, ...]:
            return (fn(parts[0], batch_seed), *parts[1:])

        ds = _with_seeds(ds, seed).map(
            _augment, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
        )
    return ds.prefetch(tf.data.AUTOTUNE)


def _with_seeds(ds: Any, seed: int) -> Any:
    """Pair each element with a scalar seed: the same sequence on every run with this `seed`,
    a new one each epoch (`rerandomize_each_iteration`)."""
    tf = _tf()
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    return tf.data.Dataset.zip((ds, seeds))


def with_mixup(ds: Any, alpha: float, seed: int) -> Any:
    """Batches of (images, targets[, weights]) with mixup applied (`alpha` > 0), else `ds`."""
    if alpha <= 0:
        return ds
    tf = _tf()

    def _mix(parts: tuple[Any, ...], batch_seed: Any) -> tuple[Any, ...]:
        return (*mix_batch(parts[0], parts[1], batch_seed, alpha), *parts[2:])

    # Its own seed stream (seed + 1): the augmentation's draws stay what they were.
    return _with_seeds(ds, seed + 1).map(
        _mix, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
