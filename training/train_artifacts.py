"""What a finished run writes: the models, split manifests, history, metrics, plots and
config.json (every setting, the data, what training did, versions and the command)."""

from __future__ import annotations

import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from edge_emotion import __version__
from edge_emotion.rundir import (
    HISTORY_FILE,
    LEGACY_MODEL_FILE,
    MANIFEST_FILE,
    METRICS_FILE,
    MODEL_FILE,
    write_json,
)
from edge_emotion.training.manifest import write_manifest
from edge_emotion.training.metrics import binary_metrics
from edge_emotion.training.tfenv import import_keras, import_tf
from edge_emotion.training.train_context import TrainContext, Trained
from edge_emotion.training.train_fit import Fitted, strategy_name
from edge_emotion.training.train_inputs import Inputs
from edge_emotion_runtime.labels import DEFAULT_THRESHOLD, POSITIVE_INDEX


def versions() -> dict[str, str]:
    tf = import_tf()
    keras = import_keras()
    import PIL

    return {
        "edge_emotion": __version__,
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "pillow": PIL.__version__,
        "platform": platform.platform(),
    }


def _save_legacy_h5(model: Any, path: Path) -> None:
    """The .h5 copy for seed-era code; Keras' 'legacy format' warning is expected here."""
    import logging

    absl = logging.getLogger("absl")
    level = absl.level
    absl.setLevel(logging.ERROR)
    try:
        model.save(path)
    finally:
        absl.setLevel(level)


def _evaluate_splits(
    local: Any, inputs: Inputs, fitted: Fitted, labels: tuple[str, ...]
) -> dict[str, Any]:
    """metrics.json: val and test metrics of the saved model."""
    metrics: dict[str, Any] = {
        "positive_label": labels[POSITIVE_INDEX],
        "threshold": DEFAULT_THRESHOLD,
        "best_epoch": fitted.best_epoch,
        "epochs_run": fitted.epochs_run,
    }
    for name in ("val", "test"):
        predicted = inputs.predict(local, name)
        if predicted is not None:
            metrics[name] = binary_metrics(predicted[0], predicted[1], DEFAULT_THRESHOLD, labels)
    return metrics


def save_artifacts(ctx: TrainContext, trained: Trained, tmp: Path) -> dict[str, Any]:
    """The models, split manifests, history, metrics and plots into `tmp`; the metrics."""
    model, inputs, fitted, pool = trained.model, trained.inputs, trained.fitted, trained.pool
    # EarlyStopping restored the best weights; the saved models are exactly those.
    model.save(tmp / MODEL_FILE)
    _save_legacy_h5(model, tmp / LEGACY_MODEL_FILE)
    # Predict through a local copy: the distributed model's predict is a collective.
    keras = import_keras()
    local = (
        keras.models.load_model(tmp / MODEL_FILE, compile=False) if ctx.role.distributed else model
    )
    metrics = _evaluate_splits(local, inputs, fitted, ctx.config.labels)
    write_manifest(tmp / MANIFEST_FILE, inputs.samples)
    if pool is not None:
        from edge_emotion.training.pretrain import PRETRAIN_MANIFEST, write_pretrain_manifest

        write_pretrain_manifest(tmp / PRETRAIN_MANIFEST, pool)
    write_json(
        tmp / HISTORY_FILE,
        {
            "epochs_run": fitted.epochs_run,
            "best_epoch": fitted.best_epoch,
            "metrics": fitted.history,
        },
    )
    write_json(tmp / METRICS_FILE, metrics)
    from edge_emotion.training.plots import plot_history

    plot_history(fitted.history, tmp)
    return metrics


def _training_section(ctx: TrainContext, trained: Trained, seconds: float) -> dict[str, Any]:
    """config.json "training": the recipe and what the fit did (and the cluster's share)."""
    hp, pool, fitted, strategy = ctx.hp, trained.pool, trained.fitted, trained.strategy
    pretrain_history = trained.pretrain_history
    training: dict[str, Any] = {
        **asdict(hp),
        "class_weight": ctx.config.class_weight,
        "strategy": ctx.config.strategy,
        "strategy_used": strategy_name(strategy),
        "optimizer": "adam",
        "loss": "binary_crossentropy",
        "pretrain": None
        if pool is None
        else {
            **pool.summary(),
            "epochs": hp.pretrain_epochs,
            "lr": hp.pretrain_lr,
            "final_loss": (pretrain_history.get("loss") or [None])[-1],
            "final_accuracy": (pretrain_history.get("accuracy") or [None])[-1],
        },
        "monitor": "val_loss",
        "epochs_run": fitted.epochs_run,
        "best_epoch": fitted.best_epoch,
        "steps_per_epoch": fitted.steps_per_epoch,
        "wall_seconds": round(seconds, 1),
    }
    task, plan = ctx.role.task, trained.plan
    if task is not None and plan is not None:
        training["cluster"] = {
            "workers": task.num_workers,
            "replicas": int(strategy.num_replicas_in_sync),
            "global_batch": plan.global_batch,
            "per_worker_batch": plan.per_worker_batch,
            "lr": plan.lr,
            "lr_scaling": plan.lr_scaling,
            "resumed_from_epoch": fitted.resumed,
            "chief": f"{task.task_type} {task.task_index} ({task.address})",
        }
    return training


def run_config(ctx: TrainContext, trained: Trained) -> dict[str, Any]:
    """config.json: every setting, the data and what training did, versions and the command."""
    config, spec = ctx.config, ctx.spec
    training = _training_section(ctx, trained, seconds=time.perf_counter() - ctx.started)
    return {
        "arch": config.arch,
        "labels": list(config.labels),
        "positive_index": POSITIVE_INDEX,
        "threshold": DEFAULT_THRESHOLD,
        "image_size": config.image_size,
        "channels": config.channels,
        "preprocess": spec.to_dict(),
        "seed": config.seed,
        "crop": trained.inputs.crop_section,
        "data": trained.inputs.data_section,
        "training": training,
        "model": {
            "parameters": int(trained.model.count_params()),
            "input_shape": list(spec.shape),
            "file": MODEL_FILE,
            "legacy_file": LEGACY_MODEL_FILE,
        },
        "versions": versions(),
        "command": " ".join(sys.argv),
        "created_unix": int(time.time()),
    }
