"""edge-plus and `--pretrain-data`: the pool drops leaks and duplicates; a run records it.

The end-to-end test pre-trains edge-plus for one epoch on three tiny "other emotion" folders made
of fresh synthetic faces, plus a copy of one of the binary dataset's images (which must never be
used: whatever split it lands in, it is a copy of a binary image) and an in-folder duplicate.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from edge_emotion.training.models import build_model, get_arch
from edge_emotion_runtime.preprocess import PreprocessSpec

OTHER = ("angry", "fear", "neutral")


@pytest.fixture(scope="module")
def other_data(tmp_path_factory: pytest.TempPathFactory, tiny_data: Path) -> Path:
    """DIR/train/{angry,fear,neutral}: 8 fresh faces each, one in-folder duplicate, one leak."""
    from edge_emotion.training.synth import generate

    src = tmp_path_factory.mktemp("other-src")
    generate(src, 12, seed=99, image_size=32)
    root = tmp_path_factory.mktemp("other-data")
    faces = sorted((src / "happy").iterdir()) + sorted((src / "sad").iterdir())
    for i, name in enumerate(OTHER):
        folder = root / "train" / name
        folder.mkdir(parents=True)
        for j, face in enumerate(faces[8 * i : 8 * i + 8]):
            shutil.copy(face, folder / f"{name}_{j}{face.suffix}")
    first = next(iter(sorted((root / "train" / "angry").iterdir())))
    shutil.copy(first, root / "train" / "fear" / f"dup{first.suffix}")
    leak = sorted((tiny_data / "sad").iterdir())[0]
    shutil.copy(leak, root / "train" / "neutral" / f"leak{leak.suffix}")
    return root


def test_edge_plus_is_bigger_than_edge_but_small_enough_for_one_megabyte() -> None:
    spec = PreprocessSpec.square(48, 1)
    plus = build_model("edge-plus", spec)
    assert plus.output_shape == (None, 1)
    assert build_model("edge", spec).count_params() < plus.count_params() < 800_000
    assert "patchify" in [
        layer.name for layer in build_model("edge-plus", PreprocessSpec.square(256, 3)).layers
    ]
    recipe = get_arch("edge-plus").recipe
    assert recipe.schedule == "cosine" and recipe.augment and recipe.label_smoothing > 0


def test_pool_drops_copies_of_binary_images_and_duplicates(
    other_data: Path, tiny_data: Path
) -> None:
    from edge_emotion.training.dataset import content_hash
    from edge_emotion.training.pretrain import load_pretrain_pool

    spec = PreprocessSpec.square(32, 3)
    leak = sorted((tiny_data / "sad").iterdir())[0]
    leak_hash = content_hash(leak.parent, leak.name)
    pool = load_pretrain_pool(
        other_data, spec, ("happy", "sad"), held_out_hashes={leak_hash}, train_hashes=set()
    )
    assert pool.classes == ("happy", "sad", *OTHER)
    assert len(pool.paths) == 24 and pool.pixels.shape == (24, 32, 32, 3)
    assert (pool.dropped_held_out, pool.dropped_in_train, pool.dropped_duplicates) == (1, 0, 1)
    assert leak_hash not in pool.hashes
    assert sorted(set(pool.labels.tolist())) == [2, 3, 4]
    # The same copy of a train image is dropped as such (a duplicate or a label conflict).
    pool = load_pretrain_pool(
        other_data, spec, ("happy", "sad"), held_out_hashes=set(), train_hashes={leak_hash}
    )
    assert (pool.dropped_held_out, pool.dropped_in_train) == (0, 1)


def test_pretrain_data_without_class_folders_is_a_data_error(tmp_path: Path) -> None:
    from edge_emotion.errors import DataError
    from edge_emotion.training.pretrain import load_pretrain_pool

    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no class folders"):
        load_pretrain_pool(tmp_path, PreprocessSpec.square(32, 3), ("happy", "sad"), set(), set())


@pytest.mark.slow
def test_edge_plus_pretrains_then_trains_and_records_the_pool(
    tmp_path: Path, tiny_data: Path, other_data: Path
) -> None:
    from edge_emotion.training.train import TrainConfig, train

    out = tmp_path / "run"
    result = train(
        TrainConfig(
            out=out,
            data=tiny_data,
            arch="edge-plus",
            epochs=1,
            pretrain_epochs=1,
            pretrain_data=other_data,
            batch_size=16,
            image_size=32,
            channels=3,
            seed=1,
            progress=False,
        )
    )
    assert result.epochs_run == 1
    config = json.loads((out / "config.json").read_text())
    pre = config["training"]["pretrain"]
    assert pre["classes"] == ["happy", "sad", *OTHER]
    assert pre["extra_images"] == 24 and pre["epochs"] == 1
    assert pre["dropped_held_out"] + pre["dropped_in_train"] == 1
    assert pre["dropped_duplicates"] == 1
    assert np.isfinite(pre["final_loss"])
    assert config["training"]["label_smoothing"] == pytest.approx(0.1)
    with open(out / "split.csv", newline="") as fh:
        held = {r["sha256"] for r in csv.DictReader(fh) if r["split"] in ("val", "test")}
    with open(out / "pretrain.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 24
    assert not held & {r["sha256"] for r in rows}
