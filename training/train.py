"""`edge-emotion train`: data -> split -> seed CNN -> a complete run directory.

The run is assembled in a temporary sibling folder and renamed into place at the very end, so an
interrupted run (Ctrl-C, crash, power loss) leaves the previous good run directory untouched.

This module is the order of the steps; each step is its own module and reads the one
`TrainContext` settled here: settings (`train_config`), what the steps share (`train_context`),
the data (`train_inputs`), callbacks (`train_callbacks`), multi-worker backup and resume
(`train_resume`), model and fit (`train_fit`), what is written (`train_artifacts`) and the run
directory's housekeeping (`train_outdir`).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from edge_emotion.paths import swap_into_place
from edge_emotion.rundir import CONFIG_FILE, RunDir, write_json
from edge_emotion.training import multiworker
from edge_emotion.training.train_artifacts import run_config, save_artifacts
from edge_emotion.training.train_config import (
    SYNTH_COUNT,
    TrainConfig,
    TrainResult,
    check_settings,
    resolve,
    training_crop,
)
from edge_emotion.training.train_context import Role, TrainContext, Trained
from edge_emotion.training.train_fit import (
    compiled_model,
    fit,
    join_cluster,
    local_strategy,
    strategy_name,
)
from edge_emotion.training.train_inputs import load_inputs, pretrain_pool
from edge_emotion.training.train_outdir import prepare_out, remove_stale_temps, scratch_dir

__all__ = ["SYNTH_COUNT", "TrainConfig", "TrainResult", "remove_stale_temps", "resolve", "train"]


def settle(config: TrainConfig) -> TrainContext:
    """Everything decided before any data is read: this process's role, the run directory (the
    chief's), the recipe, the model's input spec and the `--detect` crop; bad settings refused."""
    started = time.perf_counter()
    role = Role.decide(config)
    if role.chief:
        prepare_out(Path(config.out), config.force)
        remove_stale_temps(Path(config.out))
    hp = resolve(config)
    spec = check_settings(config, role.distributed)
    return TrainContext(config, hp, spec, training_crop(config), role, started)


def train(config: TrainConfig) -> TrainResult:
    """Run a whole training job and return where its run directory is.

    The steps: check the settings, (join the cluster,) load the data, build and pre-train the
    model, fit it, then write every artifact into a scratch folder that replaces `out` at once.
    """
    ctx = settle(config)
    out, role, hp = Path(config.out), ctx.role, ctx.hp
    # Joining must come before any other TensorFlow op; a local strategy after the data.
    plan, strategy = join_cluster(role.task, hp) if role.task is not None else (None, None)
    inputs = load_inputs(ctx)
    pool = pretrain_pool(ctx, inputs.samples)
    if strategy is None:
        strategy = local_strategy(config.strategy)
    model, pretrain_history = compiled_model(ctx, inputs, pool, strategy)
    augment_mode = ("photo" if hp.photo_aug else "on") if hp.augment else "off"
    print(
        f"model: {config.arch} ({model.count_params():,} parameters), {hp.epochs} epochs, "
        f"batch {hp.batch_size}, lr {hp.lr:g}, patience {hp.patience}, augment "
        f"{augment_mode}, strategy {strategy_name(strategy)}",
        flush=True,
    )

    tmp = scratch_dir(out, role)
    try:
        fitted = fit(ctx, model, inputs, strategy)
        if not role.chief:
            multiworker.barrier(strategy)  # wait for the chief's run directory
            return TrainResult(
                run_dir=out,
                epochs_run=fitted.epochs_run,
                best_epoch=fitted.best_epoch,
                seconds=time.perf_counter() - ctx.started,
                chief=False,
            )
        trained = Trained(inputs, pool, pretrain_history, model, strategy, plan, fitted)
        metrics = save_artifacts(ctx, trained, tmp)
        write_json(tmp / CONFIG_FILE, run_config(ctx, trained))
        swap_into_place(tmp, out)
        if role.distributed:
            multiworker.barrier(strategy)  # the other workers finish once the run is in place
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    RunDir.open(out)
    return TrainResult(
        run_dir=out,
        epochs_run=fitted.epochs_run,
        best_epoch=fitted.best_epoch,
        seconds=time.perf_counter() - ctx.started,
        metrics=metrics,
    )
