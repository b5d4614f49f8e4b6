"""Silence native (C++) log lines that TensorFlow/LiteRT write straight to file descriptors."""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_native() -> Iterator[None]:
    """Keep the converter's warnings and C++ log lines (MLIR, calibrator) off the terminal.

    The converter writes straight to file descriptors 1 and 2, so redirecting `sys.stdout` is
    not enough. Set EDGE_EMOTION_DEBUG=1 to see everything.
    """
    from edge_emotion_runtime.native import capture_native

    if os.environ.get("EDGE_EMOTION_DEBUG"):
        yield
        return
    with (
        capture_native((1, 2)),
        warnings.catch_warnings(),
        contextlib.redirect_stdout(io.StringIO()),
    ):
        warnings.simplefilter("ignore")
        yield
