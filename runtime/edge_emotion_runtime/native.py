"""Capture what native (C++) code writes straight to file descriptors.

TensorFlow, the TFLite converter and the interpreters log to fd 1/2 below Python, where
`sys.stderr` redirection cannot reach. This is the one place that swaps those descriptors; the
callers decide what to do with the text (drop INFO lines, replay it on failure, parse it).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


class NativeOutput:
    """What was written while capturing; filled in when the `with` block ends (so mutable)."""

    __slots__ = ("text",)

    def __init__(self) -> None:
        self.text = ""

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines()


@contextmanager
def capture_native(fds: tuple[int, ...] = (2,), *, enabled: bool = True) -> Iterator[NativeOutput]:
    """Route `fds` into one temporary file for the block; its text lands in the yielded object.

    A no-op when not `enabled` or when the descriptors cannot be duplicated (e.g. closed or
    replaced by a test harness): output then goes where it always went.
    """
    captured = NativeOutput()
    if not enabled:
        yield captured
        return
    saved: list[int] = []
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = [os.dup(fd) for fd in fds]
    except (OSError, ValueError):
        for fd in saved:
            os.close(fd)
        yield captured
        return
    with tempfile.TemporaryFile() as sink:
        for fd in fds:
            os.dup2(sink.fileno(), fd)
        try:
            yield captured
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, copy in zip(fds, saved, strict=True):
                os.dup2(copy, fd)
                os.close(copy)
            sink.seek(0)
            captured.text = sink.read().decode("utf-8", "replace")
