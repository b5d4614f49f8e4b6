"""Hostile and unusual images: each either decodes correctly or fails with one clear line.

Every case goes through the runtime's preprocessing directly and through `edge-emotion-run`
(one CLI call over a folder of all of them: good ones classified, each bad one one stderr line).
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edge_emotion_runtime.classifier import Classifier
from edge_emotion_runtime.errors import ImageError
from edge_emotion_runtime.preprocess import MAX_PIXELS, PreprocessSpec, load_image, to_pixels

FIXTURES = Path(__file__).parent / "fixtures"
GRAY_INT8 = FIXTURES / "tiny_gray_int8_int8io.tflite"
RGB = PreprocessSpec(height=32, width=32, channels=3)
GRAY = PreprocessSpec(height=32, width=32, channels=1)


# ------------------------------------------------------------------ image makers
def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def large_png(width: int, height: int, rows: int | None = None) -> bytes:
    """A 1-bit grayscale PNG of the given size; cheap because its rows are all zero.

    With `rows`, only that many rows of data are stored (a header-only "bomb" for sizes whose
    real data would be too big to build in a test).
    """
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" * (1 + (width + 7) // 8)
    raw = row * (height if rows is None else rows)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(raw, 9))
        + _png_chunk(b"IEND", b"")
    )


def jpeg_bytes(image: Image.Image, **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, **kwargs)
    return buffer.getvalue()


def noise_jpeg(size: int = 64) -> bytes:
    rng = np.random.default_rng(0)
    return jpeg_bytes(Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)))


def two_halves(width: int = 60, height: int = 40) -> Image.Image:
    """Left half black, right half white: its orientation is easy to check after rotation."""
    arr = np.zeros((height, width), dtype=np.uint8)
    arr[:, width // 2 :] = 255
    return Image.fromarray(arr).convert("RGB")


def exif_rotated_jpeg() -> bytes:
    """two_halves() stored with EXIF Orientation 6: viewers rotate it 90 degrees clockwise."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return jpeg_bytes(two_halves(), exif=exif.tobytes())


def animated_gif() -> bytes:
    frames = [Image.new("L", (24, 24), 0), Image.new("L", (24, 24), 255)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def png_bytes(image: Image.Image, **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **kwargs)
    return buffer.getvalue()


def sixteen_bit_png() -> bytes:
    arr = np.array([[0, 257 * 100, 65535, 65535]] * 4, dtype=np.uint16)
    return png_bytes(Image.fromarray(arr))


def cmyk_jpeg() -> bytes:
    image = Image.new("CMYK", (32, 32), (0, 255, 255, 0))  # pure red
    return jpeg_bytes(image)


def transparent_rgba_png() -> bytes:
    return png_bytes(Image.new("RGBA", (32, 32), (0, 0, 0, 0)))


def palette_png(transparent: bool) -> bytes:
    image = Image.new("P", (32, 32), 0)
    image.putpalette([0, 0, 0, 200, 0, 0] + [0] * (254 * 3))
    if transparent:
        return png_bytes(image, transparency=0)
    image.paste(1, (0, 0, 32, 32))
    return png_bytes(image)


BAD = {
    "zero_bytes.jpg": (b"", "empty file"),
    "text_named.jpg": (b"this is a text file, not a JPEG\n" * 4, "not an image"),
    "truncated.jpg": (noise_jpeg()[:1500], "truncated"),
    "too_many_pixels.png": (large_png(10_000, 5_000), "above the limit"),
    "bomb.png": (large_png(30_000, 30_000, rows=1), "decompression-bomb"),
}

GOOD = {
    "animated.gif": animated_gif,
    "sixteen_bit.png": sixteen_bit_png,
    "cmyk.jpg": cmyk_jpeg,
    "rgba.png": transparent_rgba_png,
    "palette.png": lambda: palette_png(False),
    "palette_transparent.png": lambda: palette_png(True),
    "exif_rotated.jpg": exif_rotated_jpeg,
}


@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("gallery")
    for name, (data, _) in BAD.items():
        (folder / name).write_bytes(data)
    for name, make in GOOD.items():
        (folder / name).write_bytes(make())
    return folder


# ------------------------------------------------------------------ preprocessing, case by case
@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_image_raises_one_line_image_error(gallery: Path, name: str) -> None:
    with pytest.raises(ImageError) as info:
        to_pixels(gallery / name, GRAY)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(gallery / name))
    assert BAD[name][1] in message


