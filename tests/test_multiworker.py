"""`--strategy multiworker` and TFRecord shards (`prepare-data`, `train --shards`).

The cluster tests start real worker processes of the CLI on this machine: loopback addresses on
free ports, one `TF_CONFIG` each, CPU only, a hard timeout on every process (all are killed at
teardown whatever happens). They check chief-only writes, the global-batch rule, that a 2-worker
run learns like a single-process one with the same global batch, and that a cluster restarted
after a worker is killed resumes from its backups.
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import invoke

pytestmark = pytest.mark.workstation

PROCESS_TIMEOUT = 120.0  # seconds: hard limit on any one worker process
MW_PER_CLASS = 100
MW_SIZE = 32
MW_BATCH = 16
MW_EPOCHS = 3


# ----------------------------------------------------------------------------- TF_CONFIG


def _config(cluster: dict, task_type: str = "worker", index: int = 0) -> str:
    return json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index}})


TWO = {"worker": ["10.0.0.1:2222", "10.0.0.2:2222"]}


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (None, "needs the TF_CONFIG environment variable"),
        ("", "needs the TF_CONFIG environment variable"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps({"task": {"type": "worker", "index": 0}}), "no 'cluster' object"),
        (json.dumps({"cluster": TWO}), "no 'task' object"),
        (_config({"worker": ["10.0.0.1"]}), 'is not a "host:port" address'),
        (_config({"worker": "10.0.0.1:2222"}), "non-empty list"),
        (_config({"worker": ["a:1", "a:1"]}), "the same address appears twice"),
        (_config({"ps": ["a:1"], "worker": ["b:1"]}), "ParameterServerStrategy"),
        (_config(TWO, "master", 0), "task type must be 'chief' or 'worker'"),
        (_config(TWO, "chief", 0), "has no addresses"),
        (_config(TWO, "worker", 2), "task index 2 is out of range"),
        (_config(TWO, "worker", "1"), "task index must be an integer"),
        (_config({**TWO, "evaluator": ["c:1"]}, "evaluator", 0), "does not train"),
    ],
)
def test_tf_config_errors_are_one_clear_line(raw, fragment):
    from edge_emotion.errors import UsageError
    from edge_emotion.training.cluster import parse_tf_config

    with pytest.raises(UsageError) as caught:
        parse_tf_config(raw)
    message = str(caught.value)
    assert fragment in message and "\n" not in message


def test_chief_is_the_chief_task_else_worker_zero():
    from edge_emotion.training.cluster import parse_tf_config

    workers_only = [parse_tf_config(_config(TWO, "worker", i)) for i in (0, 1)]
    assert [t.is_chief for t in workers_only] == [True, False]
    assert [t.worker_id for t in workers_only] == [0, 1]
    assert workers_only[1].num_workers == 2 and workers_only[1].address == "10.0.0.2:2222"

    with_chief = {"chief": ["c:1"], "worker": ["w:1", "w:2"]}
    chief = parse_tf_config(_config(with_chief, "chief", 0))
    first_worker = parse_tf_config(_config(with_chief, "worker", 0))
    assert chief.is_chief and chief.worker_id == 0 and chief.num_workers == 3
    assert not first_worker.is_chief and first_worker.worker_id == 1


def test_batch_size_is_global_and_lr_is_not_scaled():
    from edge_emotion.errors import UsageError
    from edge_emotion.training.cluster import batch_plan

    plan = batch_plan(32, 1e-3, 4)
    assert plan.global_batch == 32 and plan.per_worker_batch == 8 and plan.lr == 1e-3
    assert plan.lr_scaling == "none"
    assert "8 per worker x 4" in plan.describe()
    with pytest.raises(UsageError, match="global batch"):
        batch_plan(2, 1e-3, 4)


def test_backups_are_per_worker_and_off_the_users_tree(tmp_path, monkeypatch):
    import tempfile

    from edge_emotion.training.cluster import backup_dir, parse_tf_config

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    out = tmp_path / "models" / "run"
    chief = parse_tf_config(_config(TWO, "worker", 0))
    other = parse_tf_config(_config(TWO, "worker", 1))
    assert backup_dir(out, chief) == out.with_name(".run.backup")
    assert backup_dir(out, other).parent == tmp_path / "tmp"
    assert backup_dir(out, other) == backup_dir(out, other)  # same place after a restart


def test_cli_multiworker_without_tf_config_exits_2(tmp_path, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    code, _, err = invoke(["train", "--strategy", "multiworker", "--out", str(tmp_path / "r")])
    assert code == 2
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "TF_CONFIG" in lines[0] and "Traceback" not in err
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["localhost"]}}')
    code, _, err = invoke(["train", "--strategy", "multiworker", "--out", str(tmp_path / "r")])
    assert code == 2 and "malformed TF_CONFIG" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


# ----------------------------------------------------------------------------- shards


def _in_memory_split(data: Path, size: int, seed: int):
    """What `train` holds in memory: pixels and labels per split, in manifest order."""
    from edge_emotion.training.dataset import decode_candidates
    from edge_emotion.training.discovery import discover
    from edge_emotion.training.split import assign_splits
    from edge_emotion_runtime.labels import DEFAULT_LABELS
    from edge_emotion_runtime.preprocess import PreprocessSpec

    spec = PreprocessSpec.square(size, 3)
    found = discover(data, DEFAULT_LABELS)
    decoded = decode_candidates(found.root, found.candidates, spec, DEFAULT_LABELS)
    split = assign_splits(decoded.candidates, decoded.hashes, seed)
    index_of = {c.path: i for i, c in enumerate(decoded.candidates)}
    out = {}
    for name in ("train", "val", "test"):
        idx = [index_of[s.path] for s in split.samples if s.split == name]
        labels = np.array([decoded.candidates[i].label for i in idx], dtype=np.int64)
        out[name] = (decoded.pixels[idx], labels)
    return split.samples, out


def test_prepare_data_round_trip_is_the_in_memory_pixels(tiny_data, tmp_path):
    from edge_emotion.training.manifest import read_manifest
    from edge_emotion.training.prepare import PrepareConfig, prepare_data
    from edge_emotion.training.shards import open_shards, read_split

    report = prepare_data(
        PrepareConfig(data=tiny_data, out=tmp_path / "shards", image_size=32, seed=1)
    )
    shards = open_shards(report.out)
    samples, memory = _in_memory_split(tiny_data, 32, seed=1)
    assert read_manifest(shards.path / "split.csv") == samples  # same split, same hashes
    assert report.files["train"] == 8  # enough files for 8 workers to read their own
    for name in ("train", "val", "test"):
        pixels, labels = read_split(shards, name)
        assert pixels.dtype == np.uint8 and np.array_equal(pixels, memory[name][0]), name
        assert np.array_equal(labels, memory[name][1]), name
    meta = json.loads((shards.path / "shards.json").read_text())
    assert meta["preprocess"]["height"] == 32 and meta["training_crop"] is None
    assert meta["crop"]["measured_on"]["of"] == len(memory["train"][1])
    import hashlib

    for entry in meta["splits"]["train"]["files"]:
        data = (shards.path / entry["name"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    # Train shards are shuffled: no shard holds a single class when there are several images.
    from edge_emotion.training.shards import records

    first = [int(label) for _, label, _ in records(shards, "train").take(8).as_numpy_iterator()]
    assert len(set(first)) == 2


def test_shards_made_for_another_input_are_refused(tiny_data, tmp_path):
    from edge_emotion.training.prepare import PrepareConfig, prepare_data

    prepare_data(PrepareConfig(data=tiny_data, out=tmp_path / "s", image_size=24, channels=1))
    code, _, err = invoke(
        [
            "train",
            "--shards",
            str(tmp_path / "s"),
            "--image-size",
            "32",
            "--out",
            str(tmp_path / "r"),
        ]
    )
    assert code == 2 and "Traceback" not in err
    assert "shards were made at 24x24x1" in err and "32x32x3" in err
    code, _, err = invoke(
        ["train", "--shards", str(tmp_path / "s"), "--image-size", "24", "--channels", "1",
         "--detect", "--out", str(tmp_path / "r")]
    )  # fmt: skip
    assert code == 2 and "made without --detect" in err
    code, _, err = invoke(
        ["train", "--shards", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r")]
    )
    assert code == 2 and "no such shards folder" in err
    assert not (tmp_path / "r").exists()


# ----------------------------------------------------------------------------- cluster runs


@pytest.fixture(scope="module")
def mw_shards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """100 synthetic 32x32 faces per class, written as shards (split seed 1)."""
    from edge_emotion.training.prepare import PrepareConfig, prepare_data
    from edge_emotion.training.synth import generate

    root = tmp_path_factory.mktemp("mw")
    generate(root / "data", MW_PER_CLASS, seed=7, image_size=MW_SIZE)
    prepare_data(PrepareConfig(data=root / "data", out=root / "shards", image_size=MW_SIZE, seed=1))
    return root / "shards"


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class Cluster:
    """Worker processes of `edge-emotion train --strategy multiworker` on loopback ports."""

    def __init__(self, base: Path, shards: Path, out: Path, epochs: int) -> None:
        self.base = base
        self.ports = _free_ports(2)
        self.args = [
            "train", "--arch", "edge", "--shards", str(shards), "--image-size", str(MW_SIZE),
            "--epochs", str(epochs), "--batch-size", str(MW_BATCH), "--no-augment", "--seed", "1",
            "--strategy", "multiworker", "--out", str(out),
        ]  # fmt: skip
        self.procs: dict[int, subprocess.Popen] = {}
        self.logs: dict[int, Path] = {}
        self.started: dict[int, float] = {}
        self.attempt = 0

    def tmpdir(self, index: int) -> Path:
        path = self.base / f"tmp-worker{index}"  # each worker's TMPDIR (its scratch and backup)
        path.mkdir(exist_ok=True)
        return path

    def start(self, index: int, **extra_env: str) -> None:
        self.attempt += 1
        cluster = {"worker": [f"127.0.0.1:{p}" for p in self.ports]}
        env = {
            **os.environ,
            "TF_CONFIG": json.dumps(
                {"cluster": cluster, "task": {"type": "worker", "index": index}}
            ),
            "CUDA_VISIBLE_DEVICES": "",
            "TMPDIR": str(self.tmpdir(index)),
            **extra_env,
        }
        self.logs[index] = self.base / f"worker{index}-{self.attempt}.log"
        with open(self.logs[index], "w") as log:
            self.procs[index] = subprocess.Popen(
                [sys.executable, "-m", "edge_emotion.cli", *self.args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.base,
            )
        self.started[index] = time.monotonic()

    def wait(self, index: int, timeout: float = PROCESS_TIMEOUT) -> int:
        left = self.started[index] + timeout - time.monotonic()
        try:
            return self.procs[index].wait(timeout=max(left, 0.1))
        except subprocess.TimeoutExpired:
            self.kill_all()
            pytest.fail(f"worker {index} still running after {timeout:.0f}s:\n{self.log(index)}")

    def kill(self, index: int) -> None:
        proc = self.procs[index]
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)

    def kill_all(self) -> None:
        for index in self.procs:
            self.kill(index)

    def log(self, index: int) -> str:
        return self.logs[index].read_text()


@pytest.fixture
def cluster_factory(tmp_path: Path):
    made: list[Cluster] = []

    def make(shards: Path, epochs: int) -> Cluster:
        cluster = Cluster(tmp_path, shards, tmp_path / "runs" / "run", epochs)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:  # never leave a worker behind, whatever happened
        cluster.kill_all()


def _no_worker_leftovers(cluster: Cluster) -> None:
    for index in (0, 1):
        left = [p.name for p in cluster.tmpdir(index).iterdir() if "edge-emotion" in p.name]
        assert left == [], f"worker {index} left {left} in its temp dir"


@pytest.mark.slow
def test_two_workers_train_from_shards_like_one_process(mw_shards, cluster_factory, tmp_path):
    import keras

    from edge_emotion.rundir import RunDir
    from edge_emotion.training.train import TrainConfig, train

    single = train(
        TrainConfig(
            out=tmp_path / "single",
            shards=mw_shards,
            arch="edge",
            epochs=MW_EPOCHS,
            batch_size=MW_BATCH,
            augment=False,
            image_size=MW_SIZE,
            seed=1,
            strategy="none",
            progress=False,
        )
    )
    cluster = cluster_factory(mw_shards, MW_EPOCHS)
    started = time.monotonic()
    for index in (0, 1):
        cluster.start(index)
    codes = [cluster.wait(index) for index in (0, 1)]
    assert codes == [0, 0], cluster.log(0) + "\n-----\n" + cluster.log(1)
    two_workers_seconds = time.monotonic() - started
    print(f"2 workers: {two_workers_seconds:.1f}s; 1 process: {single.seconds:.1f}s")

    runs = tmp_path / "runs"
    assert sorted(p.name for p in runs.iterdir()) == ["run"]  # the chief's, nothing else
    _no_worker_leftovers(cluster)
    assert "run directory:" in cluster.log(0)
    assert "this worker wrote nothing" in cluster.log(1)
    assert "Traceback" not in cluster.log(0) + cluster.log(1)

    run = RunDir.open(runs / "run")
    model = keras.models.load_model(run.model_path, compile=False)
    assert model.predict(np.zeros((2, MW_SIZE, MW_SIZE, 3), np.float32), verbose=0).shape == (2, 1)

    config = run.config()
    solo = RunDir.open(single.run_dir).config()
    n_train = sum(config["data"]["split_counts"]["train"])
    assert config["data"]["shards"] == str(mw_shards.resolve())
    assert config["training"]["strategy_used"] == "CollectiveAllReduceStrategy"
    mw = config["training"]["cluster"]
    assert mw["workers"] == 2 and mw["replicas"] == 2
    assert mw["global_batch"] == MW_BATCH and mw["per_worker_batch"] == MW_BATCH / 2
    assert mw["lr"] == solo["training"]["lr"] and mw["lr_scaling"] == "none"
    # A step is one global batch: two workers take as many steps as one process (one more
    # when a worker's partial last batch is split in two); were --batch-size per worker, it
    # would be about half as many.
    steps = math.ceil(n_train / MW_BATCH)
    assert solo["training"]["steps_per_epoch"] == steps
    assert steps <= config["training"]["steps_per_epoch"] <= steps + 1
    assert math.ceil(n_train / 2 / MW_BATCH) + 1 < steps

    # Learning is in the same range as one process with the same global batch.
    history = json.loads(run.history_path.read_text())["metrics"]
    solo_history = json.loads(RunDir.open(single.run_dir).history_path.read_text())["metrics"]
    assert len(history["loss"]) == MW_EPOCHS
    acc, solo_acc = history["accuracy"][-1], solo_history["accuracy"][-1]
    assert acc > 0.6 and solo_acc > 0.6, (acc, solo_acc)
    assert abs(acc - solo_acc) < 0.15, (acc, solo_acc)
    assert history["loss"][-1] < history["loss"][0]
    metrics = json.loads(run.metrics_path.read_text())
    solo_metrics = json.loads(RunDir.open(single.run_dir).metrics_path.read_text())
    for split in ("val", "test"):
        assert abs(metrics[split]["accuracy"] - solo_metrics[split]["accuracy"]) <= 0.25


@pytest.mark.slow
def test_a_killed_worker_is_restarted_and_training_resumes_from_the_backup(
    mw_shards, cluster_factory, tmp_path
):
    from edge_emotion.rundir import RunDir

    epochs = 2
    cluster = cluster_factory(mw_shards, epochs)
    cluster.start(0)
    # Worker 1 holds still after each epoch's backup, so it dies at a known point.
    cluster.start(1, EDGE_EMOTION_TEST_EPOCH_PAUSE="60")
    metadata = None
    deadline = time.monotonic() + PROCESS_TIMEOUT
    while time.monotonic() < deadline and metadata is None:
        found = list(cluster.tmpdir(1).glob("edge-emotion-backup-*/training_metadata.json"))
        if found:
            try:
                metadata = json.loads(found[0].read_text())
            except ValueError:
                metadata = None  # being written
        if cluster.procs[1].poll() is not None or cluster.procs[0].poll() is not None:
            break
        time.sleep(0.2)
    assert metadata is not None and metadata["epoch"] == 1, cluster.log(0) + cluster.log(1)
    cluster.kill(1)

    # The chief notices its peer is gone, says so in one line and stops (non-zero).
    code = cluster.wait(0, timeout=PROCESS_TIMEOUT)
    first_chief_log = cluster.log(0)
    assert code != 0, first_chief_log
    errors = [line for line in first_chief_log.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "of the cluster failed" in errors[0], first_chief_log
    assert "restart every worker with the same command" in errors[0]
    assert "Traceback" not in first_chief_log
    runs = tmp_path / "runs"
    assert sorted(p.name for p in runs.iterdir()) == [".run.backup"]  # no run dir yet

    # Restart the cluster with the same command: both resume after epoch 1 and finish.
    for index in (0, 1):
        cluster.start(index)
    codes = [cluster.wait(index) for index in (0, 1)]
    assert codes == [0, 0], cluster.log(0) + "\n-----\n" + cluster.log(1)
    for index in (0, 1):
        assert f"resuming from the backup: 1 of {epochs} epoch(s) already done" in cluster.log(
            index
        )
        epoch_lines = [x for x in cluster.log(index).splitlines() if x.startswith("epoch ")]
        assert [x.split()[1] for x in epoch_lines] == [f"2/{epochs}"]  # epoch 1 not redone
    assert sorted(p.name for p in runs.iterdir()) == ["run"]  # backup removed once done
    _no_worker_leftovers(cluster)
    run = RunDir.open(runs / "run")
    assert run.config()["training"]["cluster"]["resumed_from_epoch"] == 1
    history = json.loads(run.history_path.read_text())
    assert history["epochs_run"] == epochs and len(history["metrics"]["loss"]) == epochs
