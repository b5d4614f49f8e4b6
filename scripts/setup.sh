#!/usr/bin/env bash
# Create (or update) the project venv with both distributions installed editable, test extras on
# (and the runtime's video extra, so the OpenCV video tests run).
# Usage: bash scripts/setup.sh        (VENV=path to use another location)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV" >&2
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.edge-emotion-installed"
want="$(cat pyproject.toml runtime/pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing edge-emotion and edge-emotion-runtime into $VENV (first run takes a few minutes)" >&2
  "$VENV/bin/python" -m pip install --quiet --upgrade "pip>=24" "setuptools>=77" wheel
  "$VENV/bin/python" -m pip install --quiet -e "./runtime[litert,serve,video]" -e ".[test]"
  echo "$want" > "$stamp"
fi
