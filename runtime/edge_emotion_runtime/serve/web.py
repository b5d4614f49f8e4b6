"""The in-browser app: its defaults (config.json) and a folder for any static HTTPS host.

The page (`edge_emotion_runtime/web/`) runs the photo pipeline itself with LiteRT.js; nothing in
it repeats a Python default by hand: `web_config` reads them from the runtime's own code when the
app is built or served, so a changed default reaches the page with the next build.
"""

from __future__ import annotations

import inspect
import json
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

from edge_emotion_runtime.errors import UsageError

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
VENDOR_DIR = WEB_DIR / "vendor" / "litert"
MODEL_FILE = "model.tflite"
APP_FILES = ("index.html", "app.js", "worker.js", "sw.js", "style.css", "decode.js")
PIPELINE_FILES = ("image.js", "detector.js", "crop.js", "metadata.js", "photo.js", "litert.js")
# Headers a static host must send: threads are not used, but cross-origin isolation keeps the
# page ready for them and is what `edge-emotion-serve --in-browser` sends.
ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
}
SETUP_HINT = (
    "the in-browser app's LiteRT.js files are missing from this install "
    f"({VENDOR_DIR}); from a checkout run: bash scripts/setup-web.sh"
)


def web_config(
    detector: str | None = None, mirror: bool | None = None, min_confidence: float | None = None
) -> dict[str, Any]:
    """The page's pipeline settings, read from the Python runtime's own defaults and specs;
    `detector`, `mirror` and `min_confidence` override the defaults when given."""

    from edge_emotion_runtime import crop, preprocess
    from edge_emotion_runtime.defaults import pipeline_defaults
    from edge_emotion_runtime.detector import DETECTORS
    from edge_emotion_runtime.fusion import FUSIONS
    from edge_emotion_runtime.photo import PhotoClassifier

    defaults = pipeline_defaults()
    chosen = detector or defaults["detector"]
    if chosen not in DETECTORS and chosen not in FUSIONS:
        raise UsageError(f"unknown face detector {chosen!r}")
    load_defaults = inspect.signature(PhotoClassifier.load).parameters
    if min_confidence is not None and not 0.5 <= min_confidence <= 1.0:
        raise UsageError(f"min_confidence must be in [0.5, 1], got {min_confidence!r}")
    return {
        **defaults,
        "detector": chosen,
        "mirror": defaults["mirror"] if mirror is None else mirror,
        "min_confidence": defaults["min_confidence"] if min_confidence is None else min_confidence,
        "max_pixels": load_defaults["max_pixels"].default,
        "photo_long_side": preprocess.PHOTO_LONG_SIDE,
        "crop_max_side": crop.CROP_MAX_SIDE,
        "crop_min_fill": crop.CROP_MIN_FILL,
        "small_crop_min_score": crop.SMALL_CROP_MIN_SCORE,
        "small_crop_min_fill": crop.SMALL_CROP_MIN_FILL,
        "detectors": {
            name: {
                **asdict(spec),
                "layers": [list(layer) for layer in spec.layers],
                "filename": spec.filename,
            }
            for name, spec in DETECTORS.items()
        },
        "fusions": {name: asdict(spec) for name, spec in FUSIONS.items()},
        "fer_framings": {name: f.to_dict() for name, f in crop.FER_FRAMINGS.items()},
        "model": MODEL_FILE,
    }


def check_vendor() -> None:
    if not (VENDOR_DIR / "index.js").is_file():
        raise UsageError(SETUP_HINT)


def build(
    out: str | Path,
    model: str | Path | None = None,
    detector: str | None = None,
    **overrides: Any,
) -> Path:
    """Write the app (pages, pipeline, LiteRT.js, the models, config.json, licences) to `out`;
    `overrides` (mirror, min_confidence) go to `web_config`."""
    from edge_emotion_runtime import bundled
    from edge_emotion_runtime.classifier import Classifier
    from edge_emotion_runtime.detector import DETECTORS

    check_vendor()
    config = web_config(detector, **overrides)
    path, _ = bundled.resolve_model(model)
    Classifier.load(path, quiet=True)  # refuse a model the runtime itself would refuse
    out = Path(out)
    (out / "vendor" / "litert").mkdir(parents=True, exist_ok=True)
    for name in (*APP_FILES, *PIPELINE_FILES):
        shutil.copyfile(WEB_DIR / name, out / name)
    for item in VENDOR_DIR.iterdir():
        if item.suffix in (".js", ".mjs", ".wasm", ".json"):
            shutil.copyfile(item, out / "vendor" / "litert" / item.name)
    shutil.copyfile(path, out / MODEL_FILE)
    for spec in DETECTORS.values():
        shutil.copyfile(bundled.detector_path(spec), out / spec.filename)
    (out / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    _licences(out)
    return out


def _licences(out: Path) -> None:
    models = WEB_DIR.parent / "models"
    runtime = WEB_DIR.parent.parent
    shutil.copyfile(models / "LICENSE-mediapipe", out / "LICENSE-mediapipe")
    for name in ("LICENSE", "NOTICE"):
        if (runtime / name).is_file():
            shutil.copyfile(runtime / name, out / name)
    (out / "LICENSES.md").write_text(
        "# Licences of the files in this folder\n\n"
        "| files | licence | from |\n|---|---|---|\n"
        "| *.html, *.js, *.css (not vendor/), config.json, model.tflite | Apache-2.0 (LICENSE) "
        "| edge-emotion |\n"
        "| face_detection_*.tflite | Apache-2.0 (LICENSE-mediapipe) | MediaPipe BlazeFace |\n"
        "| vendor/litert/* | Apache-2.0 (LICENSE) | @litertjs/core 2.5.3 and @litertjs/wasm-utils "
        "2.5.3 from npm (Google LLC); index.js patched (int8 dtype, import path), *.mjs are "
        "the .js loaders plus one export line |\n"
    )
