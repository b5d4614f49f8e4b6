"""Reading a FER-2013 CSV (emotion,pixels[,Usage]) without trusting it.

One reader for discovery and for decoding, so both number the rows the same way. A UTF-8 BOM
(Excel's "CSV UTF-8") is accepted; a file that is not UTF-8 text or not CSV is one `DataError`.
A bad row is a `DataError` for that row only, so the caller can skip it with a warning.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator

import numpy as np

from edge_emotion.errors import DataError

ENCODING = "utf-8-sig"  # reads plain UTF-8 too


def iter_rows(csv_path: str | os.PathLike[str]) -> Iterator[dict[str | None, str | None]]:
    """Rows as dicts keyed by the header (as `csv.DictReader`), or a one-line `DataError`."""
    row_index = -1
    try:
        with open(csv_path, newline="", encoding=ENCODING) as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or not {"emotion", "pixels"} <= set(reader.fieldnames):
                raise DataError(
                    f"{csv_path}: not a FER-2013 CSV (needs columns emotion,pixels[,Usage])"
                )
            for row in reader:
                row_index += 1
                yield row
    except UnicodeDecodeError as err:
        raise DataError(
            f"{csv_path}: not a UTF-8 text CSV (byte 0x{err.object[err.start]:02x} cannot be "
            f"decoded{_after(row_index)})"
        ) from None
    except csv.Error as err:
        raise DataError(f"{csv_path}: not a readable CSV ({err}{_after(row_index)})") from None
    except OSError as err:
        raise DataError(f"{csv_path}: cannot read ({err.strerror or err})") from None


def _after(row_index: int) -> str:
    return f"; after row {row_index}" if row_index >= 0 else "; in the header"


def parse_pixels(csv_path: str | os.PathLike[str], row: int, field: str | None) -> np.ndarray:
    """The uint8 pixel values of one row's `pixels` field (a square image), or a `DataError`."""
    where = f"{csv_path}: row {row}"
    if field is None:
        raise DataError(f"{where} has no pixels field")
    try:
        values = np.array(field.split(), dtype=np.int64)
    except (ValueError, OverflowError):
        raise DataError(f"{where}: pixel values must be whole numbers 0-255") from None
    if values.size == 0:
        raise DataError(f"{where} has no pixel values")
    low, high = int(values.min()), int(values.max())
    if low < 0 or high > 255:
        raise DataError(f"{where}: pixel value {low if low < 0 else high} is outside 0-255")
    side = round(values.size**0.5)
    if side * side != values.size:
        raise DataError(f"{where} has {values.size} pixels, not a square image")
    return values.astype(np.uint8).reshape(side, side)
