"""Output folders are checked before any work, and errors name the real cause: an --out under a
file or in a read-only folder, an --out that is a file, a symlink loop, a truncated model."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cli_helpers import run_workstation_cli as run_cli
from PIL import Image

from edge_emotion.errors import ModelError
from edge_emotion.rundir import RunDir

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def one_error(proc: subprocess.CompletedProcess[str], code: int = 2) -> str:
    assert proc.returncode == code, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
    return errors[0]


@pytest.fixture
def small_data(tmp_path: Path) -> Path:
    for label, name in enumerate(("happy", "sad")):
        for i in range(4):
            path = tmp_path / "data" / name / f"{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (16, 16), (60 * label + 10 * i, 40, 200 - 30 * label)).save(path)
    return tmp_path / "data"


def _a_file(tmp_path: Path) -> Path:
    path = tmp_path / "a-file"
    path.write_text("I am a file\n")
    return path


# --- train ------------------------------------------------------------------------------


def test_train_out_under_a_file_fails_before_decoding(tmp_path, small_data):
    out = _a_file(tmp_path) / "run"
    proc = run_cli(
        "train", "--data", str(small_data), "--out", str(out), "--image-size", "32", "--epochs", "1"
    )
    error = one_error(proc)
    assert "--out" in error and "a-file" in error and "not a directory" in error
    assert "data:" not in proc.stdout  # nothing was decoded


def test_train_out_that_is_a_file_says_so_not_already_exists(tmp_path, small_data):
    out = _a_file(tmp_path)
    for extra in ([], ["--force"]):
        error = one_error(run_cli("train", "--data", str(small_data), "--out", str(out), *extra))
        assert "is a file" in error and "already exists" not in error
    assert out.read_text() == "I am a file\n"


@pytest.mark.skipif(IS_ROOT, reason="root writes into read-only folders; needs a normal user")
def test_train_out_in_a_read_only_folder_fails_before_decoding(tmp_path, small_data):
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        proc = run_cli("train", "--data", str(small_data), "--out", str(parent / "run"))
        error = one_error(proc)
        assert "not writable" in error and "data:" not in proc.stdout
    finally:
        parent.chmod(0o755)


def test_output_check_reports_read_only_folders_as_seen_by_os_access(tmp_path, monkeypatch):
    """The read-only case as root: `os.access` is what the check asks, so ask it to say no."""
    from edge_emotion.errors import UsageError
    from edge_emotion.paths import check_output_dir

    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode, **kw: False if Path(p) == tmp_path else real_access(p, mode)
    )
    with pytest.raises(UsageError, match=r"--out .*: cannot write into .*not writable"):
        check_output_dir(tmp_path / "new" / "deeper", "--out")
    check_output_dir(tmp_path.parent / "elsewhere-not-created", "--out")  # writable: no error
    assert not (tmp_path.parent / "elsewhere-not-created").exists()  # a check creates nothing


# --- export and benchmark -----------------------------------------------------------------


@pytest.mark.slow
def test_export_out_under_a_file_fails_before_converting(tmp_path, tiny_run):
    out = _a_file(tmp_path) / "export"
    proc = run_cli("export", "--model", str(tiny_run), "-q", "float32", "--out", str(out))
    error = one_error(proc)
    assert "--out" in error and "not a directory" in error
    assert "converting" not in proc.stderr


def test_benchmark_out_under_a_file_fails_first(tmp_path, tiny_run):
    out = _a_file(tmp_path) / "bench"
    proc = run_cli(
        "benchmark",
        "--model",
        str(tiny_run),
        "--out",
        str(out),
        "--runs",
        "1",
        "--warmup",
        "0",
        "--cold-runs",
        "0",
        "--photo-runs",
        "0",
        "--threads",
        "1",
        "--backends",
        "litert",
    )
    error = one_error(proc)
    assert "--out" in error and "not a directory" in error


# --- the real cause instead of "no such" / "File not found" ---------------------------------


def test_symlink_loop_is_named_as_a_loop(tmp_path):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    for args in (
        ("train", "--data", str(loop), "--out", str(tmp_path / "r")),
        ("evaluate", "--model", str(loop)),
        ("export", "--model", str(loop)),
    ):
        error = one_error(run_cli(*args))
        assert "symbolic link loop" in error and "no such" not in error, args
    broken = tmp_path / "broken"
    broken.symlink_to(tmp_path / "gone")
    assert "broken symbolic link" in one_error(run_cli("evaluate", "--model", str(broken)))


@pytest.mark.parametrize("suffix", ["keras", "h5"])
def test_truncated_model_is_called_truncated_not_missing(tmp_path, tiny_run, suffix):
    from edge_emotion.export.source import load_source
    from edge_emotion.training.evaluate import load_keras_model

    run_path = tmp_path / "run"
    shutil.copytree(tiny_run, run_path)
    model = run_path / ("model.keras" if suffix == "keras" else "model.h5")
    data = model.read_bytes()
    model.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError) as info:
        load_keras_model(model)
    assert "truncated or corrupt" in str(info.value) and "not found" not in str(info.value)
    if suffix == "keras":
        with pytest.raises(ModelError, match="truncated or corrupt") as info:
            load_source(RunDir.open(run_path))
        assert "not found" not in str(info.value)
