"""The device install: a fresh venv with only `edge-emotion-runtime[litert]` (or `[tflite]`).

Builds a new venv, pip-installs ./runtime (not editable) with one interpreter extra (pip may use
its local cache), proves TensorFlow, OpenCV and the workstation toolkit are absent, classifies
the committed sample faces with the committed int8 fixture model, finds and classifies the faces
of real photos with the bundled detector and model, from a directory outside the checkout, and
checks that `edge-emotion-video` there names the `video` extra it needs.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SHARED_PHOTOS = ROOT.parent / "shared" / "photos"
INTERPRETER_MODULE = {"litert": "ai_edge_litert", "tflite": "tflite_runtime"}


def _clean_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "EDGE_EMOTION_MODEL")
    }
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("ensurepip") is None,
    reason="this Python has no ensurepip (Debian ships it in python3.X-venv), so a new venv "
    "gets no pip; the aarch64 run installs the runtime with pip --target instead",
)
@pytest.mark.parametrize("extra", ["litert", "tflite"])
def test_runtime_installs_and_runs_without_tensorflow(tmp_path: Path, extra: str) -> None:
    if extra == "tflite" and sys.version_info >= (3, 12):
        pytest.skip("tflite-runtime 2.14 has wheels for Python <= 3.11 only")
    source = tmp_path / "runtime"
    shutil.copytree(
        ROOT / "runtime",
        source,
        ignore=shutil.ignore_patterns("*.egg-info", "build", "__pycache__"),
    )
    venv = tmp_path / "venv"
    env = _clean_env()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env, timeout=60)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", f"{source}[{extra}]"],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        cwd=tmp_path,
    )
    assert install.returncode == 0, install.stderr[-2000:]

    probe = subprocess.run(
        [
            str(python),
            "-c",
            "import importlib.util as u; print([m for m in ('tensorflow', 'edge_emotion', "
            "'ai_edge_litert', 'tflite_runtime', 'edge_emotion_runtime', 'starlette', 'uvicorn', "
            "'cv2') if u.find_spec(m)])",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=tmp_path,
    )
    expected = [INTERPRETER_MODULE[extra], "edge_emotion_runtime"]
    assert probe.stdout.strip() == str(expected), probe.stderr
    no_tf = subprocess.run(
        [str(python), "-c", "import tensorflow"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=tmp_path,
    )
    assert no_tf.returncode != 0 and "No module named 'tensorflow'" in no_tf.stderr
    # The server is an extra: without it, its command says how to get it, in one line.
    serve = subprocess.run(
        [str(venv / "bin" / "edge-emotion-serve")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=tmp_path,
    )
    assert serve.returncode == 2 and serve.stderr.count("\n") == 1, serve.stderr
    assert "[litert,serve]" in serve.stderr

    result = subprocess.run(
        [
            str(venv / "bin" / "edge-emotion-run"),
            str(FIXTURES / "images"),
            "--json",
            "--detect",
            "never",  # drawn face crops (synthetic data): classified whole
            "-v",
            "--model",
            str(FIXTURES / "tiny_gray_int8_int8io.tflite"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert f"backend {extra}" in result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(Path(r["path"]).name, r["label"]) for r in rows] == [
        ("happy.jpg", "happy"),
        ("sad.jpg", "sad"),
    ]
    assert all(r["probability"] > 0.6 for r in rows)

    # Real photos, bundled detector and model, no --model, from outside the checkout.
    photos = [FIXTURES / "photos" / "astronaut-256.jpg"]
    if SHARED_PHOTOS.is_dir():
        photos += [SHARED_PHOTOS / n for n in ("astronaut.png", "camera.png", "chelsea.png")]
    result = subprocess.run(
        [str(venv / "bin" / "edge-emotion-run"), *map(str, photos), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    found = [(Path(r["path"]).name, [f["label"] for f in r["faces"]]) for r in rows]
    assert found[0] == ("astronaut-256.jpg", ["happy"])
    if len(found) > 1:
        assert found[1] == ("astronaut.png", ["happy"])
        assert found[2][0] == "camera.png" and len(found[2][1]) == 1
        assert found[3] == ("chelsea.png", [])

    # No `video` extra: OpenCV is absent, and the video command says how to add it.
    no_video = subprocess.run(
        [str(venv / "bin" / "edge-emotion-video"), "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=tmp_path,
    )
    assert no_video.returncode == 2 and no_video.stdout == ""
    assert no_video.stderr.startswith("error: video needs OpenCV"), no_video.stderr
    assert "edge-emotion-runtime[video]" in no_video.stderr and no_video.stderr.count("\n") == 1
