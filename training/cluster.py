"""`--strategy multiworker`: the cluster from `TF_CONFIG`, who is chief, and the batch plan.

TensorFlow's own engine does the work (`tf.distribute.MultiWorkerMirroredStrategy`); this module
only reads and checks the standard `TF_CONFIG` variable so a mistake is one clear line instead of
a hang or a traceback, and holds the few rules our train command adds on top:

* Chief-only writes: the chief (the `chief` task, else `worker` 0, as TensorFlow defines it)
  writes the run directory; every other worker checkpoints into a temporary folder that is
  removed when it finishes.
* `--batch-size` is the **global** batch: each step consumes that many images in total, split
  evenly across the workers (`BatchPlan`). The learning rate is **not** scaled: the gradient of a
  step is the mean over the same global batch a single-process run with that `--batch-size` would
  use, so the recipe's learning rate applies unchanged.
* Fault tolerance: `keras.callbacks.BackupAndRestore` in a folder per worker (`backup_dir`), so a
  cluster restarted with the same command resumes after the last finished epoch.

Nothing here imports TensorFlow at module level (`edge-emotion --help` stays instant).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_emotion.errors import UsageError
from edge_emotion_runtime.errors import EdgeEmotionError

TF_CONFIG = "TF_CONFIG"
TASK_TYPES = ("chief", "worker")  # what MultiWorkerMirroredStrategy trains with
EXAMPLE = (
    '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", '
    '"index": 0}}'
)


class ClusterError(EdgeEmotionError):
    """A worker of the cluster stopped or cannot be reached during training."""

    exit_code = 1


@dataclass(frozen=True)
class ClusterTask:
    """This process's place in the cluster described by `TF_CONFIG`."""

    cluster: dict[str, tuple[str, ...]]  # job name -> "host:port" addresses
    task_type: str  # "chief" or "worker"
    task_index: int

    @property
    def num_workers(self) -> int:
        """Processes that train (chief + workers), each one replica per local device."""
        return sum(len(self.cluster.get(job, ())) for job in TASK_TYPES)

    @property
    def is_chief(self) -> bool:
        """TensorFlow's rule: the `chief` task if there is one, else `worker` 0."""
        if "chief" in self.cluster:
            return self.task_type == "chief"
        return self.task_type == "worker" and self.task_index == 0

    @property
    def worker_id(self) -> int:
        """0 for the chief, then the workers in order (TensorFlow's `id_in_cluster`)."""
        has_chief = "chief" in self.cluster
        if self.task_type == "chief":
            return 0
        return self.task_index + (1 if has_chief else 0)

    @property
    def address(self) -> str:
        return self.cluster[self.task_type][self.task_index]

    def describe(self) -> str:
        role = "chief" if self.is_chief else "worker"
        return (
            f"{self.task_type} {self.task_index} ({role}, {self.address}) of "
            f"{self.num_workers} worker(s)"
        )


def _bad(detail: str) -> UsageError:
    return UsageError(
        f"malformed {TF_CONFIG} for --strategy multiworker: {detail} (expected e.g. {EXAMPLE})"
    )


def _address_ok(address: Any) -> bool:
    if not isinstance(address, str) or ":" not in address:
        return False
    host, _, port = address.rpartition(":")
    return bool(host) and port.isdigit() and 0 < int(port) < 65536


