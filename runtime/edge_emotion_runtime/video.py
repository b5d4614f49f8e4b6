"""Video files and cameras: the photo pipeline on every frame, faces tracked, labels smoothed.

OpenCV (the runtime's `video` extra, `opencv-python-headless`) is imported here only, and only
when a video is opened: the plain runtime install, and `edge-emotion-run` on photos, never need
it. Every frame goes through `PhotoClassifier.analyze`, so a frame gives the same faces as the
same picture saved as a photo.

The pieces, each usable on its own from Python:

- `open_source(SOURCE)` -> `VideoSource`: a file, a camera index (`0`), a device (`/dev/video0`)
  or a stream URL. `VideoSource.frames()` yields decoded RGB `Frame`s. A live source (camera,
  URL, or a file with `realtime=True`) is read by a thread that keeps only the newest frame, so a
  model slower than the camera drops frames (counted) instead of queueing them without bound.
- `IouTracker` gives faces track ids that persist while a face moves; `Smoothing` (EMA or a short
  window) smooths each track's probability so its label does not flicker.
- `VideoAnalyzer.run(source)` is the generator of per-frame `FrameResult`s (what `--json` prints,
  one per line); `VideoAnalyzer.summary()` the `VideoSummary` afterwards. `analyze_video()` does
  both steps from a SOURCE string.
- `AnnotatedWriter` writes the frames with boxes, labels and track ids to an .mp4.
- `add_video_arguments`, `video_main(args)` and `main()`: the command line
  (`edge-emotion-video SOURCE`, and `edge-emotion-run --video SOURCE` once wired there).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import signal
import sys
import threading
import time
import warnings
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from edge_emotion_runtime.errors import EdgeEmotionError, UsageError
from edge_emotion_runtime.labels import decide, positive_from_p_happy
from edge_emotion_runtime.options import add_pipeline_options, positive_int

if TYPE_CHECKING:
    import numpy as np

    from edge_emotion_runtime.photo import PhotoClassifier, PhotoResult, Timings

INSTALL_HINT = (
    "pip install 'edge-emotion-runtime[video]' (from a checkout: pip install './runtime[video]')"
)
SMOOTHING_KINDS: tuple[str, ...] = ("ema", "window", "none")
# A camera that fails this many reads in a row is gone (unplugged, or taken by another program).
CAMERA_MAX_FAILED_READS = 50
# Frame rate assumed for writing when the source does not report one (many webcams).
FALLBACK_FPS = 30.0


class VideoError(EdgeEmotionError):
    """A video source cannot be opened or read, an output cannot be written, or OpenCV is
    missing. Exit code 2, like other usage errors: nothing was processed."""

    exit_code = 2


def import_cv2() -> Any:
    """OpenCV, or one VideoError saying how to install it (the extra is optional).

    FFmpeg inside OpenCV logs to the process's stderr by itself ("moov atom not found"); it is
    silenced so a bad source is our one `error:` line. Set OPENCV_FFMPEG_LOGLEVEL (e.g. 32) to
    see its messages again.
    """
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
    try:
        import cv2
    except ImportError as err:
        raise VideoError(
            f"video needs OpenCV, which is not installed ({err}); {INSTALL_HINT}"
        ) from None
    return cv2


def _quiet_opencv(cv2: Any) -> None:
    """OpenCV logs its own warnings ("can't open camera by index") on stderr; ours say it once."""
    with contextlib.suppress(AttributeError):  # very old builds
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)


# ---------------------------------------------------------------------------------- sources
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


class _LatestFrame:
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
        self._reader: _LatestFrame | None = None
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
            self._reader = _LatestFrame(
                _Prepend(self._capture, self._first),
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


class _Prepend:
    """A capture whose first read() returns a frame already read (when the source was checked)."""

    def __init__(self, capture: Any, first: Any) -> None:
        self._capture = capture
        self._first = first

    def read(self) -> tuple[bool, Any]:
        if self._first is not None:
            first, self._first = self._first, None
            return True, first
        return self._capture.read()


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
    _quiet_opencv(cv2)
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
    path = Path(name)
    try:
        if not path.exists():
            raise VideoError(f"{name}: no such file")
        if path.is_dir():
            raise VideoError(f"{name}: is a directory, not a video file")
        if path.stat().st_size == 0:
            raise VideoError(f"{name}: empty file (0 bytes)")
        with path.open("rb"):
            pass
    except OSError as err:
        raise VideoError(f"{name}: cannot read file ({err.strerror or err})") from None


def _cannot_open(spec: SourceSpec) -> str:
    if spec.kind == "camera":
        return (
            f"camera {spec.text}: cannot be opened (no such camera, in use by another program, or "
            "no permission; cameras are listed by `ls /dev/video*`)"
        )
    if spec.kind == "url":
        return f"{spec.text}: cannot open this stream"
    return f"{spec.text}: not a video OpenCV can read (unknown container or codec)"


# --------------------------------------------------------------------------- tracking, smoothing
@dataclass(frozen=True)
class Smoothing:
    """How a track's probability is smoothed over the frames it is seen in.

    "ema": p <- alpha * p_frame + (1 - alpha) * p (first frame taken as is); "window": the mean of
    the last `window` frames; "none": the frame's own. Smoothing is over processed frames, so
    with `every` N one step spans N source frames.
    """

    kind: str = "ema"
    alpha: float = 0.3
    window: int = 8

    def __post_init__(self) -> None:
        if self.kind not in SMOOTHING_KINDS:
            raise UsageError(
                f"smoothing must be one of {', '.join(SMOOTHING_KINDS)}, got {self.kind!r}"
            )
        if not 0.0 < self.alpha <= 1.0:
            raise UsageError(f"alpha must be in (0, 1], got {self.alpha}")
        if self.window < 1:
            raise UsageError(f"window must be at least 1 frame, got {self.window}")

    def smoother(self) -> _Smoother:
        """A fresh smoother for one track."""
        return _Smoother(self)


class _Smoother:
    def __init__(self, smoothing: Smoothing) -> None:
        self._s = smoothing
        self._value: float | None = None
        self._recent: deque[float] = deque(maxlen=smoothing.window)

    def update(self, p: float) -> float:
        kind = self._s.kind
        if kind == "ema":
            a = self._s.alpha
            self._value = p if self._value is None else a * p + (1.0 - a) * self._value
            return self._value
        if kind == "window":
            self._recent.append(p)
            return sum(self._recent) / len(self._recent)
        return p


Box = tuple[int, int, int, int]


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


class IouTracker:
    """Gives each face a track id that persists across frames.

    Greedy matching, best first: a face takes the live track it overlaps most (IoU >= `min_iou`);
    failing that, a track whose last box is close (centres within half a face size, sizes within
    2x), which keeps an id when a face moves fast or `every` skips frames. Unmatched faces start
    new tracks (ids count up from 1 and are never reused); a track unseen for more than
    `max_missed` processed frames ends. Enough for a door, a kiosk or a desk: not a re-identifier.
    """

    def __init__(self, min_iou: float = 0.3, max_missed: int = 10) -> None:
        self.min_iou = min_iou
        self.max_missed = max_missed
        self._boxes: dict[int, Box] = {}
        self._missed: dict[int, int] = {}
        self._next_id = 1

    @property
    def live_ids(self) -> tuple[int, ...]:
        return tuple(self._boxes)

    def update(self, boxes: Sequence[Box]) -> list[int]:
        """Track ids for this frame's `boxes`, in their order."""
        candidates: list[tuple[tuple[int, float], int, int]] = []
        for t, tbox in self._boxes.items():
            for d, dbox in enumerate(boxes):
                overlap = iou(tbox, dbox)
                if overlap >= self.min_iou:
                    candidates.append(((0, -overlap), t, d))
                elif _near(tbox, dbox):
                    candidates.append(((1, _distance(tbox, dbox)), t, d))
        candidates.sort()
        ids: list[int | None] = [None] * len(boxes)
        taken: set[int] = set()
        for _, t, d in candidates:
            if t in taken or ids[d] is not None:
                continue
            ids[d] = t
            taken.add(t)
        for d, box in enumerate(boxes):
            if ids[d] is None:
                ids[d] = self._next_id
                self._next_id += 1
            self._boxes[ids[d]] = box  # type: ignore[index]
            self._missed[ids[d]] = 0  # type: ignore[index]
        for t in list(self._boxes):
            if t not in taken and t not in ids:
                self._missed[t] += 1
                if self._missed[t] > self.max_missed:
                    del self._boxes[t], self._missed[t]
        return [i for i in ids if i is not None]


