"""Track ids that persist while a face moves: greedy IoU matching with a nearness fallback."""

from __future__ import annotations

import math
from collections.abc import Sequence

from edge_emotion_runtime.boxes import Box, centre, iou, iou_many

__all__ = ["Box", "IouTracker", "iou"]


class IouTracker:
    """Gives each face a track id that persists across frames.

    Greedy matching, best first: a face takes the live track it overlaps most (IoU >= `min_iou`);
    failing that, a track whose last box is close (centres within half a face size, sizes within
    2x), which keeps an id when a face moves fast or `every` skips frames. Unmatched faces start
    new tracks (ids count up from 1 and are never reused); a track unseen for more than
    `max_missed` processed frames ends. Enough for a door, a kiosk or a desk: not a re-identifier.
    """

    def __init__(self, min_iou: float = 0.3, max_missed: int = 10) -> None:
        self.min_iou = min_iou
        self.max_missed = max_missed
        self._boxes: dict[int, Box] = {}
        self._missed: dict[int, int] = {}
        self._next_id = 1

    @property
    def live_ids(self) -> tuple[int, ...]:
        return tuple(self._boxes)

    def update(self, boxes: Sequence[Box]) -> list[int]:
        """Track ids for this frame's `boxes`, in their order."""
        import numpy as np  # on first use: `edge-emotion-video --help` does not load it

        candidates: list[tuple[tuple[int, float], int, int]] = []
        found = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        for t, tbox in self._boxes.items():
            overlaps = iou_many(np.asarray(tbox, dtype=np.float64), found)
            for d, dbox in enumerate(boxes):
                overlap = float(overlaps[d])
                if overlap >= self.min_iou:
                    candidates.append(((0, -overlap), t, d))
                elif _near(tbox, dbox):
                    candidates.append(((1, _distance(tbox, dbox)), t, d))
        candidates.sort()
        ids: list[int | None] = [None] * len(boxes)
        taken: set[int] = set()
        for _, t, d in candidates:
            if t in taken or ids[d] is not None:
                continue
            ids[d] = t
            taken.add(t)
        for d, box in enumerate(boxes):
            if ids[d] is None:
                ids[d] = self._next_id
                self._next_id += 1
            self._boxes[ids[d]] = box  # type: ignore[index]
            self._missed[ids[d]] = 0  # type: ignore[index]
        for t in list(self._boxes):
            if t not in taken and t not in ids:
                self._missed[t] += 1
                if self._missed[t] > self.max_missed:
                    del self._boxes[t], self._missed[t]
        return [i for i in ids if i is not None]


def _distance(a: Sequence[float], b: Sequence[float]) -> float:
    """Centre distance in units of the mean face size."""
    (ax, ay), (bx, by) = centre(a), centre(b)
    size = max(1.0, (max(a[2], a[3]) + max(b[2], b[3])) / 2)
    return math.hypot(ax - bx, ay - by) / size


def _near(a: Sequence[float], b: Sequence[float]) -> bool:
    area_a, area_b = max(1.0, a[2] * a[3]), max(1.0, b[2] * b[3])
    return _distance(a, b) < 0.5 and 0.25 <= area_a / area_b <= 4.0
