"""`python -m edge_emotion.training.ensemble`: members averaged in logit space, one sigmoid."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest


def _member(seed: int):
    import keras

    keras.utils.set_random_seed(seed)
    image = keras.Input((8, 8, 1))
    hidden = keras.layers.Dense(4, activation="relu")(keras.layers.Flatten()(image))
    return keras.Model(image, keras.layers.Dense(1, activation="sigmoid")(hidden))


def test_the_ensemble_is_the_sigmoid_of_the_members_mean_logit() -> None:
    from edge_emotion.training.ensemble import average_logits

    members = [_member(1), _member(2), _member(3)]
    x = np.random.default_rng(0).random((5, 8, 8, 1), dtype=np.float32)
    p = np.stack([m.predict(x, verbose=0)[:, 0] for m in members])
    mean_logit = np.log(p / (1 - p)).mean(axis=0)
    got = average_logits(members).predict(x, verbose=0)[:, 0]
    np.testing.assert_allclose(got, 1 / (1 + np.exp(-mean_logit)), atol=1e-5)
    # Not the mean of the probabilities: the members really are combined in logit space.
    assert not np.allclose(got, p.mean(axis=0), atol=1e-7)


def _run(folder: Path, split: str, **config) -> Path:
    folder.mkdir()
    (folder / "split.csv").write_text(split)
    (folder / "config.json").write_text(json.dumps({"labels": ["happy", "sad"], **config}))
    return folder


def test_members_of_another_split_or_preprocessing_are_refused(tmp_path: Path) -> None:
    from edge_emotion.training.ensemble import check_members

    a = _run(tmp_path / "a", "x,train\n", seed=42)
    assert check_members([a, _run(tmp_path / "b", "x,train\n", seed=42)])["seed"] == 42
    with pytest.raises(ValueError, match="another data split"):
        check_members([a, _run(tmp_path / "c", "x,test\n", seed=42)])
    with pytest.raises(ValueError, match=r"differs from .* in seed"):
        check_members([a, _run(tmp_path / "d", "x,train\n", seed=7)])
    with pytest.raises(ValueError, match="at least two"):
        check_members([a])


def test_the_command_never_overwrites_and_says_why_in_one_line(tmp_path: Path, capsys) -> None:
    from edge_emotion.training.ensemble import main

    assert main([str(tmp_path), str(tmp_path / "a"), str(tmp_path / "b")]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0
    assert main([str(tmp_path / "new"), str(tmp_path / "a"), str(tmp_path / "b")]) == 2
    assert "not a training run directory" in capsys.readouterr().err
