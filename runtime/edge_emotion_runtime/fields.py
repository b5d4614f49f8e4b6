"""Typed, range-checked numbers out of parsed JSON (model metadata), standard library only.

One definition for `metadata` (its top-level and preprocessing fields) and `crop` (a framing's
fields): every value a hostile file could hold (a bool, a string, NaN, Infinity, an integer too
large for a float) is a ValueError naming the field, never an OverflowError or a silent
coercion.
"""

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
