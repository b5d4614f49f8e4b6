"""Draw faces, boxes and labels onto a copy of a picture (Pillow only), and save it safely.

Used by `edge-emotion-run --annotate DIR` and the video loop; saving never overwrites an input or
any existing file: a taken name gets a numbered suffix.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

from PIL import Image, ImageDraw, ImageFont

from edge_emotion_runtime.files import MAX_FREE_NAME_TRIES, link_free_name, numbered
from edge_emotion_runtime.photo import PhotoResult

# Box colours per label (RGB); other labels get the last one.
COLOURS: dict[str, tuple[int, int, int]] = {"happy": (255, 196, 0), "sad": (64, 160, 255)}
_OTHER = (230, 230, 230)


class Drawable(Protocol):
    """What a box on a picture needs: a photo's `Face` and a video's `TrackedFace` both are one,
    so each is drawn as it is, without a copy into the other type."""

    @property
    def box(self) -> tuple[int, int, int, int]: ...
    @property
    def label(self) -> str: ...
    @property
    def probability(self) -> float: ...


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has only the fixed bitmap font
        return ImageFont.load_default()


def draw_faces(
    image: Image.Image, faces: Sequence[Drawable], captions: Sequence[str] | None = None
) -> Image.Image:
    """An RGB copy of `image` with each face's box and `label probability` (or its caption)."""
    canvas = image.convert("RGB")
    draw = ImageDraw.Draw(canvas)
    side = max(canvas.size)
    width = max(2, side // 250)
    font = _font(max(12, side // 40))
    for i, face in enumerate(faces):
        colour = COLOURS.get(face.label, _OTHER)
        x, y, w, h = face.box
        draw.rectangle((x, y, x + w - 1, y + h - 1), outline=colour, width=width)
        text = captions[i] if captions else f"{face.label} {face.probability:.2f}"
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        tw, th = right - left, bottom - top
        ty = y - th - 2 * width if y - th - 2 * width >= 0 else y + h
        draw.rectangle((x, ty, x + tw + 2 * width, ty + th + 2 * width), fill=colour)
        draw.text((x + width - left, ty + width - top), text, fill=(0, 0, 0), font=font)
    return canvas


def free_path(directory: Path, name: str, protected: Iterable[Path] = ()) -> Path:
    """A name that is free now (`directory/name` or `stem-N.ext`): only a hint, for naming a
    temporary file; claim the final name with `files.link_free_name`, which retries."""
    taken = {p.resolve() for p in protected}
    for n in range(MAX_FREE_NAME_TRIES):
        candidate = directory / numbered(name, n)
        if not candidate.exists() and candidate.resolve() not in taken:
            return candidate
    raise FileExistsError(17, f"no free name like {name}", str(directory))


def save_annotated(
    image: Image.Image,
    result: PhotoResult,
    directory: str | os.PathLike[str],
    protected: Iterable[Path] = (),
) -> Path:
    """Write `<stem>.annotated.png` into `directory` (created if needed); returns the path.

    The name comes from `result.path` (or `image` for unnamed inputs) and never replaces an
    existing file or one of `protected` (the inputs of the run); several processes annotating
    the same photo into one folder each get their own numbered name.
    """
    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = Path(result.path).stem if result.path else "image"
    drawn = draw_faces(image, result.faces)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{stem}.", suffix=".tmp.png", dir=out_dir)
    try:
        with os.fdopen(fd, "wb") as fh:
            drawn.save(fh, format="PNG")
        return link_free_name(tmp_name, out_dir, f"{stem}.annotated.png", protected)
    finally:
        os.unlink(tmp_name)
