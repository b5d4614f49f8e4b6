"""Errors whose message is fit to print as the single line a user sees."""

from __future__ import annotations


class EdgeEmotionError(Exception):
    """Base class: `str(err)` is a complete, one-line explanation for the user."""

    exit_code = 1


class ImageError(EdgeEmotionError):
    """An input image cannot be read or decoded."""


class ModelError(EdgeEmotionError):
    """A model file is missing, not a TFLite model, or not shaped like ours."""

    exit_code = 2


class UsageError(EdgeEmotionError):
    """Bad arguments or paths given by the user."""

    exit_code = 2


class BackendError(EdgeEmotionError):
    """No usable TFLite interpreter (or the one asked for is not installed)."""

    exit_code = 2


class OutputError(EdgeEmotionError):
    """Results cannot be written (stdout full or closed): the run cannot report anything more."""
