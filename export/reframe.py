"""Re-record the photo framing of an exported model, without re-exporting it.

    python -m edge_emotion.export.reframe IN.tflite OUT.tflite [--scale 1.25]

For models exported before `--framing-scale` existed (the bundled model among them): the
flatbuffer is kept byte for byte, only the `crop` section of the appended metadata changes
(`crop.photo_crop_metadata`), so every answer on a face crop stays the same.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edge_emotion_runtime.crop import photo_crop_metadata
from edge_emotion_runtime.defaults import PHOTO_FRAMING_SCALE
from edge_emotion_runtime.metadata import embed, read_metadata, strip, write_atomic


def reframe(source: Path, target: Path, scale: float = PHOTO_FRAMING_SCALE) -> dict:
    """Write `source` with its framings `scale` times tighter to `target`; the new crop section."""
    meta = read_metadata(source)
    if meta is None or not meta.crop:
        raise ValueError(f"{source}: no crop framing in its metadata to rescale")
    crop = photo_crop_metadata(meta.crop, scale)
    flatbuffer = strip(source.read_bytes())
    write_atomic(target, embed(flatbuffer, meta.with_updates(crop=crop)))
    return crop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edge_emotion.export.reframe")
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--scale", type=float, default=PHOTO_FRAMING_SCALE)
    args = parser.parse_args(argv)
    if args.target.exists():
        print(f"error: {args.target} exists; not overwriting it", file=sys.stderr)
        return 2
    try:
        crop = reframe(args.source, args.target, args.scale)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for name, framing in crop["framings"].items():
        print(f"{name}: face_fraction {framing['face_fraction']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
