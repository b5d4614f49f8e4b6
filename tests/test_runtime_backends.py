"""Interpreter backends: auto choice, explicit choice, TensorFlow fallback, the XNNPACK switch."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edge_emotion_runtime import backends
from edge_emotion_runtime.classifier import Classifier
from edge_emotion_runtime.errors import BackendError

FIXTURES = Path(__file__).parent / "fixtures"
IMAGES = FIXTURES / "images"
MODEL = FIXTURES / "tiny_gray_int8_int8io.tflite"
HAS_LITERT = backends.is_installed("litert")
HAS_TFLITE = backends.is_installed("tflite")
HAS_TF = backends.is_installed("tensorflow")


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)


@pytest.mark.skipif(not HAS_LITERT, reason="ai-edge-litert is not installed in this venv")
def test_auto_prefers_litert_and_reports_its_version() -> None:
    backend = backends.resolve("auto")
    assert backend.name == "litert"
    assert backend.version == importlib.metadata.version("ai-edge-litert")
    classifier = Classifier.load(MODEL)
    assert (classifier.backend, classifier.backend_version) == ("litert", backend.version)


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(BackendError, match="unknown backend 'cuda'"):
        backends.resolve("cuda")


@pytest.mark.skipif(HAS_TFLITE, reason="tflite-runtime is installed here")
def test_missing_backend_says_how_to_install_it() -> None:
    with pytest.raises(BackendError, match="pip install tflite-runtime") as info:
        Classifier.load(MODEL, backend="tflite")
    assert info.value.exit_code == 2


def test_no_interpreter_at_all_is_one_clear_line() -> None:
    code = (
        "import sys\n"
        "for name in ('ai_edge_litert', 'tflite_runtime', 'tensorflow'):\n"
        "    sys.modules[name] = None  # make the package unimportable\n"
        "from edge_emotion_runtime.cli import main\n"
        f"main([{str(IMAGES / 'happy.jpg')!r}, '--model', {str(MODEL)!r}])\n"
    )
    result = _python(code)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: no TFLite interpreter is installed")
    assert "pip install ai-edge-litert" in line


@pytest.mark.slow
@pytest.mark.skipif(not HAS_TF, reason="TensorFlow is not installed in this venv")
def test_auto_falls_back_to_tensorflow_with_one_note() -> None:
    code = (
        "import sys\n"
        "sys.modules['ai_edge_litert'] = None\n"
        "sys.modules['tflite_runtime'] = None\n"
        "from edge_emotion_runtime.cli import main\n"
        f"main([{str(IMAGES / 'happy.jpg')!r}, {str(IMAGES / 'sad.jpg')!r}, '--json', "
        f"'--detect', 'never', '--model', {str(MODEL)!r}])\n"  # drawn crops: classified whole
    )
    result = _python(code)
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "tf.lite.Interpreter" in notes[0]
    assert "Traceback" not in result.stderr
    labels = [json.loads(line)["label"] for line in result.stdout.splitlines()]
    assert labels == ["happy", "sad"]


@pytest.mark.slow
@pytest.mark.skipif(not (HAS_TF and HAS_LITERT), reason="needs TensorFlow and LiteRT")
def test_tensorflow_backend_matches_litert() -> None:
    # In a subprocess so this test process does not import TensorFlow for nothing.
    code = (
        "import json\n"
        "from edge_emotion_runtime.classifier import Classifier\n"
        "out = {}\n"
        "for name in ('litert', 'tensorflow'):\n"
        f"    c = Classifier.load({str(MODEL)!r}, backend=name, threads=1)\n"
        f"    out[name] = [c.predict(p).p_happy for p in "
        f"({str(IMAGES / 'happy.jpg')!r}, {str(IMAGES / 'sad.jpg')!r})]\n"
        "    out[name + '_version'] = c.backend_version\n"
        "print(json.dumps(out))\n"
    )
    result = _python(code)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.splitlines()[-1])
    np.testing.assert_allclose(out["tensorflow"], out["litert"], atol=1e-6)
    assert out["tensorflow_version"].startswith("2.")


@pytest.mark.skipif(not HAS_LITERT, reason="ai-edge-litert is not installed in this venv")
def test_use_xnnpack_false_really_skips_the_xnnpack_delegate() -> None:
    # LiteRT announces the default delegate on stderr; `-v` lets native output through.
    args = [
        sys.executable,
        "-m",
        "edge_emotion_runtime.cli",
        str(IMAGES / "happy.jpg"),
        "--model",
        str(MODEL),
        "-v",
        "--backend",
        "litert",
    ]
    with_xnnpack = subprocess.run(args, capture_output=True, text=True, timeout=60)
    without = subprocess.run([*args, "--no-xnnpack"], capture_output=True, text=True, timeout=60)
    assert with_xnnpack.returncode == without.returncode == 0
    assert "XNNPACK" in with_xnnpack.stderr
    assert "XNNPACK" not in without.stderr
    # Without -v that native INFO line is not shown.
    quiet = subprocess.run(args[:-3], capture_output=True, text=True, timeout=60)
    assert quiet.stderr == ""
