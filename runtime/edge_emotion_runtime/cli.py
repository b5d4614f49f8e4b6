"""`edge-emotion-run`: find the faces in photos and classify each as happy or sad, on a device.

Deliberately argparse + the runtime package only, so it starts in a fraction of a second and
needs nothing but numpy, Pillow and one TFLite interpreter. The work is `PhotoClassifier`'s; this
module parses, collects files, prints and maps errors to exit codes.

Exit codes (`boundary`): 0 every image classified, 1 some images failed (the rest are still
classified) or output could not be written, 2 usage errors (no images found, bad or missing
model, bad flags, no interpreter), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from edge_emotion_runtime import __version__
from edge_emotion_runtime.boundary import error_line, main_exit, printable, write_line
from edge_emotion_runtime.bundled import MODEL_ENV
from edge_emotion_runtime.errors import EdgeEmotionError, UsageError
from edge_emotion_runtime.inputs import collect
from edge_emotion_runtime.options import add_pipeline_options, bounded, positive_int
from edge_emotion_runtime.preprocess import MAX_PIXELS

if TYPE_CHECKING:
    from edge_emotion_runtime.photo import PhotoResult


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edge-emotion-run",
        description="Find the faces in photos and classify each as happy or sad (TFLite).",
        epilog=(
            f"Model: --model, else ${MODEL_ENV}, else the bundled FER-2013 model. Exit codes: 0 "
            "all images processed (also when no face was found), 1 some failed, 2 usage error."
        ),
    )
    parser.add_argument(
        "images",
        nargs="*",
        metavar="IMAGE",
        help="image files, directories (searched recursively) or glob patterns",
    )
    parser.add_argument(
        "--video",
        metavar="SOURCE",
        help="a video file, camera index or device (0, /dev/video0) or stream URL instead of "
        "images: faces tracked over frames (needs the video extra: opencv)",
    )
    add_pipeline_options(parser)
    parser.add_argument(
        "--annotate",
        metavar="DIR",
        help="write a copy of each image with boxes and labels into DIR (never overwrites)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per image: path, size, faces (box, score, label, probability, "
        "p_happy), the photo's label/probability/p_happy (its face's, or the mean over its faces; "
        "null if none), ms per stage",
    )
    parser.add_argument(
        "--verbose", "-v", action="store_true", help="print the model and backend in use on stderr"
    )
    parser.add_argument(
        "--max-pixels",
        type=positive_int,
        default=MAX_PIXELS,
        metavar="N",
        help=f"refuse images larger than N pixels (decompression-bomb guard; default "
        f"{MAX_PIXELS:,}; peak memory is about 4 bytes per pixel of the largest accepted image)",
    )
    parser.add_argument(
        "--decode-threads",
        type=bounded(1, 16),
        default=2,
        metavar="N",
        help="images decoded ahead in parallel while the models run (default 2)",
    )
    parser.add_argument("--version", action="version", version=f"edge-emotion-run {__version__}")
    from edge_emotion_runtime.video import add_video_arguments

    add_video_arguments(parser.add_argument_group("video (with --video)"), common=False)
    return parser


def display(path: str | None) -> str:
    """A path fit to print as part of one line on any terminal: control characters and
    undecodable bytes of a file name are shown as backslash escapes (`--json` keeps the exact
    name: \\udcXX escapes, which `os.fsencode(json.loads(...))` turns back into the bytes)."""
    return "<image>" if path is None else printable(path)


def format_text(result: PhotoResult) -> str:
    """One line per image: the faces (largest first) with label, probability and box, and with
    several faces the photo's answer (`PhotoResult.verdict`)."""
    name, ms = display(result.path), result.timings.total
    if result.whole_image:
        face = result.faces[0]
        return f"{name}: {printable(face.label)} {face.probability:.3f} (whole image, {ms:.1f} ms)"
    if not result.faces:
        return f"{name}: no face found ({ms:.1f} ms)"
    count = len(result.faces)
    faces = ", ".join(
        f"{printable(f.label)} {f.probability:.3f} [{','.join(map(str, f.box))}]"
        for f in result.faces
    )
    if count == 1 or result.verdict is None:
        return f"{name}: 1 face: {faces} ({ms:.1f} ms)"
    photo = f"{printable(result.verdict.label)} {result.verdict.probability:.3f}"
    return f"{name}: {count} faces: {faces}; photo: {photo} ({ms:.1f} ms)"


def format_json(result: PhotoResult, annotated: Path | None = None) -> str:
    data = result.to_dict()
    if annotated is not None:
        data["annotated"] = str(annotated)
    return json.dumps(data)


def run(argv: Sequence[str] | None = None) -> int:
    """Parse, analyse, print; returns the exit code (never raises for anticipated errors)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.video is not None:
        if args.images:
            raise UsageError("give either IMAGE arguments or --video SOURCE, not both")
        from edge_emotion_runtime.video import video_main

        return video_main(args)
    if not args.images:
        parser.error("give at least one IMAGE (file, directory or glob), or --video SOURCE")
    from edge_emotion_runtime.bundled import resolve_model

    path, origin = resolve_model(args.model)
    images, problems = collect(args.images)
    for line in problems:
        error_line(line)
    if not images:
        raise UsageError("no images found in the given paths")
    annotate_dir = _annotation_dir(args.annotate) if args.annotate else None

    from edge_emotion_runtime.photo import PhotoClassifier

    photos = PhotoClassifier.load(
        path,
        detector=None if args.detect == "never" else args.detector,
        threads=args.threads,
        backend=args.backend,
        use_xnnpack=not args.no_xnnpack,
        quiet=not args.verbose,
        max_pixels=args.max_pixels,
        mirror=args.mirror,
        min_confidence=args.min_confidence,
    )
    if args.verbose:
        print(f"model ({origin}): {photos.classifier.describe()}", file=sys.stderr)
        if photos.detector is not None:
            print(
                f"detector: {photos.detector.name} ({photos.detector.path.name})", file=sys.stderr
            )
    failures = len(problems)
    for item, decoded in photos.decode_ahead(images, lambda p: p, args.decode_threads):
        try:
            image, decode_ms = decoded.result()
            result = photos.analyze_image(image, str(item), args.detect, decode_ms)
            annotated = _annotate(item, result, annotate_dir, images) if annotate_dir else None
        except EdgeEmotionError as err:
            failures += 1
            error_line(err)
            continue
        except OSError as err:  # writing an annotation failed (disk full, permissions)
            failures += 1
            error_line(f"{item}: cannot write annotation ({err.strerror or err})")
            continue
        except Exception as err:  # an interpreter or decoder bug: still one line, keep going
            failures += 1
            error_line(f"{item}: {type(err).__name__}: {err}")
            continue
        write_line(format_json(result, annotated) if args.json else format_text(result))
    return 1 if failures else 0


def _annotation_dir(value: str) -> Path:
    directory = Path(value)
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"--annotate {value}: exists and is not a directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"--annotate {value}: cannot create directory ({err.strerror})") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise UsageError(f"--annotate {value}: directory is not writable")
    return directory


def _annotate(item: Path, result: object, directory: Path, inputs: list[Path]) -> Path:
    from edge_emotion_runtime.annotate import save_annotated
    from edge_emotion_runtime.preprocess import load_image

    return save_annotated(load_image(item), result, directory, protected=inputs)  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: one `error:` line and an exit code for every failure (`boundary`)."""
    main_exit(lambda: run(argv))


if __name__ == "__main__":
    main()
