"""Analyse every photo of a `PhotoSet` with a `PhotoClassifier`: one `PhotoRecord` each.

Photos are decoded on a thread pool a few ahead of the interpreters (Pillow's decoders release
the GIL), as `edge-emotion-run` does. A file that cannot be decoded or analysed is skipped with
its reason, never the end of the run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from edge_emotion.benchmarks.photo_eval.dataset import LabelledPhoto, PhotoSet

STAGES: tuple[str, ...] = ("decode", "detect", "classify", "total")


@dataclass(frozen=True)
class PhotoRecord:
    """What the pipeline said about one photo: its verdict (`PhotoResult.verdict`), and the
    primary (largest) face's box for the error sheet."""

    path: str
    truth: str
    predicted: str | None  # the photo's label (e.g. "uncertain"), None: no face
    probability: float | None  # of `predicted`
    p_happy: float | None
    n_faces: int
    box: tuple[int, int, int, int] | None  # primary face (x, y, w, h), original pixels
    face_p_happy: float | None  # the primary face's own P(happy) (differs with 2+ faces)
    score: float | None  # detector score of the primary face
    whole_image: bool
    width: int
    height: int
    ms: Mapping[str, float]

    @property
    def face_side(self) -> int | None:
        """The primary face box's longer side, in original pixels."""
        return max(self.box[2], self.box[3]) if self.box else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "truth": self.truth,
            "predicted": self.predicted,
            "probability": _round(self.probability),
            "p_happy": _round(self.p_happy),
            "n_faces": self.n_faces,
            "box": list(self.box) if self.box else None,
            "face_p_happy": _round(self.face_p_happy),
            "score": _round(self.score, 4),
            "whole_image": self.whole_image,
            "width": self.width,
            "height": self.height,
            "ms": {k: round(v, 3) for k, v in self.ms.items()},
        }


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


@dataclass(frozen=True)
class Evaluation:
    records: tuple[PhotoRecord, ...]
    skipped: tuple[Skipped, ...]
    seconds: float  # wall time of the whole pass


def evaluate(
    photos: Any,
    photo_set: PhotoSet,
    analyze: Mapping[str, Any],
    decode_threads: int = 2,
    progress: Callable[[int, int], None] | None = None,
) -> Evaluation:
    """Run `photos.analyze_image(image, path, **analyze)` on every photo of the set."""
    start = time.perf_counter()
    records: list[PhotoRecord] = []
    skipped: list[Skipped] = []
    total = len(photo_set.photos)
    for done, (item, decoded) in enumerate(
        photos.decode_ahead(photo_set.photos, lambda p: p.path, decode_threads), 1
    ):
        try:
            image, decode_ms = decoded.result()
            result = photos.analyze_image(image, str(item.path), decode_ms=decode_ms, **analyze)
        except Exception as err:  # any bad file (ImageError or a decoder's own): skip, count
            skipped.append(Skipped(item.name, _reason(err, item)))
            continue
        records.append(record(item, result))
        if progress is not None:
            progress(done, total)
    return Evaluation(tuple(records), tuple(skipped), time.perf_counter() - start)


def record(item: LabelledPhoto, result: Any) -> PhotoRecord:
    """A `PhotoResult` reduced to what the evaluation scores."""
    face = result.primary
    return PhotoRecord(
        path=item.name,
        truth=item.truth,
        predicted=result.label,
        probability=result.probability,
        p_happy=result.p_happy,
        n_faces=len(result.faces),
        box=tuple(face.box) if face else None,
        face_p_happy=face.p_happy if face else None,
        score=face.score if face else None,
        whole_image=result.whole_image,
        width=result.width,
        height=result.height,
        ms=result.timings.to_dict(),
    )


def _reason(err: Exception, item: LabelledPhoto) -> str:
    text = (str(err).strip().splitlines() or [type(err).__name__])[0]
    # Runtime errors already name the file; say what went wrong without repeating the path.
    prefix = f"{item.path}: "
    return text[len(prefix) :] if text.startswith(prefix) else f"{type(err).__name__}: {text}"


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)
