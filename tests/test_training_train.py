"""`train` end to end on tiny synthetic data: every artifact of the run-dir contract, and
replacing a run is all-or-nothing."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from edge_emotion.rundir import RunDir
from edge_emotion.training import plots
from edge_emotion.training.dataset import load_split
from edge_emotion.training.manifest import read_manifest
from edge_emotion.training.train import TrainConfig, train
from edge_emotion_runtime.preprocess import PreprocessSpec, to_pixels


def test_tiny_run_has_every_artifact(tiny_run):
    RunDir.open(tiny_run)
    for name in (
        "model.keras",
        "model.h5",
        "config.json",
        "split.csv",
        "history.json",
        "metrics.json",
        "accuracy.png",
        "loss.png",
    ):
        assert (tiny_run / name).is_file() and (tiny_run / name).stat().st_size > 0, name
    for png in ("accuracy.png", "loss.png"):
        with Image.open(tiny_run / png) as image:
            assert image.format == "PNG"
    assert not any(p.name.startswith(".") for p in tiny_run.parent.iterdir())  # no temp left


def test_config_records_settings_versions_and_preprocessing(tiny_run, tiny_data):
    run = RunDir.open(tiny_run)
    config = run.config()
    assert run.preprocess_spec() == PreprocessSpec.square(32, 3)
    assert run.data_root() == tiny_data.resolve()
    assert config["labels"] == ["happy", "sad"] and config["threshold"] == 0.5
    assert config["arch"] == "seed" and config["seed"] == 1
    assert config["data"]["layout"] == "class-folders"
    assert config["training"]["epochs"] == 1 and config["training"]["lr"] == 1e-5
    for key in ("tensorflow", "keras", "numpy", "python"):
        assert config["versions"][key]


def test_manifest_covers_the_data_with_hashes_and_three_splits(tiny_run, tiny_data):
    samples = read_manifest(RunDir.open(tiny_run).manifest_path)
    assert len(samples) == 48
    assert {s.split for s in samples} == {"train", "val", "test"}
    for split in ("val", "test"):
        assert {s.label for s in samples if s.split == split} == {0, 1}
    import hashlib

    s = samples[0]
    assert hashlib.sha256((tiny_data / s.path).read_bytes()).hexdigest() == s.sha256


def test_history_and_metrics(tiny_run):
    history = json.loads((tiny_run / "history.json").read_text())
    assert history["epochs_run"] == 1
    for key in ("loss", "val_loss", "accuracy", "val_accuracy", "precision", "recall"):
        assert len(history["metrics"][key]) == 1
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    for split in ("val", "test"):
        m = metrics[split]
        assert 0.0 <= m["accuracy"] <= 1.0
        assert sum(map(sum, m["confusion_matrix"])) == m["n"]


def test_saved_models_agree_and_load_split_matches_runtime(tiny_run):
    import keras

    run = RunDir.open(tiny_run)
    test = load_split(run, "test")
    keras_model = keras.models.load_model(run.model_path, compile=False)
    h5_model = keras.models.load_model(run.legacy_model_path, compile=False)
    np.testing.assert_allclose(
        keras_model.predict(test.x(), verbose=0),
        h5_model.predict(test.x(), verbose=0),
        rtol=1e-6,
        atol=1e-7,
    )
    first = test.samples[0]
    assert np.array_equal(
        test.pixels[0], to_pixels(run.data_root() / first.path, run.preprocess_spec())
    )


def test_force_replaces_a_run_and_a_failed_run_leaves_the_old_one(tmp_path, tiny_data, monkeypatch):
    out = tmp_path / "run"
    config = TrainConfig(
        out=out,
        data=tiny_data,
        epochs=1,
        image_size=24,
        channels=1,
        batch_size=16,
        seed=3,
        progress=False,
    )
    train(config)
    before = (out / "model.keras").read_bytes()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full while plotting")

    monkeypatch.setattr(plots, "plot_history", broken)
    with pytest.raises(RuntimeError):
        train(TrainConfig(**{**config.__dict__, "force": True, "seed": 4}))
    assert (out / "model.keras").read_bytes() == before
    assert RunDir.open(out).config()["seed"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # temp dir cleaned up


def test_balanced_class_weights_equalise_total_weight_per_class():
    from edge_emotion.training.train_inputs import class_weights as _class_weights

    labels = np.array([0] * 30 + [1] * 10)
    weights = _class_weights(labels, "balanced")
    assert weights[labels == 0].sum() == pytest.approx(weights[labels == 1].sum())
    assert weights.mean() == pytest.approx(1.0)
    assert _class_weights(labels, "none") is None


def test_without_data_synthetic_faces_are_generated_into_the_cache(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    out = tmp_path / "run"
    train(
        TrainConfig(
            out=out,
            data=None,
            epochs=1,
            image_size=24,
            channels=3,
            batch_size=8,
            synth_count=6,
            progress=False,
            class_weight="balanced",
        )
    )
    root = RunDir.open(out).data_root()
    assert root.is_relative_to(tmp_path / "cache" / "edge-emotion")
    assert len(list(root.rglob("*.jpg"))) == 12
    assert RunDir.open(out).config()["data"]["synthetic"] is True
    captured = capsys.readouterr()
    assert "generating 6 synthetic faces per class" in captured.err
    epoch_lines = [line for line in captured.out.splitlines() if line.startswith("epoch")]
    assert len(epoch_lines) == 1 and "\r" not in captured.out  # no bar when not a terminal
    for field in ("train loss", "acc", "prec", "rec", "val loss"):
        assert field in epoch_lines[0]


def test_class_weight_and_strategy_are_checked_once_when_the_config_is_made():
    from pathlib import Path

    from edge_emotion.errors import UsageError
    from edge_emotion.training.train import TrainConfig

    with pytest.raises(UsageError, match="--class-weight must be none or balanced"):
        TrainConfig(out=Path("r"), class_weight="inverse")
    with pytest.raises(UsageError, match="--strategy must be auto, none, mirrored or multiworker"):
        TrainConfig(out=Path("r"), strategy="parameter-server")
    assert TrainConfig(out=Path("r"), class_weight="balanced", strategy="mirrored")
