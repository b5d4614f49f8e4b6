"""Hostile-but-fair inputs to `edge-emotion-run` and the photo API: each is one clear line and
the documented exit code, never a hang, a traceback or a lost result."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_device_cli as run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from edge_emotion_runtime.errors import ImageError
from edge_emotion_runtime.inputs import collect
from edge_emotion_runtime.photo import PhotoClassifier
from edge_emotion_runtime.preprocess import PHOTO_LONG_SIDE, load_image, original_size, to_pixels

FIXTURES = Path(__file__).parent / "fixtures"
FACE = FIXTURES / "images" / "happy.jpg"
PHOTO = FIXTURES / "photos" / "astronaut-256.jpg"
MODEL = FIXTURES / "tiny_gray_int8_int8io.tflite"


@pytest.fixture(scope="module")
def photos() -> PhotoClassifier:
    return PhotoClassifier.load(quiet=True)


# ---------------------------------------------------------------- files and folders
def test_glob_through_directory_symlink_loops_ends_and_lists_each_file_once(
    tmp_path: Path,
) -> None:
    d = tmp_path / "d"
    (d / "sub").mkdir(parents=True)
    shutil.copy(FACE, d / "face.jpg")
    (d / "sub" / "a").symlink_to("..")
    (d / "sub" / "b").symlink_to("..")
    (d / "alias.jpg").symlink_to("face.jpg")
    images, problems = collect([f"{d}/**/*.jpg", str(d)])
    assert images == [d / "alias.jpg"] and problems == []  # one real file, first path kept
    result = run_cli(f"{d}/**/*.jpg", "--model", MODEL, "--json")
    assert result.returncode == 0 and len(result.stdout.splitlines()) == 1


def test_glob_matches_names_per_segment_and_folders_it_matches(tmp_path: Path) -> None:
    for rel in ("a/x.jpg", "a/deep/y.png", "b/x.jpg", "c.jpg", ".hidden/z.jpg"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    rel = lambda paths: sorted(p.relative_to(tmp_path).as_posix() for p in paths)  # noqa: E731
    assert rel(collect([f"{tmp_path}/*/x.jpg"])[0]) == ["a/x.jpg", "b/x.jpg"]
    assert rel(collect([f"{tmp_path}/a*"])[0]) == ["a/deep/y.png", "a/x.jpg"]  # folder matched
    assert rel(collect([f"{tmp_path}/**/*.jpg"])[0]) == ["a/x.jpg", "b/x.jpg", "c.jpg"]


def _cli_that_cannot_read(directory: Path) -> list[str]:
    """A command prefix under which `directory` (mode 000) is unreadable: as root, root without
    the capabilities that bypass file permissions (util-linux `setpriv`)."""
    directory.chmod(0)
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root and util-linux setpriv is not installed")
    caps = "-dac_override,-dac_read_search"
    return [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}"]


def test_unreadable_subfolder_is_reported_and_counted(tmp_path: Path) -> None:
    shutil.copy(FACE, tmp_path / "face.jpg")
    inner = tmp_path / "inner"
    inner.mkdir()
    shutil.copy(FACE, inner / "hidden-away.jpg")
    prefix = _cli_that_cannot_read(inner)
    cli = [sys.executable, "-m", "edge_emotion_runtime.cli", str(tmp_path), "--model", str(MODEL)]
    try:
        result = subprocess.run(
            [*prefix, *cli],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        inner.chmod(0o755)
    assert "Traceback" not in result.stderr
    assert result.returncode == 1, result.stderr
    assert len(result.stdout.splitlines()) == 1  # face.jpg still classified
    assert f"error: {inner}: cannot read directory (Permission denied)" in result.stderr


def test_a_missing_path_among_good_images_exits_1(tmp_path: Path) -> None:
    result = run_cli(FACE, tmp_path / "missing.jpg", "--model", MODEL)
    assert result.returncode == 1
    assert len(result.stdout.splitlines()) == 1
    assert result.stderr.splitlines() == [
        f"error: {tmp_path / 'missing.jpg'}: no such file or directory"
    ]


def test_non_utf8_file_names_never_stop_the_run_and_round_trip_in_json(tmp_path: Path) -> None:
    raw = os.fsencode(tmp_path) + b"/caf\xe9.jpg"  # Latin-1 bytes: not UTF-8
    shutil.copy(FACE, raw)
    shutil.copy(FACE, tmp_path / "z-after.jpg")
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    env.pop("EDGE_EMOTION_MODEL", None)
    for as_json in (False, True):
        args = [sys.executable, "-m", "edge_emotion_runtime.cli", str(tmp_path), "--model"]
        args += [str(MODEL), *(["--json"] if as_json else [])]
        done = subprocess.run(args, capture_output=True, env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.decode("utf-8").splitlines()
        assert len(lines) == 2  # the image after the odd name is classified too
        if as_json:
            assert os.fsencode(json.loads(lines[0])["path"]) == raw
        else:
            assert lines[0].startswith(f"{tmp_path}/caf\\udce9.jpg: ")


def test_output_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "edge_emotion_runtime.cli", str(FACE), "--model", str(MODEL)],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert result.stderr.strip() == "error: cannot write output (No space left on device)"


def test_max_pixels_refuses_larger_images_with_one_line_each() -> None:
    result = run_cli(FACE, PHOTO, "--model", MODEL, "--max-pixels", "10000")
    assert result.returncode == 1
    assert len(result.stdout.splitlines()) == 1  # the 96x96 face fits, the photo does not
    assert "image is 256x256 = 65,536 pixels, above the limit of 10,000" in result.stderr


# ---------------------------------------------------------------- decoding
def test_large_jpeg_is_decoded_small_and_boxes_come_back_in_original_pixels(
    tmp_path: Path, photos: PhotoClassifier
) -> None:
    big = tmp_path / "big.jpg"
    Image.open(PHOTO).resize((4096, 4096), Image.Resampling.BILINEAR).save(big, quality=90)
    working = photos.decode(big)
    assert PHOTO_LONG_SIDE <= max(working.size) < 2 * PHOTO_LONG_SIDE
    assert original_size(working) == (4096, 4096)
    small, large = photos.analyze(PHOTO), photos.analyze(big)
    assert (large.width, large.height) == (4096, 4096)
    (a,), (b,) = small.faces, large.faces
    assert b.label == a.label == "happy"
    np.testing.assert_allclose(np.array(b.box) / 16, a.box, atol=3)


def test_exif_rotated_photo_reports_the_upright_size_and_box(
    tmp_path: Path, photos: PhotoClassifier
) -> None:
    upright = Image.open(PHOTO).convert("RGB").resize((1536, 3072))
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what a sideways camera writes
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    path = tmp_path / "sideways.jpg"
    stored.save(path, exif=exif, quality=90)
    result = photos.analyze(path)
    assert (result.width, result.height) == (1536, 3072)
    reference = tmp_path / "upright.jpg"
    upright.save(reference, quality=90)
    np.testing.assert_allclose(result.faces[0].box, photos.analyze(reference).faces[0].box, atol=8)


def test_sixteen_bit_images_map_exactly_onto_eight_bits() -> None:
    values = np.array([[0, 128, 129, 257, 385, 386, 32896, 65535]], dtype=np.uint16)
    image = Image.fromarray(values)
    assert image.mode.startswith("I;16")
    got = to_pixels(image, __import__("edge_emotion_runtime").PreprocessSpec(1, 8, 1))[0, :, 0]
    np.testing.assert_array_equal(got, np.rint(values[0] / 257).astype(np.uint8))


def test_a_large_sixteen_bit_png_stays_within_four_bytes_per_pixel(tmp_path: Path) -> None:
    side = 3000
    arr = np.full((side, side), 40000, np.uint16)
    arr[100:300, 100:300] = 1000
    path = tmp_path / "big16.png"
    Image.fromarray(arr).save(path)
    code = (
        "import resource, sys\n"
        "from edge_emotion_runtime.photo import PhotoClassifier\n"
        "p = PhotoClassifier.load(quiet=True)\n"
        "p.analyze(sys.argv[1])  # warm: allocator pools, interpreters\n"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "r = p.analyze(sys.argv[1].replace('.png', '-2.png'))\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print((peak - base) * 1024, r.width, r.height)\n"
    )
    Image.fromarray(np.zeros((8, 8), np.uint16)).save(path)  # the warm-up image: tiny
    Image.fromarray(arr).save(tmp_path / "big16-2.png")
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    grown, width, height = map(int, done.stdout.split())
    assert (width, height) == (side, side)
    assert grown <= 4 * side * side, f"{grown / side / side:.2f} bytes per pixel"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=0, max_size=2048))
def test_random_bytes_as_an_image_are_an_image_error_or_an_answer(
    photos: PhotoClassifier, data: bytes
) -> None:
    try:
        result = photos.analyze(data)
    except ImageError as err:
        assert "\n" not in str(err) and str(err).startswith("<bytes>: ")
    else:
        assert result.width >= 1 and result.height >= 1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=8, max_size=600), st.sampled_from(["PNG", "GIF", "BMP", "JPEG"]))
def test_corrupted_real_images_are_an_image_error_or_an_answer(
    photos: PhotoClassifier, noise: bytes, fmt: str
) -> None:
    buffer = io.BytesIO()
    Image.open(FACE).convert("RGB").save(buffer, format=fmt)
    data = bytearray(buffer.getvalue())
    for i, byte in enumerate(noise):  # overwrite bytes past the signature
        data[(16 + i * 7) % len(data)] = byte
    try:
        photos.analyze(bytes(data))
    except ImageError as err:
        assert "\n" not in str(err)


def test_load_image_keeps_at_least_the_requested_size(tmp_path: Path) -> None:
    path = tmp_path / "wide.jpg"
    Image.new("RGB", (3000, 1000), (10, 20, 30)).save(path)
    image = load_image(path, keep=(200, 100))
    assert image.width >= 200 and image.height >= 100 and image.width < 3000
