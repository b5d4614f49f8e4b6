"""A model exported on x86 gives the same answers on aarch64 (see tests/parity.py).

Against a reference written on x86 (EDGE_EMOTION_PARITY_REFERENCE, set by
scripts/test-aarch64.sh), on the machine running the tests:
- preprocessing makes the same uint8 pixels of every image;
- on the x86 pixels, every model gives P within `TOLERANCE` of x86 (the kernels alone);
- end to end (decode -> preprocess -> model), labels are the same and probabilities within
  `TOLERANCE`. Labels are compared exactly wherever the reference is more than `TOLERANCE` from
  the threshold; `test_fixed_images_are_decisive` keeps that true of every fixture model.
Without a reference only the checks of the image set itself run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import PIL
import pytest
from parity import (
    BOX_TOLERANCE_PX,
    TOLERANCE,
    decode,
    detections,
    images,
    model_outputs,
    models,
)

REFERENCE_ENV = "EDGE_EMOTION_PARITY_REFERENCE"


def _reference() -> dict[str, Any]:
    name = os.environ.get(REFERENCE_ENV, "")
    if not name:
        pytest.skip(f"no x86 reference (scripts/test-aarch64.sh writes one, sets {REFERENCE_ENV})")
    path = Path(name)
    assert path.is_file(), f"{REFERENCE_ENV}={name} does not exist"
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    return _reference()


@pytest.fixture(scope="module")
def here() -> dict[str, dict[str, Any]]:
    """This machine's outputs for every model (computed once; slow under emulation)."""
    return {key: model_outputs(path) for key, path in models().items()}


@pytest.mark.parametrize("key", [k for k in models() if k.startswith("fixtures/")])
def test_fixed_images_are_decisive(here: dict[str, dict[str, Any]], key: str) -> None:
    # Every fixture model scores every parity image clearly on one side of its threshold, so an
    # exact label comparison across architectures tests the kernels, not rounding at 0.5.
    outputs = here[key]
    for image, row in outputs["images"].items():
        margin = abs(row["p"] - outputs["threshold"])
        assert margin > 5 * TOLERANCE, f"{key} {image}: P={row['p']:.3f} is near the threshold"
    assert len(outputs["images"]) == len(images())


def test_same_models_as_the_reference(reference: dict[str, Any]) -> None:
    # A model bundled on x86 but missing from the device install is a packaging bug.
    assert sorted(models()) == sorted(reference["models"])
    assert reference["tolerance"] == TOLERANCE


def test_preprocessing_gives_the_same_pixels(
    reference: dict[str, Any], here: dict[str, dict[str, Any]]
) -> None:
    for key, ref in reference["models"].items():
        for image, row in ref["images"].items():
            mine, theirs = decode(here[key]["images"][image]["pixels"]), decode(row["pixels"])
            diff = np.abs(mine.astype(np.int16) - theirs.astype(np.int16))
            assert diff.max() == 0, (
                f"{key} {image}: pixels differ from {reference['machine']} (max {diff.max()}, "
                f"{np.count_nonzero(diff)} of {diff.size}; Pillow {PIL.__version__} here, "
                f"{reference['pillow']} there)"
            )


def test_models_agree_on_the_same_pixels(
    reference: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from edge_emotion_runtime.classifier import Classifier
    from edge_emotion_runtime.preprocess import scale

    paths = models()
    worst = 0.0
    for key, ref in reference["models"].items():
        classifier = Classifier.load(paths[key], threads=1)
        for image, row in ref["images"].items():
            x = scale(decode(row["pixels"]), classifier.spec)
            p = float(classifier.probabilities(x)[0])
            assert abs(p - row["p"]) <= TOLERANCE, (
                f"{key} {image}: P={p:.4f} here, {row['p']:.4f} on {reference['machine']} "
                f"({ref['backend']})"
            )
            worst = max(worst, abs(p - row["p"]))
    with capsys.disabled():  # one line in the aarch64 log: how close the kernels really are
        print(
            f"\nparity with {reference['machine']}: {len(reference['models'])} models, "
            f"max |dP| on identical pixels {worst:.4f} (tolerance {TOLERANCE})"
        )


def test_labels_and_probabilities_agree_end_to_end(
    reference: dict[str, Any], here: dict[str, dict[str, Any]]
) -> None:
    checked = 0
    for key, ref in reference["models"].items():
        for image, row in ref["images"].items():
            mine = here[key]["images"][image]
            where = f"{key} {image}: here {mine['label']} {mine['p_happy']:.4f}, on " + (
                f"{reference['machine']} {row['label']} {row['p_happy']:.4f} ({ref['backend']})"
            )
            assert abs(mine["p_happy"] - row["p_happy"]) <= TOLERANCE, where
            if abs(row["p"] - ref["threshold"]) > TOLERANCE:
                assert mine["label"] == row["label"], where
                checked += 1
    assert checked > 0


def test_detectors_find_the_same_boxes(reference: dict[str, Any]) -> None:
    mine = detections()
    assert sorted(mine) == sorted(reference["detections"])
    for name, views in reference["detections"].items():
        for view, faces in views.items():
            here = mine[name][view]
            where = f"{name} {view}: {len(here)} faces here, {len(faces)} on {reference['machine']}"
            assert len(here) == len(faces), where
            for a, b in zip(here, faces, strict=True):
                assert np.abs(np.subtract(a["box"], b["box"])).max() <= BOX_TOLERANCE_PX, where
                assert abs(a["score"] - b["score"]) <= TOLERANCE, where
