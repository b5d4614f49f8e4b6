"""OpenCV, imported only when a video is opened, and the one error a video step raises."""

from __future__ import annotations

import contextlib
import os
from typing import Any

from edge_emotion_runtime.errors import EdgeEmotionError

INSTALL_HINT = (
    "pip install 'edge-emotion-runtime[video]' (from a checkout: pip install './runtime[video]')"
)


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


def quiet_opencv(cv2: Any) -> None:
    """OpenCV logs its own warnings ("can't open camera by index") on stderr; ours say it once."""
    with contextlib.suppress(AttributeError):  # very old builds
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
