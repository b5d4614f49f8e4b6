"""Photo-like augmentation (`train --photo-aug`): FER-2013 faces made to look like the crops the
runtime cuts from real colour photos.

FER faces are low-resolution, centred, evenly lit grayscale crops; a face the detector finds in a
web photo is often sharp (a large face downscaled), sometimes tiny and blurred, JPEG-compressed,
lit from one side, turned to gray from any skin tone, tilted, off-centre in its box, or partly
covered by a hand. Each of those is drawn here per image, statelessly from the batch's seed like
`pipeline.augment_batch` (so a seeded run stays deterministic), in `tf.data`, never in the model.
"""

from __future__ import annotations

from typing import Any

from edge_emotion.training.pipeline import _tf, affine, augment_batch, batch_uniform

# Share of the images made photo-like; the others get the standard `augment_batch`, so the
# FER look is still learnt (all-photo augmentation cost a point on our FER val and test splits
# and did not gain on the wild dev set).
P_PHOTO = 0.5
# Geometry: stronger tilt than the standard 18 degrees, and the detector's box off-centre and
# looser or tighter than FER's framing.
PHOTO_ROTATION = 0.1389 * 3.141592653589793  # radians: +-25 degrees
PHOTO_ZOOM = (0.88, 1.2)  # input pixels per output pixel: box 12% tighter to 20% looser
PHOTO_SHIFT = 0.1  # of the side
# Lighting: gray of another skin tone / exposure (gamma), a side light (linear gradient).
PHOTO_GAMMA = 0.35  # log-gamma in +-this: gamma 0.70-1.42
PHOTO_GRADIENT = 0.2  # gradient amplitude, end to end across the face
PHOTO_BRIGHTNESS = 0.1
PHOTO_CONTRAST = (0.75, 1.25)
# Resolution: a small face upscaled (downscale to 20-36 px, then back), or a sharp one.
P_DOWNSCALE = 0.25
DOWNSCALE_SIDES = (20, 36)
P_SHARPEN = 0.3
SHARPEN_AMOUNT = 1.0
# A hand-like blob over the mouth/chin.
P_OCCLUDE = 0.15
# JPEG at quality 35-90 on a share of the batch (one encode per batch: see `_jpeg`).
P_JPEG = 0.3
JPEG_QUALITY = (35, 90)
NOISE_STD = 0.02  # sensor noise: sigma drawn in [0, this)


def photo_augment_batch(images: Any, seed: Any) -> Any:
    """A [0,1] float batch [n, h, w, c], P_PHOTO of it made photo-like and the rest augmented
    as `augment_batch` does, reproducible from `seed` (a scalar)."""
    tf = _tf()
    photo = photo_like(images, seed)
    pick = batch_uniform(images, seed, stream=3)(1, 0.0, 1.0) < P_PHOTO
    return tf.where(_per_image(pick), photo, augment_batch(images, seed))


def photo_like(images: Any, seed: Any) -> Any:
    """Every image of a [0,1] float batch made photo-like, reproducible from `seed`."""
    tf = _tf()
    uniform = batch_uniform(images, seed, stream=2)
    out = affine(images, uniform, rotation=PHOTO_ROTATION, zoom=PHOTO_ZOOM, shift=PHOTO_SHIFT)
    out = _lighting(out, uniform)
    out = _occlude(out, uniform)
    out = _resolution(out, uniform, seed)
    out = _jpeg(out, uniform, seed)
    sigma = tf.reshape(uniform(40, 0.0, NOISE_STD), [-1, 1, 1, 1])
    noise = tf.random.stateless_normal(tf.shape(out), _seed(seed, 41), dtype=out.dtype)
    return tf.clip_by_value(out + sigma * noise, 0.0, 1.0)


def _seed(seed: Any, k: int) -> Any:
    """A stateless op seed for whole-tensor draws, apart from `batch_uniform`'s streams."""
    tf = _tf()
    return tf.stack([tf.cast(seed, tf.int64), tf.constant(1000 + k, tf.int64)])


def _per_image(values: Any) -> Any:
    """[n] -> [n, 1, 1, 1], to broadcast over pixels."""
    return _tf().reshape(values, [-1, 1, 1, 1])


