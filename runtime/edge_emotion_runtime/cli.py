"""`edge-emotion-run`: classify face images as happy or sad on a device.

Deliberately argparse + the runtime package only, so it starts in a fraction of a second and
needs nothing but numpy, Pillow and one TFLite interpreter.

Exit codes: 0 every image classified, 1 some images failed (the rest are still classified),
2 usage errors (no images found, bad or missing model, bad flags, no interpreter).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

from edge_emotion_runtime import __version__
from edge_emotion_runtime.backends import BACKEND_CHOICES
from edge_emotion_runtime.errors import EdgeEmotionError, UsageError
from edge_emotion_runtime.preprocess import IMAGE_SUFFIXES

# The one place the default model location is defined: where `edge-emotion train` (default run
# name "demo") and `edge-emotion export --quantize int8` put it, relative to the current directory.
DEFAULT_MODEL = Path("models/demo/export/int8.tflite")
MODEL_ENV = "EDGE_EMOTION_MODEL"
_GLOB_CHARS = frozenset("*?[")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edge-emotion-run",
        description="Classify face images as happy or sad with a TFLite model.",
        epilog=(
            f"Model: --model, else ${MODEL_ENV}, else {DEFAULT_MODEL}. Exit codes: 0 all images "
            "classified, 1 some failed, 2 usage error."
        ),
    )
    parser.add_argument(
        "images",
        nargs="+",
        metavar="IMAGE",
        help="image files, directories (searched recursively) or glob patterns",
    )
    parser.add_argument(
        "--model",
        "-m",
        metavar="PATH",
        help=f"a .tflite model (default: ${MODEL_ENV} or {DEFAULT_MODEL})",
    )
    parser.add_argument(
        "--threads",
        "-t",
        type=_positive_int,
        default=None,
        metavar="N",
        help="interpreter threads (default: the interpreter's choice)",
    )
    parser.add_argument(
        "--backend",
        choices=BACKEND_CHOICES,
        default="auto",
        help="TFLite interpreter to use (default: auto = litert, tflite, then tensorflow)",
    )
    parser.add_argument(
        "--no-xnnpack", action="store_true", help="disable the default XNNPACK delegate"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per line: path, label, probability, p_happy, ms",
    )
    parser.add_argument(
        "--verbose", "-v", action="store_true", help="print the model and backend in use on stderr"
    )
    parser.add_argument("--version", action="version", version=f"edge-emotion-run {__version__}")
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def model_path(cli_value: str | None, environ: dict[str, str] | None = None) -> Path:
    """--model, else $EDGE_EMOTION_MODEL, else DEFAULT_MODEL; missing -> UsageError."""
    env = os.environ if environ is None else environ
    if cli_value:
        path, origin = Path(cli_value), "--model"
    elif env.get(MODEL_ENV):
        path, origin = Path(env[MODEL_ENV]), f"${MODEL_ENV}"
    else:
        path, origin = DEFAULT_MODEL, "the default path"
    if not path.exists():
        raise UsageError(
            f"no model at {path} ({origin}); pass --model PATH or set {MODEL_ENV}, or make one "
            "with `edge-emotion train` then `edge-emotion export --model models/demo "
            "--quantize int8`"
        )
    return path


def is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def _walk(directory: Path) -> list[Path]:
    """Image files under `directory`, recursively, hidden entries skipped, in sorted order."""
    found: list[Path] = []
    for root, dirs, files in os.walk(directory, onerror=None):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(Path(root) / f for f in sorted(files) if is_image_name(Path(f)))
    return found


def collect(args: Sequence[str]) -> tuple[list[Path], list[str]]:
    """Expand the IMAGE arguments into files to classify, plus one problem line per bad argument.

    Files named explicitly are taken whatever their suffix (a bad one fails when decoded);
    directories and globs contribute only files with an image suffix.
    """
    images: list[Path] = []
    problems: list[str] = []
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            found = _walk(path)
            if not found:
                kinds = ", ".join(IMAGE_SUFFIXES)
                problems.append(f"{arg}: directory contains no images ({kinds})")
            images.extend(found)
        elif path.exists():
            images.append(path)
        elif _GLOB_CHARS & set(arg):
            matches = sorted(glob.glob(arg, recursive=True))
            found = []
            for match in map(Path, matches):
                if match.is_dir():
                    found.extend(_walk(match))
                elif is_image_name(match):
                    found.append(match)
            if not found:
                problems.append(f"{arg}: no image files match this pattern")
            images.extend(found)
        else:
            problems.append(f"{arg}: no such file or directory")
    return images, problems


def _format(prediction: object, as_json: bool) -> str:
    data = prediction.to_dict()  # type: ignore[attr-defined]
    if as_json:
        data["probability"] = round(data["probability"], 6)
        data["p_happy"] = round(data["p_happy"], 6)
        data["ms"] = round(data["ms"], 3)
        return json.dumps(data)
    return f"{data['path']}: {data['label']} {data['probability']:.3f} ({data['ms']:.2f} ms)"


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning: {str(message).splitlines()[0]}", file=sys.stderr)


def run(argv: Sequence[str] | None = None) -> int:
    """Parse, classify, print; returns the exit code (never raises for anticipated errors)."""
    args = _parser().parse_args(argv)
    path = model_path(args.model)
    images, problems = collect(args.images)
    for line in problems:
        print(f"error: {line}", file=sys.stderr)
    if not images:
        raise UsageError("no images found in the given paths")

    from edge_emotion_runtime.classifier import Classifier

    classifier = Classifier.load(
        path,
        threads=args.threads,
        backend=args.backend,
        use_xnnpack=not args.no_xnnpack,
        quiet=not args.verbose,
    )
    if args.verbose:
        print(f"model: {classifier.describe()}", file=sys.stderr)
    failures = len(problems)
    for item in _unique(images):
        try:
            prediction = classifier.predict(item)
        except EdgeEmotionError as err:
            failures += 1
            print(f"error: {err}", file=sys.stderr)
            continue
        except Exception as err:  # an interpreter or decoder bug: still one line, keep going
            failures += 1
            print(f"error: {item}: {type(err).__name__}: {err}".splitlines()[0], file=sys.stderr)
            continue
        print(_format(prediction, args.json), flush=True)
    return 1 if failures else 0


def _unique(paths: list[Path]) -> Iterator[Path]:
    seen: set[Path] = set()
    for p in paths:
        if p not in seen:
            seen.add(p)
            yield p


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: one `error:` line and an exit code for every anticipated failure."""
    warnings.showwarning = _one_line_warning
    try:
        code = run(argv)
    except EdgeEmotionError as err:
        print(f"error: {err}", file=sys.stderr)
        code = err.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        code = 130
    except BrokenPipeError:  # e.g. piped into `head`: stop quietly, like other CLI tools
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    except MemoryError:
        print("error: out of memory", file=sys.stderr)
        code = 1
    except Exception as err:
        if os.environ.get("EDGE_EMOTION_DEBUG"):
            raise
        print(
            f"error: internal error: {type(err).__name__}: {err} (set EDGE_EMOTION_DEBUG=1 "
            "for a traceback)".splitlines()[0],
            file=sys.stderr,
        )
        code = 1
    sys.exit(code)


if __name__ == "__main__":
    main()
