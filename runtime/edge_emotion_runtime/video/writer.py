"""`AnnotatedWriter`: the frames with each face's box, track id and label, into an .mp4."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from edge_emotion_runtime.files import link_free_name
from edge_emotion_runtime.video.opencv import VideoError, import_cv2
from edge_emotion_runtime.video.results import FrameResult
from edge_emotion_runtime.video.source import Frame, SourceSpec

# Frame rate assumed for writing when the source does not report one (many webcams).
FALLBACK_FPS = 30.0


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
        self._protected = tuple(protected)
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

        faces = result.faces if result is not None else ()
        image = Image.fromarray(frame.rgb)
        if faces:
            captions = [f"#{f.track_id} {f.label} {f.probability:.2f}" for f in faces]
            image = draw_faces(image, faces, captions)
        rgb = np.asarray(image)
        if (rgb.shape[1], rgb.shape[0]) != self.size:  # a stream that changed size midway
            rgb = self._cv2.resize(rgb, self.size)
        self._writer.write(self._cv2.cvtColor(rgb, self._cv2.COLOR_RGB2BGR))
        self.frames += 1

    def close(self) -> Path:
        """Finish the file and move it into place; returns its path."""
        self._writer.release()
        try:
            # The name is claimed by the link; one taken meanwhile moves on to the next number.
            self.path = link_free_name(self._tmp, self.path.parent, self.path.name, self._protected)
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
