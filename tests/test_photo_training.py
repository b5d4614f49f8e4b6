"""Issue 9 on the workstation: every run records the face framing of its training images, export
carries it into the model (measuring it for older runs), and `train --detect` trains on the
crops of detected faces, the same crops the device cuts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import invoke
from PIL import Image

from edge_emotion.rundir import RunDir
from edge_emotion.training.manifest import read_manifest
from edge_emotion_runtime.crop import FER_FRAMINGS, face_pixels, framings_from_metadata
from edge_emotion_runtime.detector import Detection
from edge_emotion_runtime.preprocess import PreprocessSpec, image_to_pixels, load_image, to_rgb

PHOTOS_PER_CLASS = 16
PHOTO_SEED = 3  # 4 of its 32 photos have no face drawn at all

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Whole synthetic photos (256x256, 0-2 faces each), happy/ + sad/ + faces.json."""
    from edge_emotion.training.synth import generate_photos

    root = tmp_path_factory.mktemp("tiny-photos")
    generate_photos(root, PHOTOS_PER_CLASS, seed=PHOTO_SEED, image_size=256)
    return root


@pytest.fixture(scope="module")
def detect_run(tmp_path_factory: pytest.TempPathFactory, tiny_photos: Path) -> Path:
    """A 1-epoch `--detect` run at 32x32x3 on `tiny_photos`, through the real CLI."""
    out = tmp_path_factory.mktemp("detect-run") / "run"
    code, _, err = invoke(
        [
            "train",
            "--data",
            str(tiny_photos),
            "--detect",
            "--out",
            str(out),
            "--epochs",
            "1",
            "--batch-size",
            "16",
            "--image-size",
            "32",
            "--seed",
            "1",
        ]
    )
    assert code == 0, err
    return out


def _export_float32(run: Path, out: Path) -> Path:
    from edge_emotion.export.exporter import export_run
    from edge_emotion.export.types import ExportMode, ExportOptions

    export_run(run, ExportOptions(modes=(ExportMode.FLOAT32,), out_dir=out, validate=False))
    return out / "float32.tflite"


def _device_pixels(path: Path, framing, spec: PreprocessSpec) -> np.ndarray | None:
    """What PhotoClassifier feeds the model for the largest face of a photo (None: no face)."""
    from edge_emotion_runtime.detector import FaceDetector

    rgb = to_rgb(load_image(path), spec.alpha_background)
    faces = FaceDetector.load("short", quiet=True).detect(rgb)
    if not faces:
        return None
    largest = max(faces, key=lambda d: d.box[2] * d.box[3])
    return face_pixels(rgb, largest, framing, spec)


# --------------------------------------------------------------------- framing of every run
def test_train_records_the_framing_measured_on_its_train_split(tiny_run):
    from edge_emotion.training.dataset import load_split
    from edge_emotion.training.framing import measure_framings

    run = RunDir.open(tiny_run)
    crop = run.config()["crop"]
    train = load_split(run, "train")
    assert crop["measured_on"]["split"] == "train"
    assert crop["measured_on"]["images"] == len(train)
    framings = framings_from_metadata(crop)
    # BlazeFace short range finds the synthetic faces; its box is narrower than FER's (0.88).
    assert "short" in framings and 0.4 < framings["short"].face_fraction < 0.8
    assert framings["short"].samples == crop["measured_on"]["found"]["short"]
    # The recorded section is exactly what the shared measurement gives on that split.
    assert measure_framings(train.pixels).section() == crop


def test_a_detector_that_finds_too_few_faces_is_absent_with_a_note():
    from edge_emotion.training.framing import measure_framings

    blank = np.full((6, 48, 48, 3), 128, np.uint8)  # no face anywhere
    report = measure_framings(blank)
    assert report.framings == () and report.section()["framings"] == {}
    notes = report.notes()
    assert len(notes) == 2 and all("found a face in 0 of 6" in n for n in notes)


def test_export_of_an_older_run_measures_the_framing_train_would_have_recorded(tiny_run, tmp_path):
    from edge_emotion_runtime.metadata import read_metadata

    old = tmp_path / "old-run"
    shutil.copytree(tiny_run, old, ignore=shutil.ignore_patterns("export"))
    config = json.loads((old / "config.json").read_text())
    recorded = config.pop("crop")
    (old / "config.json").write_text(json.dumps(config))

    meta = read_metadata(_export_float32(old, tmp_path / "export"))
    assert meta is not None
    assert meta.crop["recorded_by"] == "edge-emotion export"
    assert meta.crop["measured_framings"] == recorded["framings"]  # framings: x1.25 for photos
    assert meta.crop["measured_on"] == recorded["measured_on"]


# --------------------------------------------------------------------- train --detect
def test_largest_face_is_the_one_a_photo_is_cropped_to(monkeypatch):
    from edge_emotion.training import framing

    eyes = ((0.0, 0.0),) * 6  # level eyes: the aligned crop rotates by 0 degrees
    small = Detection(box=(4.0, 4.0, 10.0, 10.0), score=0.99, keypoints=eyes)
    large = Detection(box=(30.0, 20.0, 24.0, 26.0), score=0.6, keypoints=eyes)

    class TwoFaces:
        def detect(self, image):
            return [small, large]  # best score first, as BlazeFace orders them

    monkeypatch.setattr(framing, "load_detector", lambda name: TwoFaces())
    photo = Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 80, 3), np.uint8))
    spec = PreprocessSpec.square(16, 3)
    crop = framing.TrainingCrop.for_detector("short")
    assert framing.largest_face([small, large]) is large
    got = crop.crop(photo, spec, "photo")
    assert np.array_equal(got, face_pixels(photo, large, crop.framing, spec))
    assert not np.array_equal(got, face_pixels(photo, small, crop.framing, spec))


