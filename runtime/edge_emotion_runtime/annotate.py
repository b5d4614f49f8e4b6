"""Draw faces, boxes and labels onto a copy of a picture (Pillow only), and save it safely.

Used by `edge-emotion-run --annotate DIR` and the video loop; saving never overwrites an input or
any existing file: a taken name gets a numbered suffix.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

from PIL import Image, ImageDraw, ImageFont

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
    """`directory/name`, or `stem-1.ext`, `stem-2.ext`... when that exists or is protected."""
    taken = {p.resolve() for p in protected}
    candidate = directory / name
    stem, suffix = Path(name).stem, Path(name).suffix
    n = 0
    while candidate.exists() or candidate.resolve() in taken:
        n += 1
        candidate = directory / f"{stem}-{n}{suffix}"
    return candidate


def save_annotated(
    image: Image.Image,
    result: PhotoResult,
    directory: str | os.PathLike[str],
    protected: Iterable[Path] = (),
) -> Path:
    """Write `<stem>.annotated.png` into `directory` (created if needed); returns the path.

    The name comes from `result.path` (or `image` for unnamed inputs) and never replaces an
    existing file or one of `protected` (the inputs of the run).
    """
    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = Path(result.path).stem if result.path else "image"
    target = free_path(out_dir, f"{stem}.annotated.png", protected)
    drawn = draw_faces(image, result.faces)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        drawn.save(tmp, format="PNG")
        # link() fails if another process took the name meanwhile: never replace a file.
        os.link(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
