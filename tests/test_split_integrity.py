"""A saved split is only trusted as saved: changed images (sha256 differs from split.csv) are an
error naming them, unless explicitly allowed, and manifest paths never leave the data root."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from edge_emotion.errors import DataError
from edge_emotion.rundir import RunDir
from edge_emotion.training.dataset import load_split
from edge_emotion.training.manifest import read_manifest, select, write_manifest


def _private_run(tmp_path: Path, tiny_run: Path, tiny_data: Path) -> RunDir:
    """A copy of the tiny run pointing at a copy of its data, free to be changed."""
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    run_path = tmp_path / "run"
    shutil.copytree(tiny_run, run_path)
    config = json.loads((run_path / "config.json").read_text())
    config["data"]["root"] = str(data)
    (run_path / "config.json").write_text(json.dumps(config))
    return RunDir(run_path)


def _replace_content(path: Path, value: int) -> None:
    with Image.open(path) as image:
        size = image.size
    Image.new("RGB", size, (value, value, value)).save(path, format="JPEG")


def test_changed_test_images_are_an_error_naming_them(tmp_path, tiny_run, tiny_data):
    run = _private_run(tmp_path, tiny_run, tiny_data)
    tests = select(read_manifest(run.manifest_path), "test")
    for i, sample in enumerate(tests[:2]):
        _replace_content(run.data_root() / sample.path, 40 + i)
    with pytest.raises(DataError) as info:
        load_split(run, "test")
    message = str(info.value)
    assert "2 image(s) of the 'test' split changed" in message
    assert tests[0].path in message and tests[1].path in message
    assert "\n" not in message
    # the other splits are untouched and still load
    assert len(load_split(run, "val")) > 0


def test_changed_images_can_be_allowed_with_a_counted_warning(
    tmp_path, tiny_run, tiny_data, capsys
):
    run = _private_run(tmp_path, tiny_run, tiny_data)
    tests = select(read_manifest(run.manifest_path), "test")
    _replace_content(run.data_root() / tests[0].path, 99)
    data = load_split(run, "test", allow_changed=True)
    assert len(data) == len(tests)
    err = capsys.readouterr().err
    assert err.count("warning:") == 1 and "1 image(s) of the 'test' split changed" in err


@pytest.mark.slow
def test_evaluate_cli_refuses_changed_data_then_allows_it(tmp_path, tiny_run, tiny_data):
    run = _private_run(tmp_path, tiny_run, tiny_data)
    tests = select(read_manifest(run.manifest_path), "test")
    _replace_content(run.data_root() / tests[0].path, 7)
    cmd = [sys.executable, "-m", "edge_emotion.cli", "evaluate", "--model", str(run.path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "changed" in errors[0] and tests[0].path in errors[0]
    assert "--allow-changed-data" in errors[0]
    proc = subprocess.run(
        [*cmd, "--allow-changed-data"], capture_output=True, text=True, timeout=180
    )
    assert proc.returncode == 0, proc.stderr
    assert "warning: 1 image(s) of the 'test' split changed" in proc.stderr


@pytest.mark.parametrize("bad", ["../secret.jpg", "happy/../../secret.jpg", "ABS", "../x.csv#0"])
def test_manifest_paths_outside_the_data_root_are_refused(tmp_path, tiny_run, tiny_data, bad):
    run = _private_run(tmp_path, tiny_run, tiny_data)
    secret = tmp_path / "secret.jpg"  # a readable image just outside the data root
    shutil.copy(next(run.data_root().glob("happy/*")), secret)
    bad = str(secret) if bad == "ABS" else bad
    samples = read_manifest(run.manifest_path)
    tests = [i for i, s in enumerate(samples) if s.split == "test"]
    samples[tests[0]] = samples[tests[0]].__class__(bad, 0, "test", samples[tests[0]].sha256)
    write_manifest(run.manifest_path, samples)
    with pytest.raises(DataError, match="outside the data root") as info:
        load_split(run, "test")
    assert bad in str(info.value)
    with pytest.raises(DataError, match="outside the data root"):
        read_manifest(run.manifest_path)
