"""The device install: a fresh venv with only `edge-emotion-runtime[litert]`, no TensorFlow.

Builds a new venv, pip-installs ./runtime with the litert extra (pip may use its local cache),
proves TensorFlow and the workstation toolkit are absent, and classifies the committed sample
faces with the committed int8 fixture model through the installed `edge-emotion-run` script.
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
            "'ai_edge_litert', 'edge_emotion_runtime') if u.find_spec(m)])",
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
