#!/usr/bin/env bash
# Create (or update) .venv-tflite: a second venv holding the frozen tflite-runtime interpreter.
#
# tflite-runtime 2.14 (the last release) is built against numpy 1.x and ships wheels for
# Python <= 3.11 only, so it cannot share the dev venv (numpy 2). `edge-emotion benchmark`
# finds .venv-tflite/ in the checkout by itself and measures the `tflite` backend rows there.
# Usage: bash scripts/setup-tflite.sh      (PYTHON=python3.11 to choose the interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv-tflite}"
PYTHON="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "setup-tflite: creating $VENV with $("$PYTHON" --version)" >&2
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade "pip>=24"
"$VENV/bin/python" -m pip install --quiet tflite-runtime "numpy<2" pillow -e ./runtime
"$VENV/bin/python" -c "import tflite_runtime, numpy, edge_emotion_runtime; print('setup-tflite: ok, tflite-runtime', tflite_runtime.__version__, 'numpy', numpy.__version__)"
