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
- `add_video_arguments`, `VideoOptions`, `video_main(args)` and `main()`: the command line
  (`edge-emotion-video SOURCE`, and `edge-emotion-run --video SOURCE`).

One module per job: `source` (and `live`, `opencv`), `tracking`, `smoothing`, `results`,
`analyzer`, `writer`, `options`, `cli`. Every public name is importable from here; each module
is imported when one of its names is first used, so `edge-emotion-run --help` (which only adds
the video options) does not load the frame loop.
"""

from __future__ import annotations

import importlib
from typing import Any

# Public name -> the module of this package that defines it.
_WHERE: dict[str, str] = {
    "VideoAnalyzer": "analyzer",
    "analyze_video": "analyzer",
    "build_parser": "cli",
    "main": "cli",
    "video_main": "cli",
    "INSTALL_HINT": "opencv",
    "VideoError": "opencv",
    "import_cv2": "opencv",
    "VideoOptions": "options",
    "add_video_arguments": "options",
    "FrameResult": "results",
    "TrackSummary": "results",
    "TrackedFace": "results",
    "VideoSummary": "results",
    "SMOOTHING_KINDS": "smoothing",
    "Smoothing": "smoothing",
    "Frame": "source",
    "SourceSpec": "source",
    "VideoSource": "source",
    "open_source": "source",
    "parse_source": "source",
    "Box": "tracking",
    "IouTracker": "tracking",
    "iou": "tracking",
    "FALLBACK_FPS": "writer",
    "AnnotatedWriter": "writer",
    "annotated_path": "writer",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})
