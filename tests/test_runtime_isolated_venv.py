"""The device install: a fresh venv with only `edge-emotion-runtime[litert]`, no TensorFlow.

Builds a new venv, pip-installs ./runtime with the litert extra (pip may use its local cache),
proves TensorFlow, OpenCV and the workstation toolkit are absent, and classifies the committed
sample faces with the committed int8 fixture model through the installed `edge-emotion-run`
script; `edge-emotion-video` there says which extra it needs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"


def _clean_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "EDGE_EMOTION_MODEL")
    }
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


@pytest.mark.slow
def test_runtime_installs_and_runs_without_tensorflow(tmp_path: Path) -> None:
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
        [str(python), "-m", "pip", "install", "--quiet", f"{source}[litert]"],
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
            "'ai_edge_litert', 'edge_emotion_runtime', 'cv2') if u.find_spec(m)])",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=tmp_path,
    )
    assert probe.stdout.strip() == "['ai_edge_litert', 'edge_emotion_runtime']", probe.stderr
    no_tf = subprocess.run(
        [str(python), "-c", "import tensorflow"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=tmp_path,
    )
    assert no_tf.returncode != 0 and "No module named 'tensorflow'" in no_tf.stderr

    result = subprocess.run(
        [
            str(venv / "bin" / "edge-emotion-run"),
            str(FIXTURES / "images"),
            "--json",
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
    assert "backend litert" in result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(Path(r["path"]).name, r["label"]) for r in rows] == [
        ("happy.jpg", "happy"),
        ("sad.jpg", "sad"),
    ]
    assert all(r["probability"] > 0.6 for r in rows)

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
