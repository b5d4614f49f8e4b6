"""Model metadata cannot drive memory or errors (issue 23, root causes A and F): numbers out of
range are a malformed model (exit 2), the metadata is size-capped before it is inflated, and a
wide framing costs the memory of the reduced crop, not of the full-size one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import assert_one_error, run_device_cli
from crafted_models import bundled_parts, bundled_with_framing, write_model
from PIL import Image

from edge_emotion_runtime.crop import Framing

FIXTURES = Path(__file__).parent / "fixtures"
PHOTO = FIXTURES / "photos" / "astronaut-256.jpg"
FACE = FIXTURES / "photos" / "astronaut-face-260.jpg"


@pytest.mark.parametrize(
    "fields",
    [
        {"samples": float("inf")},
        {"samples": 10**400},
        {"face_fraction": float("nan")},
        {"offset_x": "0.1"},
        {"align": "yes"},
        {"face_fraction": 0.05},  # inside the old range: crops 20x the face
        {"face_fraction": 0.2},
    ],
    ids=[
        "samples-inf",
        "samples-huge-int",
        "fraction-nan",
        "offset-string",
        "align-string",
        "fraction-0.05",
        "fraction-below-min",
    ],
)
def test_out_of_range_framing_numbers_are_a_malformed_model_exit_2(
    tmp_path: Path, fields: dict
) -> None:
    model = bundled_with_framing(tmp_path / "m.tflite", **fields)
    result = run_device_cli(PHOTO, "--model", model)
    assert_one_error(result, 2, "malformed")


def test_the_smallest_accepted_face_fraction_still_loads() -> None:
    from edge_emotion_runtime.crop import MIN_FACE_FRACTION

    assert Framing("short", MIN_FACE_FRACTION).face_fraction == MIN_FACE_FRACTION
    with pytest.raises(ValueError):
        Framing("short", MIN_FACE_FRACTION - 1e-9)


def _peak_rss_mb(code: str) -> float:
    """Peak RSS (MB) of a fresh interpreter running `code` (Linux: ru_maxrss in kB)."""
    script = f"{code}\nimport resource\nprint(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1]) / 1024


LOAD = (
    "from edge_emotion_runtime.errors import ModelError\n"
    "from edge_emotion_runtime.photo import PhotoClassifier\n"
    "try:\n    PhotoClassifier.load({path!r}).analyze({photo!r}, detect='always')\n"
    "except ModelError as err:\n    print(err)\n"
)


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss in kB is Linux's unit")
def test_a_metadata_zip_bomb_is_refused_within_2x_the_memory_of_a_normal_model(
    tmp_path: Path,
) -> None:
    flatbuffer, meta = bundled_parts()
    text = json.dumps(meta)[:-1] + ", " + " " * (200 * 1024 * 1024) + '"pad": 1}'
    bomb = write_model(tmp_path / "bomb.tflite", flatbuffer, text)
    assert bomb.stat().st_size < 2 * 1024 * 1024  # a small file that inflates to 200 MB
    result = run_device_cli(PHOTO, "--model", bomb)
    assert_one_error(result, 2, "malformed", "1,048,576")
    normal = write_model(tmp_path / "normal.tflite", flatbuffer, json.dumps(meta))
    base = _peak_rss_mb(LOAD.format(path=str(normal), photo=str(PHOTO)))
    peak = _peak_rss_mb(LOAD.format(path=str(bomb), photo=str(PHOTO)))
    assert peak < 2 * base, (peak, base)


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss in kB is Linux's unit")
def test_a_wide_framing_on_a_big_face_costs_the_reduced_crop_not_the_full_one(
    tmp_path: Path,
) -> None:
    # A ~970 px face in a 2500 px photo (kept at full size: under 2 x 1280) at face_fraction
    # 0.25: a 3,900 px crop and a 5,800 px rotation region, ~135 MB as RGBA (twice that while
    # rotating) if cut at full size; reduced first to 2x the model input it is a few kB.
    big = tmp_path / "big-face.png"
    Image.open(FACE).convert("RGB").resize((2500, 2500)).save(big)
    wide = bundled_with_framing(tmp_path / "wide.tflite", face_fraction=0.25)
    normal = bundled_with_framing(tmp_path / "normal.tflite")
    result = run_device_cli(big, "--model", wide, "--detect", "always", "--json")
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["faces"]) == 1
    base = _peak_rss_mb(LOAD.format(path=str(normal), photo=str(big)))
    peak = _peak_rss_mb(LOAD.format(path=str(wide), photo=str(big)))
    assert peak < 1.3 * base, (peak, base)


@pytest.mark.parametrize("factor", [1, 2, 3, 7])
def test_reduced_crop_equals_crop_then_reduce_pixel_for_pixel(factor: int) -> None:
    from edge_emotion_runtime.crop import reduced_crop

    rng = np.random.default_rng(factor)
    image = Image.fromarray(rng.integers(0, 256, (37, 53, 3), dtype=np.uint8))
    boxes = [
        (-40, -30, 90, 70),
        (5, 5, 20, 33),
        (-3, 10, 52, 38),
        (50, 30, 130, 99),
        (-200, -200, -100, -100),
        (0, 0, 53, 37),
        (-1, -1, 54, 38),
    ]
    boxes += [tuple(int(v) for v in rng.integers(-60, 60, 2)) for _ in range(40)]  # type: ignore[misc]
    for box in boxes:
        if len(box) == 2:
            left, top = box
            side = int(rng.integers(1, 120))
            box = (left, top, left + side, top + side + int(rng.integers(0, 5)))
        expected = np.asarray(image.crop(box).reduce(factor))
        assert np.array_equal(np.asarray(reduced_crop(image, box, factor)), expected), box
