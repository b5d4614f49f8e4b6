"""The TensorFlow side of `--strategy multiworker` (imported only when that strategy is chosen).

Keras 3 (3.15 here) runs `MultiWorkerMirroredStrategy` through `model.fit`, but two of its code
paths fail when there is more than one worker (keras-team/keras#20585, open):

* `_maybe_symbolic_build` reduces the first batch's structure with `strategy.reduce`, which the
  collective strategy cannot take as a nested structure. The batch is only used for its shapes,
  so we hand Keras this worker's local part of it instead (no collective needed).
* `reduce_per_replica` averages per-step logs with `strategy.reduce("MEAN", v, axis=0)`, which
  fails for scalar logs (loss, accuracy). For a scalar we reduce with `axis=None`, the mean over
  replicas, which is what Keras does on one machine.

Both fixes are narrow: they change nothing unless the model's strategy is multi-worker, and the
epoch metrics Keras reports are still read from its synchronized metric variables.
"""

from __future__ import annotations

import threading
from typing import Any

from edge_emotion.training.cluster import ClusterError, ClusterTask
from edge_emotion.training.tfenv import import_keras, import_tf

_PATCH_LOCK = threading.Lock()


def create_strategy(task: ClusterTask) -> Any:
    """`MultiWorkerMirroredStrategy` from `TF_CONFIG`; blocks until every worker has started."""
    tf = import_tf()
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError) as err:
        raise ClusterError(f"cannot form the cluster of {task.describe()}: {_first(err)}") from None
    _patch_reduce_per_replica()
    return strategy


def _first(err: BaseException) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__


def cluster_failure(err: BaseException, resume_hint: str) -> ClusterError:
    """The one line a user sees when a peer died or became unreachable mid-run."""
    import re

    text = str(err)
    tasks = sorted(
        set(re.findall(r"/job:(\w+)/replica:\d+/task:(\d+)", text.split("unhealthy")[-1]))
    )
    which = (
        ", ".join(f"{job} {index}" for job, index in tasks) if "unhealthy" in text else "a worker"
    )
    return ClusterError(
        f"training stopped: {which} of the cluster failed or is unreachable "
        f"(TensorFlow {type(err).__name__}); restart every worker with the same command: "
        f"{resume_hint}"
    )


def cluster_errors() -> tuple[type[BaseException], ...]:
    tf = import_tf()
    return (
        tf.errors.UnavailableError,
        tf.errors.DeadlineExceededError,
        tf.errors.AbortedError,
        tf.errors.CancelledError,
        tf.errors.FailedPreconditionError,
        tf.errors.InternalError,
    )


def _local(strategy: Any, value: Any) -> Any:
    tf = import_tf()
    if isinstance(value, tf.distribute.DistributedValues):
        return strategy.experimental_local_results(value)[0]
    return value


def fix_symbolic_build(model: Any, strategy: Any) -> None:
    """Per-model fix of Keras' first-batch build under a multi-worker strategy (see above)."""
    from keras.src import tree

    original = model._maybe_symbolic_build

    def build(iterator: Any = None, data_batch: Any = None) -> Any:
        if iterator is not None:
            for _, _, it in iterator:
                batch = next(it)
                data_batch = tree.map_structure(lambda v: _local(strategy, v), batch)
                break
        return original(data_batch=data_batch)

    model._maybe_symbolic_build = build


def _patch_reduce_per_replica() -> None:
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer

    with _PATCH_LOCK:
        original = trainer.reduce_per_replica
        if getattr(original, "edge_emotion_fix", False):
            return
        tf = import_tf()

        def reduce_per_replica(values: Any, strategy: Any, reduction: str) -> Any:
            multi = trainer._collective_all_reduce_multi_worker(strategy)
            if not (multi and reduction in ("auto", "mean")):
                return original(values, strategy, reduction)

            def mean(value: Any) -> Any:
                first = (
                    value.values[0] if isinstance(value, tf.distribute.DistributedValues) else value
                )
                rank = getattr(getattr(first, "shape", None), "rank", 0)
                return strategy.reduce("MEAN", value, axis=0 if rank else None)

            return tree.map_structure(mean, values)

        reduce_per_replica.edge_emotion_fix = True  # type: ignore[attr-defined]
        trainer.reduce_per_replica = reduce_per_replica


def all_workers_mean(strategy: Any, value: float) -> float:
    """Mean of `value` over all workers (a collective: every worker must call it)."""
    tf = import_tf()

    def local() -> Any:
        return tf.constant(float(value), tf.float32)

    per_replica = strategy.run(tf.function(local))
    return float(strategy.reduce("MEAN", per_replica, axis=None))


def agree(strategy: Any, value: int) -> bool:
    """True on every worker when all workers hold the same `value` (else False on every one)."""
    mean = all_workers_mean(strategy, value)
    square = all_workers_mean(strategy, value * value)
    return abs(square - mean * mean) < 1e-6


def barrier(strategy: Any) -> None:
    """Wait until every worker reaches this point."""
    all_workers_mean(strategy, 0.0)


def keras_backup(backup: str) -> Any:
    keras = import_keras()
    return keras.callbacks.BackupAndRestore(backup, save_freq="epoch", delete_checkpoint=True)
