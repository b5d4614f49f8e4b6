"""`train` stopped from outside: SIGTERM (timeout, docker, systemd) is handled like Ctrl-C, and
the temporary folders of runs killed outright (kill -9) are removed by the next run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _dead_pid() -> int:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(proc.stdout)


def _plant(parent: Path, name: str) -> Path:
    folder = parent / name
    folder.mkdir(parents=True)
    (folder / "model.keras").write_bytes(b"\0" * 1000)
    return folder


def test_stale_temps_of_dead_processes_are_removed_and_live_ones_kept(tmp_path, capsys):
    from edge_emotion.training.train import remove_stale_temps

    dead = _dead_pid()
    stale = [_plant(tmp_path, f".run.tmp-{dead}"), _plant(tmp_path, f".run.old-{dead}")]
    live = _plant(tmp_path, ".run.tmp-1")  # pid 1 is always alive
    other = _plant(tmp_path, f".other.tmp-{dead}")  # another run's: not ours to judge
    unrelated = _plant(tmp_path, f".run.tmp-{dead}x")
    removed = remove_stale_temps(tmp_path / "run")
    assert sorted(p.name for p in removed) == sorted(p.name for p in stale)
    assert not any(p.exists() for p in stale)
    assert live.exists() and other.exists() and unrelated.exists()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("note: removed 2 stale temporary folder")


def test_no_note_when_nothing_is_stale(tmp_path, capsys):
    from edge_emotion.training.train import remove_stale_temps

    assert remove_stale_temps(tmp_path / "missing-parent" / "run") == []
    assert remove_stale_temps(tmp_path / "run") == []
    assert capsys.readouterr().err == ""


@pytest.mark.slow
def test_sigterm_during_train_force_cleans_up_and_exits_143(tmp_path, tiny_data):
    out = tmp_path / "run"
    stale = _plant(tmp_path, f".run.tmp-{_dead_pid()}")  # left by an earlier kill -9
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "edge_emotion.cli",
            "train",
            "--data",
            str(tiny_data),
            "--out",
            str(out),
            "--force",
            "--image-size",
            "32",
            "--epochs",
            "500",
            "--patience",
            "500",
            "--batch-size",
            "16",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    own_tmp = tmp_path / f".run.tmp-{proc.pid}"
    deadline = time.monotonic() + 120
    while not own_tmp.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert own_tmp.exists(), "training never started"
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    try:
        _, stderr = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("SIGTERM did not stop the run")
    assert proc.returncode == 143, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: terminated (SIGTERM)"], stderr
    assert "Traceback" not in stderr
    assert "removed 1 stale temporary folder" in stderr
    assert not stale.exists() and not own_tmp.exists() and not out.exists()
    assert os.listdir(tmp_path) == []
