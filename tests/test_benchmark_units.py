"""Fast checks of the benchmark's building blocks: statistics, cold-start accounting, report
rendering, path relativizing and argument errors. No TensorFlow, no model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from benchmark_docs import metrics, single_run_doc, tflite_row

from edge_emotion.benchmarks import coldstart, report
from edge_emotion.benchmarks.outputs import relativize
from edge_emotion.benchmarks.plan import (
    Interpreter,
    build_plan,
    repo_root,
    resolve_tflite_python,
)
from edge_emotion.benchmarks.stats import summarize
from edge_emotion.benchmarks.types import Ratios, XnnpackInfo


def test_summary_percentiles_are_ordered_and_match_numpy() -> None:
    sample = np.random.default_rng(3).lognormal(0.0, 0.8, 200)
    s = summarize(sample.tolist())
    assert s.n == 200
    assert s.min_ms <= s.p50_ms <= s.p90_ms <= s.p99_ms <= s.max_ms
    assert s.p50_ms == pytest.approx(np.median(sample))
    assert s.mean_ms == pytest.approx(sample.mean())
    assert s.std_ms == pytest.approx(sample.std(ddof=1))
    assert s.images_per_s == pytest.approx(1000.0 / sample.mean())


def test_summary_of_one_run_has_zero_spread() -> None:
    s = summarize([2.5])
    assert (s.min_ms, s.p50_ms, s.p99_ms, s.std_ms) == (2.5, 2.5, 2.5, 0.0)


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")], [-1.0]])
def test_summary_rejects_empty_or_impossible_latencies(bad: list[float]) -> None:
    with pytest.raises(ValueError):
        summarize(bad)


def test_cold_start_reports_first_line_time_and_peak_rss_of_that_child() -> None:
    # The child allocates ~120 MB after printing; wait4's ru_maxrss must see it.
    code = (
        "import sys, time; print('ready', flush=True); "
        "b = bytearray(120 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); time.sleep(0.2)"
    )
    run = coldstart.run_once([sys.executable, "-c", code], env={})
    assert run.returncode == 0
    assert run.first_line == "ready"
    assert 0 < run.wall_ms <= run.exit_ms
    assert run.exit_ms - run.wall_ms >= 150  # the sleep happened after the first line
    assert run.peak_rss_mb >= 110


def test_cold_start_of_a_failing_command_is_reported_with_its_error() -> None:
    result = coldstart.measure(
        [sys.executable, "-c", "import sys; sys.exit('no model here')"],
        Interpreter(python=sys.executable),
        repeats=1,
    )
    assert result.status == "failed"
    assert "no model here" in (result.reason or "")


def test_relativize_removes_checkout_prefixes_only() -> None:
    root = repo_root()
    # A sibling of the checkout's parent: outside every prefix, wherever the checkout lives.
    elsewhere = f"{root.parent}-elsewhere/runs/fer-seed"
    doc = {
        "a": f"{root}/.venv/bin/python",
        "b": [f"{root.parent}/shared/datasets/x.jpg"],
        "c": elsewhere,
        "d": 3,
    }
    assert relativize(doc) == {
        "a": ".venv/bin/python",
        "b": ["../shared/datasets/x.jpg"],
        "c": elsewhere,
        "d": 3,
    }


def test_text_table_lists_skipped_rows_with_their_reason() -> None:
    ok = tflite_row(
        "int8",
        "litert",
        1,
        latency=summarize([1.0, 2.0, 3.0]),
        file_bytes=2048,
        metrics=metrics(0.75, f1=0.5, roc_auc=None),
        ratios=Ratios(speedup_p50=4.0, speedup_mean=4.0, size_ratio=0.25, accuracy_delta=-0.01),
        xnnpack_delegate=XnnpackInfo(
            log=(), nodes_replaced=7, nodes_total=9, partitions=None, delegate_nodes=None
        ),
    )
    skipped = tflite_row("int8", "tflite", 1, status="skipped", reason="tflite-runtime missing")
    text = report.text_table(single_run_doc([ok, skipped]))
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["row", "p50", "ms"]
    assert "4.00x" in lines[2] and "0.7500" in lines[2] and "7/9 nodes" in lines[2]
    assert "-0.0100" in lines[2] and "2.0 kB" in lines[2]
    assert "int8 tflite t1: skipped (tflite-runtime missing)" in text


def test_benchmark_usage_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    cases = [
        ["--model", str(tmp_path / "missing")],
        ["--model", str(tmp_path), "--threads", "0"],
        ["--model", str(tmp_path), "--threads", "one"],
        ["--model", str(tmp_path), "--backends", "onnx"],
    ]
    exe = str(Path(sys.executable).with_name("edge-emotion"))
    for args in cases:
        proc = subprocess.run(
            [exe, "benchmark", *args], capture_output=True, text=True, timeout=120, check=False
        )
        assert proc.returncode == 2, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, proc.stderr)


def test_backend_without_interpreter_becomes_skipped_rows_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "int8.tflite").write_bytes(b"x")
    interp, reason = resolve_tflite_python(str(tmp_path / "no-such-python"))
    assert interp is None and "no-such-python" in reason
    groups = build_plan(tmp_path, ["litert", "tflite"], [1, 2], interp, reason)
    rows = {r.id: r for g in groups for r in g.rows}
    assert {"keras_direct", "keras_predict", "int8-litert-t2-noxnnpack"} <= set(rows)
    assert len(rows) == 3 + 2 * 2 * 5  # three Keras rows: eager, compiled, predict
    for row in rows.values():
        if row.backend == "tflite":
            assert row.skip_reason == reason
    assert rows["int8-litert-t1"].skip_reason is None
    assert "float16.tflite not found" in (rows["float16-litert-t1"].skip_reason or "")
    # accuracy is measured once per variant and backend, reused at the other thread count
    assert rows["int8-litert-t1"].evaluate and not rows["int8-litert-t2"].evaluate
    assert rows["int8-litert-t2"].metrics_from == "int8-litert-t1"
