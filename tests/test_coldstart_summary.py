"""The published cold-start figures come from all good runs, not their order: min is the
smallest, median the middle, peak RSS the largest, failed runs left out."""

from __future__ import annotations

import sys

import pytest

from edge_emotion.benchmarks import coldstart
from edge_emotion.benchmarks.plan import Interpreter


def _run(wall: float, rss: float, code: int = 0) -> coldstart.ColdRun:
    return coldstart.ColdRun(wall, wall + 5, rss, code, "happy 0.1" if code == 0 else "", "")


@pytest.mark.parametrize("walls", [[300.0, 100.0, 200.0], [250.0, 400.0, 120.0, 180.0, 90.0]])
def test_min_and_median_come_from_unsorted_runs(monkeypatch, walls):
    runs = iter([_run(w, 50.0 + i) for i, w in enumerate(walls)])
    monkeypatch.setattr(coldstart, "run_once", lambda command, env, timeout_s=900: next(runs))
    result = coldstart.measure(["x"], Interpreter(python=sys.executable), repeats=len(walls))
    assert result.status == "ok"
    assert result.wall_ms_min == min(walls)
    assert result.wall_ms_median == sorted(walls)[len(walls) // 2]
    assert result.peak_rss_mb == 50.0 + len(walls) - 1
    assert [r.wall_ms for r in result.runs] == walls  # every run kept, as measured


def test_failed_runs_are_left_out_of_the_figures(monkeypatch):
    runs = iter([_run(10.0, 900.0, code=1), _run(300.0, 60.0), _run(200.0, 70.0)])
    monkeypatch.setattr(coldstart, "run_once", lambda command, env, timeout_s=900: next(runs))
    result = coldstart.measure(["x"], Interpreter(python=sys.executable), repeats=3)
    assert result.wall_ms_min == 200.0 and result.wall_ms_median == 250.0
    assert result.peak_rss_mb == 70.0
