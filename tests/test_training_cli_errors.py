"""Bad inputs to `edge-emotion train/evaluate`: one `error:` line, exit code 2, no traceback.

Run as real subprocesses of the CLI entry point, the way a user meets them.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cli_helpers import run_workstation_cli as run_cli
from PIL import Image


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    for fragment in fragments:
        assert fragment in errors[0]


def _good(path: Path, value: int = 100) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (16, 16), (value, value, 255 - value)).save(path)


def test_missing_data_dir(tmp_path):
    proc = run_cli("train", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r"))
    assert_one_line_error(proc, "no such data directory")
    assert not (tmp_path / "r").exists()


def test_empty_class_folder(tmp_path):
    _good(tmp_path / "d" / "happy" / "a.jpg")
    (tmp_path / "d" / "sad").mkdir()
    proc = run_cli("train", "--data", str(tmp_path / "d"), "--out", str(tmp_path / "r"))
    assert_one_line_error(proc, "class 'sad' has no images")


@pytest.mark.parametrize("bad", ["corrupt", "text"])
def test_class_of_only_corrupt_jpg_or_text_named_jpg(tmp_path, bad):
    _good(tmp_path / "d" / "happy" / "a.jpg")
    target = tmp_path / "d" / "sad" / "b.jpg"
    target.parent.mkdir(parents=True)
    if bad == "corrupt":
        _good(tmp_path / "x.jpg")
        data = (tmp_path / "x.jpg").read_bytes()
        target.write_bytes(data[:20] + b"\x00" * 40)
    else:
        target.write_text("this is a text file, not a JPEG\n")
    proc = run_cli("train", "--data", str(tmp_path / "d"), "--out", str(tmp_path / "r"))
    assert_one_line_error(proc, "class 'sad' has no readable images")
    assert "warning: skipped 1 unreadable" in proc.stderr and "b.jpg" in proc.stderr


def test_existing_run_dir_is_not_overwritten(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text("{}")
    proc = run_cli("train", "--data", str(tmp_path), "--out", str(out))
    assert_one_line_error(proc, "already exists", "--force")
    assert (out / "config.json").read_text() == "{}"


def test_unknown_layout_and_bad_flags(tmp_path):
    _good(tmp_path / "photos" / "a.jpg")
    assert_one_line_error(
        run_cli("train", "--data", str(tmp_path), "--out", str(tmp_path / "r")),
        "unknown dataset layout",
    )
    assert_one_line_error(
        run_cli("train", "--data", str(tmp_path), "--channels", "2", "--out", str(tmp_path / "r")),
        "--channels",
    )
    assert_one_line_error(
        run_cli(
            "train", "--data", str(tmp_path), "--image-size", "16", "--out", str(tmp_path / "r")
        ),
        "too small",
    )
    assert_one_line_error(
        run_cli("train", "--arch", "nope", "--out", str(tmp_path / "r")), "unknown --arch"
    )


def test_evaluate_bad_model_paths(tmp_path):
    assert_one_line_error(run_cli("evaluate", "--model", str(tmp_path / "none")), "no such")
    (tmp_path / "m.keras").write_text("not a model")
    assert_one_line_error(run_cli("evaluate", "--model", str(tmp_path / "m.keras")), "--data")
    (tmp_path / "rundir").mkdir()
    assert_one_line_error(
        run_cli("evaluate", "--model", str(tmp_path / "rundir")), "not a run directory"
    )


def test_bad_label_smoothing_mixup_ema_and_missing_pretrain_data(tmp_path):
    for name in ("happy", "sad"):
        for i in range(3):
            _good(tmp_path / "d" / name / f"{i}.jpg", value=40 * i + (100 if name == "sad" else 0))
    common = ("train", "--data", str(tmp_path / "d"), "--image-size", "32", "--epochs", "1")
    assert_one_line_error(
        run_cli(*common, "--label-smoothing", "1.5", "--out", str(tmp_path / "r")),
        "--label-smoothing",
    )
    for flag, value in (("--mixup", "-0.1"), ("--ema", "1.0")):
        assert_one_line_error(run_cli(*common, flag, value, "--out", str(tmp_path / "r")), flag)
    assert_one_line_error(
        run_cli(
            *common,
            "--arch",
            "edge-plus",
            "--pretrain-data",
            str(tmp_path / "nowhere"),
            "--out",
            str(tmp_path / "r"),
        ),
        "--pretrain-data",
    )
    assert not (tmp_path / "r").exists()