def _centre(box: Sequence[float]) -> tuple[float, float]:
    return (box[0] + box[2] / 2, box[1] + box[3] / 2)


def _distance(a: Sequence[float], b: Sequence[float]) -> float:
    """Centre distance in units of the mean face size."""
    (ax, ay), (bx, by) = _centre(a), _centre(b)
    size = max(1.0, (max(a[2], a[3]) + max(b[2], b[3])) / 2)
    return math.hypot(ax - bx, ay - by) / size


def _near(a: Sequence[float], b: Sequence[float]) -> bool:
    area_a, area_b = max(1.0, a[2] * a[3]), max(1.0, b[2] * b[3])
    return _distance(a, b) < 0.5 and 0.25 <= area_a / area_b <= 4.0


# ------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class TrackedFace:
    """One face in one frame. `p_happy` is this frame's classifier output; `label` and
    `probability` (of that label) come from the track's smoothed `p_happy_smoothed`, so they do
    not flicker; `raw_label` is this frame's own."""

    track_id: int
    box: Box
    score: float | None
    p_happy: float
    p_happy_smoothed: float
    label: str
    probability: float
    raw_label: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "track": self.track_id,
            "box": list(self.box),
            "score": None if self.score is None else round(self.score, 4),
            "label": self.label,
            "probability": round(self.probability, 6),
            "p_happy": round(self.p_happy, 6),
            "p_happy_smoothed": round(self.p_happy_smoothed, 6),
            "raw_label": self.raw_label,
        }


