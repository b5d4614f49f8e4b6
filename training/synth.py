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


def _face_layer(
    rng: np.random.Generator, label: int, canvas: int
) -> tuple[Image.Image, tuple[float, float]]:
    """A transparent canvas x canvas layer with one rotated face at its centre, and the face's
    half-width and half-height in layer pixels (before rotation)."""
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

    layer = layer.rotate(float(rng.uniform(-20, 20)), resample=Image.Resampling.BILINEAR)
    return layer, (fw, fh)


def _camera(rng: np.random.Generator, image: Image.Image) -> Image.Image:
    """Blur, noise and brightness of the whole picture."""
    if rng.random() < 0.3:
        image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 3.0))))
    arr = np.asarray(image, dtype=np.float32)
    noise_sd = rng.uniform(0, 40) if rng.random() < 0.3 else rng.uniform(0, 8)
    arr = arr * rng.uniform(0.6, 1.3) + rng.normal(0, noise_sd, size=arr.shape)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def draw_face(rng: np.random.Generator, label: int, size: int) -> Image.Image:
    """One RGB face image of `size` x `size` pixels showing `labels[label]`."""
    canvas = 256  # draw at a fixed resolution, then resize: same look at every --image-size
    image = _background(rng, canvas)
    layer, _ = _face_layer(rng, label, canvas)

    # pose: scale and shift of the whole face (the layer is already rotated)
    zoom = rng.uniform(0.7, 1.15)
    side = max(8, int(canvas * zoom))
    layer = layer.resize((side, side), Image.Resampling.BILINEAR)
    shift = rng.uniform(-0.12, 0.12, size=2) * canvas
    offset = (int((canvas - side) / 2 + shift[0]), int((canvas - side) / 2 + shift[1]))
    image.paste(layer, offset, layer)

    image = _camera(rng, image)
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


# --------------------------------------------------------------------------- whole photos
PHOTO_STREAM = 1  # a separate random stream, so photos never repeat the crop dataset's faces
FACES_FILE = "faces.json"
NO_FACE_SHARE = 0.15
TWO_FACES_SHARE = 0.2
# Face width as a share of the photo's side: one face, and each of two. BlazeFace short range is
# made for near faces and finds few synthetic faces narrower than 0.15 of the photo.
FACE_WIDTH = {1: (0.2, 0.55), 2: (0.2, 0.4)}


@dataclass(frozen=True)
class PhotoReport:
    root: Path
    per_class: int
    image_size: int
    seed: int
    photos_by_faces: dict[int, int]  # number of faces in a photo -> photos

    @property
    def faces(self) -> int:
        return sum(k * n for k, n in self.photos_by_faces.items())


def draw_photo(
    rng: np.random.Generator, label: int, size: int
) -> tuple[Image.Image, list[tuple[int, int, int, int]]]:
    """A size x size scene with 0, 1 or 2 faces showing `labels[label]`, and each face's
    (x, y, w, h) box (its skin ellipse before rotation)."""
    canvas = 256
    image = _background(rng, size)
    draw = rng.random()
    count = 0 if draw < NO_FACE_SHARE else 2 if draw < NO_FACE_SHARE + TWO_FACES_SHARE else 1
    boxes: list[tuple[int, int, int, int]] = []
    for slot in range(count):
        layer, (fw, fh) = _face_layer(rng, label, canvas)
        # The skin ellipse is 2*fw of the layer's width: scale so it is FACE_WIDTH of the photo.
        face_w = rng.uniform(*FACE_WIDTH[count]) * size
        scale = face_w / (2 * fw)
        side = max(8, round(canvas * scale))
        layer = layer.resize((side, side), Image.Resampling.BILINEAR)
        # Each face keeps to its own vertical band (left or right half with two faces).
        band = size / count
        cx = band * slot + rng.uniform(face_w / 2, max(face_w / 2 + 1, band - face_w / 2))
        cy = rng.uniform(fh * scale, max(fh * scale + 1, size - fh * scale))
        image.paste(layer, (round(cx - side / 2), round(cy - side / 2)), layer)
        w, h = 2 * fw * scale, 2 * fh * scale
        boxes.append((round(cx - w / 2), round(cy - h / 2), round(w), round(h)))
    return _camera(rng, image), boxes


def generate_photos(
    out_dir: str | os.PathLike[str],
    count: int,
    seed: int = 0,
    image_size: int = 256,
    labels: tuple[str, ...] = DEFAULT_LABELS,
) -> PhotoReport:
    """Write `count` whole synthetic photos per class into out_dir/<label>/ (for `--detect`):
    each a scene with one face, sometimes two (same expression) and sometimes none, plus
    out_dir/faces.json with the true face boxes. Deterministic for a seed."""
    import json

    if count < 1:
        raise UsageError(f"--count must be at least 1, got {count}")
    if not 64 <= image_size <= 2048:
        raise UsageError(f"--image-size of photos must be between 64 and 2048, got {image_size}")
    root = Path(out_dir)
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root}: exists and is not a directory")
    digits = max(4, int(math.log10(count)) + 1)
    truth: dict[str, list[list[int]]] = {}
    by_faces: dict[int, int] = {0: 0, 1: 0, 2: 0}
    for label, name in enumerate(labels):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(count):
            rng = np.random.default_rng([seed, label, index, PHOTO_STREAM])
            image, boxes = draw_photo(rng, label, image_size)
            final = folder / f"{name}_photo_{index:0{digits}d}.jpg"
            tmp = folder / f".{final.name}.tmp"
            image.save(tmp, format="JPEG", quality=int(rng.integers(80, 96)))
            os.replace(tmp, final)
            truth[final.relative_to(root).as_posix()] = [list(b) for b in boxes]
            by_faces[len(boxes)] += 1
    tmp = root / f".{FACES_FILE}.tmp"
    tmp.write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, root / FACES_FILE)
    return PhotoReport(root, count, image_size, seed, by_faces)


@dataclass(frozen=True)
class DetectionCheck:
    """How well a face detector finds the faces of a synthetic photo set."""

    detector: str
    faces: int
    found: int  # true faces with a detection centred inside their box
    photos_without_face: int
    false_alarms: int  # detections on photos without a face

    @property
    def hit_rate(self) -> float:
        return self.found / self.faces if self.faces else 0.0


def check_detection(root: str | os.PathLike[str], detector: str = "short") -> DetectionCheck:
    """Run the detector on every photo of `faces.json`: a face is found when a detection's
    centre falls inside its true box (boxes are upright, faces rotate by up to 20 degrees)."""
    import json

    from edge_emotion.training.framing import load_detector
    from edge_emotion_runtime.preprocess import load_image

    root = Path(root)
    truth = json.loads((root / FACES_FILE).read_text())
    detect = load_detector(detector).detect
    faces = found = empty = false_alarms = 0
    for path, boxes in sorted(truth.items()):
        centres = [d.centre for d in detect(load_image(root / path))]
        faces += len(boxes)
        if not boxes:
            empty += 1
            false_alarms += len(centres)
        for x, y, w, h in boxes:
            found += any(x <= cx <= x + w and y <= cy <= y + h for cx, cy in centres)
    return DetectionCheck(detector, faces, found, empty, false_alarms)
