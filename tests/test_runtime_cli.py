"""`edge-emotion-run`: argument handling, output formats, model lookup, exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import run_device_cli as run_cli

from edge_emotion_runtime.bundled import EMOTION_MODEL, MODEL_ENV
from edge_emotion_runtime.inputs import collect

FIXTURES = Path(__file__).parent / "fixtures"
IMAGES = FIXTURES / "images"
MODEL = FIXTURES / "tiny_gray_int8_int8io.tflite"
PHOTO = FIXTURES / "photos" / "astronaut-256.jpg"
SHARED_PHOTOS = Path(__file__).resolve().parents[1].parent / "shared" / "photos"


def test_face_crops_are_classified_whole_with_label_probability_and_time() -> None:
    # The fixtures are drawn smileys (synthetic data): crops to classify whole, not photos.
    result = run_cli(
        IMAGES / "happy.jpg", IMAGES / "sad.jpg", "--model", MODEL, "--detect", "never"
    )
    assert result.returncode == 0, result.stderr
    happy, sad = result.stdout.splitlines()
    assert happy.startswith(f"{IMAGES / 'happy.jpg'}: happy 0.")
    assert sad.startswith(f"{IMAGES / 'sad.jpg'}: sad 0.")
    assert happy.endswith(" ms)") and "(whole image, " in happy


def test_json_output_is_one_object_per_line() -> None:
    result = run_cli(IMAGES, "--json", "--model", MODEL, "--detect", "never")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [Path(r["path"]).name for r in rows] == ["happy.jpg", "sad.jpg"]
    for row in rows:
        assert {"path", "faces", "label", "probability", "p_happy", "ms"} <= set(row)
        assert row["whole_image"] and len(row["faces"]) == 1
        assert 0.5 <= row["probability"] <= 1
        expected = row["p_happy"] if row["label"] == "happy" else 1 - row["p_happy"]
        assert row["probability"] == pytest.approx(expected, abs=1e-5)


def test_bundled_model_finds_the_face_in_a_photo_and_says_happy(tmp_path: Path) -> None:
    result = run_cli(PHOTO, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    (line,) = result.stdout.splitlines()
    assert line.startswith(f"{PHOTO}: 1 face: happy ")


@pytest.mark.skipif(not SHARED_PHOTOS.is_dir(), reason="../shared/photos not beside the checkout")
def test_shared_photos_one_face_each_and_no_face_for_the_cat(tmp_path: Path) -> None:
    names = ("astronaut.png", "camera.png", "chelsea.png")
    result = run_cli(*(SHARED_PHOTOS / n for n in names), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = {Path(r["path"]).name: r for r in map(json.loads, result.stdout.splitlines())}
    assert [len(rows[n]["faces"]) for n in names] == [1, 1, 0]
    assert rows["astronaut.png"]["label"] == "happy"
    assert rows["chelsea.png"]["label"] is None and rows["chelsea.png"]["p_happy"] is None
    text = run_cli(SHARED_PHOTOS / "chelsea.png", cwd=tmp_path)
    assert text.returncode == 0
    assert text.stdout.startswith(f"{SHARED_PHOTOS / 'chelsea.png'}: no face found (")


def test_detect_never_classifies_the_whole_photo_and_always_only_faces() -> None:
    never = json.loads(run_cli(PHOTO, "--json", "--detect", "never").stdout)
    assert never["whole_image"] and never["faces"][0]["box"] == [0, 0, 256, 256]
    always = json.loads(run_cli(IMAGES / "happy.jpg", "--json", "--detect", "always").stdout)
    assert not always["whole_image"]  # a synthetic 32 px face: the detector finds none
    assert always["faces"] == [] and always["label"] is None


def test_annotate_writes_copies_and_never_replaces_a_file(tmp_path: Path) -> None:
    photo = tmp_path / "astronaut.jpg"
    shutil.copy(PHOTO, photo)
    existing = tmp_path / "astronaut.annotated.png"
    existing.write_bytes(b"the user's own file")
    result = run_cli(photo, "--annotate", tmp_path, "--json")
    assert result.returncode == 0, result.stderr
    written = Path(json.loads(result.stdout)["annotated"])
    assert written == tmp_path / "astronaut.annotated-1.png"
    assert existing.read_bytes() == b"the user's own file"
    assert photo.read_bytes() == PHOTO.read_bytes()
    from PIL import Image

    with Image.open(written) as image:
        assert image.size == (256, 256)


def test_annotate_into_a_file_is_a_usage_error(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    result = run_cli(PHOTO, "--annotate", target)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: --annotate {target}: exists and is not a directory"


def test_directories_are_walked_recursively_in_sorted_order(tmp_path: Path) -> None:
    for rel in (
        "b/z.JPG",
        "b/a.png",
        "a.jpeg",
        "c/d/e.webp",
        ".hidden/x.jpg",
        "notes.txt",
        "b/.x.jpg",
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    images, problems = collect([str(tmp_path)])
    assert problems == []
    assert [p.relative_to(tmp_path).as_posix() for p in images] == [
        "a.jpeg",
        "b/a.png",
        "b/z.JPG",
        "c/d/e.webp",
    ]


def test_globs_are_expanded_and_unmatched_args_reported(tmp_path: Path) -> None:
    for name in ("x1.jpg", "x2.jpg", "y.png"):
        (tmp_path / name).write_bytes(b"x")
    images, problems = collect(
        [str(tmp_path / "x*.jpg"), str(tmp_path / "nothing*.gif"), str(tmp_path / "missing.jpg")]
    )
    assert [p.name for p in images] == ["x1.jpg", "x2.jpg"]
    assert len(problems) == 2
    assert "no image files match" in problems[0] and "no such file" in problems[1]


def test_glob_on_the_command_line_classifies_matches() -> None:
    result = run_cli(str(IMAGES / "*.jpg"), "--json", "--model", MODEL)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 2


def test_some_images_failing_gives_exit_1_and_keeps_the_good_ones(tmp_path: Path) -> None:
    bad = tmp_path / "broken.jpg"
    bad.write_text("not a jpeg")
    result = run_cli(IMAGES / "happy.jpg", bad, tmp_path / "missing.jpg", "--model", MODEL)
    assert result.returncode == 1
    assert len(result.stdout.splitlines()) == 1
    errors = result.stderr.splitlines()
    assert len(errors) == 2
    assert all(line.startswith("error: ") for line in errors)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: [str(d / "missing.jpg")], "no such file or directory"),
        (lambda d: [str(d)], "directory contains no images"),
        (lambda d: [str(d / "*.png")], "no image files match"),
    ],
    ids=["nonexistent-path", "empty-directory", "unmatched-glob"],
)
def test_no_images_found_is_a_usage_error(tmp_path: Path, make, message: str) -> None:
    (tmp_path / "readme.txt").write_text("no images here")
    result = run_cli(*make(tmp_path), "--model", MODEL)
    assert result.returncode == 2
    assert result.stdout == ""
    first, last = result.stderr.splitlines()
    assert message in first
    assert last == "error: no images found in the given paths"


@pytest.mark.parametrize("origin", ["--model", MODEL_ENV])
def test_missing_model_names_where_it_was_asked_for(tmp_path: Path, origin: str) -> None:
    missing = tmp_path / "nope.tflite"
    if origin == "--model":
        result = run_cli(IMAGES / "happy.jpg", "--model", missing)
    else:
        result = run_cli(IMAGES / "happy.jpg", env={MODEL_ENV: str(missing)})
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert f"no model at {missing}" in line and origin in line


def test_model_from_option_then_environment_then_bundled(tmp_path: Path) -> None:
    result = run_cli(IMAGES / "happy.jpg", "-v", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"model (bundled): {EMOTION_MODEL}: 48x48x1" in result.stderr
    rgb = FIXTURES / "tiny_rgb_float32.tflite"
    result = run_cli(IMAGES / "happy.jpg", "-v", cwd=tmp_path, env={MODEL_ENV: str(rgb)})
    assert result.returncode == 0, result.stderr
    assert f"model (${MODEL_ENV}): tiny_rgb_float32.tflite: 32x32x3" in result.stderr
    # --model beats the environment variable.
    result = run_cli(
        IMAGES / "happy.jpg", "-v", "--model", MODEL, cwd=tmp_path, env={MODEL_ENV: str(rgb)}
    )
    assert "model (--model): tiny_gray_int8_int8io.tflite: 48x48x1" in result.stderr


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("bad_input_2ch.tflite", "unexpected input shape 1x24x24x2"),
        ("bad_output_2units.tflite", "unexpected output shape"),
        ("images/happy.jpg", "not a TFLite model"),
    ],
)
def test_bad_model_is_one_line_and_exit_2(model: str, message: str) -> None:
    result = run_cli(IMAGES / "happy.jpg", "--model", FIXTURES / model)
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ") and message in line


def test_text_file_named_tflite_is_a_model_error(tmp_path: Path) -> None:
    fake = tmp_path / "model.tflite"
    fake.write_text("hello")
    result = run_cli(IMAGES / "happy.jpg", "--model", fake)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: {fake}: not a TFLite model (no TFL3 flatbuffer identifier)"
    ]


def test_bare_model_prints_exactly_one_warning(tmp_path: Path) -> None:
    from edge_emotion_runtime.metadata import strip

    bare = tmp_path / "bare.tflite"
    bare.write_bytes(strip(MODEL.read_bytes()))
    result = run_cli(IMAGES / "happy.jpg", IMAGES / "sad.jpg", "--model", bare)
    assert result.returncode == 0
    (line,) = result.stderr.splitlines()
    assert line.startswith("warning: ") and "no embedded metadata" in line
    assert len(result.stdout.splitlines()) == 2


@pytest.mark.parametrize(
    "flags",
    [
        ["--threads", "0"],
        ["--threads", "x"],
        ["--threads", "100000"],
        ["--backend", "cuda"],
        ["--detect", "maybe"],
        ["--detector", "long"],
        ["--bogus"],
        [],
    ],
)
def test_bad_flags_exit_2(flags: list[str]) -> None:
    args = [IMAGES / "happy.jpg", "--model", MODEL, *flags] if flags else []
    result = run_cli(*args)
    assert result.returncode == 2
    assert result.stdout == ""


def test_threads_and_no_xnnpack_flags_work() -> None:
    base = run_cli(IMAGES / "sad.jpg", "--json", "--model", MODEL)
    tuned = run_cli(
        IMAGES / "sad.jpg", "--json", "--model", MODEL, "--threads", "1", "--no-xnnpack"
    )
    assert tuned.returncode == 0, tuned.stderr
    a, b = json.loads(base.stdout), json.loads(tuned.stdout)
    assert a["label"] == b["label"]
    assert a["p_happy"] == pytest.approx(b["p_happy"], abs=0.02)


def test_console_script_is_installed_and_reports_its_version() -> None:
    script = shutil.which("edge-emotion-run", path=str(Path(sys.executable).parent))
    assert script, "edge-emotion-run is not installed next to this python"
    result = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert result.stdout.startswith("edge-emotion-run 0.")


def test_cli_never_imports_tensorflow() -> None:
    from edge_emotion_runtime.backends import is_installed

    # auto picks LiteRT when it is installed, else tflite-runtime (a device may have only that).
    expected = "ai_edge_litert" if is_installed("litert") else "tflite_runtime"
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['edge-emotion-run', {str(IMAGES / 'happy.jpg')!r}, '--model', "
        f"{str(MODEL)!r}]\n"
        "try:\n"
        "    runpy.run_module('edge_emotion_runtime.cli', run_name='__main__')\n"
        "except SystemExit as exit:\n"
        "    assert exit.code in (0, None), exit.code\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'keras', 'tf_keras', 'jax', 'torch'))\n"
        "print('HEAVY', heavy)\n"
        f"print('INTERPRETER', {expected!r} in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout
    assert "INTERPRETER True" in result.stdout
