"""Workstation-side errors; all print as one line and exit non-zero (see `cli.main`)."""

from __future__ import annotations

from edge_emotion_runtime.errors import EdgeEmotionError, ImageError, ModelError, UsageError


class DataError(EdgeEmotionError):
    """The dataset is missing, empty or in a layout we do not know."""

    exit_code = 2


class ValidationFailed(EdgeEmotionError):
    """An exported model failed validation against its Keras original."""

    exit_code = 1


class Terminated(KeyboardInterrupt):
    """SIGTERM (timeout, docker stop, systemd) turned into an exception, so cleanup runs.

    A `KeyboardInterrupt` so every `finally` and Ctrl-C path applies; `cli.main` exits 143.
    """


__all__ = [
    "DataError",
    "EdgeEmotionError",
    "ImageError",
    "ModelError",
    "Terminated",
    "UsageError",
    "ValidationFailed",
]
