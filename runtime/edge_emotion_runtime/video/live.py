"""Live sources (cameras, streams, a file played in real time): a reader thread that keeps
only the newest frame, so a model slower than the source drops frames instead of queueing them."""

from __future__ import annotations

import threading
import time
from typing import Any

# A camera that fails this many reads in a row is gone (unplugged, or taken by another program).
CAMERA_MAX_FAILED_READS = 50


class LatestFrame:
    """A reader thread that keeps only the newest frame of a live source.

    Bounded by construction: one slot, overwritten. A consumer slower than the source gets the
    newest frame each time and the ones it never saw are counted as dropped.
    """

    def __init__(self, capture: Any, *, fps: float, pace: bool, camera: bool) -> None:
        self._capture = capture
        self._fps = fps
        self._pace = pace  # a file played at its own frame rate (`realtime`)
        self._camera = camera
        self._cond = threading.Condition()
        self._slot: tuple[int, float, Any, float] | None = None
        self._done = False
        self._closing = False
        self.captured = 0
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name="video-reader", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        start = time.perf_counter()
        index = 0
        failures = 0
        while not self._closing:
            t0 = time.perf_counter()
            ok, bgr = self._capture.read()
            read_ms = (time.perf_counter() - t0) * 1000.0
            if not ok or bgr is None:
                failures += 1
                # A file (or stream) that stops giving frames has ended; a camera may hiccup.
                if not self._camera or failures >= CAMERA_MAX_FAILED_READS:
                    if self._camera:
                        self.error = "camera stopped giving frames"
                    break
                time.sleep(0.01)
                continue
            failures = 0
            if self._pace and self._fps > 0:
                timestamp = index / self._fps
                delay = start + timestamp - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            elif self._fps > 0 and not self._camera:
                timestamp = index / self._fps
            else:
                timestamp = time.perf_counter() - start
            with self._cond:
                self._slot = (index, timestamp, bgr, read_ms)
                self.captured = index + 1
                self._cond.notify_all()
            index += 1
        with self._cond:
            self._done = True
            self._cond.notify_all()

    def next_after(
        self, wanted: int, stop: threading.Event | None
    ) -> tuple[int, float, Any, float] | None:
        """The newest frame with index >= `wanted`; None at the end of the source or on stop."""
        with self._cond:
            while True:
                if self._slot is not None and self._slot[0] >= wanted:
                    return self._slot
                if self._done or (stop is not None and stop.is_set()):
                    return None
                # Wake up now and then to notice `stop` (set from a signal handler).
                self._cond.wait(timeout=0.1)

    def close(self) -> bool:
        """Stop the thread; True when it ended (so the capture may be released safely)."""
        self._closing = True
        self._thread.join(timeout=2.0)
        return not self._thread.is_alive()


class Prepend:
    """A capture whose first read() returns a frame already read (when the source was checked)."""

    def __init__(self, capture: Any, first: Any) -> None:
        self._capture = capture
        self._first = first

    def read(self) -> tuple[bool, Any]:
        if self._first is not None:
            first, self._first = self._first, None
            return True, first
        return self._capture.read()
