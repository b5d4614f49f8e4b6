"""Conversion of a trained run into validated TFLite models (float32, float16, dynamic, int8)."""

from __future__ import annotations
