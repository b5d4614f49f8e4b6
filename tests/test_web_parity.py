"""The in-browser pipeline (runtime/edge_emotion_runtime/web/*.js) against the Python runtime.

Runs Node's own test runner on runtime/web/test/parity.test.mjs, which asks this Python runtime
for a stage-by-stage dump of 30 images at test time and checks every stage for bit equality.
Skips when node or the LiteRT.js files (scripts/setup-web.sh) are missing, except under CI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from chromium import require

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "runtime" / "web"
TEST_FILES = ("test/parity.test.mjs", "test/units.test.mjs")
VENDOR = ROOT / "runtime" / "edge_emotion_runtime" / "web" / "vendor" / "litert" / "index.js"


def _relaxed_simd_flag() -> list[str]:
    """Node 20 runs LiteRT.js's relaxed-SIMD build (Chrome's) only behind a flag; newer Node
    ships the feature and may not know the flag."""
    flag = "--experimental-wasm-relaxed-simd"
    ok = subprocess.run(["node", flag, "-e", "0"], capture_output=True).returncode == 0
    return [flag] if ok else []


def test_web_pipeline_matches_python_runtime_stage_by_stage() -> None:
    require(shutil.which("node") is not None, "node is not installed")
    require(VENDOR.is_file(), "LiteRT.js not installed: run scripts/setup-web.sh")
    env = {**os.environ, "EDGE_EMOTION_PYTHON": sys.executable}
    proc = subprocess.run(
        ["node", *_relaxed_simd_flag(), "--test", *TEST_FILES],
        cwd=WEB,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = [line for line in proc.stdout.splitlines() if "largest difference" in line]
    print("\n".join(summary))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
