"""Average trained runs into one model: a run directory `edge-emotion export` takes as it is.

    python -m edge_emotion.training.ensemble OUT_DIR RUN_DIR RUN_DIR [RUN_DIR ...]

The members share the input; their pre-sigmoid logits are averaged and one sigmoid unit decides,
so the result is an ordinary one-input, one-sigmoid Keras model (export, calibration, validation
and every runtime take it unchanged) costing the members' work in one invoke. Members must come
from the same data split and preprocessing, so the copied split still keeps test faces out of
everything the ensemble saw. Measured, not shipped (README, "Architectures"): on the dev photos
it moved accuracy by a few photos, on the FER test split by about one point.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

CONFIG = "config.json"
SPLIT = "split.csv"
# What must agree between members for one split and one preprocessing to describe them all.
SHARED_KEYS = ("labels", "positive_index", "preprocess", "image_size", "channels", "seed")


def _config(run: Path) -> dict[str, Any]:
    path = run / CONFIG
    if not path.is_file() or not (run / SPLIT).is_file():
        raise ValueError(f"{run}: not a training run directory (no {CONFIG} or {SPLIT})")
    return json.loads(path.read_text())


def check_members(runs: list[Path]) -> dict[str, Any]:
    """The first member's config, after checking every member shares its split and inputs."""
    if len(runs) < 2:
        raise ValueError("an ensemble needs at least two runs")
    first = _config(runs[0])
    split = (runs[0] / SPLIT).read_bytes()
    for run in runs[1:]:
        config = _config(run)
        differ = [k for k in SHARED_KEYS if config.get(k) != first.get(k)]
        if differ:
            raise ValueError(f"{run}: differs from {runs[0]} in {', '.join(differ)}")
        if (run / SPLIT).read_bytes() != split:
            raise ValueError(f"{run}: its {SPLIT} differs from {runs[0]}'s (another data split)")
    return first


def average_logits(members: list[Any]) -> Any:
    """One Keras model: sigmoid(mean of the members' logits), weights copied from the members."""
    import keras
    import numpy as np

    image = keras.Input(members[0].input_shape[1:], name="image")
    logits = []
    for i, member in enumerate(members):
        last = member.layers[-1]
        if last.get_config().get("activation") != "sigmoid" or last.get_config().get("units") != 1:
            raise ValueError(f"member {i}: its last layer is not one sigmoid unit")
        body = keras.Model(member.inputs, last.input, name=f"member{i}")
        head = keras.layers.Dense(1, name=f"logit{i}")
        logits.append(head(body(image, training=False)))
        head.set_weights(last.get_weights())
    mean = keras.layers.Dense(1, activation="sigmoid", name="mean_logit")
    output = mean(keras.layers.Concatenate(name="logits")(logits))
    n = len(members)
    mean.set_weights([np.full((n, 1), 1.0 / n, np.float32), np.zeros(1, np.float32)])
    return keras.Model(image, output, name="ensemble")


def build(out: Path, runs: list[Path]) -> int:
    """Write the ensemble run directory; returns its parameter count."""
    import keras

    config = check_members(runs)
    members = [
        keras.models.load_model(run / config["model"]["file"], compile=False) for run in runs
    ]
    model = average_logits(members)
    model.compile(loss="binary_crossentropy", metrics=["accuracy"])
    out.mkdir(parents=True)
    shutil.copyfile(runs[0] / SPLIT, out / SPLIT)
    model.save(out / "model.keras")
    config = {
        **config,
        "arch": f"ensemble of {len(runs)}",
        "command": "python -m edge_emotion.training.ensemble "
        + " ".join(str(p) for p in [out, *runs]),
        "members": [str(run) for run in runs],
        "model": {**config["model"], "parameters": model.count_params(), "legacy_file": None},
    }
    (out / CONFIG).write_text(json.dumps(config, indent=2) + "\n")
    return model.count_params()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edge_emotion.training.ensemble")
    parser.add_argument("out", type=Path, help="new run directory to write")
    parser.add_argument("runs", type=Path, nargs="+", help="training run directories")
    args = parser.parse_args(argv)
    if args.out.exists():
        print(f"error: {args.out} exists; not overwriting it", file=sys.stderr)
        return 2
    try:
        params = build(args.out, args.runs)
    except (ValueError, OSError, KeyError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} ({params:,} parameters); export it with edge-emotion export")
    return 0


if __name__ == "__main__":
    sys.exit(main())
