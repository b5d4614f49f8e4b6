"""The one definition of how an image becomes a model input.

Training (through `tf.data`), calibration, validation, benchmarks and the device all call these
functions, so the tensors a device sees are bit-for-bit the tensors training saw. Everything that
shapes the result is in `PreprocessSpec`, which is embedded in each exported model.
"""

from __future__ import annotations

import io
import math
import os
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from edge_emotion_runtime.errors import ImageError
from edge_emotion_runtime.files import unreadable_reason

ImageSource = str | os.PathLike | bytes | Image.Image

# Decompression-bomb guard: far above any face photo, far below what exhausts a small device.
MAX_PIXELS = 40_000_000
# Photos are decoded to a working copy whose long side is at least this (JPEG DCT-domain
# "draft" scaling, then an integer box reduce): the short-range detector finds faces down to
# ~16% of the long side, and such a face still has ~200 px for a 48 px model input. Decoding a
# 12 MP JPEG this way skips most of the IDCT work and memory.
PHOTO_LONG_SIDE = 1280
# `image.info` key of the (EXIF-upright) size of the file, when `keep` let the decoder shrink it.
ORIGINAL_SIZE = "edge_emotion_original_size"
# Rows of a 16-bit image converted to 8 bits at a time (bounds the temporary int32 buffer).
_CHUNK_ROWS = 128
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")

_RESAMPLE = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
}
_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")


@dataclass(frozen=True)
class PreprocessSpec:
    """What a model expects; travels with the model as metadata."""

    height: int = 256
    width: int = 256
    channels: int = 3
    resample: str = "bilinear"
    # model input = pixel / divisor + offset  (255, 0 -> [0, 1])
    divisor: float = 255.0
    offset: float = 0.0
    # Transparent pixels are composited onto this grey level before dropping alpha.
    alpha_background: int = 255

    def __post_init__(self) -> None:
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {self.channels}")
        if self.height < 1 or self.width < 1:
            raise ValueError(f"image size must be positive, got {self.height}x{self.width}")
        if self.resample not in _RESAMPLE:
            raise ValueError(f"unknown resample filter {self.resample!r}")

    @classmethod
    def square(cls, size: int, channels: int = 3) -> PreprocessSpec:
        return cls(height=size, width=size, channels=channels)

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.height, self.width, self.channels)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PreprocessSpec:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


def from_array(array: np.ndarray, expected: str = "uint8 HxW or HxWxC pixels") -> Image.Image:
    """A uint8 HxW / HxWxC (C = 1, 3 or 4) array as a PIL image, or one `ImageError`."""
    if array.dtype != np.uint8 or array.ndim not in (2, 3):
        raise ImageError(f"<array>: expected {expected}, got {array.dtype} {array.shape}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    try:
        return Image.fromarray(array)
    except (TypeError, ValueError) as err:
        raise ImageError(f"<array>: not an image array ({err})") from None


def _describe(source: ImageSource) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    if isinstance(source, bytes):
        return "<bytes>"
    return "<image>"


def original_size(image: Image.Image) -> tuple[int, int]:
    """The size of the file `image` was decoded from (upright), before any `keep` shrinking."""
    size = image.info.get(ORIGINAL_SIZE)
    return tuple(size) if size else image.size  # type: ignore[return-value]


def load_image(
    source: ImageSource,
    max_pixels: int = MAX_PIXELS,
    keep: tuple[int, int] | int | None = None,
) -> Image.Image:
    """Decode (first frame of animations), upright per EXIF, or raise one `ImageError`.

    `keep`: the decoder may shrink the image as long as it stays at least this large: (w, h)
    both sides, or an int for the long side. JPEGs then decode at 1/2, 1/4 or 1/8 scale in the
    DCT domain (Pillow's draft mode) and any format is box-reduced by an integer factor. Every
    caller that prepares a model input passes the same `keep` for the same purpose, so
    training and device see the same pixels.

    Returns a new image that owns its pixels (the file is closed). Every failure a malformed
    file can provoke inside Pillow becomes an ImageError: plugins raise many exception types
    on hostile input, and one bad photo must never take down a batch.
    """
    name = _describe(source)
    if isinstance(source, Image.Image):
        return _decode(source, name, max_pixels, keep)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        problem = unreadable_reason(path, "an image")
        if problem:
            raise ImageError(f"{name}: {problem}")
        fp: Any = path
    else:
        if not source:
            raise ImageError(f"{name}: empty input (0 bytes)")
        fp = io.BytesIO(source)
    try:
        with warnings.catch_warnings():
            # Our own, lower pixel limit below gives the user a clearer message.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            opened = Image.open(fp)
    except Image.DecompressionBombError:
        raise ImageError(f"{name}: image too large (decompression-bomb guard)") from None
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not an image file Pillow can read") from None
    except OSError as err:
        raise ImageError(f"{name}: cannot open image ({err.strerror or err})") from None
    except Exception as err:
        raise ImageError(f"{name}: malformed image header ({_reason(err)})") from None
    with opened:
        return _decode(opened, name, max_pixels, keep)


def _reason(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0]}" if text else type(err).__name__


def _target(size: tuple[int, int], keep: tuple[int, int] | int | None) -> tuple[int, int] | None:
    """The smallest (w, h) the image may be shrunk to, or None to keep it as it is."""
    if keep is None:
        return None
    width, height = size
    if isinstance(keep, int):
        factor = keep / max(width, height)
        return (math.ceil(width * factor), math.ceil(height * factor))
    return keep


