"""Typed, range-checked reads of JSON metadata fields (standard library only): the metadata
reader and the crop framing both check every number a model file brings, so that a malformed
value is a ValueError naming its key, never an OverflowError or a huge allocation later."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def number(data: Mapping[str, Any], key: str, default: Any) -> Any:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"'{key}' must be a number, got {value!r}")
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        finite = False
    if not finite:
        raise ValueError(f"'{key}' must be finite and within float range, got {str(value)[:20]}")
    return value


def real(
    data: Mapping[str, Any],
    key: str,
    default: float,
    low: float | None = None,
    high: float | None = None,
) -> float:
    value = float(number(data, key, default))
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"'{key}' must be within [{low}, {high}], got {value!r}")
    return value


def integer(
    data: Mapping[str, Any], key: str, default: int, low: int | None = None, high: int | None = None
) -> int:
    value = number(data, key, default)
    if value != int(value):
        raise ValueError(f"'{key}' must be an integer, got {value!r}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"'{key}' must be within [{low}, {high}], got {value!r}")
    return value
