"""The video options are read once, into one typed `VideoOptions`, from either command's parser
(`edge-emotion-video SOURCE` and `edge-emotion-run --video SOURCE`)."""

from __future__ import annotations

import dataclasses

import pytest

from edge_emotion_runtime import cli
from edge_emotion_runtime.errors import UsageError
from edge_emotion_runtime.video import Smoothing, VideoOptions, build_parser

OPTIONS = [
    "--model", "m.tflite", "--detector", "full", "--detect", "always", "--threads", "2",
    "--backend", "tensorflow", "--no-xnnpack", "--json", "--annotate", "out", "--verbose",
    "--every", "3", "--max-frames", "7", "--smooth", "window", "--alpha", "0.5",
    "--window", "4", "--realtime",
]  # fmt: skip


def test_both_commands_give_the_same_options() -> None:
    video = VideoOptions.from_args(build_parser().parse_args(["door.mp4", *OPTIONS]))
    run = VideoOptions.from_args(cli._parser().parse_args(["--video", "door.mp4", *OPTIONS]))
    assert (
        video
        == run
        == VideoOptions(
            source="door.mp4",
            model="m.tflite",
            detector="full",
            detect="always",
            threads=2,
            backend="tensorflow",
            use_xnnpack=False,
            json=True,
            verbose=True,
            annotate="out",
            every=3,
            max_frames=7,
            smoothing=Smoothing(kind="window", alpha=0.5, window=4),
            realtime=True,
        )
    )


def test_both_commands_default_to_the_options_own_defaults() -> None:
    video = VideoOptions.from_args(build_parser().parse_args(["0"]))
    run = VideoOptions.from_args(cli._parser().parse_args(["--video", "0"]))
    assert video == run == VideoOptions(source="0")


def test_options_are_frozen_and_a_bad_smoothing_is_a_usage_error() -> None:
    options = VideoOptions(source="0")
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.every = 2  # type: ignore[misc]
    args = build_parser().parse_args(["0", "--smooth", "ema"])
    args.smooth = "median"
    with pytest.raises(UsageError, match="smoothing must be"):
        VideoOptions.from_args(args)


def test_video_help_loads_neither_numpy_nor_opencv() -> None:
    """`--help` stays instant: the video package imports its heavy pieces on first use."""
    import subprocess
    import sys

    probe = (
        "import sys; from edge_emotion_runtime.video import build_parser; build_parser(); "
        "print(sorted({'numpy', 'cv2', 'PIL'} & set(sys.modules)))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert proc.stdout.strip() == "[]", proc.stderr
