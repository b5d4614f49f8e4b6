"""`edge-emotion benchmark --model A --model B`: two runs (seed and edge architectures) measured
in one invocation. Each run keeps its own rows and its own Keras reference; the comparison section
pairs the rows both runs have. Plus fast checks of naming, ordering and the comparison maths."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from benchmark_docs import committed_doc, metrics, tflite_row
from cli_helpers import invoke

from edge_emotion.benchmarks.compare import compare
from edge_emotion.benchmarks.plan import Group, Interpreter, interleave
from edge_emotion.benchmarks.runner import run_names
from edge_emotion.benchmarks.stats import summarize
from edge_emotion.benchmarks.types import Row
from edge_emotion.errors import UsageError

RUNS = 5


@pytest.fixture(scope="module")
def two_runs(tiny_run: Path, tiny_edge_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """runs/seed and runs/edge: copies of the tiny seed and edge runs, exported to int8."""
    root = tmp_path_factory.mktemp("multi")
    for name, run in (("seed", tiny_run), ("edge", tiny_edge_run)):
        shutil.copytree(run, root / name, ignore=shutil.ignore_patterns("export", "benchmark"))
    for name in ("seed", "edge"):
        code, _, err = invoke(
            [
                "export",
                "--model",
                str(root / name),
                "--quantize",
                "int8",
                "--calibration-samples",
                "16",
                "--no-validate",
            ]
        )
        assert code == 0, err
    return root


@pytest.fixture(scope="module")
def bench(two_runs: Path) -> tuple[dict[str, Any], Path, str, str]:
    out_dir = two_runs / "compare"
    code, out, err = invoke(
        [
            "benchmark",
            "--model",
            str(two_runs / "seed"),
            "--model",
            str(two_runs / "edge"),
            "--threads",
            "1",
            "--runs",
            str(RUNS),
            "--warmup",
            "1",
            "--backends",
            "litert",
            "--cold-runs",
            "1",
            "--max-eval",
            "6",
            "--out",
            str(out_dir),
        ]
    )
    assert code == 0, err
    return json.loads((out_dir / "benchmark.json").read_text()), out_dir, out, err


@pytest.mark.slow
def test_both_runs_rows_are_reported_and_labelled_with_their_run(bench: tuple) -> None:
    doc = bench[0]
    assert [r["name"] for r in doc["runs"]] == ["seed", "edge"]
    assert [r["arch"] for r in doc["runs"]] == ["seed", "edge"]
    rows = {r["id"]: r for r in doc["rows"]}
    for name in ("seed", "edge"):
        expected = {f"{name}:keras_direct", f"{name}:keras_compiled", f"{name}:keras_predict"}
        expected |= {f"{name}:{v}-litert-t1" for v in ("float32", "float16", "dynamic", "int8")}
        expected.add(f"{name}:int8-litert-t1-noxnnpack")
        assert expected == {i for i, r in rows.items() if r["run"] == name}
        for variant in ("float32", "float16", "dynamic"):  # only int8 was exported
            assert rows[f"{name}:{variant}-litert-t1"]["status"] == "skipped"
    # measured groups alternate between the runs
    assert doc["settings"]["measurement_order"] == [
        "seed:keras",
        "edge:keras",
        "seed:litert",
        "edge:litert",
    ]


@pytest.mark.slow
def test_each_run_ratios_are_against_its_own_keras_row(bench: tuple) -> None:
    rows = {r["id"]: r for r in bench[0]["rows"]}
    for name in ("seed", "edge"):
        keras = rows[f"{name}:keras_compiled"]
        assert keras["status"] == "ok" and keras["ratios"]["speedup_p50"] == pytest.approx(1.0)
        for key in ("keras_predict", "int8-litert-t1", "int8-litert-t1-noxnnpack"):
            row = rows[f"{name}:{key}"]
            assert row["status"] == "ok", (name, key, row.get("reason"))
            assert len(row["latencies_ms"]) == RUNS
            assert row["ratios"]["speedup_p50"] == pytest.approx(
                keras["latency"]["p50_ms"] / row["latency"]["p50_ms"]
            )
            # only int8 was exported: no float32.tflite to compare sizes with
            assert "size_ratio" not in row["ratios"]
            assert row["ratios"]["accuracy_delta"] == pytest.approx(
                row["metrics"]["accuracy"] - keras["metrics"]["accuracy"]
            )
            assert 0.0 <= row["agreement_with_keras"] <= 1.0
        # each run's cold starts are processes on that run's own model files
        for key in ("keras_direct", "int8-litert-t1"):
            cold = rows[f"{name}:{key}"]["cold_start"]
            assert cold["status"] == "ok" and cold["wall_ms_median"] > 0, cold
            models = [a for a in cold["command"] if a.endswith((".keras", ".tflite"))]
            assert models == [rows[f"{name}:{key}"]["model_path"]]
            assert name in Path(models[0]).parts
        # Keras model(x) and predict share one cold-start measurement per run
        assert rows[f"{name}:keras_predict"]["cold_start"]["runs"] == keras["cold_start"]["runs"]
    # the compact architecture's files are smaller than the seed CNN's
    assert rows["edge:int8-litert-t1"]["file_bytes"] < rows["seed:int8-litert-t1"]["file_bytes"]


@pytest.mark.slow
def test_comparison_pairs_rows_both_runs_have(bench: tuple) -> None:
    doc = bench[0]
    comp = doc["comparison"]
    assert comp["reference"] == "seed" and comp["runs"] == ["seed", "edge"]
    assert comp["same_eval_images"] is True  # same data, same split seed
    by_key = {r["key"]: r for r in comp["rows"]}
    assert set(by_key) == {
        "keras_direct",
        "keras_compiled",
        "keras_predict",
        "int8-litert-t1",
        "int8-litert-t1-noxnnpack",
    }
    rows = {r["id"]: r for r in doc["rows"]}
    entry = by_key["int8-litert-t1"]
    seed, edge = rows["seed:int8-litert-t1"], rows["edge:int8-litert-t1"]
    assert entry["runs"]["seed"]["p50_ms"] == seed["latency"]["p50_ms"]
    assert entry["runs"]["edge"]["accuracy"] == edge["metrics"]["accuracy"]
    versus = entry["vs_reference"]["edge"]
    assert versus["speedup_p50"] == pytest.approx(
        seed["latency"]["p50_ms"] / edge["latency"]["p50_ms"]
    )
    assert versus["size_ratio"] == pytest.approx(edge["file_bytes"] / seed["file_bytes"])
    assert versus["size_ratio"] < 1
    assert versus["accuracy_delta"] == pytest.approx(
        edge["metrics"]["accuracy"] - seed["metrics"]["accuracy"]
    )


@pytest.mark.slow
def test_stdout_markdown_and_plots_show_both_runs_and_the_comparison(bench: tuple) -> None:
    doc, out_dir, stdout, _ = bench
    assert "Cross-run comparison against seed" in stdout
    line = next(ln for ln in stdout.splitlines() if ln.strip().startswith("int8 litert t1:"))
    assert "seed " in line and "edge " in line and "-> edge " in line and "acc " in line
    table = [ln for ln in stdout.splitlines() if ln.startswith(("seed ", "edge "))]
    assert len(table) == sum(r["status"] == "ok" for r in doc["rows"]) == 10
    md = (out_dir / "benchmark.md").read_text()
    assert md.startswith("# Benchmark: seed = seed 32x32x3 vs edge = edge 32x32x3")
    assert "| seed | keras model(x) |" in md and "| edge | int8 litert t1 |" in md
    assert "## Cross-run comparison" in md and "| edge speed-up |" in md
    assert "`seed:keras`, `edge:keras`, `seed:litert`, `edge:litert`" in md
    assert "edge: float16 litert t1: skipped" in md
    for name in ("latency_vs_accuracy.png", "latency_distribution.png"):
        data = (out_dir / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_run_names_default_to_directory_names_and_are_made_unique(tmp_path: Path) -> None:
    assert run_names((tmp_path / "fer-seed", tmp_path / "fer-edge"), ()) == ("fer-seed", "fer-edge")
    same = (tmp_path / "a" / "run", tmp_path / "b" / "run")
    assert run_names(same, ()) == ("run-1", "run-2")
    assert run_names(same, ("seed", "edge")) == ("seed", "edge")
    for bad in (("seed",), ("seed", "seed"), ("seed", "has space")):
        with pytest.raises(UsageError):
            run_names(same, bad)


def test_groups_of_several_runs_are_measured_alternately() -> None:
    here = Interpreter(python="python")
    a = [Group(f"a:{g}", here) for g in ("keras", "litert", "tflite")]
    b = [Group(f"b:{g}", here) for g in ("keras", "litert")]
    order = [(i, g.name) for i, g in interleave([a, b])]
    assert order == [
        (0, "a:keras"),
        (1, "b:keras"),
        (0, "a:litert"),
        (1, "b:litert"),
        (0, "a:tflite"),
    ]


def _row(run: str, key: str, p50: float, size: int, acc: float, status: str = "ok") -> Row:
    variant, backend, threads = key.split("-")
    return tflite_row(
        variant,
        backend,
        int(threads[1:]),
        run=run,
        status=status,
        latency=summarize([p50]),
        file_bytes=size,
        metrics=metrics(acc),
    )


def test_comparison_skips_rows_missing_or_failed_in_any_run_and_divides_first_by_other() -> None:
    first = committed_doc().runs[0]
    unhashed = replace(first.eval, images_sha256=None)
    runs = [replace(first, name=name, eval=unhashed) for name in ("seed", "edge")]
    rows = [
        _row("seed", "int8-litert-t2", 0.14, 1_100_000, 0.69),
        _row("seed", "float32-litert-t2", 0.3, 4_000_000, 0.69),
        _row("seed", "int8-tflite-t2", 0.6, 1_100_000, 0.69),
        _row("edge", "int8-litert-t2", 0.05, 200_000, 0.89),
        _row("edge", "int8-tflite-t2", 0.2, 200_000, 0.89, status="failed"),
    ]
    comp = compare(runs, rows)
    assert [r.key for r in comp.rows] == ["int8-litert-t2"]
    versus = comp.rows[0].vs_reference["edge"]
    assert versus.speedup_p50 == pytest.approx(2.8)
    assert versus.size_ratio == pytest.approx(200_000 / 1_100_000)
    assert versus.accuracy_delta == pytest.approx(0.2)
    assert comp.same_eval_images is None  # no fingerprints recorded


def test_several_models_need_out_and_distinct_runs(tmp_path: Path) -> None:
    exe = str(Path(sys.executable).with_name("edge-emotion"))
    cases = [
        (["--model", str(tmp_path / "a"), "--model", str(tmp_path / "b")], "--out DIR is required"),
        (
            ["--model", str(tmp_path), "--model", str(tmp_path), "--out", str(tmp_path / "o")],
            "twice",
        ),
    ]
    for args, message in cases:
        proc = subprocess.run(
            [exe, "benchmark", *args], capture_output=True, text=True, timeout=120, check=False
        )
        assert proc.returncode == 2, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