def test_detect_run_skips_and_records_photos_without_a_face(detect_run, tiny_photos):
    config = RunDir.open(detect_run).config()
    photos = {p.relative_to(tiny_photos).as_posix() for p in tiny_photos.rglob("*.jpg")}
    truth = json.loads((tiny_photos / "faces.json").read_text())
    skipped = set(config["data"]["no_face_files"])
    listed = {s.path for s in read_manifest(detect_run / "split.csv")}
    assert config["data"]["no_face_skipped"] == len(skipped) > 0
    assert listed | skipped == photos and not listed & skipped
    assert {p for p, boxes in truth.items() if not boxes} <= skipped  # never a face-less photo
    assert config["data"]["images"] == len(listed)


def test_detect_run_records_its_crop_settings_for_config_and_export(detect_run, tmp_path):
    from edge_emotion_runtime.metadata import read_metadata

    crop = RunDir.open(detect_run).config()["crop"]
    settings = crop["training_crop"]
    assert settings["detector"] == "short" and settings["multiple_faces"] == "largest"
    assert settings["framing"] == FER_FRAMINGS["short"].to_dict()
    assert framings_from_metadata(crop)["short"] == FER_FRAMINGS["short"]

    meta = read_metadata(_export_float32(detect_run, tmp_path / "export"))
    # Trained on the device's own crops of photos: its framing is used as is (no 1.25x).
    assert meta is not None and meta.crop == crop


def test_detect_run_splits_are_the_crops_the_device_cuts(detect_run, tiny_photos):
    from edge_emotion.training.dataset import load_split

    run = RunDir.open(detect_run)
    spec = run.preprocess_spec()
    framing = framings_from_metadata(run.config()["crop"])["short"]
    test = load_split(run, "test")
    assert len(test) > 0
    for sample, pixels in zip(test.samples, test.pixels, strict=True):
        device = _device_pixels(tiny_photos / sample.path, framing, spec)
        assert device is not None and np.array_equal(pixels, device), sample.path
    whole = image_to_pixels(load_image(tiny_photos / test.samples[0].path), spec)
    assert not np.array_equal(test.pixels[0], whole)


def test_evaluate_and_benchmark_data_of_a_detect_run_are_face_crops(
    detect_run, tiny_photos, tmp_path
):
    from edge_emotion.benchmarks.runner import load_eval
    from edge_emotion.training.evaluate import evaluate

    with_face = 2 * PHOTOS_PER_CLASS - RunDir.open(detect_run).config()["data"]["no_face_skipped"]
    result = evaluate(detect_run, data=tiny_photos)
    assert result.metrics["n"] == with_face
    loaded = load_eval(RunDir.open(detect_run), tiny_photos, None, tmp_path)
    assert loaded.info.n == with_face


def test_detector_without_detect_is_a_usage_error(tiny_data, tmp_path):
    code, _, err = invoke(
        ["train", "--data", str(tiny_data), "--detector", "full", "--out", str(tmp_path / "r")]
    )
    assert code == 2 and err.strip() == "error: --detector only applies with --detect"


def test_detect_on_photos_without_any_face_is_one_line_exit_2(tmp_path):
    for label in ("happy", "sad"):
        (tmp_path / "data" / label).mkdir(parents=True)
        for i in range(3):
            blank = Image.new("RGB", (96, 96), (40 * i, 90, 160))
            blank.save(tmp_path / "data" / label / f"{i}.png")
    code, _, err = invoke(
        ["train", "--data", str(tmp_path / "data"), "--detect", "--out", str(tmp_path / "r")]
    )
    lines = err.strip().splitlines()
    assert code == 2 and lines[-1].startswith("error: ")
    assert "has no readable photos with a face found" in lines[-1]
    assert "no face found in 6 of 6 photo(s)" in err
    assert not (tmp_path / "r").exists()


# --------------------------------------------------------------------- synth-data --photos
def test_synthetic_photos_are_deterministic_with_true_boxes_inside(tmp_path):
    from edge_emotion.training.synth import generate_photos

    a = generate_photos(tmp_path / "a", 20, seed=5, image_size=128)
    generate_photos(tmp_path / "b", 20, seed=5, image_size=128)
    files = sorted(p.relative_to(a.root).as_posix() for p in a.root.rglob("*.jpg"))
    assert len(files) == 40
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    truth = json.loads((a.root / "faces.json").read_text())
    assert sorted(truth) == files
    counts = [len(boxes) for boxes in truth.values()]
    assert {0, 1, 2} <= set(counts) and a.faces == sum(counts)
    for boxes in truth.values():
        for x, y, w, h in boxes:
            assert min(x, y) >= 0 and x + w <= 128 and y + h <= 128 and w >= 0.15 * 128


def test_blazeface_finds_most_synthetic_photo_faces_and_no_false_ones(tmp_path):
    from edge_emotion.training.synth import check_detection, generate_photos

    generate_photos(tmp_path, 30, seed=0, image_size=256)
    check = check_detection(tmp_path, "short")
    # Measured on 200 photos per class: 80% of faces found, 1 false face in 49 empty photos.
    assert check.faces > 60 and check.hit_rate > 0.65
    assert check.photos_without_face > 0 and check.false_alarms <= 1


def test_synth_data_photos_cli_says_how_many_faces_the_detector_finds(tmp_path):
    code, out, err = invoke(["synth-data", str(tmp_path / "p"), "--photos", "--count", "4"])
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].startswith("wrote 8 photos (4 per class, 256x256;")
    assert lines[1].startswith("face detector (BlazeFace short range) finds ")
    assert (tmp_path / "p" / "faces.json").is_file()
