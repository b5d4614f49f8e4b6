"""Box maths on (x, y, w, h) boxes, written once: the detector's non-maximum suppression and the
video tracker both measure overlap with `iou_many`, and a face's centre is `centre`.

numpy is imported on first use, not with the module: the video package imports the tracker, and
`edge-emotion-video --help` must not pay for numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

# (x, y, w, h) in whole pixels, as faces are reported.
Box = tuple[int, int, int, int]


def centre(box: Sequence[float]) -> tuple[float, float]:
    """The centre (x, y) of an (x, y, w, h) box."""
    return (box[0] + box[2] / 2, box[1] + box[3] / 2)


def iou_many(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Intersection over union of one (x, y, w, h) box with each row of `others` (N, >= 4);
    0 where the union is empty."""
    import numpy as np

    x0 = np.maximum(box[0], others[:, 0])
    y0 = np.maximum(box[1], others[:, 1])
    x1 = np.minimum(box[0] + box[2], others[:, 0] + others[:, 2])
    y1 = np.minimum(box[1] + box[3], others[:, 1] + others[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    union = box[2] * box[3] + others[:, 2] * others[:, 3] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (x, y, w, h) boxes; 0 where the union is empty. The
    same formula as `iou_many`, in plain Python: a pair of boxes costs ~0.5 us instead of the
    ~15 us of building arrays (the fused detector compares every pair of its two models' boxes)."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0
