"""Old photo defaults against new, in one run: whole-photo time and what each answers.

    python -m edge_emotion.benchmarks.photo_defaults [DIR ...] [--repeats 2] [--out FILE.json]

"Old" is the pipeline before the real-photo work: the short-range detector, one view per face,
the model's measured framing. "New" is today's default (both detectors fused, mirror view,
framing 1.25 tighter). Both run in this process on one interpreter thread, alternating photo by
photo (and which goes first), so the machine's load hits both alike; each photo is decoded,
detected and classified from its file every time (`PhotoClassifier.analyze`). Folders default to
../shared/photos plus its 640 px JPEG copies (the benchmark's photo set).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from edge_emotion_runtime.preprocess import IMAGE_SUFFIXES


def _photos(folders: list[Path]) -> list[Path]:
    found: list[Path] = []
    for folder in folders:
        found += sorted(
            p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )  # recursive: a labelled set's class folders; the default set is flat
    return found


def _pipelines(old_model: Path | None) -> dict[str, Any]:
    from edge_emotion_runtime.photo import PhotoClassifier

    return {
        "old": PhotoClassifier.load(
            old_model, detector="short", mirror=False, threads=1, quiet=True
        ),
        "new": PhotoClassifier.load(threads=1, quiet=True),
    }


def measure(paths: list[Path], old_model: Path | None, repeats: int) -> dict[str, Any]:
    """Median ms per photo of each pipeline, their ratio, and the faces each found."""
    pipelines = _pipelines(old_model)
    times: dict[str, list[float]] = {name: [] for name in pipelines}
    faces = dict.fromkeys(pipelines, 0)
    order = list(pipelines)
    for r in range(repeats):
        for i, path in enumerate(paths):
            for name in order if (i + r) % 2 == 0 else order[::-1]:
                start = time.perf_counter()
                result = pipelines[name].analyze(path)
                times[name].append((time.perf_counter() - start) * 1000.0)
                faces[name] += len(result.faces) if r == 0 else 0
    medians = {name: statistics.median(t) for name, t in times.items()}
    return {
        "photos": len(paths),
        "repeats": repeats,
        "median_ms": {k: round(v, 3) for k, v in medians.items()},
        "mean_ms": {k: round(statistics.fmean(t), 3) for k, t in times.items()},
        "ratio_new_over_old": round(medians["new"] / medians["old"], 3),
        "faces_found": faces,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edge_emotion.benchmarks.photo_defaults")
    parser.add_argument("folders", nargs="*", type=Path)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--old-model", type=Path, help="the bundled model as it was (its measured framing)"
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        if args.folders:
            names, paths = [str(f) for f in args.folders], _photos(args.folders)
        else:  # the benchmark's photo set: each photo and its 640 px JPEG copy
            from edge_emotion.benchmarks.photos import default_photo_dir, prepare

            names = [os.path.relpath(default_photo_dir())]  # no machine paths in results
            paths = [Path(p["path"]) for p in prepare(default_photo_dir(), Path(tmp))]
        report = {"folders": names, **measure(paths, args.old_model, args.repeats)}
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
