"""The one staged-directory helper (`training/staging.py`), used by `train` and `prepare-data`:
complete or absent, never half-written, and stale temporary folders of dead processes removed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("edge_emotion.training.staging", reason="the workstation is not installed")

from edge_emotion.training.staging import staged_dir


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_finished_folder_replaces_the_old_one_and_stale_temps_are_removed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "shards"
    out.mkdir()
    (out / "old.txt").write_text("old")
    stale = tmp_path / f".shards.tmp-{_dead_pid()}"
    stale.mkdir()
    (stale / "half.records").write_bytes(b"x" * 100)
    with staged_dir(out) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".shards.tmp-")
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shards"]
    assert "removed 1 stale temporary folder" in capsys.readouterr().err


def test_a_failed_build_leaves_the_old_folder_and_no_temporary_one(tmp_path: Path) -> None:
    out = tmp_path / "shards"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(KeyboardInterrupt), staged_dir(out) as tmp:
        (tmp / "new.txt").write_text("half")
        raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shards"]
    assert (out / "old.txt").read_text() == "old"