def parse_tf_config(raw: str | None) -> ClusterTask:
    """The task `TF_CONFIG` describes, or a one-line `UsageError` saying what is wrong with it."""
    if raw is None or not raw.strip():
        raise UsageError(
            f"--strategy multiworker needs the {TF_CONFIG} environment variable on every "
            f"worker, e.g. {TF_CONFIG}='{EXAMPLE}' (see README, Training on several machines)"
        )
    try:
        data = json.loads(raw)
    except ValueError as err:
        raise _bad(f"not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise _bad("not a JSON object")
    cluster = data.get("cluster")
    task = data.get("task")
    if not isinstance(cluster, dict) or not cluster:
        raise _bad("no 'cluster' object")
    if not isinstance(task, dict):
        raise _bad("no 'task' object")
    jobs: dict[str, tuple[str, ...]] = {}
    for job, addresses in cluster.items():
        if job not in (*TASK_TYPES, "evaluator", "ps"):
            raise _bad(f"unknown job {job!r} in 'cluster'")
        if job == "ps":
            raise _bad("'ps' jobs are for ParameterServerStrategy, not multiworker")
        if not isinstance(addresses, list) or not addresses:
            raise _bad(f'cluster {job!r} must be a non-empty list of "host:port" addresses')
        for address in addresses:
            if not _address_ok(address):
                raise _bad(f'{address!r} in cluster {job!r} is not a "host:port" address')
        jobs[job] = tuple(addresses)
    if len(jobs.get("chief", ())) > 1:
        raise _bad("at most one 'chief'")
    everywhere = [a for job in TASK_TYPES for a in jobs.get(job, ())]
    if len(set(everywhere)) != len(everywhere):
        raise _bad("the same address appears twice")
    if not everywhere:
        raise _bad("no 'worker' (or 'chief') addresses")
    task_type = task.get("type")
    index = task.get("index", 0)
    if task_type == "evaluator":
        raise _bad("an 'evaluator' task does not train; start it with --strategy none instead")
    if task_type not in TASK_TYPES:
        raise _bad(f"task type must be 'chief' or 'worker', got {task_type!r}")
    if task_type not in jobs:
        raise _bad(f"task type {task_type!r} has no addresses in 'cluster'")
    if isinstance(index, bool) or not isinstance(index, int):
        raise _bad(f"task index must be an integer, got {index!r}")
    if not 0 <= index < len(jobs[task_type]):
        raise _bad(
            f"task index {index} is out of range for the {len(jobs[task_type])} "
            f"{task_type!r} address(es)"
        )
    return ClusterTask(cluster=jobs, task_type=task_type, task_index=index)


def task_from_env(environ: dict[str, str] | None = None) -> ClusterTask:
    env = os.environ if environ is None else environ
    return parse_tf_config(env.get(TF_CONFIG))


@dataclass(frozen=True)
class BatchPlan:
    """How a step's batch is spread over the workers, and the learning rate they use."""

    global_batch: int  # --batch-size: images per optimizer step, all workers together
    workers: int
    per_worker_batch: float  # global / workers (TensorFlow splits a remainder unevenly)
    lr: float  # the optimizer's learning rate: --lr exactly
    lr_scaling: str = "none"  # the global batch is the batch a single run would use

    def describe(self) -> str:
        share = f"{self.per_worker_batch:g}"
        return (
            f"global batch {self.global_batch} = {share} per worker x {self.workers} "
            f"worker(s), lr {self.lr:g} (not scaled: same global batch, same lr)"
        )


def batch_plan(global_batch: int, lr: float, workers: int) -> BatchPlan:
    if workers < 1:
        raise UsageError(f"a cluster needs at least one worker, got {workers}")
    if global_batch < workers:
        raise UsageError(
            f"--batch-size {global_batch} is the global batch and must be at least the number "
            f"of workers ({workers})"
        )
    return BatchPlan(global_batch, workers, global_batch / workers, lr)


def _worker_folder(out: Path, task: ClusterTask, kind: str) -> Path:
    digest = hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:12]
    name = f"edge-emotion-{kind}-{digest}-{task.task_type}{task.task_index}"
    return Path(tempfile.gettempdir()) / name


def backup_dir(out: Path, task: ClusterTask | None) -> Path:
    """Where this worker's `BackupAndRestore` state lives: a hidden sibling of the run directory
    on the chief, a folder in the system temp dir on the others (same path after a restart)."""
    if task is None or task.is_chief:
        return out.with_name(f".{out.name}.backup")
    return _worker_folder(out, task, "backup")


def worker_scratch(out: Path, task: ClusterTask) -> Path:
    """An empty temporary folder for a non-chief worker's checkpoints, removed when it finishes.
    Its name is fixed, so a restart after the worker was killed also removes the old one."""
    path = _worker_folder(out, task, "scratch")
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path
