"""`edge-emotion-run` against hostile input: every failure one line and a documented exit code,
the valid inputs of the same run still processed (issue 23, root causes A, E and G)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from cli_helpers import DEVICE_CLI, assert_one_error, error_lines, run_device_cli

FIXTURES = Path(__file__).parent / "fixtures"
PHOTO = FIXTURES / "photos" / "astronaut-256.jpg"
CROP = FIXTURES / "images" / "happy.jpg"


# ------------------------------------------------------------------ A: unnameable inputs, stdout
@pytest.mark.parametrize("length", [300, 5000], ids=["NAME_MAX", "PATH_MAX"])
def test_an_overlong_image_name_fails_alone_and_later_images_are_still_classified(
    tmp_path: Path, length: int
) -> None:
    other = tmp_path / "later.jpg"
    shutil.copy(PHOTO, other)
    result = run_device_cli(PHOTO, "x" * length + ".jpg", other)
    assert result.returncode == 1, result.stderr
    (line,) = error_lines(result.stderr)
    assert "cannot use this path" in line and "internal error" not in line
    assert [row.split(":")[0] for row in result.stdout.splitlines()] == [str(PHOTO), str(other)]


@pytest.mark.parametrize("json_flag", [[], ["--json"]], ids=["text", "json"])
def test_closed_stdout_is_the_documented_cannot_write_output(json_flag: list[str]) -> None:
    result = run_device_cli(PHOTO, *json_flag, close_stdout=True)
    assert_one_error(result, 1, "cannot write output")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
def test_full_stdout_is_the_documented_cannot_write_output() -> None:
    with open("/dev/full", "w") as full:
        result = run_device_cli(PHOTO, "--json", stdout=full, stderr=subprocess.PIPE)
    assert_one_error(result, 1, "cannot write output", "No space left on device")


def test_a_fifo_is_read_not_refused_as_an_empty_file(tmp_path: Path) -> None:
    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    data = PHOTO.read_bytes()

    def feed() -> None:
        with open(fifo, "wb") as writer:  # blocks until the CLI opens it for reading
            writer.write(data)

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    result = run_device_cli(fifo, "--decode-threads", "1")
    thread.join(timeout=5)
    assert result.returncode == 0, result.stderr
    assert "1 face: happy" in result.stdout and "0 bytes" not in result.stderr


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="no /proc")
def test_a_proc_file_is_not_an_image_rather_than_an_empty_file() -> None:
    result = run_device_cli("/proc/self/status", PHOTO)
    line = assert_one_error(result, 1, "/proc/self/status")
    assert "0 bytes" not in line and "not an image" in line
    assert result.stdout.startswith(f"{PHOTO}: 1 face")


# ------------------------------------------------------------------ E: one output line per image
def test_a_file_name_with_a_newline_prints_one_escaped_line(tmp_path: Path) -> None:
    odd = tmp_path / "two\nlines\x1b[31m.jpg"
    shutil.copy(PHOTO, odd)
    result = run_device_cli(odd)
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    assert "two\\nlines\\x1b[31m.jpg: 1 face: happy" in line


def test_a_label_with_a_newline_cannot_forge_an_error_line(tmp_path: Path) -> None:
    from crafted_models import bundled_with

    model = bundled_with(tmp_path / "m.tflite", labels=["happy\nerror: forged", "sad"])
    result = run_device_cli(CROP, "--model", model, "--detect", "never")
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    assert "happy\\nerror: forged" in line
    assert json.loads(run_device_cli(CROP, "--model", model, "--json").stdout)["faces"]


# ------------------------------------------------------------------ G: concurrent --annotate
def test_six_processes_annotating_one_photo_into_one_folder_all_land(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "EDGE_EMOTION_MODEL"}
    cmd = [sys.executable, "-m", DEVICE_CLI, str(PHOTO), "--annotate", str(out)]
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        for _ in range(6)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, [err for _, err in results]
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        ["astronaut-256.annotated.png"] + [f"astronaut-256.annotated-{n}.png" for n in range(1, 6)]
    )


def test_link_free_name_moves_on_past_taken_and_protected_names(tmp_path: Path) -> None:
    from edge_emotion_runtime.files import link_free_name

    source = tmp_path / "finished.tmp"
    source.write_bytes(b"new")
    for name in ("a.annotated.png", "a.annotated-1.png"):
        (tmp_path / name).write_bytes(b"old")
    protected = tmp_path / "a.annotated-2.png"
    protected.write_bytes(b"input")  # exists and is an input: never a target
    got = link_free_name(source, tmp_path, "a.annotated.png", protected=[protected])
    assert got.name == "a.annotated-3.png" and got.read_bytes() == b"new"
    assert (tmp_path / "a.annotated.png").read_bytes() == b"old"
    assert protected.read_bytes() == b"input" and source.exists()


# ------------------------------------------------------------------ A: the same in video mode
@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("cv2", reason="the video extra is not installed")
    from edge_emotion_runtime.video.scene import write_scene_video

    path = tmp_path_factory.mktemp("video") / "scene.mp4"
    photos = Path(__file__).parent / "fixtures" / "photos"
    write_scene_video(path, photos, frames=6, width=320, height=240)
    return path


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
@pytest.mark.parametrize("json_flag", [[], ["--json"]], ids=["text", "json"])
def test_video_to_a_full_stdout_is_the_documented_cannot_write_output(
    scene: Path, json_flag: list[str]
) -> None:
    with open("/dev/full", "w") as full:
        result = run_device_cli(
            "--video", scene, *json_flag, "--threads", "1", stdout=full, stderr=subprocess.PIPE
        )
    assert_one_error(result, 1, "cannot write output", "No space left on device")


def test_video_with_stdout_closed_is_the_documented_cannot_write_output(scene: Path) -> None:
    result = run_device_cli("--video", scene, "--json", "--threads", "1", close_stdout=True)
    assert_one_error(result, 1, "cannot write output")
