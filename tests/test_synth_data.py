"""The synthetic dataset is deterministic, complete and not trivially separable."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from PIL import Image

from edge_emotion.errors import UsageError
from edge_emotion.training.synth import AMBIGUOUS_SHARE, _mouth_curvature, generate


def _digest(folder):
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*.jpg"))
    }


def test_same_seed_same_images_other_seed_other_images(tmp_path):
    generate(tmp_path / "a", 3, seed=5, image_size=24)
    generate(tmp_path / "b", 3, seed=5, image_size=24)
    generate(tmp_path / "c", 3, seed=6, image_size=24)
    a, b, c = (_digest(tmp_path / n) for n in "abc")
    assert a == b
    assert sorted(a) == sorted(c) and a != c
    assert len(a) == 6 and {k.split("/")[0] for k in a} == {"happy", "sad"}


def test_images_have_requested_size_and_are_rgb(tmp_path):
    generate(tmp_path, 2, seed=0, image_size=40)
    for path in tmp_path.rglob("*.jpg"):
        with Image.open(path) as image:
            assert image.size == (40, 40) and image.mode == "RGB"


def test_a_share_of_mouths_is_nearly_flat():
    rng = np.random.default_rng(0)
    curv = np.array(
        [
            _mouth_curvature(rng, label, rng.random() < AMBIGUOUS_SHARE)
            for label in (0, 1)
            for _ in range(500)
        ]
    )
    flat = np.abs(curv) < 0.15
    assert 0.1 < flat.mean() < 0.35
    assert (curv[:500] >= 0).all() and (curv[500:] <= 0).all()


def test_synth_data_rejects_bad_count(tmp_path):
    with pytest.raises(UsageError):
        generate(tmp_path, 0)
