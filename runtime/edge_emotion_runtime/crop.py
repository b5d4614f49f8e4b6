"""The one definition of how a detected face becomes a classifier input crop.

Framing parity: a model must see a detected face framed the way its training images framed their
faces. That framing is measured, not assumed: run the detector on the training images and record
where its box sits in them (`measure`). Training (for `--detect` datasets) and the device both
crop with `crop_box`, and the measured `Framing` per detector travels in the model's metadata
(`crop` section), so the device never guesses.

Units: a crop is a square of side `box_width / face_fraction`, centred `offset` crop-sides away
from the box centre (crop centre = box centre - offset * side). For FER-2013 and BlazeFace short
range the box is 0.884 of the image width and its centre 0.069 sides below the image centre.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
from PIL import Image

from edge_emotion_runtime.defaults import PHOTO_FRAMING_SCALE
from edge_emotion_runtime.detector import Detection
from edge_emotion_runtime.fields import integer, real
from edge_emotion_runtime.preprocess import PreprocessSpec, image_to_pixels

# An image whose one face fills at least this share of its width and height is already a crop.
CROP_MIN_FILL = 0.6
# An image no larger than this (longest side, pixels) is too small to hold a scene in which a
# face could be cropped tighter, if a face fills it (FER-2013's 48x48 faces are such images)...
CROP_MAX_SIDE = 128
# ...which the short-range detector, asked at this lowered score, must find as its best face
# with a box side at least this share of the image's long side. BlazeFace scores many of
# FER-2013's soft, upscaled faces below its own 0.5: at 0.2, 99.2% of 1,500 sampled FER faces
# are taken whole and `auto` answers as `never` within 0.1 point on those it covers (0.5 point
# counting the rest as wrong); at 0.5 only 95%. A 102 px retina photo is refused (it was "sad
# 0.957" when every small image counted as a crop), and so is a thumbnail whose best face is
# small (a 64 px doorway shot): its face is cropped like any photo's.
SMALL_CROP_MIN_SCORE = 0.2
SMALL_CROP_MIN_FILL = 0.5
# Smallest face share of the crop a model may record. The crop side is box / face_fraction, so a
# small fraction makes every crop huge (0.05: 20x the face); training crops hold the face at
# 0.4-0.9 of their width. Below this a framing is malformed metadata, not a property of a photo.
MIN_FACE_FRACTION = 0.25


@dataclass(frozen=True)
class Framing:
    """Where training images put the face, in the units of one detector's box."""

    detector: str
    face_fraction: float
    offset_x: float = 0.0
    offset_y: float = 0.0
    # How many training images the figures are the medians of (0: a stated default).
    samples: int = 0
    # Rotate the crop so the eyes are level. FER-2013 faces lean up to ~15 degrees either way,
    # yet levelling paid on the FER test faces pasted into scenes (paired, same scenes): upright
    # 89.3% -> 89.9%, tilted 10-30 degrees 87.8% -> 89.1%.
    align: bool = False

    def __post_init__(self) -> None:
        if not MIN_FACE_FRACTION <= self.face_fraction <= 2.0:
            raise ValueError(
                f"face_fraction must be in [{MIN_FACE_FRACTION}, 2], got {self.face_fraction!r}"
            )
        if abs(self.offset_x) > 1 or abs(self.offset_y) > 1:
            raise ValueError(f"framing offsets must be within [-1, 1] crop sides, got {self}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Framing:
        if not isinstance(data, Mapping):
            raise ValueError(f"a framing must be an object, got {type(data).__name__}")
        if not isinstance(data.get("align", False), bool):
            raise ValueError(f"'align' must be true or false, got {data['align']!r}")
        return cls(
            detector=str(data["detector"]),
            face_fraction=real(data, "face_fraction", None),
            offset_x=real(data, "offset_x", 0.0),
            offset_y=real(data, "offset_y", 0.0),
            samples=integer(data, "samples", 0, low=0, high=10**9),
            align=data.get("align", False),
        )


# Measured on 3,000 FER-2013 happy/sad training images (`measure`, BlazeFace via this package):
# short range found a face in 95.4%, full range in 12.9% (it is made for small, far faces). Used
# for models whose metadata has no `crop` section (exported before framing was recorded).
FER_FRAMINGS: dict[str, Framing] = {
    "short": Framing("short", 0.884, offset_x=0.006, offset_y=0.069, samples=2861, align=True),
    "full": Framing("full", 0.751, offset_x=0.003, offset_y=0.045, samples=386, align=True),
}


def framings_from_metadata(crop: Mapping[str, Any] | None) -> dict[str, Framing]:
    """The per-detector framings of a model's `crop` metadata section ({} when there is none)."""
    if not crop:
        return {}
    if not isinstance(crop, Mapping) or not isinstance(crop.get("framings"), Mapping):
        raise ValueError("metadata 'crop' must be an object with a 'framings' object")
    return {name: Framing.from_dict(f) for name, f in crop["framings"].items()}


def crop_metadata(framings: Iterable[Framing], **extra: Any) -> dict[str, Any]:
    """The `crop` metadata section for these framings (plus any provenance keys)."""
    return {"framings": {f.detector: f.to_dict() for f in framings}, **extra}


def photo_crop_metadata(
    crop: Mapping[str, Any], scale: float = PHOTO_FRAMING_SCALE
) -> dict[str, Any]:
    """A `crop` section whose framings crop `scale` times tighter than the measured ones, which
    it keeps under `measured_framings` with `framing_scale` (scale 1: unchanged)."""
    measured = dict(crop.get("measured_framings") or crop.get("framings") or {})
    if not measured or scale == 1.0:
        return dict(crop)
    framings = {}
    for name, data in measured.items():
        framing = Framing.from_dict(data)
        framings[name] = replace(framing, face_fraction=round(framing.face_fraction * scale, 4))
    return {
        **crop,
        "framings": {name: f.to_dict() for name, f in framings.items()},
        "measured_framings": measured,
        "framing_scale": scale,
    }


def crop_box(detection: Detection, framing: Framing) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the square crop around a detection, in source pixels.

    May reach past the image edge: `crop_face` pads with black there rather than shifting the
    face off centre, as the training framing had it centred.
    """
    x, y, w, h = detection.box
    side = max(w, h) / framing.face_fraction
    cx = x + w / 2 - framing.offset_x * side
    cy = y + h / 2 - framing.offset_y * side
    left, top = round(cx - side / 2), round(cy - side / 2)
    size = max(1, round(side))
    return (left, top, left + size, top + size)


def eye_angle(detection: Detection) -> float:
    """Degrees the eye line leans (positive: the image-right eye is lower)."""
    (rx, ry), (lx, ly) = detection.keypoints[:2]
    return math.degrees(math.atan2(ly - ry, lx - rx))


def crop_face(
    image: Image.Image, detection: Detection, framing: Framing, size: int | None = None
) -> Image.Image:
    """The face crop (same mode as `image`; black outside the image), rotated about its centre
    to level the eyes when the framing says `align`.

    `size` (the model's input side) lets a large face be box-reduced by an integer factor
    before rotating, to no less than twice that side: rotating a 240 px face at full
    resolution cost ~9 ms for a 48 px model input; the final resize to the model input (in
    `image_to_pixels`) follows either way, and training crops take the same path.
    """
    left, top, right, bottom = crop_box(detection, framing)
    if not framing.align:
        return image.crop((left, top, right, bottom))
    side = right - left
    # Rotate a region a quarter wider on each side, so the corners of the crop stay covered
    # for any angle up to 45 degrees (sqrt(2) / 2 < 0.75), then cut the crop from its middle.
    margin = math.ceil(side / 4)
    factor = max(1, side // (2 * size)) if size else 1
    region = reduced_crop(
        image, (left - margin, top - margin, right + margin, bottom + margin), factor
    )
    if factor > 1:
        margin, side = round(margin / factor), round(side / factor)
    region = region.rotate(eye_angle(detection), resample=Image.Resampling.BILINEAR)
    return region.crop((margin, margin, margin + side, margin + side))


def reduced_crop(image: Image.Image, box: tuple[int, int, int, int], factor: int) -> Image.Image:
    """`image.crop(box).reduce(factor)`, pixel for pixel, without ever holding the full-size
    crop: only the reduce blocks that touch the image are cut and reduced, the rest is the black
    that `crop` pads with. A big face with a wide framing reaches far past a photo's edges (the
    crop side is box / face_fraction, the region 1.5x that), so the full-size crop could take
    hundreds of MB where the reduced one takes a few kB.
    """
    if factor <= 1:
        return image.crop(box)
    left, top, right, bottom = box
    # Blocks of the reduced crop along each axis, and the range of them that touch the image.
    spans = []
    for low, high, extent in ((left, right, image.width), (top, bottom, image.height)):
        blocks = -((low - high) // factor)  # ceil: reduce keeps a last partial block
        first = max(0, (-low) // factor)
        last = min(blocks, -((low - extent) // factor))
        spans.append((blocks, first, last))
    (wide, x0, x1), (high, y0, y1) = spans
    canvas = Image.new(image.mode, (wide, high))
    if x0 < x1 and y0 < y1:
        part = image.crop(
            (
                left + x0 * factor,
                top + y0 * factor,
                min(left + x1 * factor, right),
                min(top + y1 * factor, bottom),
            )
        )
        canvas.paste(part.reduce(factor), (x0, y0))
    return canvas


def face_pixels(
    image: Image.Image,
    detection: Detection,
    framing: Framing,
    spec: PreprocessSpec,
    name: str = "<image>",
) -> np.ndarray:
    """The model input (uint8, `spec.shape`) of one detected face: the crop definition that
    training (`--detect` datasets) and the device share."""
    size = max(spec.height, spec.width)
    return image_to_pixels(crop_face(image, detection, framing, size=size), spec, name)


def is_face_crop(
    size: tuple[int, int],
    detections: list[Detection],
    detected_in: tuple[int, int] | None = None,
) -> bool:
    """The `--detect auto` rule: is this image already a face crop, to classify whole?

    A small image (long side <= CROP_MAX_SIDE) is one when the best of `detections` (the
    short-range detector's at SMALL_CROP_MIN_SCORE, best first) has a box side of at least
    SMALL_CROP_MIN_FILL of the image's long side: when the likeliest face is a small one, the
    image is a small photo. A larger image is one when the detector finds
    exactly one face filling at least CROP_MIN_FILL of both sides (FER-2013 framing: 0.88).
    `detected_in` is the size of the image the boxes are in (a shrunk working copy), if it
    differs from the file's `size`.
    """
    box_w, box_h = detected_in or size
    if max(size) <= CROP_MAX_SIDE:
        side = SMALL_CROP_MIN_FILL * max(box_w, box_h)
        return bool(detections) and max(detections[0].box[2], detections[0].box[3]) >= side
    if len(detections) != 1:
        return False
    _, _, w, h = detections[0].box
    return w >= CROP_MIN_FILL * box_w and h >= CROP_MIN_FILL * box_h


def measure(
    images: Iterable[Image.Image],
    detect: Any,
    detector_name: str,
    *,
    min_found: float = 0.1,
    min_samples: int = 20,
    align: bool = True,
) -> tuple[Framing | None, int, int]:
    """Median framing of the best detection over `images`: (framing or None, found, total).

    `detect` is a callable image -> list[Detection] (a FaceDetector's `detect`). None when the
    detector finds faces in fewer than `min_found` of the images or fewer than `min_samples`
    in all: their framing is then unknown, and saying so beats recording a median of flukes.
    (The full-range detector finds only ~12% of FER-2013's large, upscaled faces; their median
    framing is still a steady figure.)
    """
    fractions: list[float] = []
    offsets: list[tuple[float, float]] = []
    total = 0
    for image in images:
        total += 1
        found = detect(image)
        if not found:
            continue
        width, height = image.size
        x, y, w, h = found[0].box
        # The training crop's own side: its width (FER and synthetic crops are square).
        side = float(width)
        fractions.append(max(w, h) / side)
        offsets.append(((x + w / 2 - width / 2) / side, (y + h / 2 - height / 2) / side))
    if total == 0 or len(fractions) < max(min_samples, min_found * total):
        return None, len(fractions), total
    ox, oy = np.median(np.asarray(offsets), axis=0)
    framing = Framing(
        detector=detector_name,
        face_fraction=round(float(np.median(fractions)), 4),
        offset_x=round(float(ox), 4),
        offset_y=round(float(oy), 4),
        samples=len(fractions),
        align=align,
    )
    return framing, len(fractions), total
