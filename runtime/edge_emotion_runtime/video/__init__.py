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
`analyzer`, `writer`, `options`, `cli`. Every public name is importable from here.
"""

from edge_emotion_runtime.video.analyzer import VideoAnalyzer, analyze_video
from edge_emotion_runtime.video.cli import build_parser, main, video_main
from edge_emotion_runtime.video.opencv import INSTALL_HINT, VideoError, import_cv2
from edge_emotion_runtime.video.options import VideoOptions, add_video_arguments
from edge_emotion_runtime.video.results import (
    FrameResult,
    TrackedFace,
    TrackSummary,
    VideoSummary,
)
from edge_emotion_runtime.video.smoothing import SMOOTHING_KINDS, Smoothing
from edge_emotion_runtime.video.source import (
    Frame,
    SourceSpec,
    VideoSource,
    open_source,
    parse_source,
)
from edge_emotion_runtime.video.tracking import Box, IouTracker, iou
from edge_emotion_runtime.video.writer import FALLBACK_FPS, AnnotatedWriter, annotated_path

__all__ = [
    "FALLBACK_FPS",
    "INSTALL_HINT",
    "SMOOTHING_KINDS",
    "AnnotatedWriter",
    "Box",
    "Frame",
    "FrameResult",
    "IouTracker",
    "Smoothing",
    "SourceSpec",
    "TrackSummary",
    "TrackedFace",
    "VideoAnalyzer",
    "VideoError",
    "VideoOptions",
    "VideoSource",
    "VideoSummary",
    "add_video_arguments",
    "analyze_video",
    "annotated_path",
    "build_parser",
    "import_cv2",
    "iou",
    "main",
    "open_source",
    "parse_source",
    "video_main",
]
