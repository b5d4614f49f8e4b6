"""BlazeFace on the device: anchors, decoding, weighted NMS, letterbox, pinned bundled files."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edge_emotion_runtime import bundled
from edge_emotion_runtime.detector import (
    FULL_RANGE,
    SHORT_RANGE,
    Detection,
    FaceDetector,
    decode,
    letterbox,
    weighted_nms,
)
from edge_emotion_runtime.errors import ModelError

FIXTURE_PHOTO = Path(__file__).parent / "fixtures" / "photos" / "astronaut-256.jpg"
SHARED_PHOTOS = Path(__file__).resolve().parents[1].parent / "shared" / "photos"
needs_shared = pytest.mark.skipif(
    not SHARED_PHOTOS.is_dir(), reason="../shared/photos is not beside the checkout"
)


@pytest.fixture(scope="module")
def short() -> FaceDetector:
    return FaceDetector.load("short", quiet=True)


def test_anchor_layouts_match_mediapipe_counts_and_order() -> None:
    short, full = SHORT_RANGE.anchors(), FULL_RANGE.anchors()
    assert short.shape == (896, 2) and full.shape == (2304, 2)
    # 16x16 grid, 2 anchors per cell first (row-major, y then x), then 8x8 with 6 per cell.
    np.testing.assert_allclose(short[0], short[1])
    np.testing.assert_allclose(short[0], [0.5 / 16, 0.5 / 16])
    np.testing.assert_allclose(short[2], [1.5 / 16, 0.5 / 16])
    np.testing.assert_allclose(short[512], [0.5 / 8, 0.5 / 8])
    np.testing.assert_allclose(short[512:518], np.repeat([[0.5 / 8, 0.5 / 8]], 6, axis=0))
    np.testing.assert_allclose(full[48], [0.5 / 48, 1.5 / 48])


def test_decode_keeps_only_scores_at_or_above_the_threshold_and_adds_anchor_centres() -> None:
    anchors = np.array([[0.25, 0.5], [0.75, 0.5]], np.float32)
    raw = np.zeros((2, 16), np.float32)
    raw[:, 2:4] = 32.0  # 32 px wide and high on a 128 input -> 0.25
    raw[0, 4] = 12.8  # first keypoint 0.1 right of the anchor
    scores = np.array([2.0, -2.0], np.float32)  # sigmoid 0.88 and 0.12
    boxes, kept = decode(raw, scores, anchors, SHORT_RANGE)
    assert kept.shape == (1,) and kept[0] == pytest.approx(1 / (1 + np.exp(-2.0)))
    np.testing.assert_allclose(boxes[0, :4], [0.125, 0.375, 0.25, 0.25])
    np.testing.assert_allclose(boxes[0, 4:6], [0.35, 0.5])


def test_weighted_nms_averages_overlapping_boxes_by_score_and_keeps_separate_faces() -> None:
    boxes = np.zeros((3, 16), np.float32)
    boxes[0, :4] = [0.10, 0.10, 0.20, 0.20]
    boxes[1, :4] = [0.12, 0.10, 0.20, 0.20]  # IoU with the first ~0.82
    boxes[2, :4] = [0.60, 0.60, 0.20, 0.20]
    scores = np.array([0.9, 0.6, 0.7], np.float32)
    merged = weighted_nms(boxes, scores, 0.3)
    assert [score for _, score in merged] == pytest.approx([0.9, 0.7])
    assert merged[0][0][0] == pytest.approx((0.10 * 0.9 + 0.12 * 0.6) / 1.5)
    np.testing.assert_allclose(merged[1][0][:4], [0.60, 0.60, 0.20, 0.20])


def test_letterbox_keeps_aspect_and_pads_with_black() -> None:
    image = Image.new("RGB", (200, 100), (255, 255, 255))
    tensor, box = letterbox(image, 128)
    assert tensor.shape == (1, 128, 128, 3) and tensor.dtype == np.float32
    assert box.scale == pytest.approx(0.64) and (box.pad_x, box.pad_y) == (0, 32)
    assert tensor[0, 0, 0, 0] == -1.0 and tensor[0, 64, 64, 0] == pytest.approx(1.0)


def test_detector_finds_the_astronaut_face_with_eyes_inside_the_box(short: FaceDetector) -> None:
    (face,) = short.detect(Image.open(FIXTURE_PHOTO))
    x, y, w, h = face.box
    # Measured by hand on the 256 px fixture: the face spans about x 89-136, y 40-88.
    assert 80 <= x <= 97 and 32 <= y <= 48 and 40 <= w <= 56
    assert face.score > 0.8
    for px, py in face.keypoints[:4]:  # eyes, nose, mouth
        assert x <= px <= x + w and y <= py <= y + h


def test_boxes_come_back_in_source_pixels_through_the_letterbox(short: FaceDetector) -> None:
    photo = Image.open(FIXTURE_PHOTO).convert("RGB")
    (plain,) = short.detect(photo)
    # The face region pasted into a wide canvas: padded top and bottom, scaled differently.
    wide = Image.new("RGB", (230, 130), (0, 0, 0))
    wide.paste(photo.crop((75, 25, 150, 100)), (130, 40))
    (moved,) = short.detect(wide)
    # The same face, 55 px right and 15 px down; letterboxing at another scale costs a few
    # pixels of precision, not more.
    assert moved.box[0] == pytest.approx(plain.box[0] + 55, abs=4)
    assert moved.box[1] == pytest.approx(plain.box[1] + 15, abs=4)
    assert moved.box[2] == pytest.approx(plain.box[2], rel=0.12)


@needs_shared
@pytest.mark.parametrize("name", ["short", "full"])
def test_both_detectors_find_one_face_in_people_photos_and_none_in_the_cat(name: str) -> None:
    detector = FaceDetector.load(name, quiet=True)
    for photo, faces in (("astronaut.png", 1), ("camera.png", 1), ("chelsea.png", 0)):
        assert len(detector.detect(Image.open(SHARED_PHOTOS / photo))) == faces, photo


def test_grayscale_and_rgba_images_are_detected_like_rgb(short: FaceDetector) -> None:
    rgb = Image.open(FIXTURE_PHOTO).convert("RGB")
    for mode in ("L", "RGBA"):
        (face,) = short.detect(rgb.convert(mode))
        assert face.box[0] == pytest.approx(short.detect(rgb)[0].box[0], abs=4), mode


def test_bundled_detector_files_match_their_pins() -> None:
    for spec in (SHORT_RANGE, FULL_RANGE):
        assert bundled.detector_path(spec).name == spec.filename
    assert (bundled.MODELS_DIR / "LICENSE-mediapipe").is_file()
    assert "MediaPipe" in (bundled.MODELS_DIR / "NOTICE").read_text()


def test_a_tampered_bundled_file_is_refused_with_one_line(tmp_path: Path) -> None:
    copy = tmp_path / SHORT_RANGE.filename
    shutil.copy(bundled.MODELS_DIR / SHORT_RANGE.filename, copy)
    with copy.open("r+b") as fh:
        fh.seek(1000)
        fh.write(b"\x00\x01\x02")
    with pytest.raises(ModelError, match="does not match its pinned sha256") as err:
        bundled._verified(copy, SHORT_RANGE.sha256)
    assert "\n" not in str(err.value)


def test_a_non_blazeface_model_is_refused_as_a_detector() -> None:
    fixture = Path(__file__).parent / "fixtures" / "tiny_rgb_float32.tflite"
    with pytest.raises(ModelError, match="not a BlazeFace short-range model"):
        FaceDetector.load("short", path=fixture, quiet=True)


def test_unknown_detector_name_is_a_model_error() -> None:
    with pytest.raises(ModelError, match="unknown face detector 'medium'"):
        FaceDetector.load("medium")


def test_decode_reads_width_height_and_every_keypoint_coordinate_from_their_own_columns() -> None:
    anchors = np.array([[0.25, 0.75]], np.float32)
    raw = np.zeros((1, 16), np.float32)
    raw[0, :4] = [12.8, -6.4, 25.6, 51.2]  # centre offset (0.1, -0.05), w 0.2, h 0.4 of 128
    raw[0, 4:] = np.arange(1, 13, dtype=np.float32) * 1.28  # keypoints 0.01 .. 0.12 off
    boxes, scores = decode(raw, np.array([3.0], np.float32), anchors, SHORT_RANGE)
    assert boxes.shape == (1, 16) and scores.dtype == np.float32
    np.testing.assert_allclose(boxes[0, :4], [0.35 - 0.1, 0.70 - 0.2, 0.2, 0.4], atol=1e-6)
    xs = 0.25 + np.arange(1, 13, 2) * 0.01
    ys = 0.75 + np.arange(2, 14, 2) * 0.01
    np.testing.assert_allclose(boxes[0, 4::2], xs, atol=1e-6)
    np.testing.assert_allclose(boxes[0, 5::2], ys, atol=1e-6)


def test_decode_with_nothing_over_the_threshold_is_empty_and_shaped_for_nms() -> None:
    boxes, scores = decode(
        np.zeros((2, 16), np.float32),
        np.full(2, -5.0, np.float32),
        SHORT_RANGE.anchors()[:2],
        SHORT_RANGE,
    )
    assert boxes.shape == (0, 16) and boxes.dtype == np.float32
    assert scores.shape == (0,) and scores.dtype == np.float32


def test_decode_threshold_is_inclusive_and_extreme_logits_are_clipped_not_lost() -> None:
    at = np.float32(np.log(SHORT_RANGE.min_score / (1 - SHORT_RANGE.min_score)))  # exactly 0.5
    raw = np.zeros((3, 16), np.float32)
    logits = np.array([at, at - np.float32(1e-4), 1e30], np.float32)  # no denormals (FTZ)
    _, scores = decode(raw, logits, SHORT_RANGE.anchors()[:3], SHORT_RANGE)
    assert scores.tolist() == [0.5, 1.0]  # at the threshold kept, just below dropped, 1e30 -> 1


def test_scaled_detection_multiplies_box_and_keypoints_per_axis() -> None:
    d = Detection((10.0, 20.0, 30.0, 40.0), 0.9, ((1.0, 2.0), (3.0, 4.0)), "full")
    s = d.scaled(2.0, 0.5)
    assert s.box == (20.0, 10.0, 60.0, 20.0)
    assert s.keypoints == ((2.0, 1.0), (6.0, 2.0)) and s.score == 0.9 and s.source == "full"
    assert d.scaled(1.0, 1.0) is d
    assert d.scaled(1.0, 2.0).box == (10.0, 40.0, 30.0, 80.0)


def test_clipped_box_rounds_and_clips_to_the_image() -> None:
    def clip(box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
        return Detection(box, 0.9, ()).clipped_box(100, 50)

    assert clip((10.4, 5.6, 20.2, 10.0)) == (10, 6, 21, 10)
    assert clip((-5.0, -3.0, 20.0, 10.0)) == (0, 0, 15, 7)  # cut by the left and top edges
    assert clip((90.0, 45.0, 20.0, 10.0)) == (90, 45, 10, 5)  # cut by the right and bottom
    assert clip((120.0, 60.0, 10.0, 10.0)) == (120, 60, 0, 0)  # wholly outside: empty


def test_decode_threshold_is_each_variants_own_score_not_one_half() -> None:
    # 0.55 passes short range's 0.5 and fails full range's 0.6 (logit of p / (1 - p)).
    logit = np.array([np.log(0.55 / 0.45)], np.float32)
    raw = np.zeros((1, 16), np.float32)
    assert decode(raw, logit, SHORT_RANGE.anchors()[:1], SHORT_RANGE)[1].shape == (1,)
    assert decode(raw, logit, FULL_RANGE.anchors()[:1], FULL_RANGE)[1].shape == (0,)
