"""Run the real `edge-emotion` and `edge-emotion-run` entry points and capture what a user sees.

Imports nothing of the workstation toolkit at module level: the device-side tests use it too
(also on emulated aarch64, where only the runtime is installed).
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def run_device_cli(
    *args: object, cwd: Path | None = None, env: dict[str, str] | None = None, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """`edge-emotion-run ARGS` in a fresh process (no $EDGE_EMOTION_MODEL unless `env` sets
    it); never a traceback on stderr."""
    full_env = {k: v for k, v in os.environ.items() if k != "EDGE_EMOTION_MODEL"}
    full_env.update(env or {})
    result = subprocess.run(
        [sys.executable, "-m", "edge_emotion_runtime.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=120,
        **kwargs,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def invoke(args: list[str]) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `edge-emotion ARGS`, through `cli.main` error handling."""
    from edge_emotion import cli

    out, err = io.StringIO(), io.StringIO()
    old = sys.argv
    sys.argv = ["edge-emotion", *args]
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            cli.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = old
    return code, out.getvalue(), err.getvalue()
