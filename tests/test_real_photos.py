"""The real-photo defaults (issue "real photos"): small faces found in camera frames as one
track, non-faces left alone, the shared photos answered as a person would."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_device_cli as run_cli
from PIL import Image

from edge_emotion_runtime.photo import PhotoClassifier

FIXTURES = Path(__file__).parent / "fixtures"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "photos"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/photos not beside")
needs_opencv = pytest.mark.skipif(
    importlib.util.find_spec("cv2") is None, reason="needs the runtime's video extra (OpenCV)"
)


@pytest.fixture(scope="module")
def photos() -> PhotoClassifier:
    return PhotoClassifier.load(threads=1, quiet=True)


@pytest.mark.parametrize("name", sorted(p.name for p in (FIXTURES / "nonface").glob("*.png")))
def test_committed_non_face_images_have_no_face(photos: PhotoClassifier, name: str) -> None:
    result = photos.analyze(FIXTURES / "nonface" / name)
    assert result.faces == () and result.label is None and not result.whole_image


@needs_shared
def test_every_shared_non_face_and_the_cat_say_no_face_and_exit_0(tmp_path: Path) -> None:
    paths = [*sorted((SHARED / "nonface").glob("*.[pj][np]g")), SHARED / "chelsea.png"]
    assert len(paths) == 13
    result = run_cli(*paths, "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(Path(r["path"]).name, r["faces"]) for r in rows] == [(p.name, []) for p in paths]


@needs_shared
def test_astronaut_and_cameraman_one_face_each_astronaut_happy(photos: PhotoClassifier) -> None:
    astronaut = photos.analyze(SHARED / "astronaut.png")
    camera = photos.analyze(SHARED / "camera.png")
    assert len(astronaut.faces) == 1 and astronaut.label == "happy"
    assert len(camera.faces) == 1


def _grey_frames(count: int = 50) -> list[np.ndarray]:
    """640x480 grey frames with the astronaut (the 512 px portrait at 320 px: a face of about
    65 px, webcam distance) moving left to right across them."""
    portrait = Image.open(FIXTURES / "photos" / "astronaut-256.jpg").convert("RGB")
    portrait = portrait.resize((320, 320), Image.Resampling.BILINEAR)
    frames = []
    for i in range(count):
        frame = Image.new("RGB", (640, 480), (128, 128, 128))
        frame.paste(portrait, (round(i * 320 / (count - 1)), 80))
        frames.append(np.asarray(frame))
    return frames


def test_a_65_px_face_is_found_in_nearly_every_frame_by_default(photos: PhotoClassifier) -> None:
    found = [len(photos.analyze(frame).faces) for frame in _grey_frames()]
    assert sum(n == 1 for n in found) >= 45, found
    # The short-range model alone (the old default) misses most of them: the reason for fusion.
    short = PhotoClassifier.load(detector="short", threads=1, quiet=True)
    assert sum(len(short.analyze(f).faces) for f in _grey_frames()[::5]) <= 5


@needs_opencv
def test_the_65_px_face_in_a_video_is_one_track_in_45_of_50_frames(tmp_path: Path) -> None:
    from edge_emotion_runtime.video.opencv import import_cv2

    cv2 = import_cv2()  # as the runtime imports it: FFmpeg's own stderr logging off
    path = tmp_path / "walk.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (640, 480))
    for frame in _grey_frames():
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    result = run_cli("--video", str(path), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 50
    tracks = [[f["track"] for f in row["faces"]] for row in rows]
    assert sum(len(t) == 1 for t in tracks) >= 45, tracks
    assert {t for ids in tracks for t in ids} == {1}


def test_min_confidence_labels_unsure_faces_uncertain_and_keeps_their_probabilities(
    tmp_path: Path,
) -> None:
    photo = FIXTURES / "photos" / "astronaut-256.jpg"
    sure = json.loads(run_cli(photo, "--json", cwd=tmp_path).stdout)
    p = sure["probability"]
    assert sure["label"] == "happy" and 0.5 < p < 0.99
    unsure = json.loads(run_cli(photo, "--json", "--min-confidence", "0.99", cwd=tmp_path).stdout)
    assert unsure["label"] == "uncertain" and unsure["faces"][0]["label"] == "uncertain"
    assert unsure["probability"] == p and unsure["p_happy"] == sure["p_happy"]
    # At exactly its probability the face is not uncertain: below P is.
    edge = PhotoClassifier.load(threads=1, quiet=True, min_confidence=p)
    assert edge.analyze(photo).label == "happy"
    text = run_cli(photo, "--min-confidence", "0.99", cwd=tmp_path).stdout
    assert ": 1 face: uncertain 0." in text


@pytest.mark.parametrize("value", ["0.4", "1.5", "nan", "inf", "x"])
def test_min_confidence_outside_half_to_one_is_a_usage_error(value: str, tmp_path: Path) -> None:
    result = run_cli(FIXTURES / "photos" / "astronaut-256.jpg", "--min-confidence", value)
    assert result.returncode == 2
    assert "argument --min-confidence:" in result.stderr.strip().splitlines()[-1]


def test_mirror_view_is_the_mean_of_the_crop_and_its_mirror(photos: PhotoClassifier) -> None:
    rng = np.random.default_rng(3)
    face = rng.integers(0, 256, photos.classifier.spec.shape, dtype=np.uint8)
    both = photos.classifier.predict_mirrored(face)
    one = photos.classifier.predict(face)
    other = photos.classifier.predict(np.ascontiguousarray(face[:, ::-1]))
    assert both.p_happy == pytest.approx((one.p_happy + other.p_happy) / 2, abs=1e-9)
    assert one.p_happy != other.p_happy  # the test would pass without mirroring otherwise
    single = PhotoClassifier.load(threads=1, quiet=True, mirror=False)
    photo = FIXTURES / "photos" / "astronaut-256.jpg"
    assert single.analyze(photo).faces[0].box == photos.analyze(photo).faces[0].box
