"""A synthetic video scene from two face photographs: a clip whose content is known frame by
frame, to try or measure the video pipeline without a camera.

The video tests build their clip with it, and `benchmarks/video_fps.py` its videos: it is here,
in the device runtime, because scripts/test-aarch64.sh runs tests/test_runtime_video.py with only
the runtime installed, and packaged benchmark code does not import from tests/. numpy, Pillow and
OpenCV (the `video` extra) are imported only when a scene is written. The photographs are the
caller's: `FACES` names the two files expected in `photos` (the committed face crops in
tests/fixtures/photos, see its README).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Square crops around the face of ../shared/photos/astronaut.png and camera.png, committed in
# tests/fixtures/photos so the tests and the benchmark work from a fresh clone.
FACES = {"astronaut": "astronaut-face-260.jpg", "camera": "camera-face-200.jpg"}


@dataclass(frozen=True)
class SceneFrame:
    """What one frame of the scene shows: the people in it and where each pasted photo is
    (x, y, side) in frame pixels."""

    index: int
    people: tuple[str, ...]
    placements: tuple[tuple[str, int, int, int], ...]


def scene_plan(frames: int, width: int, height: int) -> list[SceneFrame]:
    """The layout, scaled to `width` x `height`: the first and last eighth have no face; the
    astronaut (smiling) enters, moves right and grows; from the 40% mark a man behind a camera
    stands on the right, drifting left. Sized so BlazeFace short range finds both reliably."""
    sx, sy = width / 640, height / 480
    s = min(sx, sy)
    empty = max(1, frames // 8)
    first, last = empty, frames - empty - 1
    cam_from = first + max(1, int(0.4 * (last - first)))
    plan = []
    for i in range(frames):
        placements: list[tuple[str, int, int, int]] = []
        if first <= i <= last:
            u = (i - first) / max(1, last - first)
            side = round((240 + 40 * u) * s)
            placements.append(
                ("astronaut", round((20 + 120 * u) * sx), round((120 - 20 * u) * sy), side)
            )
            if i >= cam_from:
                v = (i - cam_from) / max(1, last - cam_from)
                cside = round(260 * s)
                placements.append(
                    ("camera", round((400 - 30 * v) * sx), height - cside - round(20 * sy), cside)
                )
        plan.append(SceneFrame(i, tuple(p[0] for p in placements), tuple(placements)))
    return plan


def _background(width: int, height: int) -> Any:
    import numpy as np

    yy, xx = np.mgrid[0:height, 0:width]
    rgb = np.stack([60 + xx * 100 // width, 80 + yy * 80 // height, np.full_like(xx, 110)], axis=-1)
    return rgb.astype(np.uint8)


def write_scene_video(
    path: str | os.PathLike[str],
    photos: Path,
    *,
    frames: int = 40,
    width: int = 640,
    height: int = 480,
    fps: float = 20.0,
) -> list[SceneFrame]:
    """Write the scene as an mp4v .mp4 with OpenCV; returns what each frame shows."""
    import numpy as np
    from PIL import Image

    from edge_emotion_runtime.video.opencv import import_cv2

    cv2 = import_cv2()  # the runtime's way: FFmpeg's own stderr logging stays off
    cut = {name: Image.open(photos / file).convert("RGB") for name, file in FACES.items()}
    background = Image.fromarray(_background(width, height))
    plan = scene_plan(frames, width, height)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {path}")
    try:
        for frame in plan:
            canvas = background.copy()
            for name, x, y, side in frame.placements:
                canvas.paste(cut[name].resize((side, side), Image.Resampling.BILINEAR), (x, y))
            writer.write(cv2.cvtColor(np.asarray(canvas), cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    return plan
