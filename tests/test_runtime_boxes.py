"""The one box module: overlap and centre of (x, y, w, h) boxes, as NMS and the tracker use them."""

from __future__ import annotations

import numpy as np
import pytest

from edge_emotion_runtime.boxes import centre, iou, iou_many


def test_iou_of_known_boxes() -> None:
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 10, 10), (10, 0, 10, 10)) == 0.0  # touching edges do not overlap
    assert iou((0, 0, 0, 0), (0, 0, 0, 0)) == 0.0  # empty union


def test_iou_many_is_iou_per_row() -> None:
    others = np.array([[0, 0, 10, 10], [5, 5, 10, 10], [100, 100, 4, 4]], dtype=np.float32)
    box = np.array([2, 2, 10, 10], dtype=np.float32)
    got = iou_many(box, others)
    assert got == pytest.approx([iou(box, row) for row in others])
    assert got[2] == 0.0


def test_centre() -> None:
    assert centre((10, 20, 30, 40)) == (25.0, 40.0)
