"""Contact sheets: each photo's primary face exactly as the model saw it, with what it said.

The crop is the runtime's own: `PhotoClassifier.face_input` (the framing of the detector
variant that found the face, the classifier's `PreprocessSpec`) for a detected face,
`image_to_pixels` for a photo classified whole, so a tile is the model input itself (upscaled
with nearest neighbour, so every input pixel stays visible). The face is found again by
re-running the pipeline's detector on the same working copy and taking the detection whose box
is the reported one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from edge_emotion.benchmarks.photo_eval.run import PhotoRecord

TILE = 144  # side of one upscaled model input, px
PAD = 4
LINE = 12  # caption line height of Pillow's default bitmap font
CAPTION_LINES = 2
COLUMNS = 10
MAX_TILES = 2000  # a sheet past this is unreadable anyway; the CSV has every photo
ERROR_COLOUR = (190, 20, 20)
RIGHT_COLOUR = (20, 120, 20)
OTHER_COLOUR = (90, 90, 90)


@dataclass(frozen=True)
class SheetInfo:
    path: str
    tiles: int
    columns: int
    width: int
    height: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "tiles": self.tiles,
            "columns": self.columns,
            "width": self.width,
            "height": self.height,
        }


def layout(tiles: int, columns: int = COLUMNS) -> tuple[int, int, int]:
    """(columns, width, height) in px of a sheet of `tiles` tiles."""
    columns = max(1, min(columns, tiles))
    rows = math.ceil(tiles / columns)
    cell_w, cell_h = TILE + 2 * PAD, TILE + CAPTION_LINES * LINE + 3 * PAD
    return columns, columns * cell_w, rows * cell_h


def model_input(photos: Any, path: Path, record: PhotoRecord) -> np.ndarray:
    """The uint8 model input of a record's primary face (see the module docstring)."""
    from edge_emotion_runtime.preprocess import image_to_pixels, original_size, to_rgb

    spec = photos.classifier.spec
    image = photos.decode(path)
    if record.whole_image:
        return image_to_pixels(image, spec, str(path))
    rgb = to_rgb(image, spec.alpha_background, str(path))
    size = original_size(image)
    scale = (size[0] / image.width, size[1] / image.height)
    detections = photos.detect_faces(rgb)
    if not detections or record.box is None:
        raise ValueError(f"{path}: the reported face was not found again")
    boxes = [d.scaled(*scale).clipped_box(*size) for d in detections]
    best = max(range(len(boxes)), key=lambda i: _iou(boxes[i], record.box))
    return photos.face_input(rgb, detections[best])


def draw(
    photos: Any,
    root: Path,
    records: Sequence[PhotoRecord],
    target: Path,
    colour: tuple[int, int, int],
) -> SheetInfo | None:
    """Write a sheet of `records` (in the given order, at most MAX_TILES) to `target`."""
    records = list(records)[:MAX_TILES]
    if not records:
        return None
    columns, width, height = layout(len(records))
    sheet = Image.new("RGB", (width, height), "white")
    pen = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    cell_w, cell_h = width // columns, TILE + CAPTION_LINES * LINE + 3 * PAD
    for i, record in enumerate(records):
        x, y = (i % columns) * cell_w + PAD, (i // columns) * cell_h + PAD
        sheet.paste(_tile(photos, root, record), (x, y))
        said = f"{record.predicted} {record.probability:.2f}" if record.predicted else "no face"
        if record.n_faces > 1:
            said += f" ({record.n_faces} faces)"
        caption = (f"#{i + 1} {record.truth} -> {said}", _fit(Path(record.path).name))
        for line, words in enumerate(caption):
            ink = colour if line == 0 else OTHER_COLOUR
            pen.text((x, y + TILE + PAD + line * LINE), words, fill=ink, font=font)
    sheet.save(target, optimize=True)
    return SheetInfo(str(target.name), len(records), columns, width, height)


def _tile(photos: Any, root: Path, record: PhotoRecord) -> Image.Image:
    try:
        pixels = model_input(photos, root / record.path, record)
    except Exception:  # the file changed since, or the face is not found again: grey tile
        return Image.new("RGB", (TILE, TILE), (200, 200, 200))
    face = Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels)
    return face.convert("RGB").resize((TILE, TILE), Image.Resampling.NEAREST)


def _fit(text: str, chars: int = (TILE + PAD) // 6) -> str:
    return text if len(text) <= chars else text[: chars - 3] + "..."


def _iou(a: Sequence[int], b: Sequence[int]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0, min(ay + ah, by + bh) - max(ay, by))
    union = aw * ah + bw * bh - w * h
    return w * h / union if union else 0.0


def write_sheets(
    photos: Any,
    root: Path,
    records: Sequence[PhotoRecord],
    labels: Sequence[str],
    folder: Path,
    which: str,
) -> dict[str, Any]:
    """errors.png (covered and wrong, most confident first); with `which="all"` also
    correct.png and uncertain.png. Returns {sheet name: SheetInfo dict or None}."""
    if which == "none":
        return {}
    scored = [r for r in records if r.truth in labels]
    covered = [r for r in scored if r.predicted in labels]
    groups = {"errors": ([r for r in covered if r.predicted != r.truth], ERROR_COLOUR)}
    if which == "all":
        groups["correct"] = ([r for r in covered if r.predicted == r.truth], RIGHT_COLOUR)
        groups["uncertain"] = (
            [r for r in scored if r.predicted and r.predicted not in labels],
            OTHER_COLOUR,
        )
    made: dict[str, Any] = {}
    for name, (chosen, colour) in groups.items():
        ordered = sorted(chosen, key=lambda r: (-(r.probability or 0.0), r.path))
        info = draw(photos, root, ordered, folder / f"{name}.png", colour)
        made[name] = info.to_dict() if info else None
    return made
