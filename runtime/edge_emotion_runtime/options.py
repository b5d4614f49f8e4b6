"""Command-line options the device commands share: one definition of each flag and its limits.

`edge-emotion-run`, `edge-emotion-video` and `edge-emotion-serve` load the same pipeline, so
their model, detector, interpreter and thread flags mean the same thing and are checked the same
way. Standard library only: `--help` stays instant.
"""

from __future__ import annotations

import argparse

from edge_emotion_runtime.bundled import MODEL_ENV
from edge_emotion_runtime.defaults import DEFAULT_DETECTOR, DEFAULT_MIRROR
from edge_emotion_runtime.vocab import (
    AUTO_BACKEND,
    BACKEND_CHOICES,
    DETECTOR_CHOICES,
    DetectMode,
    choices,
)

DETECT_CHOICES = choices(DetectMode)
# Far above any useful interpreter thread count; keeps a typo from spawning 100,000 threads.
MAX_THREADS = 64


def integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def bounded(low: int, high: int | None = None):  # type: ignore[no-untyped-def]
    """An argparse type: an integer within [low, high]."""

    def parse(text: str) -> int:
        value = integer(text)
        if high is not None and not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {low}..{high}, got {value}")
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    return parse


def confidence(text: str) -> float:
    """An argparse type: a probability in [0.5, 1] (below 0.5 no label could be uncertain)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.5 <= value <= 1.0:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"must be in 0.5..1, got {text}")
    return value


positive_int = bounded(1)
thread_count = bounded(1, MAX_THREADS)


def add_pipeline_options(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    *,
    detect: bool = True,
    threads_default: int | None = None,
    threads_help: str = "the interpreter's choice",
) -> None:
    """--model, --detector, [--detect], --threads, --backend, --no-xnnpack."""
    parser.add_argument(
        "--model",
        "-m",
        metavar="PATH",
        help=f"a .tflite emotion model (default: ${MODEL_ENV}, else the bundled model)",
    )
    parser.add_argument(
        "--detector",
        choices=DETECTOR_CHOICES,
        default=DEFAULT_DETECTOR,
        help="BlazeFace: fused (default: both models, faces from selfie size down to small, far "
        "faces), short (faces within ~2 m) or full (smaller, farther faces)",
    )
    parser.add_argument(
        "--no-mirror",
        dest="mirror",
        action="store_false",
        default=DEFAULT_MIRROR,
        help="classify each face once, not as the mean of it and its mirror image",
    )
    parser.add_argument(
        "--min-confidence",
        type=confidence,
        default=None,
        metavar="P",
        help="label a face 'uncertain' when its label's probability is below P (0.5..1; "
        "default: off, every face is happy or sad)",
    )
    if detect:
        parser.add_argument(
            "--detect",
            choices=DETECT_CHOICES,
            default=DetectMode.AUTO.value,
            help="auto (default): find faces, classify the whole image only if it already is a "
            "face crop; always: detected faces only; never: the whole image (pre-cropped data)",
        )
    parser.add_argument(
        "--threads",
        "-t",
        type=thread_count,
        default=threads_default,
        metavar="N",
        help=f"interpreter threads, 1..{MAX_THREADS} (default: {threads_help})",
    )
    parser.add_argument(
        "--backend",
        choices=BACKEND_CHOICES,
        default=AUTO_BACKEND,
        help="TFLite interpreter (default: auto = litert, tflite, then tensorflow)",
    )
    parser.add_argument(
        "--no-xnnpack", action="store_true", help="disable the default XNNPACK delegate"
    )
