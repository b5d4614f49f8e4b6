"""The photo pipeline: every face found, cropped with the model's framing, classified."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edge_emotion_runtime.crop import (
    FER_FRAMINGS,
    Framing,
    crop_box,
    crop_metadata,
    framings_from_metadata,
    is_face_crop,
    measure,
)
from edge_emotion_runtime.detector import Detection
from edge_emotion_runtime.errors import UsageError
from edge_emotion_runtime.photo import Face, PhotoClassifier, Verdict

FIXTURES = Path(__file__).parent / "fixtures"
PHOTO = FIXTURES / "photos" / "astronaut-256.jpg"
TINY_MODEL = FIXTURES / "tiny_gray_int8_int8io.tflite"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FER = SHARED / "datasets" / "fer2013-happy-sad" / "train"
needs_fer = pytest.mark.skipif(not FER.is_dir(), reason="../shared FER-2013 data not present")


def _detection(x: float, y: float, w: float, h: float, score: float = 0.9) -> Detection:
    return Detection(box=(x, y, w, h), score=score, keypoints=((0.0, 0.0),) * 6)


@pytest.fixture(scope="module")
def bundled_photos() -> PhotoClassifier:
    return PhotoClassifier.load(quiet=True)


@pytest.fixture(scope="module")
def tiny_photos() -> PhotoClassifier:
    photos = PhotoClassifier.load(TINY_MODEL, quiet=True)
    photos._warned = True  # the tiny fixture has no framing: FER default, said elsewhere
    return photos


# ---------------------------------------------------------------- crop policy (pure)
def test_crop_is_a_square_of_box_over_face_fraction_centred_against_the_offset() -> None:
    framing = Framing("short", face_fraction=0.8, offset_x=0.0, offset_y=0.1)
    left, top, right, bottom = crop_box(_detection(100, 100, 40, 40), framing)
    assert right - left == bottom - top == 50
    # Box centre (120, 120); crop centre 0.1 * 50 = 5 px above it.
    assert ((left + right) / 2, (top + bottom) / 2) == (120, 115)


def test_aligned_crop_levels_a_tilted_face() -> None:
    from edge_emotion_runtime.crop import crop_face, eye_angle
    from edge_emotion_runtime.detector import FaceDetector

    detector = FaceDetector.load("short", quiet=True)
    photo = Image.open(PHOTO).convert("RGB")
    (upright,) = detector.detect(photo)  # she leans ~10 degrees already
    tilted = photo.rotate(-20, resample=Image.Resampling.BILINEAR)  # clockwise on screen
    (face,) = detector.detect(tilted)
    assert eye_angle(face) == pytest.approx(eye_angle(upright) + 20, abs=6)
    framing = Framing("short", 0.5, align=True)  # a loose crop: the detector must refind it
    (again,) = detector.detect(crop_face(tilted, face, framing))
    assert abs(eye_angle(again)) < 6
    (unaligned,) = detector.detect(crop_face(tilted, face, Framing("short", 0.5)))
    assert eye_angle(unaligned) == pytest.approx(eye_angle(face), abs=6)


def test_measure_reports_median_framing_and_refuses_when_faces_are_rarely_found() -> None:
    images = [Image.new("L", (48, 48))] * 5
    boxes = iter([[_detection(4, 8, 40, 40)]] * 3 + [[_detection(2, 8, 44, 44)], []])
    framing, found, total = measure(images, lambda _: next(boxes), "short", min_samples=1)
    assert (found, total) == (4, 5)
    assert framing is not None and framing.samples == 4
    assert framing.face_fraction == pytest.approx(40 / 48, abs=1e-4)  # the median box
    assert framing.offset_x == pytest.approx(0.0, abs=1e-4)
    assert framing.offset_y == pytest.approx(4 / 48, abs=1e-4)  # face centre 4 px low
    none, found, total = measure(images, lambda _: [], "short", min_samples=1)
    assert none is None and (found, total) == (0, 5)
    few = iter([[_detection(4, 8, 40, 40)]] * 5)
    assert measure(images, lambda _: next(few), "short")[0] is None  # 5 < 20 samples


def test_framing_round_trips_through_metadata_and_rejects_nonsense() -> None:
    section = crop_metadata(FER_FRAMINGS.values(), measured_on="test")
    assert framings_from_metadata(section) == FER_FRAMINGS
    assert framings_from_metadata({}) == {}
    with pytest.raises(ValueError):
        framings_from_metadata({"framings": {"short": {"detector": "short", "face_fraction": 0}}})
    with pytest.raises(ValueError):
        framings_from_metadata({"framings": ["short"]})


@pytest.mark.parametrize(
    ("size", "boxes", "expected"),
    [
        ((48, 48), [], False),  # a small image with no face in it is not a crop
        ((48, 48), [(12, 19, 24, 24)], True),  # a face of half the long side: exactly enough
        ((48, 48), [(12, 19, 23.9, 23.9)], False),  # just under half: a small photo
        ((64, 48), [(1, 1, 10, 32)], True),  # the box's larger side counts, vs the long side
        ((64, 64), [(30, 5, 33, 33), (5, 5, 20, 20)], True),  # the best face is large enough
        ((64, 64), [(5, 5, 20, 20), (30, 5, 33, 33)], False),  # the best face is small
        ((64, 64), [(20, 10, 18, 18)], False),  # a doorway thumbnail: crop its face instead
        ((128, 128), [(32, 32, 64, 64)], True),  # the small-image rule up to 128 px...
        ((129, 129), [(32, 32, 64, 64)], False),  # ...and the fill rule past it
        ((129, 129), [(0, 0, 0.6 * 129, 0.6 * 129)], True),  # fill exactly 0.6 of both sides
        ((129, 129), [(0, 0, 0.6 * 129 - 0.01, 129)], False),  # just under on one side
        ((512, 512), [], False),  # a scene without faces
        ((200, 200), [(12, 20, 170, 170)], True),  # FER-like framing at a larger size
        ((640, 480), [(300, 100, 100, 100)], False),  # one small face in a scene
        ((640, 480), [(100, 50, 400, 380)], True),  # one face filling the picture
        ((200, 200), [(10, 10, 150, 150), (0, 0, 130, 130)], False),  # two faces
    ],
)
def test_auto_rule_takes_only_face_crops_whole(size, boxes, expected) -> None:
    assert is_face_crop(size, [_detection(*b) for b in boxes]) is expected


# ---------------------------------------------------------------- pipeline
def test_every_input_kind_gives_the_same_faces(tiny_photos: PhotoClassifier) -> None:
    image = Image.open(PHOTO)
    image.load()
    results = [
        tiny_photos.analyze(source)
        for source in (PHOTO, str(PHOTO), PHOTO.read_bytes(), image, np.asarray(image))
    ]
    boxes = {tuple(f.box for f in r.faces) for r in results}
    p_happy = {round(r.faces[0].p_happy, 6) for r in results}
    assert len(boxes) == 1 and len(p_happy) == 1
    assert results[0].path == str(PHOTO) and results[2].path is None


def test_detect_never_classifies_the_whole_image(tiny_photos: PhotoClassifier) -> None:
    result = tiny_photos.analyze(PHOTO, detect="never")
    assert result.whole_image and len(result.faces) == 1
    assert result.faces[0].box == (0, 0, 256, 256) and result.faces[0].score is None
    assert result.timings.detect == 0.0


def test_json_shape_of_a_photo_result(tiny_photos: PhotoClassifier) -> None:
    data = tiny_photos.analyze(PHOTO).to_dict()
    assert set(data) == {
        "path",
        "width",
        "height",
        "faces",
        "label",
        "probability",
        "p_happy",
        "whole_image",
        "ms",
    }
    (face,) = data["faces"]
    assert set(face) == {"box", "score", "label", "probability", "p_happy"}
    assert data["label"] == face["label"] and data["p_happy"] == face["p_happy"]
    assert set(data["ms"]) == {"decode", "detect", "classify", "total"}


def test_no_face_gives_an_empty_list_and_null_primary(tiny_photos: PhotoClassifier) -> None:
    blank = Image.new("RGB", (400, 300), (30, 90, 30))
    data = tiny_photos.analyze(blank, detect="always").to_dict()
    assert data["faces"] == [] and data["label"] is None and data["p_happy"] is None


def test_bad_detect_mode_and_missing_detector_are_usage_errors(
    tiny_photos: PhotoClassifier,
) -> None:
    with pytest.raises(UsageError, match="detect must be one of"):
        tiny_photos.analyze(PHOTO, detect="sometimes")
    crops_only = PhotoClassifier(tiny_photos.classifier, None)
    with pytest.raises(UsageError, match="without a face detector"):
        crops_only.analyze(PHOTO, detect="auto")
    assert crops_only.analyze(PHOTO, detect="never").whole_image


def test_model_without_framing_warns_once_when_it_crops_and_uses_the_fer_framing() -> None:
    photos = PhotoClassifier.load(TINY_MODEL, quiet=True)
    assert photos.framings == FER_FRAMINGS and not photos.framing_recorded
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        photos.analyze(PHOTO, detect="never")  # no crop: nothing to say
        assert caught == []
        photos.analyze(PHOTO)
        photos.analyze(PHOTO)
    assert [str(w.message).count("no recorded face framing") for w in caught] == [1]


def test_bundled_model_carries_its_framing_and_says_happy_for_the_astronaut(
    bundled_photos: PhotoClassifier,
) -> None:
    assert framings_from_metadata(bundled_photos.classifier.metadata.crop)["short"].samples > 100
    result = bundled_photos.analyze(PHOTO)
    assert [f.label for f in result.faces] == ["happy"]


@needs_fer
def test_group_photo_gives_one_result_per_face_inside_the_pasted_regions(
    bundled_photos: PhotoClassifier,
) -> None:
    # Three real FER-2013 faces pasted at different sizes (a layout the short-range detector
    # resolves: faces of at least ~20 px in its 128 px input).
    placed = {
        "happy/Training_10046809.jpg": (20, 100, 200),
        "sad/Training_10022789.jpg": (250, 20, 160),
        "sad/Training_10031481.jpg": (430, 180, 200),
    }
    canvas = Image.new("RGB", (660, 420), (90, 120, 100))
    for name, (x, y, side) in placed.items():
        face = Image.open(FER / name).convert("RGB").resize((side, side), Image.Resampling.BILINEAR)
        canvas.paste(face, (x, y))
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    result = bundled_photos.analyze(buffer.getvalue(), detect="always")
    assert len(result.faces) == 3
    areas = [f.box[2] * f.box[3] for f in result.faces]
    assert areas == sorted(areas, reverse=True)  # largest first: the primary face
    for x, y, side in placed.values():
        # The detector's box may reach a few pixels past the pasted square (hair, chin).
        slack = 0.08 * side
        inside = [
            f
            for f in result.faces
            if x - slack <= f.box[0]
            and y - slack <= f.box[1]
            and f.box[0] + f.box[2] <= x + side + slack
            and f.box[1] + f.box[3] <= y + side + slack
        ]
        assert len(inside) == 1, (x, y, side, [f.box for f in result.faces])


@needs_fer
def test_auto_matches_never_on_fer_crops(bundled_photos: PhotoClassifier) -> None:
    files = sorted((FER / "happy").glob("*.jpg"))[:30] + sorted((FER / "sad").glob("*.jpg"))[:30]
    same = sum(
        bundled_photos.analyze(f, detect="auto").label
        == bundled_photos.analyze(f, detect="never").label
        for f in files
    )
    # The auto rule classifies FER crops whole (their face fills ~0.88 of the image).
    assert same == len(files)


def test_small_images_are_whole_faces_only_when_their_best_face_fills_them() -> None:
    # The `auto` rule for images of at most 128 px (the real-photo issue): a 102 px texture is
    # not a face crop (it was "sad 0.957"), and a thumbnail of a person is a photo whose small
    # face is cropped, not a face to classify whole.
    photos = PhotoClassifier.load(quiet=True)
    noise = np.random.default_rng(0).integers(0, 256, (102, 102, 3), dtype=np.uint8)
    assert photos.analyze(noise).faces == ()
    thumb = Image.open(FIXTURES / "photos" / "astronaut-256.jpg").resize((64, 64))
    result = photos.analyze(thumb)
    assert not result.whole_image and len(result.faces) == 1
    _, _, w, h = result.faces[0].box
    assert w < 32 and h < 32 and result.label == "happy"
    # FER-2013-like: a face filling a small image is classified whole.
    face = Image.open(FIXTURES / "photos" / "astronaut-256.jpg").crop((85, 33, 139, 87))
    crop = photos.analyze(face.resize((48, 48)).convert("L"))
    assert crop.whole_image and crop.faces[0].box == (0, 0, 48, 48)


# ---------------------------------------------------------------- the photo's verdict
def _face(p_happy: float) -> Face:
    label, probability = ("happy", p_happy) if p_happy >= 0.5 else ("sad", 1.0 - p_happy)
    return Face(
        box=(0, 0, 10, 10), score=0.9, label=label, probability=probability, p_happy=p_happy
    )


def test_a_lone_face_is_the_photos_verdict(bundled_photos: PhotoClassifier) -> None:
    face = _face(0.3)
    assert bundled_photos.verdict((face,)) == Verdict("sad", 0.7, 0.3)
    assert bundled_photos.verdict(()) is None


def test_several_faces_are_decided_on_their_mean_by_the_models_rule(
    bundled_photos: PhotoClassifier,
) -> None:
    # The largest face says sad; the mean of the three says happy.
    verdict = bundled_photos.verdict((_face(0.2), _face(0.9), _face(0.8)))
    assert verdict is not None and verdict.label == "happy"
    assert verdict.p_happy == pytest.approx(1.9 / 3) and verdict.probability == verdict.p_happy
    # A mean of exactly 0.5 is P(sad) = 0.5, not above the threshold: happy, as for one face.
    assert bundled_photos.verdict((_face(0.25), _face(0.75))) == Verdict("happy", 0.5, 0.5)


def test_an_unsure_mean_is_hedged_like_a_face() -> None:
    photos = PhotoClassifier.load(quiet=True, min_confidence=0.7)
    verdict = photos.verdict((_face(0.9), _face(0.3)))
    assert verdict is not None and verdict.label == "uncertain"
    assert verdict.p_happy == pytest.approx(0.6)


def test_two_faces_in_one_photo_report_their_mean_at_the_top_level(
    bundled_photos: PhotoClassifier,
) -> None:
    with Image.open(PHOTO) as one:
        face = one.convert("RGB")
    canvas = Image.new("RGB", (2 * face.width + 60, face.height + 40), (120, 120, 120))
    canvas.paste(face, (20, 20))
    canvas.paste(face.transpose(Image.Transpose.FLIP_LEFT_RIGHT).resize((200, 200)), (300, 40))
    result = bundled_photos.analyze(np.asarray(canvas), detect="always")
    assert len(result.faces) == 2
    mean = (result.faces[0].p_happy + result.faces[1].p_happy) / 2
    data = result.to_dict()
    assert data["p_happy"] == round(mean, 6) and result.label == data["label"] == "happy"
