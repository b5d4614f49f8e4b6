"""Both BlazeFace variants on one photo, fused: faces from selfie size down to small, far faces.

The short-range model misses faces under ~20% of the frame (a 65 px face at webcam distance is
found in 5 of 50 frames); the full-range model finds those, and its boxes classified better on
real photos, but it misses some large, close faces. Fused, each face is reported once:

- a full-range box counts when it scores at least `primary_min_score`, or at least
  `confirm_primary` while a short-range box on the same face (IoU > `match_iou`) scores at
  least `confirm_secondary`: two models agreeing is stronger evidence than either alone, and
  non-faces rarely fool both (textures, animals and drawn smileys fooled one at a time);
- a short-range box counts when it scores at least `secondary_min_score` and no counted
  full-range box covers the same face.

The thresholds were chosen on the wild dev photos and a stress set of non-face images (see the
runtime README, "How faces are found"); `FusionSpec` holds them as data, like `DetectorSpec`.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from edge_emotion_runtime.boxes import iou
from edge_emotion_runtime.detector import Detection, FaceDetector
from edge_emotion_runtime.vocab import FUSED_DETECTOR


@dataclass(frozen=True)
class FusionSpec:
    """How two detector variants are fused (names as in `detector.DETECTORS`)."""

    name: str
    primary: str
    secondary: str
    primary_min_score: float
    secondary_min_score: float
    confirm_primary: float
    confirm_secondary: float
    match_iou: float = 0.3

    def __post_init__(self) -> None:
        for field in ("primary_min_score", "secondary_min_score"):
            value = getattr(self, field)
            if not 0.0 < value < 1.0:
                raise ValueError(f"{field} must be in (0, 1), got {value!r}")
        if not 0.0 < self.confirm_primary <= self.primary_min_score:
            raise ValueError("confirm_primary must be in (0, primary_min_score]")
        if not 0.0 < self.confirm_secondary < 1.0:
            raise ValueError("confirm_secondary must be in (0, 1)")


FUSED = FusionSpec(
    name=FUSED_DETECTOR,
    primary="full",
    secondary="short",
    primary_min_score=0.6,
    secondary_min_score=0.6,
    confirm_primary=0.3,
    confirm_secondary=0.5,
)
FUSIONS: dict[str, FusionSpec] = {FUSED.name: FUSED}


def fuse(primary: list[Detection], secondary: list[Detection], spec: FusionSpec) -> list[Detection]:
    """The fused faces, best score first. `primary` must hold every box scoring at least
    `spec.confirm_primary`, `secondary` every box scoring at least `min(confirm_secondary,
    secondary_min_score)` (what `FusedDetector.detect` asks each model for)."""
    kept: list[Detection] = []
    for face in primary:
        if face.score >= spec.primary_min_score or any(
            other.score >= spec.confirm_secondary and iou(face.box, other.box) > spec.match_iou
            for other in secondary
        ):
            kept.append(face)
    extra = [
        face
        for face in secondary
        if face.score >= spec.secondary_min_score
        and not any(iou(face.box, other.box) > spec.match_iou for other in kept)
    ]
    return sorted(kept + extra, key=lambda d: -d.score)


class FusedDetector:
    """Two loaded `FaceDetector`s run on the same image and fused by a `FusionSpec`.

    Has the `FaceDetector` surface the pipeline uses (`detect`, `name`, `path`, `spec.name`,
    `members`); thread-safe as its members are."""

    def __init__(
        self,
        spec: FusionSpec,
        primary: FaceDetector,
        secondary: FaceDetector,
        *,
        concurrent: bool | None = None,
    ) -> None:
        self.spec = spec
        self.primary = primary
        self.secondary = secondary
        # The two models run at once, one on a helper thread (the interpreters release the GIL
        # while they invoke), where there is a second core to run it on.
        if concurrent is None:
            concurrent = (os.cpu_count() or 1) > 1
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="detector") if concurrent else None

    @property
    def name(self) -> str:
        return f"blazeface-{self.spec.name} ({self.primary.spec.name} + {self.secondary.spec.name})"

    @property
    def path(self) -> Path:
        return self.primary.path

    @property
    def members(self) -> dict[str, FaceDetector]:
        return {d.spec.name: d for d in (self.primary, self.secondary)}

    def detect(self, image: Image.Image, min_score: float | None = None) -> list[Detection]:
        """Faces in `image`, best score first; `min_score` drops fused faces below it."""
        spec = self.spec
        low = min(spec.confirm_secondary, spec.secondary_min_score)
        if self._pool is None:
            primary = self.primary.detect(image, spec.confirm_primary)
            secondary = self.secondary.detect(image, low)
        else:
            pending = self._pool.submit(self.secondary.detect, image, low)
            primary = self.primary.detect(image, spec.confirm_primary)
            secondary = pending.result()
        faces = fuse(primary, secondary, spec)
        if min_score is not None:
            faces = [f for f in faces if f.score >= min_score]
        return faces


def open_detector(
    name: str, *, quiet: bool = False, **options: object
) -> FaceDetector | FusedDetector:
    """The bundled detector `name`: a fusion ("fused") or one BlazeFace variant ("short",
    "full"); `options` (threads, backend, use_xnnpack) go to each `FaceDetector.load`."""
    spec = FUSIONS.get(name)
    if spec is None:
        return FaceDetector.load(name, quiet=quiet, **options)  # type: ignore[arg-type]
    primary = FaceDetector.load(spec.primary, quiet=quiet, **options)  # type: ignore[arg-type]
    secondary = FaceDetector.load(spec.secondary, quiet=quiet, **options)  # type: ignore[arg-type]
    return FusedDetector(spec, primary, secondary)
