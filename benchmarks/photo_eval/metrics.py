"""Scores of a set of `PhotoRecord`s: accuracy on covered photos, coverage, recall, confusion.

Definitions (the README's "Measure on your own photos" uses the same words):
- a photo is *covered* when its primary (largest) face got one of the model's labels;
- *accuracy* is correct / covered, *coverage* is covered / photos (readable photos only);
- a primary face labelled anything else (`uncertain`) is counted apart, neither right nor wrong;
- photos whose class folder is not a model label (e.g. `neutral/`) are never scored, only tallied.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from edge_emotion.benchmarks.photo_eval.run import STAGES, PhotoRecord

NO_FACE = "no face"
UNCERTAIN = "uncertain"
# (name, lowest, highest or None) of each bucket; face size is the primary box's longer side.
FACE_COUNT_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0", 0, 0),
    ("1", 1, 1),
    ("2-3", 2, 3),
    ("4+", 4, None),
)
FACE_SIZE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("<48", 0, 47),
    ("48-95", 48, 95),
    ("96-191", 96, 191),
    (">=192", 192, None),
)
CONFIDENCES: tuple[float, ...] = (0.6, 0.7, 0.8, 0.9)


@dataclass(frozen=True)
class Score:
    """Counts over some photos of the scored classes."""

    labels: tuple[str, ...]
    photos: int
    found: int  # a face was reported (any label)
    uncertain: int  # primary face labelled outside `labels`
    covered: int
    correct: int
    confusion: dict[str, dict[str, int]]  # truth -> predicted (labels, others, "no face")

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.covered if self.covered else None

    @property
    def coverage(self) -> float | None:
        return self.covered / self.photos if self.photos else None

    def recall(self, label: str) -> tuple[int, int]:
        """(correct, covered) among photos whose truth is `label`."""
        row = self.confusion.get(label, {})
        return row.get(label, 0), sum(row.get(p, 0) for p in self.labels)

    def to_dict(self) -> dict[str, Any]:
        recall = {}
        for label in self.labels:
            correct, covered = self.recall(label)
            photos = sum(self.confusion.get(label, {}).values())
            recall[label] = {
                "photos": photos,
                "covered": covered,
                "correct": correct,
                "recall": _ratio(correct, covered),
                "coverage": _ratio(covered, photos),
            }
        return {
            "photos": self.photos,
            "found": self.found,
            "uncertain": self.uncertain,
            "covered": self.covered,
            "correct": self.correct,
            "accuracy": _ratio(self.correct, self.covered),
            "coverage": _ratio(self.covered, self.photos),
            "recall": recall,
            "confusion": self.confusion,
        }


def score(records: Iterable[PhotoRecord], labels: Sequence[str]) -> Score:
    """Score the records whose truth is one of `labels` (the others are ignored)."""
    labels = tuple(labels)
    rows = [r for r in records if r.truth in labels]
    columns = [*labels, *sorted({r.predicted for r in rows if r.predicted} - set(labels))]
    confusion = {t: dict.fromkeys([*columns, NO_FACE], 0) for t in labels}
    for r in rows:
        confusion[r.truth][r.predicted or NO_FACE] += 1
    covered = [r for r in rows if r.predicted in labels]
    found = sum(r.predicted is not None for r in rows)
    return Score(
        labels=labels,
        photos=len(rows),
        found=found,
        uncertain=found - len(covered),
        covered=len(covered),
        correct=sum(r.predicted == r.truth for r in covered),
        confusion=confusion,
    )


def bucket(value: int, buckets: Sequence[tuple[str, int, int | None]]) -> str:
    for name, low, high in buckets:
        if value >= low and (high is None or value <= high):
            return name
    raise ValueError(f"{value} is in no bucket")


def by_face_count(records: Sequence[PhotoRecord], labels: Sequence[str]) -> dict[str, Score]:
    return {
        name: score([r for r in records if bucket(r.n_faces, FACE_COUNT_BUCKETS) == name], labels)
        for name, _, _ in FACE_COUNT_BUCKETS
    }


def by_face_size(records: Sequence[PhotoRecord], labels: Sequence[str]) -> dict[str, Score]:
    """Photos with a face, by the primary box's longer side (px of the original photo)."""
    sized = [r for r in records if r.face_side is not None]
    return {
        name: score([r for r in sized if bucket(r.face_side, FACE_SIZE_BUCKETS) == name], labels)
        for name, _, _ in FACE_SIZE_BUCKETS
    }


def decision(record: PhotoRecord, labels: Sequence[str]) -> tuple[str, float] | None:
    """(label, its probability) the model leaned to, also for a face it called uncertain."""
    if record.predicted in labels and record.probability is not None:
        return record.predicted, record.probability
    if record.p_happy is None or "happy" not in labels or len(labels) != 2:
        return None
    other = next(label for label in labels if label != "happy")
    p = record.p_happy
    return ("happy", p) if p >= 0.5 else (other, 1.0 - p)


def confidence_sweep(
    records: Sequence[PhotoRecord], labels: Sequence[str], floors: Sequence[float] = CONFIDENCES
) -> list[dict[str, Any]]:
    """Accuracy and coverage if faces below each probability floor P were called uncertain,
    computed from the recorded probabilities (no re-run)."""
    rows = [r for r in records if r.truth in labels]
    decided = [(r, decision(r, labels)) for r in rows]
    sweep = []
    for floor in floors:
        kept = [(r, d) for r, d in decided if d is not None and d[1] >= floor]
        correct = sum(d[0] == r.truth for r, d in kept)
        sweep.append(
            {
                "min_confidence": floor,
                "covered": len(kept),
                "correct": correct,
                "accuracy": _ratio(correct, len(kept)),
                "coverage": _ratio(len(kept), len(rows)),
            }
        )
    return sweep


def other_folders(records: Sequence[PhotoRecord], labels: Sequence[str]) -> dict[str, Any]:
    """What the pipeline said on folders that are not model labels (never scored)."""
    tallies: dict[str, Counter[str]] = {}
    for r in records:
        if r.truth not in labels:
            tallies.setdefault(r.truth, Counter())[r.predicted or NO_FACE] += 1
    return {
        name: {"photos": sum(c.values()), "predicted": dict(sorted(c.items()))}
        for name, c in sorted(tallies.items())
    }


def timing(records: Sequence[PhotoRecord], seconds: float) -> dict[str, Any]:
    """Per-stage medians and 90th percentiles (ms per photo) and the wall-clock rate."""
    out: dict[str, Any] = {"median": {}, "p90": {}}
    for stage in STAGES:
        values = sorted(r.ms[stage] for r in records)
        out["median"][stage] = round(statistics.median(values), 3) if values else None
        out["p90"][stage] = round(values[int(0.9 * (len(values) - 1))], 3) if values else None
    out["wall_s"] = round(seconds, 3)
    out["photos_per_s"] = round(len(records) / seconds, 2) if seconds > 0 else None
    return out


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 6) if den else None
