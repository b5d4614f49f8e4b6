#!/usr/bin/env bash
# Create (or update) .venv-tflite: a second venv holding the frozen tflite-runtime interpreter.
#
# tflite-runtime 2.14 (the last release) is built against numpy 1.x and ships wheels for
# Python <= 3.11 only, so it cannot share the dev venv (numpy 2). `edge-emotion benchmark`
# finds .venv-tflite/ in the checkout by itself (or $EDGE_EMOTION_TFLITE_PYTHON) and measures
# the `tflite` backend rows there; the runtime's tests use it too.
# Usage: bash scripts/setup-tflite.sh      (PYTHON=python3.11 to choose the interpreter,
#                                           VENV=path for another location)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv-tflite}"
PYTHON="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "setup-tflite: creating $VENV with $("$PYTHON" --version)" >&2
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.edge-emotion-tflite-installed"
want="$(sha256sum runtime/pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup-tflite: installing tflite-runtime, numpy<2, pillow and ./runtime into $VENV" >&2
  "$VENV/bin/python" -m pip install --quiet --upgrade "pip>=24"
  "$VENV/bin/python" -m pip install --quiet tflite-runtime "numpy<2" pillow -e ./runtime
  echo "$want" > "$stamp"
fi
"$VENV/bin/python" -c "import tflite_runtime, numpy, edge_emotion_runtime; print('setup-tflite: ok, tflite-runtime', tflite_runtime.__version__, 'numpy', numpy.__version__)"
