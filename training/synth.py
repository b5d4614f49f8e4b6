"""Procedurally drawn happy/sad faces: the embedded default dataset (no download needed).

Each face varies in shape, skin tone, position, scale, rotation, eyes, brows, glasses, occluders,
background, noise and blur. The label is carried mainly by the mouth curvature (smile vs frown)
and partly by the brows; a share of faces is deliberately ambiguous (near-flat mouth, heavy noise,
occluded mouth), so accuracy on this data stays informative rather than trivially 100%.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from edge_emotion.errors import UsageError
from edge_emotion_runtime.labels import DEFAULT_LABELS

AMBIGUOUS_SHARE = 0.2  # faces whose mouth is nearly flat
# Bump when the drawing changes, so cached default datasets are regenerated, not reused.
GENERATOR_VERSION = 2


@dataclass(frozen=True)
class SynthReport:
    root: Path
    per_class: int
    image_size: int
    seed: int


def _color(rng: np.random.Generator, low: int = 0, high: int = 256) -> tuple[int, int, int]:
    return tuple(int(v) for v in rng.integers(low, high, size=3))  # type: ignore[return-value]


def _skin(rng: np.random.Generator) -> tuple[int, int, int]:
    tone = rng.uniform(0.0, 1.0)
    base = np.array([255, 224, 196]) * (1 - tone) + np.array([92, 56, 36]) * tone
    jitter = rng.normal(0, 8, size=3)
    return tuple(int(v) for v in np.clip(base + jitter, 0, 255))  # type: ignore[return-value]


def _background(rng: np.random.Generator, size: int) -> Image.Image:
    kind = rng.integers(0, 3)
    if kind == 0:
        return Image.new("RGB", (size, size), _color(rng))
    if kind == 1:
        a, b = np.array(_color(rng)), np.array(_color(rng))
        t = np.linspace(0, 1, size)[:, None, None]
        grad = (a * (1 - t) + b * t).astype(np.uint8)
        return Image.fromarray(np.broadcast_to(grad, (size, size, 3)).copy(), "RGB")
    image = Image.new("RGB", (size, size), _color(rng))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 9))):
        x0, y0 = rng.integers(-size // 4, size, size=2)
        w, h = rng.integers(size // 8, size // 2, size=2)
        shape = [int(x0), int(y0), int(x0 + w), int(y0 + h)]
        if rng.random() < 0.5:
            draw.rectangle(shape, fill=_color(rng))
        else:
            draw.ellipse(shape, fill=_color(rng))
    return image


def _mouth_curvature(rng: np.random.Generator, label: int, ambiguous: bool) -> float:
    """> 0 smiles (corners up), < 0 frowns; happy = label 0, sad = label 1."""
    sign = 1.0 if label == 0 else -1.0
    magnitude = rng.uniform(0.0, 0.12) if ambiguous else rng.uniform(0.2, 1.0)
    return sign * magnitude


def draw_face(rng: np.random.Generator, label: int, size: int) -> Image.Image:
    """One RGB face image of `size` x `size` pixels showing `labels[label]`."""
    canvas = 256  # draw at a fixed resolution, then resize: same look at every --image-size
    image = _background(rng, canvas)
    layer = Image.new("RGBA", (canvas, canvas), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    cx, cy = canvas / 2, canvas / 2
    fw = rng.uniform(0.55, 0.8) * canvas / 2  # half-width
    fh = fw * rng.uniform(1.05, 1.4)
    skin = _skin(rng)
    draw.ellipse([cx - fw, cy - fh, cx + fw, cy + fh], fill=(*skin, 255))
    dark = tuple(int(v * rng.uniform(0.2, 0.5)) for v in skin)

    # eyes
    eye_y = cy - fh * rng.uniform(0.15, 0.35)
    eye_dx = fw * rng.uniform(0.3, 0.5)
    eye_r = fw * rng.uniform(0.07, 0.14)
    eye_open = rng.uniform(0.4, 1.0)
    for side in (-1, 1):
        ex = cx + side * eye_dx
        draw.ellipse(
            [ex - eye_r, eye_y - eye_r * eye_open, ex + eye_r, eye_y + eye_r * eye_open],
            fill=(250, 250, 250, 255),
        )
        pr = eye_r * 0.5
        draw.ellipse(
            [ex - pr, eye_y - pr * eye_open, ex + pr, eye_y + pr * eye_open],
            fill=(*_color(rng, 0, 120), 255),
        )

    # brows: sad faces often tilt the inner ends up; some happy faces do too (weak cue)
    sad_brows = rng.random() < (0.6 if label == 1 else 0.2)
    tilt = rng.uniform(0.08, 0.25) * fw * (1 if sad_brows else -0.3)
    brow_y = eye_y - eye_r * rng.uniform(1.6, 2.6)
    brow_w = max(2, int(fw * rng.uniform(0.04, 0.09)))
    for side in (-1, 1):
        outer = (cx + side * (eye_dx + eye_r * 1.2), brow_y)
        inner = (cx + side * (eye_dx - eye_r * 1.2), brow_y - tilt)
        draw.line([outer, inner], fill=(*dark, 255), width=brow_w)

    # mouth: a parabola whose curvature carries the label
    ambiguous = rng.random() < AMBIGUOUS_SHARE
    curvature = _mouth_curvature(rng, label, ambiguous)
    mouth_y = cy + fh * rng.uniform(0.35, 0.6)
    mouth_w = fw * rng.uniform(0.35, 0.65)
    depth = fh * 0.4 * curvature
    points = [
        (cx + t * mouth_w, mouth_y + depth * (1 - t * t) - depth / 2)
        for t in np.linspace(-1, 1, 24)
    ]
    lip = (int(rng.uniform(120, 200)), int(rng.uniform(30, 80)), int(rng.uniform(40, 90)), 255)
    draw.line(points, fill=lip, width=max(3, int(fw * rng.uniform(0.07, 0.13))), joint="curve")

    # accessories and occluders
    if rng.random() < 0.25:  # glasses
        frame = (*_color(rng, 0, 90), 255)
        gr = eye_r * rng.uniform(1.6, 2.2)
        width = max(2, int(fw * 0.04))
        for side in (-1, 1):
            ex = cx + side * eye_dx
            draw.ellipse([ex - gr, eye_y - gr, ex + gr, eye_y + gr], outline=frame, width=width)
        draw.line([(cx - eye_dx + gr, eye_y), (cx + eye_dx - gr, eye_y)], fill=frame, width=width)
    if rng.random() < 0.15:  # a hand, scarf or sticker covering part of the face
        ox = cx + rng.uniform(-fw, fw)
        oy = cy + rng.uniform(-fh, fh)
        ow, oh = rng.uniform(0.3, 0.8) * fw, rng.uniform(0.3, 0.8) * fh
        draw.rectangle(
            [ox - ow / 2, oy - oh / 2, ox + ow / 2, oy + oh / 2], fill=(*_color(rng), 255)
        )

    # pose: rotation, scale and shift of the whole face
    layer = layer.rotate(float(rng.uniform(-20, 20)), resample=Image.Resampling.BILINEAR)
    zoom = rng.uniform(0.7, 1.15)
    side = max(8, int(canvas * zoom))
    layer = layer.resize((side, side), Image.Resampling.BILINEAR)
    shift = rng.uniform(-0.12, 0.12, size=2) * canvas
    offset = (int((canvas - side) / 2 + shift[0]), int((canvas - side) / 2 + shift[1]))
    image.paste(layer, offset, layer)

    # camera: blur, noise, brightness
    if rng.random() < 0.3:
        image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 3.0))))
    arr = np.asarray(image, dtype=np.float32)
    noise_sd = rng.uniform(0, 40) if rng.random() < 0.3 else rng.uniform(0, 8)
    arr = arr * rng.uniform(0.6, 1.3) + rng.normal(0, noise_sd, size=arr.shape)
    image = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
    if size != canvas:
        image = image.resize((size, size), Image.Resampling.BILINEAR)
    return image


def generate(
    out_dir: str | os.PathLike[str],
    count: int,
    seed: int = 0,
    image_size: int = 128,
    labels: tuple[str, ...] = DEFAULT_LABELS,
) -> SynthReport:
    """Write `count` JPEG faces per class into out_dir/<label>/; deterministic for a seed.

    Existing files of the same name are replaced (the folder is a generated cache); files are
    written to a temporary name and renamed, so an interrupted run never leaves half a JPEG.
    """
    if count < 1:
        raise UsageError(f"--count must be at least 1, got {count}")
    if not 8 <= image_size <= 1024:
        raise UsageError(f"--image-size must be between 8 and 1024, got {image_size}")
    root = Path(out_dir)
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root}: exists and is not a directory")
    digits = max(4, int(math.log10(count)) + 1)
    for label, name in enumerate(labels):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(count):
            rng = np.random.default_rng([seed, label, index])
            image = draw_face(rng, label, image_size)
            final = folder / f"{name}_{index:0{digits}d}.jpg"
            tmp = folder / f".{final.name}.tmp"
            image.save(tmp, format="JPEG", quality=int(rng.integers(80, 96)))
            os.replace(tmp, final)
    return SynthReport(root=root, per_class=count, image_size=image_size, seed=seed)
