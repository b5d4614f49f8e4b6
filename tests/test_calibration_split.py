"""int8 calibration draws from the train split only, checked on a run whose val split is larger
than train, so a draw from val (or from everything) could satisfy any count and still be seen."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from PIL import Image

from edge_emotion.export.calibration import build_calibration
from edge_emotion.rundir import RunDir
from edge_emotion.training.manifest import Sample, write_manifest
from edge_emotion_runtime.preprocess import PreprocessSpec, scale, to_pixels

SPEC = PreprocessSpec.square(8, 3)
COUNTS = {"train": 8, "val": 30, "test": 2}  # per class


def _fake_run(tmp_path: Path) -> RunDir:
    """A run directory with only what calibration reads: config, split.csv and the images."""
    data = tmp_path / "data"
    samples = []
    for split, per_class in COUNTS.items():
        for label, name in enumerate(("happy", "sad")):
            for i in range(per_class):
                rel = f"{name}/{split}-{i}.png"
                path = data / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                value = (7 * i + 60 * label + 100 * (split == "val")) % 256
                Image.new("RGB", (8, 8), (value, 255 - value, len(split) * 20)).save(path)
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                samples.append(Sample(rel, label, split, digest))
    run = tmp_path / "run"
    run.mkdir()
    write_manifest(run / "split.csv", samples)
    config = {"preprocess": SPEC.to_dict(), "data": {"root": str(data)}, "labels": ["happy", "sad"]}
    (run / "config.json").write_text(json.dumps(config))
    return RunDir(run)


def test_every_calibration_sample_is_a_train_image_even_when_val_is_larger(tmp_path):
    run = _fake_run(tmp_path)
    split_of = {}
    for line in (run.path / "split.csv").read_text().splitlines()[1:]:
        path, _label, split, _sha = line.split(",")
        split_of[path] = split
    for count in (4, 12, 16):
        cal = build_calibration(
            run, count, seed=3, source_model_sha256="x", labels=("happy", "sad")
        )
        chosen = [s["path"] for s in cal.manifest.samples]
        assert len(chosen) == count == len(set(chosen))
        assert {split_of[p] for p in chosen} == {"train"}, chosen
        assert cal.manifest.split == "train"
        assert cal.manifest.per_class == {"happy": count // 2, "sad": count // 2}
        root = run.data_root()
        expected = np.stack([scale(to_pixels(root / p, SPEC), SPEC) for p in chosen])
        np.testing.assert_array_equal(cal.x, expected)  # the tensors are those images too
