"""What a SOURCE names and how its frames are read: `open_source(SOURCE)` -> `VideoSource`,
whose `frames()` yields decoded RGB `Frame`s (a file in order, a live source newest first)."""

from __future__ import annotations

import math
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from edge_emotion_runtime.errors import UsageError
from edge_emotion_runtime.files import unreadable_reason
from edge_emotion_runtime.video.live import LatestFrame, Prepend
from edge_emotion_runtime.video.opencv import VideoError, import_cv2, quiet_opencv

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class SourceSpec:
    """What a SOURCE argument names. `kind` is "file", "camera" or "url"; `target` is what
    OpenCV opens (an int for a camera index)."""

    text: str
    kind: str
    target: int | str

    @property
    def live(self) -> bool:
        """Cameras and network streams deliver frames at their own pace, whether we keep up or
        not: they are read by a thread that keeps only the newest frame."""
        return self.kind != "file"


def parse_source(text: str) -> SourceSpec:
    """`0` -> camera 0; `/dev/...` -> that camera; `scheme://...` -> a stream; else a file."""
    stripped = text.strip()
    if stripped.isdigit():
        return SourceSpec(text, "camera", int(stripped))
    if stripped.startswith("/dev/"):
        return SourceSpec(text, "camera", stripped)
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", stripped):
        return SourceSpec(text, "url", stripped)
    return SourceSpec(text, "file", text)


@dataclass(frozen=True, eq=False)
class Frame:
    """One decoded frame. `index` counts frames from the start of the source, skipped and dropped
    ones included; `timestamp` is seconds on the file's clock (index / fps), or since a live
    source opened. `rgb` is HxWx3 uint8. `decode_ms` is the time spent reading the source for
    this frame (including grabbing frames skipped by `every`). `selected` is False for a frame
    read only to be written out (`every` > 1 with an annotated output)."""

    index: int
    timestamp: float
    rgb: np.ndarray
    decode_ms: float
    selected: bool = True
    dropped: int = 0


