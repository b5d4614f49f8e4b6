"""The command line: `edge-emotion-video SOURCE [options]`, and `edge-emotion-run --video
SOURCE`, which hands its parsed arguments to `video_main`."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from edge_emotion_runtime.boundary import (
    error_line,
    guard_closed_stdout,
    guarded,
    printable,
    silence_stdout,
    write_line,
)
from edge_emotion_runtime.errors import EdgeEmotionError, OutputError
from edge_emotion_runtime.video.analyzer import VideoAnalyzer
from edge_emotion_runtime.video.opencv import import_cv2
from edge_emotion_runtime.video.options import VideoOptions, add_video_arguments
from edge_emotion_runtime.video.results import FrameResult
from edge_emotion_runtime.video.source import VideoSource, open_source
from edge_emotion_runtime.video.writer import FALLBACK_FPS, AnnotatedWriter, annotated_path

if TYPE_CHECKING:
    from edge_emotion_runtime.photo import PhotoClassifier


def build_parser() -> argparse.ArgumentParser:
    from edge_emotion_runtime import __version__

    parser = argparse.ArgumentParser(
        prog="edge-emotion-video",
        description="Track faces in a video file or camera and classify each as happy or sad.",
        epilog="SOURCE: a video file, a camera index (0) or device (/dev/video0), or a stream "
        "URL. Ctrl-C stops a camera and still prints the summary. Exit codes: 0 done (or "
        "stopped by Ctrl-C/SIGTERM), 1 failed midway, 2 usage error (bad source, missing OpenCV "
        "or model).",
    )
    parser.add_argument("video", metavar="SOURCE", help="video file, camera index or device, URL")
    add_video_arguments(parser)
    parser.add_argument("--version", action="version", version=f"edge-emotion-video {__version__}")
    return parser


class _Stopper:
    """SIGINT/SIGTERM set a flag the frame loop checks, so the run ends between frames and the
    summary is still printed; a second Ctrl-C interrupts at once."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signal_name: str | None = None
        self._old: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.event.is_set():
            raise KeyboardInterrupt
        self.signal_name = signal.Signals(signum).name
        self.event.set()

    def __enter__(self) -> _Stopper:
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


def video_main(args: argparse.Namespace | VideoOptions) -> int:
    """Run the video CLI on parsed arguments (or options); returns the exit code and never raises
    for anticipated failures: each is one `error:` line on stderr (`boundary`).

    A namespace is read once by `VideoOptions.from_args`: `args.video` (SOURCE) and the options
    of `add_pipeline_options` and `add_video_arguments`, as both commands' parsers define them.
    """
    return guarded(lambda: _run(args))


def _run(args: argparse.Namespace | VideoOptions) -> int:
    options = args if isinstance(args, VideoOptions) else VideoOptions.from_args(args)
    import_cv2()  # the missing extra is the first thing to say, before loading any model

    video = open_source(options.source, realtime=options.realtime)
    with video:
        classifier = _load_classifier(options, video)
        analyzer = VideoAnalyzer(classifier, smoothing=options.smoothing, detect=options.detect)
        writer = _open_writer(options, video)
        code, analyzer.stopped_by = _analyze(analyzer, video, writer, options)
        if writer is not None:
            written = writer.close()
            print(f"annotated: {written} ({writer.frames} frames)", file=sys.stderr)
    summary = analyzer.summary()
    try:
        write_line(summary.to_text(), sys.stderr if options.json else sys.stdout)
    except BrokenPipeError:
        silence_stdout()
    except OutputError as err:
        if code == 0:  # not said yet by the frame loop
            error_line(err)
            code = err.exit_code
        silence_stdout()
    return code


def _load_classifier(options: VideoOptions, video: VideoSource) -> PhotoClassifier:
    """The model and detector; with --verbose, what was loaded and what the source is."""
    from edge_emotion_runtime.photo import PhotoClassifier

    classifier = PhotoClassifier.load(
        options.model,
        detector=options.detector,
        threads=options.threads,
        backend=options.backend,
        use_xnnpack=options.use_xnnpack,
        quiet=not options.verbose,
        mirror=options.mirror,
        min_confidence=options.min_confidence,
    )
    if options.verbose:
        print(f"model: {classifier.classifier.describe()}", file=sys.stderr)
        how = "live: newest frame only" if video.live else "every frame, in order"
        print(
            f"source: {video.name} ({video.spec.kind}, {how}), {video.width}x{video.height} "
            f"at {video.fps or 'unknown'} fps, {video.frame_count or 'unknown'} frames",
            file=sys.stderr,
        )
    return classifier


def _open_writer(options: VideoOptions, video: VideoSource) -> AnnotatedWriter | None:
    """The --annotate output, or None; never the source file itself."""
    if not options.annotate:
        return None
    protected = [Path(options.source)] if video.spec.kind == "file" else []
    return AnnotatedWriter(
        annotated_path(options.annotate, video.spec),
        video.fps or FALLBACK_FPS,
        (video.width, video.height),
        protected,
    )


def _analyze(
    analyzer: VideoAnalyzer,
    video: VideoSource,
    writer: AnnotatedWriter | None,
    options: VideoOptions,
) -> tuple[int, str | None]:
    """The frame loop: report each result, write each frame; (exit code, stopping signal)."""
    out = sys.stdout
    labels: dict[int, str] = {}
    code = 0
    with _Stopper() as stopper:
        try:
            frames = analyzer.run_with_frames(
                video,
                every=options.every,
                max_frames=options.max_frames,
                stop=stopper.event,
                # A file written whole keeps its length: frames between processed ones are
                # written with the latest boxes.
                decode_skipped=writer is not None and not video.live,
            )
            last: FrameResult | None = None
            for frame, result in frames:
                if result is not None:
                    last = result
                    _report(result, options.json, labels, out)
                if writer is not None:
                    writer.write(frame, last)
        except KeyboardInterrupt:  # a second Ctrl-C while a frame was being processed
            stopper.signal_name = stopper.signal_name or "SIGINT"
        except BrokenPipeError:  # piped into `head`: stop quietly, still finish the video
            silence_stdout()
        except OutputError as err:  # stdout closed or full: say so once, still finish the video
            error_line(err)
            silence_stdout()
            code = err.exit_code
        except EdgeEmotionError as err:  # e.g. a camera unplugged midway
            error_line(err)
            code = 1
        except BaseException:
            if writer is not None:
                writer.abort()
            raise
    return code, stopper.signal_name


def _report(result: FrameResult, as_json: bool, labels: dict[int, str], out: Any) -> None:
    """--json: every frame; text: only when a track appears or its smoothed label changes
    (labels escaped: one line per change). OutputError when stdout cannot take it."""
    if as_json:
        write_line(json.dumps(result.to_dict()), out)
        return
    for face in result.faces:
        before = labels.get(face.track_id)
        if before == face.label:
            continue
        labels[face.track_id] = face.label
        change = "new" if before is None else f"{printable(before)} ->"
        write_line(
            f"{result.timestamp:8.2f}s frame {result.index}: track {face.track_id} {change} "
            f"{printable(face.label)} {face.probability:.2f}",
            out,
        )


def main(argv: Sequence[str] | None = None) -> int:
    """`edge-emotion-video SOURCE [options]`: console entry point; returns the exit code."""
    guard_closed_stdout()
    return video_main(build_parser().parse_args(argv))
