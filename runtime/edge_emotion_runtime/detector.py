"""Find faces with MediaPipe's BlazeFace, on the same TFLite interpreter as the classifier.

Everything around the interpreter (letterbox, SSD anchors, box decoding, weighted NMS, undoing the
letterbox) is numpy, following MediaPipe's own face-detection graph configuration
(`face_detection_short_range.pbtxt` / `face_detection_full_range.pbtxt`): the calculators there
are the specification, this module is a transcription of them.

The detector models ship inside this package (see `bundled.py`), pinned by sha256, under
MediaPipe's Apache-2.0 licence.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from edge_emotion_runtime import backends, bundled
from edge_emotion_runtime.boxes import centre, iou_many
from edge_emotion_runtime.errors import ModelError
from edge_emotion_runtime.vocab import DetectorName

# Keypoints in the order the model emits them.
KEYPOINTS: tuple[str, ...] = (
    "right_eye",
    "left_eye",
    "nose_tip",
    "mouth_center",
    "right_ear_tragion",
    "left_ear_tragion",
)


@dataclass(frozen=True)
class DetectorSpec:
    """One BlazeFace variant: file, input size, anchor layout and MediaPipe's thresholds."""

    name: str
    filename: str
    input_size: int
    # (stride, anchors per grid cell) per feature map, in the order the model emits anchors.
    layers: tuple[tuple[int, int], ...]
    min_score: float
    iou_threshold: float = 0.3
    # The letterbox first box-reduces a photo by an integer factor to no less than this many
    # times the input side, then resizes bilinearly (see `letterbox`).
    reduce_to: int = 2

    @property
    def sha256(self) -> str:
        """The bundled file's pin (`bundled.PINS`)."""
        return bundled.PINS[self.filename]

    def anchors(self) -> np.ndarray:
        """(N, 2) anchor centres in [0, 1] (x, y), as MediaPipe's SsdAnchorsCalculator makes them
        with `fixed_anchor_size: true` and anchor offset 0.5."""
        centres: list[np.ndarray] = []
        for stride, per_cell in self.layers:
            side = -(-self.input_size // stride)  # ceil
            grid = (np.arange(side, dtype=np.float32) + 0.5) / side
            ys, xs = np.meshgrid(grid, grid, indexing="ij")
            cell = np.stack([xs.ravel(), ys.ravel()], axis=1)
            centres.append(np.repeat(cell, per_cell, axis=0))
        return np.concatenate(centres).astype(np.float32)


SHORT_RANGE = DetectorSpec(
    name=DetectorName.SHORT.value,
    filename=bundled.SHORT_RANGE_DETECTOR,
    input_size=128,
    # strides 8, 16, 16, 16: same-stride layers share one grid, 2 anchors each.
    layers=((8, 2), (16, 6)),
    min_score=0.5,
)
FULL_RANGE = DetectorSpec(
    name=DetectorName.FULL.value,
    filename=bundled.FULL_RANGE_DETECTOR,
    input_size=192,
    layers=((4, 1),),
    min_score=0.6,
    # Reduced to >= 1x its input before the bilinear resize, not 2x: a 512 px photo goes
    # 256 -> 192 (0.3 ms) instead of 512 -> 192 (1.0-1.5 ms, a third of the model's own time).
    reduce_to=1,
)
DETECTORS: dict[str, DetectorSpec] = {s.name: s for s in (SHORT_RANGE, FULL_RANGE)}


@dataclass(frozen=True)
class Detection:
    """One face in source-image pixels. `box` is (x, y, w, h) and may reach past the image edge
    (a face cut by the border); `keypoints` follow `KEYPOINTS`."""

    box: tuple[float, float, float, float]
    score: float
    keypoints: tuple[tuple[float, float], ...]
    # The detector variant whose box this is ("short", "full"): faces are cropped with the
    # framing measured for that variant's boxes.
    source: str = ""

    @property
    def centre(self) -> tuple[float, float]:
        return centre(self.box)

    def scaled(self, sx: float, sy: float) -> Detection:
        """The same detection in an image scaled by (sx, sy) (working copy -> original file)."""
        if sx == 1.0 and sy == 1.0:
            return self
        x, y, w, h = self.box
        points = tuple((px * sx, py * sy) for px, py in self.keypoints)
        return Detection((x * sx, y * sy, w * sx, h * sy), self.score, points, self.source)

    def clipped_box(self, width: int, height: int) -> tuple[int, int, int, int]:
        """(x, y, w, h) in whole pixels, clipped to a width x height image."""
        x, y, w, h = self.box
        x0, y0 = max(0, round(x)), max(0, round(y))
        x1, y1 = min(width, round(x + w)), min(height, round(y + h))
        return (x0, y0, max(0, x1 - x0), max(0, y1 - y0))


@dataclass(frozen=True)
class Letterbox:
    """How a source image was fitted into the square input: input = source * scale + pad."""

    scale: float
    pad_x: float
    pad_y: float


def letterbox(image: Image.Image, size: int, reduce_to: int = 2) -> tuple[np.ndarray, Letterbox]:
    """RGB image -> (1, size, size, 3) float32 in [-1, 1], aspect kept, black padding."""
    width, height = image.size
    factor = size / max(width, height)
    new_w, new_h = max(1, round(width * factor)), max(1, round(height * factor))
    if image.mode != "RGB":
        image = image.convert("RGB")
    # An integer box reduce first, to no less than twice the input side, then bilinear: the
    # same antialiasing for a fraction of the cost of one large bilinear resize (0.2-0.4 ms
    # instead of 1.2-1.5 ms for a 640 px photo, as much as the model itself).
    factor = max(width, height) // (reduce_to * size)
    if factor >= 2:
        image = image.reduce(factor)
    resized = image.resize((new_w, new_h), Image.Resampling.BILINEAR)
    pad_x, pad_y = (size - new_w) // 2, (size - new_h) // 2
    canvas = np.zeros((size, size, 3), dtype=np.float32)
    canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = np.asarray(resized, dtype=np.float32)
    tensor = canvas * np.float32(1 / 127.5) - np.float32(1.0)
    # The resize maps the source onto exactly new_w x new_h pixels: per-axis scales.
    return tensor[None], Letterbox(scale=new_w / width, pad_x=pad_x, pad_y=pad_y)


def decode(
    raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray, spec: DetectorSpec
) -> tuple[np.ndarray, np.ndarray]:
    """Model outputs -> (boxes (K, 4+12) as xmin, ymin, w, h + keypoints x/y, in input-square
    units [0, 1]; scores (K,)) for anchors at or above the score threshold."""
    raw_boxes = raw_boxes.reshape(-1, 16)
    logits = np.clip(raw_scores.reshape(-1).astype(np.float64), -100.0, 100.0)
    # Compare logits, not sigmoids: monotone, and no exp() over all anchors.
    keep = logits >= np.log(spec.min_score / (1.0 - spec.min_score))
    if not keep.any():
        return np.zeros((0, 16), np.float32), np.zeros((0,), np.float32)
    scores = (1.0 / (1.0 + np.exp(-logits[keep]))).astype(np.float32)
    r = raw_boxes[keep] / np.float32(spec.input_size)
    a = anchors[keep]
    out = np.empty_like(r)
    cx, cy = r[:, 0] + a[:, 0], r[:, 1] + a[:, 1]
    w, h = r[:, 2], r[:, 3]
    out[:, 0], out[:, 1], out[:, 2], out[:, 3] = cx - w / 2, cy - h / 2, w, h
    out[:, 4::2] = r[:, 4::2] + a[:, :1]
    out[:, 5::2] = r[:, 5::2] + a[:, 1:2]
    return out, scores


def weighted_nms(
    boxes: np.ndarray, scores: np.ndarray, iou_threshold: float
) -> list[tuple[np.ndarray, float]]:
    """MediaPipe's "WEIGHTED" non-maximum suppression: each output is the score-weighted mean
    (box and keypoints) of the best remaining detection and all that overlap it by more than
    `iou_threshold`; its score is the best one. Best first."""
    order = np.argsort(-scores, kind="stable")
    boxes, scores = boxes[order], scores[order]
    out: list[tuple[np.ndarray, float]] = []
    remaining = np.arange(len(scores))
    while remaining.size:
        best = remaining[0]
        overlap = iou_many(boxes[best], boxes[remaining]) > iou_threshold
        overlap[0] = True
        group = remaining[overlap]
        weights = scores[group][:, None]
        merged = (boxes[group] * weights).sum(axis=0) / weights.sum()
        out.append((merged, float(scores[best])))
        remaining = remaining[~overlap]
    return out


class FaceDetector:
    """A loaded BlazeFace model. Use `FaceDetector.load()`; `detect(image)` is thread-safe."""

    def __init__(
        self, *, spec: DetectorSpec, path: Path, interpreter: Any, backend: backends.Backend
    ) -> None:
        self.spec = spec
        self.path = path
        self.backend = backend.name
        self.backend_version = backend.version
        self._interpreter = interpreter
        self._anchors = spec.anchors()
        self._lock = threading.Lock()
        self._input_index = interpreter.get_input_details()[0]["index"]
        outputs = interpreter.get_output_details()
        # Output order differs between the two models: tell them apart by their last dimension.
        by_width = {int(d["shape"][-1]): d["index"] for d in outputs}
        self._boxes_index, self._scores_index = by_width[16], by_width[1]

    @classmethod
    def load(
        cls,
        name: str = "short",
        *,
        path: str | os.PathLike[str] | None = None,
        threads: int | None = None,
        backend: str = "auto",
        use_xnnpack: bool = True,
        quiet: bool = False,
    ) -> FaceDetector:
        """Open the bundled detector `name` ("short" or "full"), or `path` with that layout.

        The bundled files are checked against their pinned sha256, so a corrupted install is one
        clear error instead of boxes in the wrong places.
        """
        if name not in DETECTORS:
            choices = ", ".join(DETECTORS)
            raise ModelError(f"unknown face detector {name!r}; choose one of {choices}")
        spec = DETECTORS[name]
        model_path = Path(path) if path is not None else bundled.detector_path(spec)
        chosen = backends.resolve(backend)
        interpreter = chosen.open(
            model_path, threads=threads, use_xnnpack=use_xnnpack, quiet=quiet, what="detector"
        )
        shape = tuple(int(d) for d in interpreter.get_input_details()[0]["shape"])
        widths = sorted(int(d["shape"][-1]) for d in interpreter.get_output_details())
        if shape != (1, spec.input_size, spec.input_size, 3) or widths != [1, 16]:
            raise ModelError(
                f"{model_path}: not a BlazeFace {spec.name}-range model (input {shape}, "
                f"outputs of width {widths})"
            )
        return cls(spec=spec, path=model_path, interpreter=interpreter, backend=chosen)

    @property
    def name(self) -> str:
        return f"blazeface-{self.spec.name}-range"

    @property
    def members(self) -> dict[str, FaceDetector]:
        """The single-model detectors this detector runs, by variant (itself; see fusion)."""
        return {self.spec.name: self}

    def detect(self, image: Image.Image, min_score: float | None = None) -> list[Detection]:
        """Faces in `image` (any Pillow mode; converted to RGB), best score first, scoring at
        least `min_score` (default: the variant's own threshold, MediaPipe's)."""
        spec = self.spec
        if min_score is not None:
            spec = replace(spec, min_score=min_score)
        tensor, box = letterbox(image, spec.input_size, spec.reduce_to)
        with self._lock:
            self._interpreter.set_tensor(self._input_index, tensor)
            self._interpreter.invoke()
            raw_boxes = self._interpreter.get_tensor(self._boxes_index)
            raw_scores = self._interpreter.get_tensor(self._scores_index)
        boxes, scores = decode(raw_boxes, raw_scores, self._anchors, spec)
        size = np.float32(spec.input_size)
        found = []
        for merged, score in weighted_nms(boxes, scores, spec.iou_threshold):
            xs = (merged[0::2][[0, *range(2, 8)]] * size - box.pad_x) / box.scale
            ys = (merged[1::2][[0, *range(2, 8)]] * size - box.pad_y) / box.scale
            w, h = merged[2] * size / box.scale, merged[3] * size / box.scale
            points = tuple((float(x), float(y)) for x, y in zip(xs[1:], ys[1:], strict=True))
            box_xywh = (float(xs[0]), float(ys[0]), float(w), float(h))
            found.append(Detection(box_xywh, score, points, spec.name))
        return found
