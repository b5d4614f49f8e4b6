"""Cross-architecture parity: what the models say on a fixed set of images, as JSON.

The x86 side writes a reference (`scripts/test-aarch64.sh` runs this with the dev venv before it
starts the emulator):

    .venv/bin/python tests/parity.py OUT.json

and `tests/test_runtime_parity.py`, run on aarch64 with EDGE_EMOTION_PARITY_REFERENCE=OUT.json,
recomputes everything there and compares. Needs only the runtime, numpy and Pillow.

What is recorded, per model and image:
- `pixels`: the uint8 pixels the runtime's preprocessing makes of the image (decode, resize,
  mode conversion), so a difference in Pillow/libjpeg on the device shows up on its own;
- `p`: P(positive label) from those pixels (the model's own output; compared on aarch64 from
  the *x86 pixels*, so kernels are compared on identical input);
- `label`, `p_happy`: the end-to-end `Classifier.predict` answer from the image itself.

Models: the committed fixtures (`tests/fixtures/*.tflite` except the deliberately broken
`bad_*`) and every model the installed runtime package bundles (`edge_emotion_runtime/models/`,
when it exists). Images: the two committed sample faces, each also mirrored and rotated by 10
degrees (Pillow operations, deterministic), so no data outside the repository is needed.
"""

from __future__ import annotations

import base64
import importlib.resources
import json
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
FORMAT = 1

# Probabilities may differ between x86 and aarch64 by at most this much. The int8 kernels differ
# between architectures (XNNPACK/ruy pick AVX or NEON micro-kernels whose requantization rounds
# differently, and the device may run another interpreter version): a sigmoid output quantized
# with scale 1/256 moves in steps of 0.0039, and 0.02 allows five such steps, while a label flip
# on an image the reference scores at least `TOLERANCE` from the threshold needs more than that.
TOLERANCE = 0.02


def models() -> dict[str, Path]:
    """Model key -> path: committed fixtures, then whatever the installed runtime bundles."""
    found = {
        f"fixtures/{p.name}": p
        for p in sorted(FIXTURES.glob("*.tflite"))
        if not p.name.startswith("bad_")
    }
    bundled = importlib.resources.files("edge_emotion_runtime") / "models"
    if bundled.is_dir():
        for entry in sorted(bundled.iterdir(), key=lambda e: e.name):
            # Classifiers only: the face detectors are compared by `detections`.
            if entry.name.endswith(".tflite") and not entry.name.startswith("face_detection"):
                found[f"bundled/{entry.name}"] = Path(str(entry))
    return found


# Detector boxes may differ by this many pixels on the 256 px fixture photo (float16 weights
# dequantized by different kernels; measured: identical on aarch64).
BOX_TOLERANCE_PX = 2.0


def detections() -> dict[str, Any]:
    """Boxes and scores of both bundled detectors on the committed photo and its mirror."""
    from edge_emotion_runtime.detector import DETECTORS, FaceDetector

    photo = Image.open(FIXTURES / "photos" / "astronaut-256.jpg").convert("RGB")
    views = {"astronaut-256.jpg": photo, "astronaut-256.jpg|mirror": photo.transpose(0)}
    out: dict[str, Any] = {}
    for name in DETECTORS:
        detector = FaceDetector.load(name, threads=1, quiet=True)
        out[name] = {
            view: [{"box": list(d.box), "score": d.score} for d in detector.detect(image)]
            for view, image in views.items()
        }
    return out


def images() -> dict[str, Path | Image.Image]:
    """The fixed image set: each committed face (the file itself, so decoding is part of the
    comparison), and its decoded pixels mirrored and rotated by 10 degrees."""
    out: dict[str, Path | Image.Image] = {}
    for name in ("happy", "sad"):
        path = FIXTURES / "images" / f"{name}.jpg"
        with Image.open(path) as im:
            face = im.convert("RGB")
        out[f"{name}.jpg"] = path
        out[f"{name}.jpg|mirror"] = face.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        out[f"{name}.jpg|rotate10"] = face.rotate(10, resample=Image.Resampling.BILINEAR)
    return out


def encode(pixels: np.ndarray) -> dict[str, Any]:
    return {"shape": list(pixels.shape), "uint8": base64.b64encode(pixels.tobytes()).decode()}


def decode(entry: dict[str, Any]) -> np.ndarray:
    raw = base64.b64decode(entry["uint8"])
    return np.frombuffer(raw, dtype=np.uint8).reshape(entry["shape"])


def model_outputs(path: Path) -> dict[str, Any]:
    """Everything recorded for one model: its settings and one entry per image."""
    from edge_emotion_runtime.classifier import Classifier
    from edge_emotion_runtime.preprocess import scale, to_pixels

    classifier = Classifier.load(path, threads=1)
    spec = classifier.spec
    rows: dict[str, Any] = {}
    for key, image in images().items():
        pixels = to_pixels(image, spec)
        p = float(classifier.probabilities(scale(pixels, spec))[0])
        prediction = classifier.predict(image)
        rows[key] = {
            "pixels": encode(pixels),
            "p": p,
            "label": prediction.label,
            "p_happy": prediction.p_happy,
        }
    return {
        "threshold": classifier.threshold,
        "backend": f"{classifier.backend} {classifier.backend_version}",
        "images": rows,
    }


def build() -> dict[str, Any]:
    import numpy
    import PIL

    return {
        "format": FORMAT,
        "machine": platform.machine(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "pillow": PIL.__version__,
        "tolerance": TOLERANCE,
        "models": {key: model_outputs(path) for key, path in models().items()},
        "detections": detections(),
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python tests/parity.py OUT.json", file=sys.stderr)
        return 2
    reference = build()
    out = Path(argv[0])
    out.write_text(json.dumps(reference, indent=1) + "\n")
    backends = sorted({m["backend"] for m in reference["models"].values()})
    print(
        f"parity: wrote {out} ({len(reference['models'])} models x {len(images())} images, "
        f"{reference['machine']}, {', '.join(backends)})",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
