"""Shared fixtures: a tiny synthetic dataset and a tiny run trained through the real train path.

Both are session-scoped so the whole suite pays for one synthetic dataset and one 1-epoch run.

This file must stay importable with only the device runtime installed (no TensorFlow, no
`edge-emotion`): scripts/test-aarch64.sh runs tests/test_runtime_*.py that way. Tests that need
the workstation toolkit are marked `workstation` or use the fixtures below; both skip, saying
why, where the toolkit is not installed.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def workstation_missing() -> str | None:
    """Why the workstation toolkit (edge-emotion + TensorFlow) cannot run here, or None."""
    try:
        importlib.metadata.version("edge-emotion")
    except importlib.metadata.PackageNotFoundError:
        return "needs the workstation toolkit: edge-emotion is not installed (device-side run)"
    if importlib.util.find_spec("tensorflow") is None:
        return "needs the workstation toolkit: TensorFlow is not installed"
    return None


def _require_workstation() -> None:
    reason = workstation_missing()
    if reason:
        pytest.skip(reason)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("workstation"):
        _require_workstation()


TINY_PER_CLASS = 24
TINY_IMAGE_SIZE = 32


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A happy/ + sad/ folder of 24 synthetic 32x32 JPEG faces per class."""
    _require_workstation()
    from edge_emotion.training.synth import generate

    root = tmp_path_factory.mktemp("tiny-data")
    generate(root, TINY_PER_CLASS, seed=7, image_size=TINY_IMAGE_SIZE)
    return root


def train_tiny(parent: Path, data: Path, arch: str, **overrides: Any) -> Path:
    """A 1-epoch run of `arch` at 32x32x3 on `data` (`overrides`: other TrainConfig fields),
    made by the real train code path, in `parent`/run."""
    _require_workstation()
    from edge_emotion.training.train import TrainConfig, train

    out = parent / "run"
    settings: dict[str, Any] = {
        "epochs": 1,
        "batch_size": 16,
        "image_size": TINY_IMAGE_SIZE,
        "channels": 3,
        "seed": 1,
        "progress": False,
    }
    train(TrainConfig(out=out, data=data, arch=arch, **{**settings, **overrides}))
    return out


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, tiny_data: Path) -> Path:
    """A run directory: seed arch, 32x32x3, 1 epoch on `tiny_data`. Copy it before changing it."""
    return train_tiny(tmp_path_factory.mktemp("tiny-run-parent"), tiny_data, "seed")


@pytest.fixture(scope="session")
def tiny_edge_run(tmp_path_factory: pytest.TempPathFactory, tiny_data: Path) -> Path:
    """The same for the edge arch (its own recipe: cosine schedule, augmentation on)."""
    return train_tiny(tmp_path_factory.mktemp("tiny-edge-run-parent"), tiny_data, "edge")