@dataclass(frozen=True)
class FrameResult:
    """The faces of one processed frame, largest first. `index`, `timestamp`: see `Frame`;
    `dropped`: frames of a live source that came and went unseen since the previous result;
    `timings`: decode (reading the source + the photo pipeline's own), detect, classify, in ms."""

    index: int
    timestamp: float
    width: int
    height: int
    faces: tuple[TrackedFace, ...]
    timings: Timings
    dropped: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of one frame (`--json` prints one per line)."""
        return {
            "frame": self.index,
            "t": round(self.timestamp, 3),
            "width": self.width,
            "height": self.height,
            "faces": [f.to_dict() for f in self.faces],
            "dropped": self.dropped,
            "ms": self.timings.to_dict(),
        }


@dataclass(frozen=True)
class TrackSummary:
    """One track over the whole run: `share` is the fraction of its frames per (smoothed) label;
    `label` the dominant one."""

    track_id: int
    frames: int
    first_seen: float
    last_seen: float
    label: str
    share: tuple[tuple[str, float], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "track": self.track_id,
            "frames": self.frames,
            "first_seen": round(self.first_seen, 3),
            "last_seen": round(self.last_seen, 3),
            "label": self.label,
            "share": {label: round(s, 4) for label, s in self.share},
        }

    def to_text(self) -> str:
        shares = ", ".join(f"{s:.0%} {label}" for label, s in self.share)
        return (
            f"track {self.track_id}: {self.label} ({shares}) in {self.frames} frames, "
            f"{self.first_seen:.2f}-{self.last_seen:.2f} s"
        )


@dataclass(frozen=True)
class VideoSummary:
    """A whole run. `frames_read` counts frames taken from the source (skipped ones included),
    `frames_processed` those analysed, `frames_dropped` those a live source delivered while the
    model was busy; `faces` sums faces over processed frames; `seconds` is wall time from the
    first frame to the last; `mean_ms` the mean per-stage time of a processed frame; `stopped_by`
    names the signal that ended the run early (None when the source ended or --max-frames)."""

    source: str
    width: int
    height: int
    source_fps: float
    frames_read: int
    frames_processed: int
    frames_dropped: int
    faces: int
    tracks: tuple[TrackSummary, ...]
    seconds: float
    mean_ms: dict[str, float] = field(default_factory=dict)
    stopped_by: str | None = None

    @property
    def fps(self) -> float:
        """Processed frames per wall-clock second, end to end."""
        return self.frames_processed / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "width": self.width,
            "height": self.height,
            "source_fps": round(self.source_fps, 3),
            "frames_read": self.frames_read,
            "frames_processed": self.frames_processed,
            "frames_dropped": self.frames_dropped,
            "faces": self.faces,
            "tracks": [t.to_dict() for t in self.tracks],
            "seconds": round(self.seconds, 3),
            "fps": round(self.fps, 2),
            "mean_ms": {k: round(v, 3) for k, v in self.mean_ms.items()},
            "stopped_by": self.stopped_by,
        }

    def to_text(self) -> str:
        stopped = f", stopped by {self.stopped_by}" if self.stopped_by else ""
        ms = ", ".join(f"{k} {v:.1f}" for k, v in self.mean_ms.items() if k != "total")
        lines = [
            f"{self.source}: {self.width}x{self.height}, {self.frames_read} frames read, "
            f"{self.frames_processed} processed, {self.frames_dropped} dropped{stopped}",
            f"{self.faces} faces in {len(self.tracks)} tracks; {self.fps:.1f} fps end to end "
            f"(ms per frame: {ms or 'n/a'})",
        ]
        lines += [t.to_text() for t in self.tracks]
        return "\n".join(lines)


# ------------------------------------------------------------------------------ analysis
class VideoAnalyzer:
    """Runs a `PhotoClassifier` over a video: detect and classify each processed frame, track
    faces, smooth each track. One analyzer per video (it holds the tracks); `summary()` after."""

    def __init__(
        self,
        classifier: PhotoClassifier,
        *,
        smoothing: Smoothing | None = None,
        detect: str = "auto",
        min_iou: float = 0.3,
        max_missed: int = 10,
    ) -> None:
        self.classifier = classifier
        self.smoothing = smoothing or Smoothing()
        self.detect = detect
        self.tracker = IouTracker(min_iou=min_iou, max_missed=max_missed)
        self._meta = classifier.classifier.metadata
        self._labels: tuple[str, ...] = tuple(self._meta.labels)
        self._smoothers: dict[int, _Smoother] = {}
        self._counts: dict[int, dict[str, int]] = {}
        self._seen: dict[int, tuple[float, float]] = {}
        self._source: VideoSource | None = None
        self._processed = 0
        self._faces = 0
        self._ms = {"decode": 0.0, "detect": 0.0, "classify": 0.0}
        self._start: float | None = None
        self._end: float | None = None
        self.stopped_by: str | None = None

    def decide(self, p_happy: float) -> tuple[str, float]:
        """(label, probability of it) for a (smoothed) probability of "happy", by the model's own
        rule: `labels.decide`, the one a photo goes through."""
        meta = self._meta
        p_positive = positive_from_p_happy(p_happy, meta.labels, meta.positive_index)
        return decide(p_positive, meta.labels, meta.threshold, meta.positive_index)

    def process(self, frame: Frame) -> FrameResult:
        """Analyse one frame and advance the tracks."""
        from edge_emotion_runtime.photo import Timings

        result: PhotoResult = self.classifier.analyze(frame.rgb, detect=self.detect)
        ids = self.tracker.update([f.box for f in result.faces])
        faces = []
        for track, face in zip(ids, result.faces, strict=True):
            smoother = self._smoothers.setdefault(track, self.smoothing.smoother())
            smoothed = smoother.update(face.p_happy)
            label, probability = self.decide(smoothed)
            counts = self._counts.setdefault(track, dict.fromkeys(self._labels, 0))
            counts[label] = counts.get(label, 0) + 1
            first, _ = self._seen.get(track, (frame.timestamp, frame.timestamp))
            self._seen[track] = (first, frame.timestamp)
            faces.append(
                TrackedFace(
                    track_id=track,
                    box=face.box,
                    score=face.score,
                    p_happy=face.p_happy,
                    p_happy_smoothed=smoothed,
                    label=label,
                    probability=probability,
                    raw_label=face.label,
                )
            )
        for track in list(self._smoothers):
            if track not in self.tracker.live_ids:
                del self._smoothers[track]  # ended: its id is never reused
        t = result.timings
        timings = Timings(decode=frame.decode_ms + t.decode, detect=t.detect, classify=t.classify)
        self._processed += 1
        self._faces += len(faces)
        for key in self._ms:
            self._ms[key] += getattr(timings, key)
        return FrameResult(
            frame.index,
            frame.timestamp,
            result.width,
            result.height,
            tuple(faces),
            timings,
            frame.dropped,
        )

    def run_with_frames(
        self,
        source: VideoSource,
        *,
        every: int = 1,
        max_frames: int | None = None,
        stop: threading.Event | None = None,
        decode_skipped: bool = False,
    ) -> Iterator[tuple[Frame, FrameResult | None]]:
        """(frame, its result) for every frame taken; the result is None for frames read only
        because `decode_skipped` asked for them (to write them out). Stops after `max_frames`
        processed frames, at the end of the source, or when `stop` is set."""
        if max_frames is not None and max_frames < 1:
            raise UsageError(f"max_frames must be at least 1, got {max_frames}")
        self._source = source
        self._start = time.perf_counter()
        try:
            for frame in source.frames(every, stop=stop, decode_skipped=decode_skipped):
                if not frame.selected:
                    yield frame, None
                    continue
                result = self.process(frame)
                self._end = time.perf_counter()
                yield frame, result
                if max_frames is not None and self._processed >= max_frames:
                    break
        finally:
            self._end = time.perf_counter()

    def run(
        self,
        source: VideoSource,
        *,
        every: int = 1,
        max_frames: int | None = None,
        stop: threading.Event | None = None,
    ) -> Iterator[FrameResult]:
        """The per-frame results of `source` (see `run_with_frames`)."""
        for _, result in self.run_with_frames(
            source, every=every, max_frames=max_frames, stop=stop
        ):
            if result is not None:
                yield result

    def summary(self) -> VideoSummary:
        """Counts, per-track dominant labels and shares, and the effective frame rate so far."""
        tracks = []
        for track, counts in sorted(self._counts.items()):
            total = sum(counts.values())
            share = tuple((label, n / total) for label, n in counts.items())
            dominant = max(counts.items(), key=lambda kv: kv[1])[0]
            first, last = self._seen[track]
            tracks.append(TrackSummary(track, total, first, last, dominant, share))
        source = self._source
        seconds = (
            (self._end or time.perf_counter()) - self._start if self._start is not None else 0.0
        )
        n = max(1, self._processed)
        mean = {k: v / n for k, v in self._ms.items()} if self._processed else {}
        if mean:
            mean["total"] = sum(mean.values())
        return VideoSummary(
            source=source.name if source else "",
            width=source.width if source else 0,
            height=source.height if source else 0,
            source_fps=source.fps if source else 0.0,
            frames_read=source.frames_read if source else 0,
            frames_processed=self._processed,
            frames_dropped=source.frames_dropped if source else 0,
            faces=self._faces,
            tracks=tuple(tracks),
            seconds=seconds,
            mean_ms=mean,
            stopped_by=self.stopped_by,
        )


def analyze_video(
    source: str | int,
    model: str | os.PathLike[str] | None = None,
    *,
    every: int = 1,
    max_frames: int | None = None,
    smoothing: Smoothing | None = None,
    detect: str = "auto",
    detector: str = "short",
    threads: int | None = None,
    backend: str = "auto",
    realtime: bool = False,
    stop: threading.Event | None = None,
) -> Iterator[FrameResult]:
    """Per-frame results of a video file, camera index/device or stream URL, in one call:

        for frame in analyze_video("door.mp4", every=2):
            print(frame.index, [(f.track_id, f.label) for f in frame.faces])

    Model: `model`, else $EDGE_EMOTION_MODEL, else the bundled one. The source is released when
    the generator ends or is closed.
    """
    from edge_emotion_runtime.photo import PhotoClassifier

    classifier = PhotoClassifier.load(
        model, detector=detector, threads=threads, backend=backend, quiet=True
    )
    analyzer = VideoAnalyzer(classifier, smoothing=smoothing, detect=detect)
    with open_source(source, realtime=realtime) as video:
        yield from analyzer.run(video, every=every, max_frames=max_frames, stop=stop)


# ------------------------------------------------------------------------------ writing
class AnnotatedWriter:
    """Writes frames with each face's box, track id, label and smoothed probability (Pillow
    drawing, `annotate.draw_faces`) into an .mp4 (OpenCV, mp4v).

    Like photo annotation, it never replaces a file: a taken name (or the input) gets a numbered
    suffix, and the video is written under a temporary name and linked into place when complete.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fps: float,
        size: tuple[int, int],
        protected: Sequence[Path] = (),
    ) -> None:
        from edge_emotion_runtime.annotate import free_path

        cv2 = import_cv2()
        self._cv2 = cv2
        wanted = Path(path)
        try:
            wanted.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise VideoError(
                f"{wanted}: cannot create its directory ({err.strerror or err})"
            ) from None
        self.path = free_path(wanted.parent, wanted.name, protected)
        suffix = self.path.suffix or ".mp4"
        self._tmp = self.path.with_name(f".{self.path.stem}.tmp-{os.getpid()}{suffix}")
        self.size = size
        self.frames = 0
        self._writer = cv2.VideoWriter(
            str(self._tmp), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), size
        )
        if not self._writer.isOpened():
            self._tmp.unlink(missing_ok=True)
            raise VideoError(
                f"{wanted}: cannot write a video there (OpenCV has no mp4v writer for "
                f"{suffix!r} files, or the directory is not writable)"
            )

    def write(self, frame: Frame, result: FrameResult | None) -> None:
        """Draw `result`'s faces (or none) on `frame` and append it."""
        import numpy as np
        from PIL import Image

        from edge_emotion_runtime.annotate import draw_faces
        from edge_emotion_runtime.photo import Face

        faces = result.faces if result is not None else ()
        image = Image.fromarray(frame.rgb)
        if faces:
            drawn = [
                Face(f.box, f.score, f.label, f.probability, f.p_happy_smoothed) for f in faces
            ]
            captions = [f"#{f.track_id} {f.label} {f.probability:.2f}" for f in faces]
            image = draw_faces(image, drawn, captions)
        rgb = np.asarray(image)
        if (rgb.shape[1], rgb.shape[0]) != self.size:  # a stream that changed size midway
            rgb = self._cv2.resize(rgb, self.size)
        self._writer.write(self._cv2.cvtColor(rgb, self._cv2.COLOR_RGB2BGR))
        self.frames += 1

    def close(self) -> Path:
        """Finish the file and move it into place; returns its path."""
        self._writer.release()
        try:
            os.link(self._tmp, self.path)
        except FileExistsError:  # taken meanwhile: pick the next free name
            from edge_emotion_runtime.annotate import free_path

            self.path = free_path(self.path.parent, self.path.name)
            os.link(self._tmp, self.path)
        finally:
            self._tmp.unlink(missing_ok=True)
        return self.path

    def abort(self) -> None:
        self._writer.release()
        self._tmp.unlink(missing_ok=True)


