"""The photo-pipeline part of a benchmark: real photos through decode, detect, crop+classify.

Crop-only rows time the model on an already-resized face; people give the runtime whole photos,
where decoding and face detection cost far more than the classifier. The photo set is the real
photos of a folder (default: `shared/photos/` beside the checkout, else the committed fixture),
each also re-encoded as a 640 px wide JPEG (quality 90), the size and format of a typical web
photo, so that decode cost is measured on the format people use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from edge_emotion_runtime.preprocess import IMAGE_SUFFIXES

# This module is also loaded by file path inside the tflite-runtime venv (no workstation
# package there): only `measure` runs in that case, so the toolkit import stays inside
# `default_photo_dir`.

WEB_WIDTH = 640
WEB_QUALITY = 90


def default_photo_dir() -> Path:
    from edge_emotion.benchmarks.plan import fixture_photos, repo_root

    shared = repo_root().parent / "shared" / "photos"
    return shared if shared.is_dir() else fixture_photos()


def prepare(source: Path, workdir: Path) -> list[dict[str, Any]]:
    """The photos to time: each file of `source`, plus its 640 px JPEG version, in `workdir`."""
    photos: list[dict[str, Any]] = []
    out = workdir / "photos"
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        with Image.open(path) as image:
            image.load()
            photos.append(_entry(path, image))
            scale = WEB_WIDTH / image.width
            web = image.convert("RGB").resize(
                (WEB_WIDTH, round(image.height * scale)), Image.Resampling.LANCZOS
            )
        target = out / f"{path.stem}-{WEB_WIDTH}.jpg"
        web.save(target, quality=WEB_QUALITY)
        photos.append(_entry(target, web))
    return photos


def _entry(path: Path, image: Image.Image) -> dict[str, Any]:
    return {
        "path": str(path),
        "name": path.name,
        "format": (image.format or path.suffix.lstrip(".")).upper(),
        "width": image.width,
        "height": image.height,
        "bytes": path.stat().st_size,
    }


def measure(row: dict[str, Any], photos: list[dict[str, Any]], runs: int) -> dict[str, Any]:
    """Per-stage times (ms) of `PhotoClassifier.analyze` on every photo, `runs` times each after
    one warm-up, with the row's model, backend, threads and XNNPACK setting."""
    import warnings

    from edge_emotion_runtime.photo import PhotoClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an older model without framing: FER default
        pipeline = PhotoClassifier.load(
            row["model_path"],
            threads=row["threads"],
            backend=row["backend"],
            use_xnnpack=row["xnnpack"],
            quiet=True,
        )
        stages: dict[str, list[float]] = {"decode": [], "detect": [], "classify": [], "total": []}
        faces: dict[str, int] = {}
        for photo in photos:
            faces[photo["name"]] = len(pipeline.analyze(photo["path"]).faces)
            for _ in range(runs):
                timings = pipeline.analyze(photo["path"]).timings
                for stage in stages:
                    stages[stage].append(getattr(timings, stage))
    return {"ms": stages, "faces": faces, "runs": runs, "pipeline": pipeline.describe()}
