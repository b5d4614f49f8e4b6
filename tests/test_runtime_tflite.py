"""The tflite-runtime 2.14 backend (Python <= 3.11, numpy < 2).

It usually lives in its own venv because it needs numpy<2. Two ways to check it:
- in this venv, when `tflite_runtime` is importable here;
- in another venv: point EDGE_EMOTION_TFLITE_PYTHON at a python that has tflite-runtime and
  Pillow (the runtime package itself is put on PYTHONPATH from this checkout), e.g.

      EDGE_EMOTION_TFLITE_PYTHON=/path/to/venv-tfl/bin/python .venv/bin/pytest \\
          tests/test_runtime_tflite.py
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edge_emotion_runtime import backends
from edge_emotion_runtime.classifier import Classifier

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
IMAGES = FIXTURES / "images"
MODELS = [
    "tiny_gray_int8_int8io.tflite",
    "tiny_gray_int8_uint8io.tflite",
    "tiny_gray_float32.tflite",
]
EXTERNAL = os.environ.get("EDGE_EMOTION_TFLITE_PYTHON", "")


def _reference(model: str) -> list[float]:
    classifier = Classifier.load(FIXTURES / model, backend="auto", threads=1)
    return [classifier.predict(IMAGES / f"{n}.jpg").p_happy for n in ("happy", "sad")]


@pytest.mark.skipif(
    not backends.is_installed("tflite"),
    reason="tflite_runtime is not importable in this venv (it needs numpy<2); set "
    "EDGE_EMOTION_TFLITE_PYTHON to check it in another venv",
)
@pytest.mark.parametrize("model", MODELS)
def test_tflite_backend_in_this_venv(model: str) -> None:
    classifier = Classifier.load(FIXTURES / model, backend="tflite")
    assert classifier.backend == "tflite" and classifier.backend_version.startswith("2.")
    p = [classifier.predict(IMAGES / f"{n}.jpg").p_happy for n in ("happy", "sad")]
    np.testing.assert_allclose(p, _reference(model), atol=0.01)


@pytest.mark.skipif(
    not EXTERNAL,
    reason="set EDGE_EMOTION_TFLITE_PYTHON to a python with tflite-runtime to run this check",
)
@pytest.mark.parametrize("model", MODELS)
def test_tflite_backend_in_external_venv(model: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "runtime")}
    env.pop("EDGE_EMOTION_MODEL", None)
    result = subprocess.run(
        [
            EXTERNAL,
            "-m",
            "edge_emotion_runtime.cli",
            str(IMAGES),
            "--json",
            "--detect",
            "never",  # drawn face crops (synthetic data): classified whole
            "-v",
            "--detect",
            "never",  # drawn fixture crops: the auto rule leaves them unclassified
            "--backend",
            "tflite",
            "--model",
            str(FIXTURES / model),
            # the fixtures are drawn face crops: classified whole, as the other fixture tests do
            "--detect",
            "never",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "backend tflite 2." in result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["label"] for r in rows] == ["happy", "sad"]
    np.testing.assert_allclose([r["p_happy"] for r in rows], _reference(model), atol=0.01)
