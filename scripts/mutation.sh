#!/usr/bin/env bash
# Mutation testing of the runtime's core modules and the export gate (cosmic-ray; not in CI).
# Usage: bash scripts/mutation.sh [crop labels detector quantization metadata inputs preprocess
#        export-gate]   (default: all). Sessions land in .mutation/; see scripts/mutation.py.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || bash scripts/setup.sh
.venv/bin/python -c "import cosmic_ray" 2>/dev/null || .venv/bin/pip install -q -e '.[mutation]'
exec .venv/bin/python scripts/mutation.py "$@"
