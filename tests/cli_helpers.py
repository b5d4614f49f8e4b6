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

DEVICE_CLI = "edge_emotion_runtime.cli"
SERVE_CLI = "edge_emotion_runtime.serve"


def run_module(
    module: str,
    *args: object,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    close_stdout: bool = False,
    timeout: float = 120,
    **kwargs: Any,
) -> subprocess.CompletedProcess[str]:
    """`python -m MODULE ARGS` in a fresh process (no $EDGE_EMOTION_MODEL / $EDGE_EMOTION_TOKEN
    unless `env` sets them); never a traceback on stderr. `close_stdout` starts it with fd 1
    closed, as `command >&-` does (stdout is then not captured)."""
    full_env = {
        k: v for k, v in os.environ.items() if k not in ("EDGE_EMOTION_MODEL", "EDGE_EMOTION_TOKEN")
    }
    full_env.update(env or {})
    if close_stdout:
        kwargs.update(stdout=None, stderr=subprocess.PIPE, preexec_fn=lambda: os.close(1))
    else:
        if "stdout" not in kwargs and "stderr" not in kwargs:
            kwargs.setdefault("capture_output", True)
    result = subprocess.run(
        [sys.executable, "-m", module, *map(str, args)],
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=timeout,
        **kwargs,
    )
    assert "Traceback" not in (result.stderr or ""), result.stderr
    return result


def run_workstation_cli(
    *args: object, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`edge-emotion ARGS` (`python -m edge_emotion.cli`) in a fresh process; never a traceback."""
    return run_module("edge_emotion.cli", *args, cwd=cwd, timeout=timeout)


def run_device_cli(
    *args: object, cwd: Path | None = None, env: dict[str, str] | None = None, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """`edge-emotion-run ARGS` in a fresh process (see `run_module`)."""
    return run_module(DEVICE_CLI, *args, cwd=cwd, env=env, **kwargs)


def run_serve_cli(*args: object, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """`edge-emotion-serve ARGS` in a fresh process (see `run_module`)."""
    return run_module(SERVE_CLI, *args, **kwargs)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def assert_one_error(
    result: subprocess.CompletedProcess[str], code: int, *fragments: str, usage: bool = False
) -> str:
    """The process exited `code` after exactly one `error:` line holding every fragment (and, with
    `usage`, argparse's usage text; otherwise nothing else on stderr). Returns the line."""
    stderr = result.stderr or ""
    assert result.returncode == code, (result.returncode, stderr)
    if usage:  # argparse: `usage: ...` lines, then `PROG: error: ...`
        lines = [line for line in stderr.splitlines() if ": error: " in line]
    else:
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert all(not line.startswith(("ERROR", "INFO", "usage")) for line in lines), stderr
        lines = error_lines(stderr)
    assert len(lines) == 1, stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


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
