"""Model and fit: the distribution strategy (one process, mirrored GPUs, or the joined cluster),
the compiled model (pre-trained first with `--pretrain-data`), and `model.fit`."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from edge_emotion.errors import UsageError
from edge_emotion.training import multiworker
from edge_emotion.training.cluster import BatchPlan, ClusterTask, batch_plan
from edge_emotion.training.console import note
from edge_emotion.training.models import Recipe, build_model
from edge_emotion.training.pipeline import with_mixup
from edge_emotion.training.tfenv import import_keras, import_tf
from edge_emotion.training.train_callbacks import epoch_line_callback, fit_callbacks
from edge_emotion.training.train_context import TrainContext
from edge_emotion.training.train_inputs import Inputs
from edge_emotion.training.train_resume import resume
from edge_emotion.vocab import Strategy

if TYPE_CHECKING:
    from edge_emotion.training.pretrain import PretrainPool


def learning_rate(hp: Recipe, steps_per_epoch: int) -> Any:
    """The optimizer's learning rate: a float, or a Keras schedule when the recipe asks for one."""
    if hp.schedule == "constant":
        return hp.lr
    if hp.schedule == "cosine":
        keras = import_keras()
        steps = max(1, hp.epochs * steps_per_epoch)
        return keras.optimizers.schedules.CosineDecay(hp.lr, decay_steps=steps, alpha=0.01)
    raise UsageError(f"unknown learning-rate schedule {hp.schedule!r} (constant or cosine)")


def local_strategy(choice: str) -> Any:
    """The strategy of a run in one process: mirrored over GPUs (`auto` with more than one,
    or asked for), else TensorFlow's default. `multiworker` never comes here (`join_cluster`)."""
    tf = import_tf()
    gpus = tf.config.list_physical_devices("GPU")
    if choice == Strategy.MIRRORED or (choice == Strategy.AUTO and len(gpus) > 1):
        if choice == Strategy.MIRRORED and len(gpus) < 2:
            note(f"--strategy mirrored with {len(gpus)} GPU(s): replicas run on what is there")
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def strategy_name(strategy: Any) -> str:
    name = type(strategy).__name__
    return "default" if name.startswith("_Default") else name


def join_cluster(task: ClusterTask, hp: Recipe) -> tuple[BatchPlan, Any]:
    """The batch plan and the multi-worker strategy, once every worker has joined.

    Must run before any other TensorFlow op: collective ops are configured at program start-up.
    """
    plan = batch_plan(hp.batch_size, hp.lr, task.num_workers)
    print(f"cluster: this is {task.describe()}; waiting for every worker", flush=True)
    strategy = multiworker.create_strategy(task)
    print(f"cluster: ready; {plan.describe()}", flush=True)
    return plan, strategy


def compiled_model(
    ctx: TrainContext, inputs: Inputs, pool: PretrainPool | None, strategy: Any
) -> tuple[Any, dict[str, list[float]]]:
    """The compiled model, pre-trained on `pool` first when there is one (and that history); a
    cluster's model is built symbolically on every worker."""
    keras = import_keras()
    config, hp, spec = ctx.config, ctx.hp, ctx.spec
    pretrain_history: dict[str, list[float]] = {}
    with strategy.scope():
        model = build_model(config.arch, spec)
        if pool is not None:
            from edge_emotion.training.pretrain import pretrain

            assert inputs.train_pixels is not None and inputs.train_labels is not None
            pretrain_history = pretrain(
                model,
                pool,
                inputs.train_pixels,
                inputs.train_labels,
                spec,
                epochs=hp.pretrain_epochs,
                lr=hp.pretrain_lr,
                batch_size=hp.batch_size,
                label_smoothing=hp.label_smoothing,
                augment=hp.augment,
                photo=hp.photo_aug,
                mixup=hp.mixup,
                seed=config.seed,
                progress=ctx.progress,
            )
        model.compile(
            optimizer=keras.optimizers.Adam(
                learning_rate=learning_rate(
                    hp, steps_per_epoch=-(-inputs.n_train // hp.batch_size)
                ),
                use_ema=hp.ema > 0,
                ema_momentum=hp.ema or 0.99,
            ),
            loss=keras.losses.BinaryCrossentropy(label_smoothing=hp.label_smoothing),
            metrics=[
                "accuracy",
                keras.metrics.Precision(name="precision"),
                keras.metrics.Recall(name="recall"),
                keras.metrics.AUC(name="auc"),
            ],
        )
    if ctx.role.distributed:
        multiworker.fix_symbolic_build(model, strategy)
    return model, pretrain_history


@dataclass(frozen=True)
class Fitted:
    """What `model.fit` left: the whole history (a resumed run's earlier epochs included)."""

    history: dict[str, list[float]]
    epochs_run: int
    best_epoch: int
    resumed: int  # epochs done before this process started (multi-worker backup)
    steps_per_epoch: int | None


def fit(ctx: TrainContext, model: Any, inputs: Inputs, strategy: Any) -> Fitted:
    """Fit with early stopping (best weights restored), EMA swapping and, for multiworker,
    backup/resume; the model holds the weights to save afterwards."""
    hp = ctx.hp
    line = epoch_line_callback(hp.epochs)
    resumed = resume(ctx, strategy)
    try:
        with warnings.catch_warnings():
            # Streamed shards have no known length: Keras finds the epoch's end by running
            # out of data, and says so once; that is expected here.
            warnings.filterwarnings("ignore", message="Your input ran out of data")
            run = model.fit(
                with_mixup(inputs.train, hp.mixup, ctx.config.seed),
                validation_data=inputs.val,
                epochs=hp.epochs,
                callbacks=fit_callbacks(hp, resumed, line),
                shuffle=False,  # the tf.data pipeline shuffles
                verbose=1 if ctx.progress else 0,  # Keras's bar on a terminal; EpochLine's lines
            )
    except Exception as err:
        if not ctx.role.distributed or not isinstance(err, multiworker.cluster_errors()):
            raise
        raise multiworker.cluster_failure(
            err, f"it resumes from this worker's backup in {resumed.backup}"
        ) from None
    done, past = resumed.done, resumed.past
    history = {
        k: past.get(k, [])[:done] + [float(v) for v in vals] for k, vals in run.history.items()
    }
    epochs_run = len(history.get("loss", []))
    val_losses = history.get("val_loss", [])
    # Early stopping restored the best weights of the epochs since a resume.
    best_epoch = done + int(np.argmin(val_losses[done:])) + 1 if val_losses[done:] else epochs_run
    return Fitted(
        history=history,
        epochs_run=epochs_run,
        best_epoch=best_epoch,
        resumed=done,
        steps_per_epoch=line.steps[-1] if line.steps else None,
    )