def _lighting(images: Any, uniform: Any) -> Any:
    """Gamma (skin tone, exposure), a linear side-light gradient, brightness and contrast."""
    tf = _tf()
    shape = tf.shape(images)
    h, w = shape[1], shape[2]
    gamma = tf.exp(_per_image(uniform(10, -PHOTO_GAMMA, PHOTO_GAMMA)))
    out = tf.pow(tf.clip_by_value(images, 1e-4, 1.0), gamma)
    ys = tf.reshape(tf.linspace(-0.5, 0.5, h), [1, -1, 1, 1])
    xs = tf.reshape(tf.linspace(-0.5, 0.5, w), [1, 1, -1, 1])
    theta = _per_image(uniform(11, 0.0, 2.0 * 3.141592653589793))
    amp = _per_image(uniform(12, -PHOTO_GRADIENT, PHOTO_GRADIENT))
    out = out + amp * (tf.cos(theta) * xs + tf.sin(theta) * ys)
    out = out + _per_image(uniform(13, -PHOTO_BRIGHTNESS, PHOTO_BRIGHTNESS))
    out = tf.clip_by_value(out, 0.0, 1.0)
    mean = tf.reduce_mean(out, axis=[1, 2], keepdims=True)
    factor = _per_image(uniform(14, *PHOTO_CONTRAST))
    return tf.clip_by_value((out - mean) * factor + mean, 0.0, 1.0)


def _occlude(images: Any, uniform: Any) -> Any:
    """On P_OCCLUDE of the images, a soft-edged ellipse of flat skin-like gray over part of the
    mouth and chin (its centre in the lower third, up to ~half the face wide): the eyes stay."""
    tf = _tf()
    shape = tf.shape(images)
    h, w = tf.cast(shape[1], tf.float32), tf.cast(shape[2], tf.float32)
    ys = tf.reshape(tf.range(h) / h, [1, -1, 1, 1])
    xs = tf.reshape(tf.range(w) / w, [1, 1, -1, 1])
    cx = _per_image(uniform(20, 0.3, 0.7))
    cy = _per_image(uniform(21, 0.72, 0.95))
    rx = _per_image(uniform(22, 0.12, 0.26))
    ry = _per_image(uniform(23, 0.08, 0.18))
    d = tf.sqrt(((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2)
    blob = tf.clip_by_value((1.2 - d) / 0.4, 0.0, 1.0)  # 1 inside, soft 0.2-radius edge
    mean = tf.reduce_mean(images, axis=[1, 2], keepdims=True)
    tone = tf.clip_by_value(mean + _per_image(uniform(24, -0.15, 0.25)), 0.0, 1.0)
    on = _per_image(tf.cast(uniform(25, 0.0, 1.0) < P_OCCLUDE, images.dtype))
    return images + on * blob * (tone - images)


def _resolution(images: Any, uniform: Any, seed: Any) -> Any:
    """P_DOWNSCALE of the images seen at a lower resolution (one side per batch, area down,
    bilinear up: a small face); P_SHARPEN of the others unsharp-masked (a large sharp face)."""
    tf = _tf()
    shape = tf.shape(images)
    side = tf.random.stateless_uniform(
        [], _seed(seed, 30), DOWNSCALE_SIDES[0], DOWNSCALE_SIDES[1] + 1, dtype=tf.int32
    )
    small = tf.image.resize(images, tf.stack([side, side]), method="area")
    low = tf.image.resize(small, shape[1:3], method="bilinear")
    kernel = tf.constant([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]) / 16.0
    kernel = tf.tile(tf.reshape(kernel, [3, 3, 1, 1]), [1, 1, shape[3], 1])
    padded = tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="SYMMETRIC")
    blurred = tf.nn.depthwise_conv2d(padded, kernel, [1, 1, 1, 1], "VALID")
    amount = _per_image(uniform(31, 0.0, SHARPEN_AMOUNT))
    sharp = tf.clip_by_value(images + amount * (images - blurred), 0.0, 1.0)
    draw = _per_image(uniform(32, 0.0, 1.0))
    out = tf.where(draw < P_DOWNSCALE, low, images)
    return tf.where((draw >= P_DOWNSCALE) & (draw < P_DOWNSCALE + P_SHARPEN), sharp, out)


def _jpeg(images: Any, uniform: Any, seed: Any) -> Any:
    """JPEG round trip at one quality per batch on P_JPEG of the images. The batch is encoded
    as one tall image (one encode, not n): with sides that are multiples of 8 (48, 256) JPEG's
    8x8 blocks never straddle two faces. Only 1- or 3-channel batches (JPEG's)."""
    tf = _tf()
    shape = tf.shape(images)
    channels = images.shape[-1]
    if channels not in (1, 3):
        return images
    tall = tf.reshape(images, [shape[0] * shape[1], shape[2], channels])
    quality = tf.random.stateless_uniform(
        [], _seed(seed, 50), JPEG_QUALITY[0], JPEG_QUALITY[1] + 1, dtype=tf.int32
    )
    pixels = tf.cast(tf.round(tf.clip_by_value(tall, 0.0, 1.0) * 255.0), tf.uint8)
    decoded = tf.image.adjust_jpeg_quality(pixels, quality)  # uint8 in, uint8 out
    back = tf.reshape(tf.cast(decoded, images.dtype) / 255.0, shape)
    on = _per_image(uniform(51, 0.0, 1.0) < P_JPEG)
    return tf.where(on, back, images)
