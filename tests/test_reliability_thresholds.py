"""Exact values at and around each threshold a one-character change could move unnoticed (issue
23's planted bugs): the `--detect auto` fill rule and its 128 px side, the framing offset's sign
and unit, the NMS overlap, the export `--max-drop` gate, the 70/15/15 split's rounding, face
order, the 16-bit mapping. Each runs on a fresh clone (committed fixtures only, no ../shared)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edge_emotion_runtime.boxes import iou_many as _iou
from edge_emotion_runtime.crop import (
    CROP_MAX_SIDE,
    CROP_MIN_FILL,
    SMALL_CROP_MIN_FILL,
    SMALL_CROP_MIN_SCORE,
    Framing,
    crop_box,
    is_face_crop,
)
from edge_emotion_runtime.detector import DETECTORS, Detection, weighted_nms

PHOTOS = Path(__file__).parent / "fixtures" / "photos"
KEYPOINTS = tuple((0.0, 0.0) for _ in range(6))


def _det(x: float, y: float, w: float, h: float, score: float = 0.9) -> Detection:
    return Detection(box=(x, y, w, h), score=score, keypoints=KEYPOINTS)


# ---------------------------------------------------- --detect auto (crop.is_face_crop)
def test_auto_rule_constants() -> None:
    assert (CROP_MIN_FILL, CROP_MAX_SIDE) == (0.6, 128)
    assert (SMALL_CROP_MIN_SCORE, SMALL_CROP_MIN_FILL) == (0.2, 0.5)


@pytest.mark.parametrize(
    ("size", "side", "expected"),
    [
        ((128, 128), 64, True),  # the best face fills exactly half the long side
        ((128, 128), 63.99, False),
        ((128, 40), 64, True),  # measured against the long side
        ((40, 128), 64, True),
        ((128, 40), 63.99, False),
        ((129, 128), 64, False),  # past 128 px the fill rule of larger images applies
        ((128, 129), 64, False),
    ],
)
def test_an_image_up_to_128_px_is_a_crop_when_its_best_face_fills_half_of_it(
    size: tuple[int, int], side: float, expected: bool
) -> None:
    assert is_face_crop(size, [_det(0, 0, side, side)]) is expected
    assert is_face_crop(size, []) is False  # no face found: never a crop


def test_only_the_best_face_of_a_small_image_counts() -> None:
    assert is_face_crop((100, 100), [_det(0, 0, 60, 60), _det(0, 0, 10, 10)])
    assert not is_face_crop((100, 100), [_det(0, 0, 10, 10), _det(0, 0, 60, 60)])


@pytest.mark.parametrize(
    ("w", "h", "expected"),
    [
        (120, 120, True),
        (119.99, 120, False),
        (120, 119.99, False),
        (200, 200, True),
        (119, 200, False),
    ],
)
def test_one_face_filling_at_least_0_6_of_both_sides_makes_a_crop(
    w: float, h: float, expected: bool
) -> None:
    # 200x200 image: 0.6 of each side is exactly 120 px.
    assert is_face_crop((200, 200), [_det(0, 0, w, h)]) is expected


def test_fill_is_measured_in_the_image_the_boxes_are_in_and_needs_exactly_one_face() -> None:
    # The file is 1000 px, the boxes come from a 500 px working copy: 300 px = 0.6 of it.
    assert is_face_crop((1000, 1000), [_det(0, 0, 300, 300)], detected_in=(500, 500))
    assert not is_face_crop((1000, 1000), [_det(0, 0, 299, 300)], detected_in=(500, 500))
    assert not is_face_crop((1000, 1000), [_det(0, 0, 300, 300)])  # 0.3 of the file itself
    assert not is_face_crop((200, 200), [_det(0, 0, 150, 150), _det(0, 0, 150, 150)])


# ------------------------------------------------------------------ framing (crop.crop_box)
def test_crop_side_is_the_larger_box_side_over_face_fraction() -> None:
    assert crop_box(_det(100, 100, 50, 40), Framing("short", 0.5)) == (75, 70, 175, 170)


def test_framing_offset_is_in_crop_sides_and_moves_the_crop_against_its_sign() -> None:
    # side 100; centre (125, 125) - (0.1, -0.2) * 100 = (115, 145).
    framing = Framing("short", 0.5, offset_x=0.1, offset_y=-0.2)
    assert crop_box(_det(100, 100, 50, 50), framing) == (65, 95, 165, 195)
    # A face below the crop centre in training (offset_y > 0) puts the crop higher.
    down = Framing("short", 0.5, offset_y=0.069)
    assert crop_box(_det(100, 100, 50, 50), down)[1] == round(125 - 6.9 - 50)


# ------------------------------------------------------------------ NMS (detector.weighted_nms)
def test_iou_of_known_boxes() -> None:
    box = np.array([0.0, 0.0, 10.0, 10.0])
    others = np.array([[5.0, 0.0, 10.0, 10.0], [6.0, 0.0, 10.0, 10.0], [20.0, 0, 5, 5]])
    assert _iou(box, others) == pytest.approx([1 / 3, 0.25, 0.0])


def test_both_detectors_merge_above_0_3_overlap() -> None:
    assert {spec.iou_threshold for spec in DETECTORS.values()} == {0.3}


def test_nms_merges_only_strictly_above_the_threshold_weighted_by_score() -> None:
    boxes = np.array([[0.0, 0.0, 10.0, 10.0], [5.0, 0.0, 10.0, 10.0]])
    scores = np.array([0.6, 0.9])
    iou = float(_iou(boxes[0], boxes[1:])[0])
    (merged, score), *rest = weighted_nms(boxes, scores, iou - 1e-9)
    assert rest == [] and score == pytest.approx(0.9)
    assert merged == pytest.approx([(5 * 0.9) / 1.5, 0, 10, 10])  # the score-weighted mean
    kept = weighted_nms(boxes, scores, iou)  # equal overlap: not merged
    assert [s for _, s in kept] == pytest.approx([0.9, 0.6])  # best first
    assert kept[0][0] == pytest.approx(boxes[1])


def test_nms_at_the_detectors_threshold() -> None:
    boxes = np.array([[0.0, 0.0, 10.0, 10.0], [5.0, 0.0, 10.0, 10.0], [6.0, 0.0, 10.0, 10.0]])
    # 1/3 > 0.3 merges the second box into the first; the third overlaps the first by 0.25.
    out = weighted_nms(boxes[:2], np.array([0.9, 0.8]), 0.3)
    assert len(out) == 1
    out = weighted_nms(boxes[[0, 2]], np.array([0.9, 0.8]), 0.3)
    assert len(out) == 2


# ------------------------------------------------------------------ faces: largest first (photo)
def test_faces_come_largest_first_not_best_scored_first() -> None:
    from PIL import ImageEnhance, ImageFilter

    from edge_emotion_runtime.photo import PhotoClassifier

    # A sharp 260 px paste and a blurred, flat 380 px one: the detector scores the smaller face
    # higher (0.85 against 0.56 here), so only a sort by box area puts the big one first.
    face = Image.open(PHOTOS / "astronaut-face-260.jpg").convert("RGB")
    big = face.resize((380, 380)).filter(ImageFilter.GaussianBlur(8))
    big = ImageEnhance.Contrast(big).enhance(0.5)
    canvas = Image.new("RGB", (720, 400), (90, 110, 130))
    canvas.paste(face.resize((260, 260)), (10, 70))
    canvas.paste(big, (330, 10))
    faces = PhotoClassifier.load(threads=1).analyze(canvas, detect="always").faces
    assert len(faces) == 2
    first, second = faces
    assert first.box[2] * first.box[3] > second.box[2] * second.box[3]
    assert first.box[0] > 330 and first.score < second.score  # the premise: score order differs


# ------------------------------------------------------------------ 16-bit images (preprocess)
def test_16_bit_levels_map_to_the_nearest_8_bit_level_for_all_65536_values() -> None:
    from edge_emotion_runtime.preprocess import _to_8bit

    values = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    image = Image.frombytes("I;16", (256, 256), values.astype("<u2").tobytes())
    out = np.asarray(_to_8bit(image))
    expected = np.floor(values.astype(np.float64) / 257 + 0.5).astype(np.uint8)
    assert np.array_equal(out, expected)
    # The edges of level 1: 128 -> 0, 129 -> 1, 385 -> 1, 386 -> 2; 65535 -> 255.
    assert [out.flat[v] for v in (0, 128, 129, 385, 386, 65535)] == [0, 0, 1, 1, 2, 255]


# ------------------------------------------------------------------ export --max-drop gate
def _comparison(drop_points: float):  # type: ignore[no-untyped-def]
    from edge_emotion.export.types import SplitComparison

    keras = 0.9
    return SplitComparison(
        split="test",
        n=1000,
        keras={"accuracy": keras},
        model={"accuracy": keras - drop_points / 100},
        agreement=0.95,
        mean_abs_diff=0.01,
        max_abs_diff=0.1,
        accuracy_drop_points=drop_points,
        predicted_classes=[0, 1],
        keras_predicted_classes=[0, 1],
    )


def test_default_max_drop_is_one_point() -> None:
    from edge_emotion.export.types import DEFAULT_MAX_DROP

    assert DEFAULT_MAX_DROP == 1.0


@pytest.mark.parametrize(
    ("drop", "max_drop", "passes"),
    [
        (1.0, 1.0, True),
        (1.01, 1.0, False),
        (0.99, 1.0, True),
        (-2.0, 1.0, True),
        (0.0, 0.0, True),
        (0.01, 0.0, False),
        (5.0, 1.0, False),
        (6.0, 5.0, False),
    ],
)
def test_the_gate_fails_a_model_only_strictly_beyond_max_drop(
    drop: float, max_drop: float, passes: bool
) -> None:
    from edge_emotion.export.types import Status
    from edge_emotion.export.validate import judge

    status, reasons, _ = judge([_comparison(drop)], max_drop, ("happy", "sad"))
    assert (status == Status.PASSED) is passes, reasons
    assert bool(reasons) is not passes


# ------------------------------------------------------------------ 70/15/15 split rounding
@pytest.mark.parametrize(
    ("n", "val_test"),
    [
        (1, (0, 0)),
        (2, (0, 0)),
        (3, (1, 1)),
        (5, (1, 1)),
        (7, (1, 1)),
        (10, (2, 2)),
        (17, (3, 3)),
        (20, (3, 3)),
        (30, (4, 4)),
        (100, (15, 15)),
        (101, (15, 15)),
    ],
)
def test_split_counts_round_half_to_even_with_one_each_from_3_groups(
    n: int, val_test: tuple[int, int]
) -> None:
    from edge_emotion.training.split import FRACTIONS, _counts

    assert FRACTIONS == {"train": 0.70, "val": 0.15, "test": 0.15}
    assert _counts(n, FRACTIONS["val"], FRACTIONS["test"]) == val_test


@pytest.mark.parametrize(("n", "val"), [(2, 0), (3, 1), (10, 2), (30, 4), (100, 15)])
def test_split_with_a_given_test_set_rounds_the_validation_share_alone(n: int, val: int) -> None:
    from edge_emotion.training.split import VAL_FRACTION_WITH_TEST, _counts

    assert _counts(n, VAL_FRACTION_WITH_TEST, 0.0) == (val, 0)


# ------------------------------------------------------------------ labels: the decision rule
def test_decide_is_strictly_above_the_threshold() -> None:
    from edge_emotion_runtime.labels import decide

    assert decide(0.5) == ("happy", 0.5)  # exactly 0.5: the other label, as the seed had it
    assert decide(0.5000001)[0] == "sad"
    assert decide(0.7, threshold=0.7)[0] == "happy" and decide(0.71, threshold=0.7)[0] == "sad"
    assert decide(0.9, ("a", "b"), 0.5, 0) == ("a", 0.9)


@pytest.mark.parametrize(
    ("labels", "positive_index", "expected"),
    [
        (("happy", "sad"), 1, 0.2),
        (("happy", "sad"), 0, 0.8),
        (("sad", "happy"), 1, 0.8),
        (("a", "b"), 0, 0.2),
        (("happy", "sad"), 0, 0.8),
    ],
)
def test_p_happy_is_p_positive_only_when_the_positive_label_is_happy(
    labels: tuple[str, str], positive_index: int, expected: float
) -> None:
    from edge_emotion_runtime.labels import p_happy_from_positive, positive_from_p_happy

    # Labels built at run time, as parsed from metadata (not the interned literal "happy").
    labels = tuple("".join(list(name)) for name in labels)
    assert p_happy_from_positive(0.8, labels, positive_index) == pytest.approx(expected)
    assert positive_from_p_happy(expected, labels, positive_index) == pytest.approx(0.8)
