"""The edge architecture: size at the two deployment shapes, and the whole train -> int8 path.

The end-to-end test trains one epoch through the real `train()` (so the arch's recipe, cosine
schedule and augmentation are exercised) and exports int8 through the real exporter, at 32x32x3 to
stay fast.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from edge_emotion.training.models import build_model, get_arch
from edge_emotion_runtime.preprocess import PreprocessSpec

PARAM_BUDGET = 250_000


def _layer_types(model: object) -> list[str]:
    return [type(layer).__name__ for layer in model.layers]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("height", "width"), [(8, 12), (10, 13)])
def test_the_patchify_stem_stacks_blocks_in_space_to_depth_order(height: int, width: int) -> None:
    # Built from Reshape/Permute (no custom layer), it must equal tf.nn.space_to_depth, and
    # drop trailing rows/columns that do not fill a block, as a stride-4 convolution would.
    import tensorflow as tf

    from edge_emotion.training.arch_edge import space_to_depth
    from edge_emotion.training.tfenv import import_keras

    keras = import_keras()
    spec = PreprocessSpec(height=height, width=width, channels=3)
    inputs = keras.Input(spec.shape)
    model = keras.Model(inputs, space_to_depth(inputs, 4))
    x = np.random.default_rng(0).random((2, height, width, 3)).astype(np.float32)
    expected = tf.nn.space_to_depth(x[:, : height // 4 * 4, : width // 4 * 4], 4).numpy()
    np.testing.assert_array_equal(model(x).numpy(), expected)


@pytest.mark.parametrize(
    ("size", "channels", "patchify"), [(48, 1, False), (256, 3, True), (32, 3, False)]
)
def test_edge_fits_the_parameter_budget_and_patchifies_only_large_inputs(
    size: int, channels: int, patchify: bool
) -> None:
    model = build_model("edge", PreprocessSpec.square(size, channels))
    assert model.input_shape == (None, size, size, channels)
    assert model.output_shape == (None, 1)
    assert 20_000 < model.count_params() <= PARAM_BUDGET
    names = [layer.name for layer in model.layers]
    assert ("patchify" in names) is patchify
    types = _layer_types(model)
    # Inference graph only: no Flatten->Dense blow-up and no augmentation layers.
    assert "Flatten" not in types
    assert "GlobalAveragePooling2D" in types
    assert not [t for t in types if t.startswith("Random")]
    assert model.layers[-1].activation.__name__ == "sigmoid"


def test_edge_patch_stride_rule() -> None:
    from edge_emotion.training.arch_edge import patch_size

    sizes = {s: patch_size(PreprocessSpec.square(s, 3)) for s in (32, 48, 64, 65, 96, 128, 256)}
    assert sizes == {32: 1, 48: 1, 64: 1, 65: 2, 96: 2, 128: 2, 256: 4}


def test_edge_recipe_is_a_high_lr_cosine_schedule_with_augmentation() -> None:
    recipe = get_arch("edge").recipe
    assert recipe.augment is True
    assert recipe.schedule == "cosine"
    assert recipe.lr >= 1e-3
    assert get_arch("seed").recipe.schedule == "constant"


@pytest.mark.slow
def test_edge_trains_with_its_recipe_and_exports_a_small_valid_int8_model(
    tiny_edge_run: Path, tmp_path: Path
) -> None:
    from edge_emotion.export.exporter import export_run
    from edge_emotion.export.types import ExportMode, ExportOptions
    from edge_emotion_runtime.classifier import Classifier

    run_dir = tmp_path / "edge-run"
    shutil.copytree(tiny_edge_run, run_dir)
    config = json.loads((run_dir / "config.json").read_text())
    assert config["arch"] == "edge"
    assert config["training"]["schedule"] == "cosine"
    assert config["training"]["augment"] is True
    history = json.loads((run_dir / "history.json").read_text())
    assert history["epochs_run"] == 1
    assert history["metrics"]["loss"][0] > 0  # one real epoch of gradient steps ran

    report = export_run(
        run_dir,
        ExportOptions(modes=(ExportMode.INT8,), calibration_samples=16, splits=("test",)),
    )
    int8 = run_dir / "export" / "int8.tflite"
    assert int8.is_file()
    # ~190K int8 weights plus metadata: well below the 400 KB target (the seed at 32x32: ~0.6 MB).
    assert int8.stat().st_size < 250_000
    assert [r.mode for r in report.results] == [ExportMode.INT8]

    classifier = Classifier.load(int8, threads=1)
    assert classifier.metadata.input_quantization is not None
    probs = classifier.probabilities(
        np.random.default_rng(0).random((3, 32, 32, 3), dtype="float32")
    )
    assert probs.shape == (3,)
    assert ((probs >= 0) & (probs <= 1)).all()