class VideoSource:
    """An opened video file, camera or stream. Use `open_source()`; `close()` (or `with`)
    releases it. `fps` is 0.0 when the source does not say; `frame_count` is None when unknown
    (cameras, streams, some containers)."""

    def __init__(self, spec: SourceSpec, capture: Any, first_bgr: Any, *, realtime: bool) -> None:
        self.spec = spec
        self._cv2 = import_cv2()
        self._capture = capture
        self._first: Any = first_bgr
        fps = float(capture.get(self._cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if math.isfinite(fps) and 0.0 < fps < 1000.0 else 0.0
        count = float(capture.get(self._cv2.CAP_PROP_FRAME_COUNT) or 0.0)
        self.frame_count: int | None = (
            int(count) if spec.kind == "file" and math.isfinite(count) and count > 0 else None
        )
        self.height, self.width = int(first_bgr.shape[0]), int(first_bgr.shape[1])
        self.live = spec.live or realtime
        self.realtime = realtime and not spec.live
        self.frames_read = 0
        self.frames_dropped = 0
        self._reader: LatestFrame | None = None
        self._closed = False

    @property
    def name(self) -> str:
        return self.spec.text

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the reader thread (if any) and release the capture. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._reader is not None:
            if self._reader.close():
                self._capture.release()
            # else: a read hangs in the driver; releasing under it could crash, so leave it.
        else:
            self._capture.release()

    def frames(
        self,
        every: int = 1,
        *,
        stop: threading.Event | None = None,
        decode_skipped: bool = False,
    ) -> Iterator[Frame]:
        """Decoded RGB frames: every `every`th one (`selected`), plus, with `decode_skipped` (and
        a file read in order), the frames between them with `selected=False`. Ends at the end of
        the source or when `stop` is set. Can be iterated once."""
        if every < 1:
            raise UsageError(f"every must be at least 1, got {every}")
        if self.live:
            yield from self._live_frames(every, stop)
        else:
            yield from self._file_frames(every, stop, decode_skipped)

    def _rgb(self, bgr: Any) -> np.ndarray:
        cv2 = self._cv2
        if bgr.ndim == 2:
            return cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
        if bgr.shape[2] == 4:
            return cv2.cvtColor(bgr, cv2.COLOR_BGRA2RGB)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def _timestamp(self, index: int) -> float:
        if self.fps > 0:
            return index / self.fps
        return float(self._capture.get(self._cv2.CAP_PROP_POS_MSEC) or 0.0) / 1000.0

    def _file_frames(
        self, every: int, stop: threading.Event | None, decode_skipped: bool
    ) -> Iterator[Frame]:
        index = 0
        pending_ms = 0.0
        while stop is None or not stop.is_set():
            selected = index % every == 0
            t0 = time.perf_counter()
            if self._first is not None:
                bgr, self._first = self._first, None
                ok = True
            elif selected or decode_skipped:
                ok, bgr = self._capture.read()
            else:
                # grab() demuxes and decodes but skips the colour conversion and copy.
                ok, bgr = self._capture.grab(), None
            if not ok:
                return
            self.frames_read += 1
            if bgr is None:
                pending_ms += (time.perf_counter() - t0) * 1000.0
                index += 1
                continue
            rgb = self._rgb(bgr)
            ms = pending_ms + (time.perf_counter() - t0) * 1000.0
            pending_ms = 0.0
            yield Frame(index, self._timestamp(index), rgb, ms, selected)
            index += 1

    def _live_frames(self, every: int, stop: threading.Event | None) -> Iterator[Frame]:
        if self._reader is None:
            # The frame read while opening is the reader's first: put the capture back to it.
            self._reader = LatestFrame(
                Prepend(self._capture, self._first),
                fps=self.fps,
                pace=self.realtime,
                camera=self.spec.kind == "camera",
            )
            self._first = None
            self._reader.start()
        reader = self._reader
        last = -every
        while stop is None or not stop.is_set():
            got = reader.next_after(last + every, stop)
            if got is None:
                break
            index, timestamp, bgr, read_ms = got
            t0 = time.perf_counter()
            rgb = self._rgb(bgr)
            ms = read_ms + (time.perf_counter() - t0) * 1000.0
            # Frames between the one we wanted and the one we got came and went unseen.
            dropped = index - (last + every)
            self.frames_dropped += dropped
            self.frames_read = reader.captured
            last = index
            yield Frame(index, timestamp, rgb, ms, True, dropped)
        self.frames_read = reader.captured
        if reader.error and not (stop is not None and stop.is_set()):
            raise VideoError(f"{self.name}: {reader.error}")


def open_source(source: str | int, *, realtime: bool = False) -> VideoSource:
    """Open a file, camera index, camera device or stream URL and read its first frame.

    Every way this can fail is one VideoError line: OpenCV missing, no such file, a file that is
    not a video OpenCV can decode, a camera that cannot be opened or gives no frame. `realtime`
    plays a file at its own frame rate as a camera would deliver it (frames dropped when the
    model falls behind), to try live behaviour without a camera.
    """
    spec = parse_source(str(source))
    if spec.kind == "file":
        _check_file(spec.text)
    elif spec.kind == "camera" and isinstance(spec.target, str) and not os.path.exists(spec.target):
        raise VideoError(f"camera {spec.text}: no such device")
    cv2 = import_cv2()
    quiet_opencv(cv2)
    if spec.kind == "camera" and isinstance(spec.target, str) and hasattr(cv2, "CAP_V4L2"):
        capture = cv2.VideoCapture(spec.target, cv2.CAP_V4L2)
    else:
        capture = cv2.VideoCapture(spec.target)
    if not capture.isOpened():
        capture.release()
        raise VideoError(_cannot_open(spec))
    ok, first = capture.read()
    if not ok or first is None or getattr(first, "size", 0) == 0:
        capture.release()
        if spec.kind == "file":
            raise VideoError(f"{spec.text}: no frame could be decoded (empty or corrupt video)")
        what = f"camera {spec.text}" if spec.kind == "camera" else spec.text
        raise VideoError(f"{what}: opened but gave no frame (busy, or not a video device)")
    return VideoSource(spec, capture, first, realtime=realtime)


def _check_file(name: str) -> None:
    problem = unreadable_reason(name, "a video file")
    if problem:
        raise VideoError(f"{name}: {problem}")


def _cannot_open(spec: SourceSpec) -> str:
    if spec.kind == "camera":
        return (
            f"camera {spec.text}: cannot be opened (no such camera, in use by another program, or "
            "no permission; cameras are listed by `ls /dev/video*`)"
        )
    if spec.kind == "url":
        return f"{spec.text}: cannot open this stream"
    return f"{spec.text}: not a video OpenCV can read (unknown container or codec)"
