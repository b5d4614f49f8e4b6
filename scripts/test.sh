#!/usr/bin/env bash
# Set up the venvs if needed, lint, then run the whole test suite. Extra args go to pytest.
#
# Besides the main venv, a second one (.venv-tflite) holds tflite-runtime 2.14, which needs
# numpy<2; the tflite backend tests run against it. Where it cannot be installed (tflite-runtime
# has no wheel for Python > 3.11), those tests skip and say why.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
VENV="$VENV" bash scripts/setup.sh
bash scripts/setup-web.sh
if [ -z "${EDGE_EMOTION_TFLITE_PYTHON:-}" ]; then
  if VENV=.venv-tflite bash scripts/setup-tflite.sh >&2; then
    export EDGE_EMOTION_TFLITE_PYTHON="$PWD/.venv-tflite/bin/python"
  else
    echo "test: tflite-runtime venv unavailable; the tflite backend tests will skip" >&2
  fi
fi
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
set +e
"$VENV/bin/python" -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "test: pytest collected no tests; that is a failure" >&2
  exit 1
fi
exit "$rc"