def annotated_path(value: str | os.PathLike[str], spec: SourceSpec) -> Path:
    """`--annotate` value -> output file. A file name is taken as is; a directory (existing, or
    a name without suffix, as `edge-emotion-run --annotate DIR` takes for photos) gets
    `<source stem>.annotated.mp4` inside it."""
    path = Path(value)
    if path.suffix and not path.is_dir():
        return path
    if spec.kind == "file":
        stem = Path(spec.text).stem
    else:
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", str(spec.target)).strip("_") or "stream"
        stem = f"camera{stem}" if isinstance(spec.target, int) else stem
    return path / f"{stem}.annotated.mp4"


# ------------------------------------------------------------------------------ command line
def _alpha(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {value}")
    return value


def add_video_arguments(parser: argparse.ArgumentParser, *, common: bool = True) -> None:
    """Add the video options to `parser`.

    `common=False` adds only the video-specific ones (--every, --max-frames, --smooth, --alpha,
    --window, --realtime), for a parser that already has --model, --detector, --threads,
    --backend, --no-xnnpack, --json, --annotate, --detect and --verbose (`edge-emotion-run`);
    `video_main` reads all of them from the namespace by those names.
    """
    if common:
        add_pipeline_options(parser)
        parser.add_argument(
            "--json",
            action="store_true",
            help="one JSON object per processed frame on stdout (the summary goes to stderr)",
        )
        parser.add_argument(
            "--annotate",
            metavar="OUT",
            help="write the video with boxes, track ids and labels to OUT.mp4, or to "
            "OUT/<source>.annotated.mp4 for a directory (an existing file is never replaced: "
            "a free name is chosen)",
        )
        parser.add_argument(
            "--verbose",
            "-v",
            action="store_true",
            help="print the model, backend and source on stderr",
        )
    parser.add_argument(
        "--every",
        type=positive_int,
        default=1,
        metavar="N",
        help="process every Nth frame (default: 1, all)",
    )
    parser.add_argument(
        "--max-frames",
        type=positive_int,
        default=None,
        metavar="N",
        help="stop after N processed frames",
    )
    parser.add_argument(
        "--smooth",
        choices=SMOOTHING_KINDS,
        default="ema",
        help="per-track smoothing of the probability (default: ema)",
    )
    parser.add_argument(
        "--alpha",
        type=_alpha,
        default=Smoothing.alpha,
        metavar="A",
        help=f"EMA weight of the newest frame (default: {Smoothing.alpha})",
    )
    parser.add_argument(
        "--window",
        type=positive_int,
        default=Smoothing.window,
        metavar="N",
        help=f"frames averaged by --smooth window (default: {Smoothing.window})",
    )
    parser.add_argument(
        "--realtime",
        action="store_true",
        help="play a file at its own frame rate like a camera (frames dropped "
        "when the model falls behind)",
    )


def build_parser() -> argparse.ArgumentParser:
    from edge_emotion_runtime import __version__

    parser = argparse.ArgumentParser(
        prog="edge-emotion-video",
        description="Track faces in a video file or camera and classify each as happy or sad.",
        epilog="SOURCE: a video file, a camera index (0) or device (/dev/video0), or a stream "
        "URL. Ctrl-C stops a camera and still prints the summary. Exit codes: 0 done (or "
        "stopped by Ctrl-C/SIGTERM), 1 failed midway, 2 usage error (bad source, missing OpenCV "
        "or model).",
    )
    parser.add_argument("video", metavar="SOURCE", help="video file, camera index or device, URL")
    add_video_arguments(parser)
    parser.add_argument("--version", action="version", version=f"edge-emotion-video {__version__}")
    return parser


class _Stopper:
    """SIGINT/SIGTERM set a flag the frame loop checks, so the run ends between frames and the
    summary is still printed; a second Ctrl-C interrupts at once."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signal_name: str | None = None
        self._old: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.event.is_set():
            raise KeyboardInterrupt
        self.signal_name = signal.Signals(signum).name
        self.event.set()

    def __enter__(self) -> _Stopper:
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning: {str(message).splitlines()[0]}", file=sys.stderr)


def video_main(args: argparse.Namespace) -> int:
    """Run the video CLI on parsed arguments; returns the exit code and never raises for
    anticipated failures (each is one `error:` line on stderr).

    Reads `args.video` (SOURCE) and the options of `add_video_arguments`; missing attributes take
    their defaults, so a parser that lacks some (e.g. --realtime) still works.
    """
    old_showwarning = warnings.showwarning
    warnings.showwarning = _one_line_warning
    try:
        return _run(args)
    except EdgeEmotionError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:  # before the frame loop (e.g. while the model loads)
        print("error: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print("error: out of memory", file=sys.stderr)
        return 1
    except Exception as err:
        if os.environ.get("EDGE_EMOTION_DEBUG"):
            raise
        text = f"{type(err).__name__}: {err}".splitlines()[0]
        print(
            f"error: internal error: {text} (set EDGE_EMOTION_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        return 1
    finally:
        warnings.showwarning = old_showwarning


def _opt(args: argparse.Namespace, name: str, default: Any) -> Any:
    value = getattr(args, name, default)
    return default if value is None and default is not None else value


def _run(args: argparse.Namespace) -> int:
    source_text = str(args.video)
    as_json = bool(_opt(args, "json", False))
    verbose = bool(_opt(args, "verbose", False))
    every = int(_opt(args, "every", 1))
    max_frames = _opt(args, "max_frames", None)
    smoothing = Smoothing(
        kind=_opt(args, "smooth", "ema"),
        alpha=float(_opt(args, "alpha", Smoothing.alpha)),
        window=int(_opt(args, "window", Smoothing.window)),
    )
    import_cv2()  # the missing extra is the first thing to say, before loading any model

    from edge_emotion_runtime.photo import PhotoClassifier

    video = open_source(source_text, realtime=bool(_opt(args, "realtime", False)))
    with video:
        classifier = PhotoClassifier.load(
            _opt(args, "model", None),
            detector=_opt(args, "detector", "short"),
            threads=_opt(args, "threads", None),
            backend=_opt(args, "backend", "auto"),
            use_xnnpack=not _opt(args, "no_xnnpack", False),
            quiet=not verbose,
        )
        if verbose:
            print(f"model: {classifier.classifier.describe()}", file=sys.stderr)
            how = "live: newest frame only" if video.live else "every frame, in order"
            print(
                f"source: {video.name} ({video.spec.kind}, {how}), {video.width}x{video.height} "
                f"at {video.fps or 'unknown'} fps, {video.frame_count or 'unknown'} frames",
                file=sys.stderr,
            )
        analyzer = VideoAnalyzer(
            classifier, smoothing=smoothing, detect=_opt(args, "detect", "auto")
        )
        writer = None
        annotate = _opt(args, "annotate", None)
        if annotate:
            protected = [Path(source_text)] if video.spec.kind == "file" else []
            writer = AnnotatedWriter(
                annotated_path(annotate, video.spec),
                video.fps or FALLBACK_FPS,
                (video.width, video.height),
                protected,
            )
        out = sys.stdout
        labels: dict[int, str] = {}
        code = 0
        with _Stopper() as stopper:
            try:
                frames = analyzer.run_with_frames(
                    video,
                    every=every,
                    max_frames=max_frames,
                    stop=stopper.event,
                    # A file written whole keeps its length: frames between processed ones are
                    # written with the latest boxes.
                    decode_skipped=writer is not None and not video.live,
                )
                last: FrameResult | None = None
                for frame, result in frames:
                    if result is not None:
                        last = result
                        _report(result, as_json, labels, out)
                    if writer is not None:
                        writer.write(frame, last)
            except KeyboardInterrupt:  # a second Ctrl-C while a frame was being processed
                stopper.signal_name = stopper.signal_name or "SIGINT"
            except BrokenPipeError:  # piped into `head`: stop quietly, still finish the video
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            except EdgeEmotionError as err:  # e.g. a camera unplugged midway
                print(f"error: {err}", file=sys.stderr)
                code = 1
            except BaseException:
                if writer is not None:
                    writer.abort()
                raise
        analyzer.stopped_by = stopper.signal_name
        if writer is not None:
            written = writer.close()
            print(f"annotated: {written} ({writer.frames} frames)", file=sys.stderr)
    summary = analyzer.summary()
    try:
        print(summary.to_text(), file=sys.stderr if as_json else sys.stdout, flush=True)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return code


def _report(result: FrameResult, as_json: bool, labels: dict[int, str], out: Any) -> None:
    """--json: every frame; text: only when a track appears or its smoothed label changes."""
    if as_json:
        out.write(json.dumps(result.to_dict()) + "\n")
        out.flush()
        return
    for face in result.faces:
        before = labels.get(face.track_id)
        if before == face.label:
            continue
        labels[face.track_id] = face.label
        change = "new" if before is None else f"{before} ->"
        out.write(
            f"{result.timestamp:8.2f}s frame {result.index}: track {face.track_id} {change} "
            f"{face.label} {face.probability:.2f}\n"
        )
        out.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """`edge-emotion-video SOURCE [options]`: console entry point; returns the exit code."""
    return video_main(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
