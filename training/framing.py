"""Face framing on the workstation: measure it for a run, and crop whole photos for `--detect`.

Two jobs, one module, so each has exactly one definition:

* `measure_framings` runs both BlazeFace detectors over a deterministic sample of a run's train
  split (the pixels the model trained on) and returns the `crop` section that `config.json` and
  every exported model carry. `edge-emotion train` records it; `edge-emotion export` calls the same
  function for older runs whose config has none, on the same sample, so both give the same answer.
* `TrainingCrop` is how a `--detect` run turns a whole photo into a training image: detect with
  the named detector, keep the largest face, cut it with the runtime's `crop.crop_face` and the
  recorded `Framing`. The dataset loader applies it for train, evaluate, export and benchmark
  alike, and the device (`PhotoClassifier`) crops with the same function and framing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image

from edge_emotion.errors import UsageError
from edge_emotion_runtime.crop import FER_FRAMINGS, Framing, crop_metadata, face_pixels
from edge_emotion_runtime.detector import DETECTORS, Detection, FaceDetector
from edge_emotion_runtime.preprocess import PreprocessSpec, to_rgb

# Framing is a median: 500 images pin it to a few thousandths at ~2-6 ms per image and detector.
MEASURE_LIMIT = 500
MEASURE_SEED = 0
MEASURE_SPLIT = "train"
DETECTOR_NAMES: tuple[str, ...] = tuple(DETECTORS)  # ("short", "full")
MULTIPLE_FACES = "largest"


@lru_cache(maxsize=len(DETECTORS))
def load_detector(name: str) -> FaceDetector:
    """The bundled detector `name`, loaded once per process (thread-safe `detect`)."""
    if name not in DETECTORS:
        raise UsageError(f"unknown face detector {name!r}; choose one of {', '.join(DETECTORS)}")
    return FaceDetector.load(name, quiet=True)


def largest_face(detections: Sequence[Detection]) -> Detection | None:
    """The detection with the largest box: the subject of a training photo with several faces."""
    if not detections:
        return None
    return max(detections, key=lambda d: d.box[2] * d.box[3])


@dataclass(frozen=True)
class TrainingCrop:
    """How a `--detect` run makes a training image of a whole photo (recorded in its config)."""

    detector: str = "short"
    framing: Framing = field(default_factory=lambda: FER_FRAMINGS["short"])

    def __post_init__(self) -> None:
        if self.detector not in DETECTORS:
            raise UsageError(
                f"unknown face detector {self.detector!r}; choose one of {', '.join(DETECTORS)}"
            )
        if self.framing.detector != self.detector:
            raise UsageError(
                f"a {self.framing.detector}-range framing cannot crop {self.detector}-range boxes"
            )

    @classmethod
    def for_detector(cls, name: str) -> TrainingCrop:
        """FER-2013's framing for `name`, so whole-photo runs frame faces like FER-trained ones."""
        if name not in FER_FRAMINGS:
            raise UsageError(
                f"unknown face detector {name!r}; choose one of {', '.join(FER_FRAMINGS)}"
            )
        return cls(detector=name, framing=FER_FRAMINGS[name])

    def to_dict(self) -> dict[str, Any]:
        return {
            "detector": self.detector,
            "framing": self.framing.to_dict(),
            "multiple_faces": MULTIPLE_FACES,
            "crop": "edge_emotion_runtime.crop.crop_face",
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainingCrop:
        try:
            return cls(detector=str(data["detector"]), framing=Framing.from_dict(data["framing"]))
        except (KeyError, TypeError, ValueError) as err:
            raise UsageError(f"malformed training crop settings ({err})") from None

    def crop(self, image: Image.Image, spec: PreprocessSpec, name: str) -> np.ndarray | None:
        """Pixels of the largest face of a decoded photo, or None when no face is found.

        The same steps as `PhotoClassifier` on the device: RGB (alpha onto the model's
        background), detect, `crop_face` with the framing, then the model's `image_to_pixels`.
        """
        rgb = to_rgb(image, spec.alpha_background, name)
        face = largest_face(load_detector(self.detector).detect(rgb))
        if face is None:
            return None
        return face_pixels(rgb, face, self.framing, spec, name)


def training_crop(config: Mapping[str, Any]) -> TrainingCrop | None:
    """The `--detect` crop of a run's config, or None for a run trained on its images whole."""
    section = config.get("crop") or {}
    settings = section.get("training_crop") if isinstance(section, Mapping) else None
    return TrainingCrop.from_dict(settings) if settings else None


@dataclass(frozen=True)
class FramingReport:
    """The outcome of measuring: framings found, and how many images each detector found."""

    framings: tuple[Framing, ...]
    found: dict[str, int]
    measured: int  # images in the sample
    available: int  # images in the split
    training_crop: TrainingCrop | None = None

    def notes(self) -> list[str]:
        """One line per detector whose framing could not be measured (absent from the section)."""
        have = {f.detector for f in self.framings}
        return [
            f"face framing for the {name}-range detector not recorded: it found a face in "
            f"{self.found.get(name, 0)} of {self.measured} training images (needs half)"
            for name in DETECTOR_NAMES
            if name not in have
        ]

    def section(self, recorded_by: str = "edge-emotion train") -> dict[str, Any]:
        """The `crop` section of config.json and of the exported metadata."""
        extra: dict[str, Any] = {
            "recorded_by": recorded_by,
            "measured_on": {
                "split": MEASURE_SPLIT,
                "images": self.measured,
                "of": self.available,
                "sample_seed": MEASURE_SEED,
                "found": dict(self.found),
            },
        }
        if self.training_crop is not None:
            extra["training_crop"] = self.training_crop.to_dict()
        return crop_metadata(self.framings, **extra)


def sample_indices(n: int, limit: int = MEASURE_LIMIT, seed: int = MEASURE_SEED) -> np.ndarray:
    """Which of the n train images (manifest order) are measured: the same for train and export."""
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, limit, replace=False))


def _image(pixels: np.ndarray) -> Image.Image:
    return Image.fromarray(pixels[:, :, 0] if pixels.shape[-1] == 1 else pixels)


def measure_framings(
    pixels: np.ndarray,
    training: TrainingCrop | None = None,
    *,
    limit: int = MEASURE_LIMIT,
    seed: int = MEASURE_SEED,
) -> FramingReport:
    """Framing of each detector on a sample of train-split pixels (uint8 N,H,W,C, manifest order).

    Measured on the pixels the model trained on, so it is the framing the model saw. For a
    `--detect` run its own detector's framing is the one it cropped with, by definition; the
    other detector is measured on those crops.
    """
    from edge_emotion_runtime.crop import measure

    chosen = sample_indices(len(pixels), limit, seed)
    images = [_image(pixels[i]) for i in chosen]
    framings: list[Framing] = []
    found: dict[str, int] = {}
    for name in DETECTOR_NAMES:
        framing, hits, _ = measure(images, load_detector(name).detect, name)
        found[name] = hits
        if training is not None and name == training.detector:
            framing = training.framing
        if framing is not None:
            framings.append(framing)
    return FramingReport(
        framings=tuple(framings),
        found=found,
        measured=len(images),
        available=len(pixels),
        training_crop=training,
    )
