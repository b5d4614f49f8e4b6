"""Run the real `edge-emotion` entry point in-process and capture what a user would see."""

from __future__ import annotations

import contextlib
import io
import sys


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
