"""Silence native (C++) log lines that TensorFlow/LiteRT write straight to file descriptors."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import warnings
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_native() -> Iterator[None]:
    """Keep the converter's warnings and C++ log lines (MLIR, calibrator) off the terminal.

    The converter writes straight to file descriptors 1 and 2, so redirecting `sys.stdout` is
    not enough. Set EDGE_EMOTION_DEBUG=1 to see everything.
    """
    if os.environ.get("EDGE_EMOTION_DEBUG"):
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)
