"""The video options: added to a parser by `add_video_arguments`, read back once into a typed
`VideoOptions` by `VideoOptions.from_args`, for either command that takes them
(`edge-emotion-video SOURCE`, `edge-emotion-run --video SOURCE`)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from edge_emotion_runtime.defaults import DEFAULT_DETECTOR, DEFAULT_MIRROR
from edge_emotion_runtime.options import add_pipeline_options, positive_int
from edge_emotion_runtime.video.smoothing import SMOOTHING_KINDS, Smoothing
from edge_emotion_runtime.vocab import AUTO_BACKEND, DetectMode, SmoothingKind


@dataclass(frozen=True)
class VideoOptions:
    """Everything one video run needs from the command line (defaults: the options' own)."""

    source: str
    model: str | None = None
    detector: str = DEFAULT_DETECTOR
    detect: str = DetectMode.AUTO
    mirror: bool = DEFAULT_MIRROR
    min_confidence: float | None = None
    threads: int | None = None
    backend: str = AUTO_BACKEND
    use_xnnpack: bool = True
    json: bool = False
    verbose: bool = False
    annotate: str | None = None
    every: int = 1
    max_frames: int | None = None
    smoothing: Smoothing = field(default_factory=Smoothing)
    realtime: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> VideoOptions:
        """The options of a namespace parsed by a parser that has `add_pipeline_options` and
        `add_video_arguments` (with or without `common`, the other adding --json, --annotate
        and --verbose itself) and SOURCE as `video`; a bad smoothing is a UsageError."""
        return cls(
            source=str(args.video),
            model=args.model,
            detector=args.detector,
            detect=args.detect,
            mirror=bool(args.mirror),
            min_confidence=args.min_confidence,
            threads=args.threads,
            backend=args.backend,
            use_xnnpack=not args.no_xnnpack,
            json=bool(args.json),
            verbose=bool(args.verbose),
            annotate=args.annotate,
            every=int(args.every),
            max_frames=args.max_frames,
            smoothing=Smoothing(kind=args.smooth, alpha=float(args.alpha), window=int(args.window)),
            realtime=bool(args.realtime),
        )


def _alpha(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {value}")
    return value


def add_video_arguments(parser: argparse.ArgumentParser, *, common: bool = True) -> None:
    """Add the video options to `parser`.

    `common=False` adds only the video-specific ones (--every, --max-frames, --smooth, --alpha,
    --window, --realtime), for a parser that already has --model, --detector, --threads,
    --backend, --no-xnnpack, --json, --annotate, --detect and --verbose (`edge-emotion-run`);
    `video_main` reads all of them from the namespace by those names.
    """
    if common:
        add_pipeline_options(parser)
        parser.add_argument(
            "--json",
            action="store_true",
            help="one JSON object per processed frame on stdout (the summary goes to stderr)",
        )
        parser.add_argument(
            "--annotate",
            metavar="OUT",
            help="write the video with boxes, track ids and labels to OUT.mp4, or to "
            "OUT/<source>.annotated.mp4 for a directory (an existing file is never replaced: "
            "a free name is chosen)",
        )
        parser.add_argument(
            "--verbose",
            "-v",
            action="store_true",
            help="print the model, backend and source on stderr",
        )
    parser.add_argument(
        "--every",
        type=positive_int,
        default=1,
        metavar="N",
        help="process every Nth frame (default: 1, all)",
    )
    parser.add_argument(
        "--max-frames",
        type=positive_int,
        default=None,
        metavar="N",
        help="stop after N processed frames",
    )
    parser.add_argument(
        "--smooth",
        choices=SMOOTHING_KINDS,
        default=SmoothingKind.EMA.value,
        help="per-track smoothing of the probability (default: ema)",
    )
    parser.add_argument(
        "--alpha",
        type=_alpha,
        default=Smoothing.alpha,
        metavar="A",
        help=f"EMA weight of the newest frame (default: {Smoothing.alpha})",
    )
    parser.add_argument(
        "--window",
        type=positive_int,
        default=Smoothing.window,
        metavar="N",
        help=f"frames averaged by --smooth window (default: {Smoothing.window})",
    )
    parser.add_argument(
        "--realtime",
        action="store_true",
        help="play a file at its own frame rate like a camera (frames dropped "
        "when the model falls behind)",
    )
