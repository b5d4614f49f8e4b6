"""Pluggable converters/quantizers: Keras model + mode -> TFLite flatbuffer bytes.

The CLI and the exporter only see the `Quantizer` protocol and this registry, so a LiteRT /
ai-edge-quantizer backend can be added as one more module without touching either.
"""

from __future__ import annotations

from collections.abc import Callable

from edge_emotion.errors import UsageError
from edge_emotion.export.quantizers.base import ConversionError, Quantizer

_FACTORIES: dict[str, Callable[[], Quantizer]] = {}


def register_quantizer(name: str, factory: Callable[[], Quantizer]) -> None:
    """Make a quantizer available under `name` (replaces an earlier one of that name)."""
    _FACTORIES[name] = factory


def get_quantizer(name: str) -> Quantizer:
    try:
        factory = _FACTORIES[name]
    except KeyError:
        known = ", ".join(sorted(_FACTORIES))
        raise UsageError(f"unknown quantizer {name!r} (known: {known})") from None
    return factory()


def quantizer_names() -> list[str]:
    return sorted(_FACTORIES)


def _tflite_converter() -> Quantizer:
    from edge_emotion.export.quantizers.tflite_converter import TFLiteConverterQuantizer

    return TFLiteConverterQuantizer()


register_quantizer("tflite_converter", _tflite_converter)

__all__ = ["ConversionError", "Quantizer", "get_quantizer", "quantizer_names", "register_quantizer"]