def test_nonexistent_path_and_directory_are_image_errors(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="no such file"):
        to_pixels(tmp_path / "missing.jpg", GRAY)
    with pytest.raises(ImageError, match="is a directory"):
        to_pixels(tmp_path, GRAY)
    with pytest.raises(ImageError, match="empty input"):
        to_pixels(b"", GRAY)


def test_pixel_limit_is_checked_before_decoding() -> None:
    # 50 M pixels is above MAX_PIXELS but below Pillow's own bomb limit: our guard must catch it.
    assert MAX_PIXELS < 10_000 * 5_000
    with pytest.raises(ImageError, match="10000x5000"):
        load_image(large_png(10_000, 5_000))
    # The same image is fine when the caller raises the limit.
    assert load_image(large_png(100, 50), max_pixels=5_000).size == (100, 50)


def test_animated_gif_uses_the_first_frame(gallery: Path) -> None:
    pixels = to_pixels(gallery / "animated.gif", GRAY)
    assert pixels.shape == (32, 32, 1)
    assert pixels.max() == 0  # frame 0 is black, frame 1 white


def test_sixteen_bit_png_is_scaled_to_eight_bits_not_clipped(gallery: Path) -> None:
    pixels = to_pixels(gallery / "sixteen_bit.png", PreprocessSpec(4, 4, 1, resample="nearest"))
    assert pixels[0, :, 0].tolist() == [0, 100, 255, 255]


def test_cmyk_jpeg_converts_to_rgb_colours(gallery: Path) -> None:
    r, g, b = to_pixels(gallery / "cmyk.jpg", RGB).reshape(-1, 3).mean(axis=0)
    assert r > 200 and g < 60 and b < 60


def test_transparent_pixels_become_the_background_grey(gallery: Path) -> None:
    assert to_pixels(gallery / "rgba.png", RGB).min() == 255
    assert to_pixels(gallery / "palette_transparent.png", GRAY).min() == 255
    dark = PreprocessSpec(32, 32, 3, alpha_background=0)
    assert to_pixels(gallery / "rgba.png", dark).max() == 0


def test_palette_png_uses_palette_colours(gallery: Path) -> None:
    r, g, b = to_pixels(gallery / "palette.png", RGB).reshape(-1, 3).mean(axis=0)
    assert (round(r), round(g), round(b)) == (200, 0, 0)


def test_exif_orientation_is_applied(gallery: Path) -> None:
    image = load_image(gallery / "exif_rotated.jpg")
    assert image.size == (40, 60)  # stored 60x40, displayed rotated
    arr = np.asarray(image.convert("L"), dtype=np.float32)
    assert arr[:25].mean() < 30  # the stored left (black) half is now on top
    assert arr[35:].mean() > 225
    # Identical to rotating the stored pixels by hand.
    with Image.open(gallery / "exif_rotated.jpg") as raw:
        by_hand = np.asarray(raw.transpose(Image.Transpose.ROTATE_270).convert("L"))
    np.testing.assert_array_equal(np.asarray(image.convert("L")), by_hand)


def test_load_image_closes_the_file_and_returns_loaded_pixels(gallery: Path) -> None:
    image = load_image(gallery / "animated.gif")
    assert getattr(image, "fp", None) is None
    assert image.getpixel((0, 0)) == 0


@pytest.mark.parametrize("name", sorted(GOOD))
def test_unusual_but_valid_images_classify(gallery: Path, name: str) -> None:
    classifier = Classifier.load(GRAY_INT8)
    prediction = classifier.predict(gallery / name)
    assert prediction.label in ("happy", "sad")
    assert 0.5 <= prediction.probability <= 1.0


# ------------------------------------------------------------------ the same through the CLI
def test_cli_classifies_good_images_and_reports_each_bad_one_on_one_line(gallery: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "edge_emotion_runtime.cli",
            str(gallery),
            "--json",
            "--model",
            str(GRAY_INT8),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    printed = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(Path(p["path"]).name for p in printed) == sorted(GOOD)
    errors = result.stderr.splitlines()
    assert len(errors) == len(BAD), result.stderr
    for name, (_, reason) in BAD.items():
        (line,) = [e for e in errors if f"{name}:" in e]
        assert line.startswith("error: ") and reason in line