def _decode(
    image: Image.Image, name: str, max_pixels: int, keep: tuple[int, int] | int | None = None
) -> Image.Image:
    width, height = image.size
    if width * height > max_pixels:
        raise ImageError(
            f"{name}: image is {width}x{height} = {width * height:,} pixels, above the limit of "
            f"{max_pixels:,} (decompression-bomb guard)"
        )
    if width < 1 or height < 1:
        raise ImageError(f"{name}: image has no pixels ({width}x{height})")
    target = _target((width, height), keep)
    try:
        if target and image.format == "JPEG" and image.mode in ("L", "RGB", "CMYK", "YCbCr"):
            image.draft(image.mode, target)  # DCT-domain downscale, never below `target`
        image.load()
        if target:
            factor = min(image.width // target[0], image.height // target[1])
            if factor >= 2:
                # 16-bit and float images become 8-bit first (Pillow cannot reduce them), so
                # nothing larger than the decoded file plus one byte per pixel is ever held.
                image = _to_8bit(image).reduce(factor)
        shrunk = image.size
        # Always a new image (a copy when there is no EXIF orientation), so the caller's file
        # can be closed.
        upright = ImageOps.exif_transpose(image)
        swapped = upright.size != shrunk
        upright.info[ORIGINAL_SIZE] = (height, width) if swapped else (width, height)
        return upright
    except Image.DecompressionBombError:
        raise ImageError(f"{name}: image too large (decompression-bomb guard)") from None
    except MemoryError:
        raise ImageError(f"{name}: out of memory decoding image") from None
    except Exception as err:
        raise ImageError(f"{name}: corrupt or truncated image ({_reason(err)})") from None


def _to_8bit(image: Image.Image) -> Image.Image:
    """Map 16/32-bit integer and float images onto 0..255 before any colour conversion.

    Integer arithmetic, a band of rows at a time: round(v / 257) == (v + 128) // 257 for every
    v in 0..65535 (no ties), so the result is exact while the temporary buffer stays small (a
    6300x6300 16-bit PNG peaked at 793 MB through float64 before).
    """
    if image.mode not in (*_SIXTEEN_BIT_MODES, "F"):
        return image
    width, height = image.size
    out = np.empty((height, width), dtype=np.uint8)
    for top in range(0, height, _CHUNK_ROWS):
        rows = slice(top, min(height, top + _CHUNK_ROWS))
        band = np.asarray(image.crop((0, rows.start, width, rows.stop)))
        if image.mode == "F":
            out[rows] = np.rint(np.clip(band, 0, 255)).astype(np.uint8)
        else:
            wide = band.astype(np.int32)  # in place from here: one temporary per band
            np.clip(wide, 0, 65535, out=wide)
            wide += 128
            wide //= 257
            out[rows] = wide
    return Image.fromarray(out)


def _drop_alpha(image: Image.Image, background: int) -> Image.Image:
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (background, background, background, 255))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    return image


def to_rgb(image: Image.Image, alpha_background: int = 255, name: str = "<image>") -> Image.Image:
    """A decoded image as 8-bit RGB (16-bit and float mapped to 0..255, alpha composited):
    what the face detector sees, and what face crops are cut from."""
    try:
        return _drop_alpha(_to_8bit(image), alpha_background).convert("RGB")
    except Exception as err:
        raise ImageError(f"{name}: cannot convert image ({_reason(err)})") from None


def image_to_pixels(image: Image.Image, spec: PreprocessSpec, name: str = "<image>") -> np.ndarray:
    """Convert mode and resize an already decoded image: uint8 array of shape `spec.shape`."""
    try:
        image = _drop_alpha(_to_8bit(image), spec.alpha_background)
        image = image.convert("L" if spec.channels == 1 else "RGB")
        if image.size != (spec.width, spec.height):
            image = image.resize((spec.width, spec.height), resample=_RESAMPLE[spec.resample])
        pixels = np.asarray(image, dtype=np.uint8)
    except Exception as err:
        raise ImageError(f"{name}: cannot convert image ({_reason(err)})") from None
    if spec.channels == 1:
        pixels = pixels[:, :, None]
    return pixels


def to_pixels(
    source: ImageSource, spec: PreprocessSpec, max_pixels: int = MAX_PIXELS
) -> np.ndarray:
    """Decode, orient, convert mode and resize: uint8 array of shape `spec.shape`.

    Decodes through the same working copy as photos (`PHOTO_LONG_SIDE`), so a large face crop
    becomes the same tensor whether it is classified whole by `edge-emotion-run`, by
    `Classifier.predict`, or seen in training.
    """
    image = load_image(source, max_pixels=max_pixels, keep=PHOTO_LONG_SIDE)
    return image_to_pixels(image, spec, _describe(source))


def scale(pixels: np.ndarray, spec: PreprocessSpec) -> np.ndarray:
    """uint8 pixels (any leading batch dims) -> float32 model input."""
    return scale_into(pixels, spec, np.empty(pixels.shape, dtype=np.float32))


def scale_into(pixels: np.ndarray, spec: PreprocessSpec, out: np.ndarray) -> np.ndarray:
    """`scale` written into a float32 array of the same shape (the device's preallocated input
    tensor): one pass, no temporary, the same float32 division."""
    np.divide(pixels, np.float32(spec.divisor), out=out, dtype=np.float32)
    if spec.offset:
        np.add(out, np.float32(spec.offset), out=out)
    return out


def preprocess(
    source: ImageSource, spec: PreprocessSpec, max_pixels: int = MAX_PIXELS
) -> np.ndarray:
    """float32 array of shape `spec.shape`, exactly what the float model takes."""
    return scale(to_pixels(source, spec, max_pixels=max_pixels), spec)
