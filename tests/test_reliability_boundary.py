"""The one CLI error boundary (`edge_emotion_runtime.boundary`): the same exception gives the
same single line and exit code in every command, warnings are one line, numpy's float noise none."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_device_cli
from PIL import Image

from edge_emotion_runtime import boundary
from edge_emotion_runtime.errors import ModelError, OutputError, UsageError

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("err", "code", "line"),
    [
        (UsageError("bad flag"), 2, "error: bad flag"),
        (ModelError("m.tflite: malformed\nsecond"), 2, "error: m.tflite: malformed\\nsecond"),
        (OutputError("cannot write output (No space left on device)"), 1, "error: cannot write"),
        (KeyboardInterrupt(), 130, "error: interrupted"),
        (MemoryError(), 1, "error: out of memory"),
        (OSError(36, "File name too long", "x" * 5), 1, "error: xxxxx: File name too long"),
        (
            OverflowError("cannot convert float infinity to integer\nmore"),
            1,
            "error: internal error: OverflowError: cannot convert float infinity to integer "
            "(set EDGE_EMOTION_DEBUG=1 for a traceback)",
        ),
    ],
)
def test_each_exception_type_is_one_line_and_a_documented_exit_code(
    err: BaseException, code: int, line: str, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.delenv(boundary.DEBUG_ENV, raising=False)
    monkeypatch.setattr(boundary, "silence_stdout", lambda: None)  # keep pytest's fd 1
    assert boundary.report(err) == code
    (printed,) = capsys.readouterr().err.splitlines()
    assert printed.startswith(line), printed


def test_debug_variable_re_raises_internal_errors_for_a_traceback(monkeypatch) -> None:
    monkeypatch.setenv(boundary.DEBUG_ENV, "1")
    with pytest.raises(OverflowError):
        boundary.report(OverflowError("x"))


def test_printable_escapes_control_format_and_undecodable_characters_only() -> None:
    assert boundary.printable("a\nb\rc\td") == "a\\nb\\rc\\td"
    assert boundary.printable("\x1b[31mred") == "\\x1b[31mred"
    assert boundary.printable("evil\u202etxt.jpg") == "evil\\u202etxt.jpg"
    assert boundary.printable("caf\udce9.jpg") == "caf\\udce9.jpg"  # an undecodable byte
    assert boundary.printable("Grüße 写真 face.jpg") == "Grüße 写真 face.jpg"


def test_warnings_are_one_line_and_numpy_float_noise_is_silent(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with boundary.one_line_warnings():
        with np.errstate(all="warn"):
            np.array([0.0, 1.0]) / np.array([0.0, 0.0])
            np.array([np.nan]).astype(np.uint8)
        warnings.warn("first line\nsecond line", UserWarning, stacklevel=1)
    assert capsys.readouterr().err.splitlines() == ["warning: first line"]


def test_a_nan_float_image_prints_no_numpy_warning(tmp_path: Path) -> None:
    pixels = np.full((64, 64), np.nan, dtype=np.float32)
    pixels[:32] = 1e30
    tiff = tmp_path / "nan.tif"
    Image.fromarray(pixels, mode="F").save(tiff)
    result = run_device_cli(tiff)
    assert result.returncode == 0 and "warning" not in result.stderr, result.stderr


def test_one_line_warning_and_the_error_ladder_are_defined_once() -> None:
    sources = [
        p
        for folder in ("runtime/edge_emotion_runtime", "edge_emotion")
        for p in (ROOT / folder).rglob("*.py")
    ]
    texts = {p: p.read_text(encoding="utf-8") for p in sources}
    assert [p.name for p, t in texts.items() if "def _one_line_warning" in t] == ["boundary.py"]
    debug = [p.name for p, t in texts.items() if re.search(r"environ.*EDGE_EMOTION_DEBUG", t)]
    assert debug == [], debug  # only boundary.report decides when to show a traceback
