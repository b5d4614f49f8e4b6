"""`edge-emotion benchmark` end to end on the tiny run after a real export: every expected row
is present, measured rows carry sane figures, missing variants and backends are skipped with a
reason, and the markdown and plots are written. Absolute speeds are never asserted."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import invoke

pytestmark = pytest.mark.slow

RUNS = 6


@pytest.fixture(scope="module")
def bench(
    tiny_run: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], Path, str, str]:
    """Export the tiny run (all modes), drop float16 to see a skipped variant, benchmark it."""
    run = tmp_path_factory.mktemp("bench") / "run"
    shutil.copytree(tiny_run, run, ignore=shutil.ignore_patterns("export", "benchmark"))
    code, _, err = invoke(
        [
            "export",
            "--model",
            str(run),
            "--quantize",
            "all",
            "--calibration-samples",
            "16",
            "--no-validate",
        ]
    )
    assert code == 0, err
    (run / "export" / "float16.tflite").unlink()
    out_dir = run.parent / "bench-out"
    code, out, err = invoke(
        [
            "benchmark",
            "--model",
            str(run),
            "--threads",
            "1",
            "--runs",
            str(RUNS),
            "--warmup",
            "2",
            "--backends",
            "litert,tflite",
            "--cold-runs",
            "1",
            "--max-eval",
            "5",
            "--photos",
            str(Path(__file__).parent / "fixtures" / "photos"),
            "--photo-runs",
            "2",
            "--out",
            str(out_dir),
        ]
    )
    assert code == 0, err
    doc = json.loads((out_dir / "benchmark.json").read_text())
    return doc, out_dir, out, err


def _rows(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in doc["rows"]}


def test_every_expected_row_is_reported(bench: tuple) -> None:
    doc = bench[0]
    expected = {"keras_direct", "keras_compiled", "keras_predict"}
    for backend in ("litert", "tflite"):
        expected |= {f"{v}-{backend}-t1" for v in ("float32", "float16", "dynamic", "int8")}
        expected.add(f"int8-{backend}-t1-noxnnpack")
    assert set(_rows(doc)) == expected


def test_measured_rows_have_sane_latency_cold_start_and_size(bench: tuple) -> None:
    rows = _rows(bench[0])
    measured = [
        "keras_direct",
        "keras_compiled",
        "keras_predict",
        "float32-litert-t1",
        "dynamic-litert-t1",
        "int8-litert-t1",
        "int8-litert-t1-noxnnpack",
    ]
    for row_id in measured:
        row = rows[row_id]
        assert row["status"] == "ok", (row_id, row.get("reason"))
        lat = row["latency"]
        assert len(row["latencies_ms"]) == lat["n"] == RUNS
        assert all(v > 0 for v in row["latencies_ms"])
        assert 0 < lat["min_ms"] <= lat["p50_ms"] <= lat["p90_ms"] <= lat["p99_ms"] <= lat["max_ms"]
        assert lat["images_per_s"] > 0
        assert row["load_ms"] > 0 and row["first_inference_ms"] > 0
        assert row["file_bytes"] > 0
        cold = row["cold_start"]
        assert cold["status"] == "ok", cold
        assert cold["wall_ms_median"] > 0 and cold["peak_rss_mb"] > 10
        assert row["ratios"]["speedup_p50"] > 0
        assert row["ratios"]["baseline"] == "keras_compiled"
        if row["kind"] == "tflite":  # sizes are against the run's float32.tflite
            f32 = rows["float32-litert-t1"]["file_bytes"]
            assert row["ratios"]["size_ratio"] == pytest.approx(row["file_bytes"] / f32)
            assert row["ratios"]["wrapper_overhead_p50"] > 0
            assert len(row["bare_latencies_ms"]) == RUNS
    assert rows["keras_compiled"]["ratios"]["speedup_p50"] == pytest.approx(1.0)
    assert rows["keras_compiled"]["compiled"].startswith("tf.function")
    assert rows["float32-litert-t1"]["ratios"]["size_ratio"] == pytest.approx(1.0)
    eager = rows["keras_direct"]["latency"]["p50_ms"]
    assert rows["int8-litert-t1"]["ratios"]["speedup_p50_vs_eager"] == pytest.approx(
        eager / rows["int8-litert-t1"]["latency"]["p50_ms"]
    )
    # ai-edge-litert's own tool measured the XNNPACK litert rows
    assert rows["int8-litert-t1"]["litert_benchmark"]["median_ms"] >= 0
    assert "litert_benchmark" not in rows["int8-litert-t1-noxnnpack"]
    assert rows["int8-litert-t1-noxnnpack"]["xnnpack"] is False
    # a TFLite file is smaller than the Keras file it came from; int8 smaller than float32
    assert rows["int8-litert-t1"]["file_bytes"] < rows["float32-litert-t1"]["file_bytes"]
    # a process that needs only LiteRT is lighter than one that imports TensorFlow
    assert (
        rows["int8-litert-t1"]["cold_start"]["peak_rss_mb"]
        < rows["keras_direct"]["cold_start"]["peak_rss_mb"]
    )


def test_accuracy_figures_are_fractions_on_the_capped_test_split(bench: tuple) -> None:
    doc = bench[0]
    assert doc["settings"]["eval"]["n"] == 5 and doc["settings"]["eval"]["max_eval"] == 5
    for row in doc["rows"]:
        if row["status"] != "ok":
            continue
        m = row["metrics"]
        assert m["n"] == 5
        for key in ("accuracy", "precision", "recall", "f1"):
            assert 0.0 <= m[key] <= 1.0, (row["id"], key)
        assert m["roc_auc"] is None or 0.0 <= m["roc_auc"] <= 1.0
        assert 0.0 <= row["agreement_with_keras"] <= 1.0
        assert -1.0 <= row["ratios"]["accuracy_delta"] <= 1.0
    assert _rows(doc)["keras_direct"]["agreement_with_keras"] == 1.0


def test_missing_variant_is_skipped_and_tflite_rows_are_measured_or_explained(bench: tuple) -> None:
    doc = bench[0]
    rows = _rows(doc)
    assert rows["float16-litert-t1"]["status"] == "skipped"
    assert "float16.tflite not found" in rows["float16-litert-t1"]["reason"]
    assert "float16 litert t1: skipped" in bench[2]  # listed under the stdout table
    tflite = {
        k: r for k, r in rows.items() if r["backend"] == "tflite" and r["variant"] != "float16"
    }
    if "tflite-runtime" not in doc["interpreters"]:  # no venv with tflite-runtime on this machine
        for row in tflite.values():
            assert row["status"] == "skipped" and "tflite-runtime" in row["reason"]
        return
    assert doc["interpreters"]["tflite-runtime"]["numpy"].startswith("1.")
    for row_id, row in tflite.items():
        # tflite-runtime 2.14 may not know an op version of a newer converter: a failed row
        # with the interpreter's message, never a silent gap
        assert row["status"] == "ok" or (row["status"] == "failed" and row["reason"]), row_id
    assert rows["int8-tflite-t1"]["status"] == "ok"
    assert rows["int8-tflite-t1"]["cold_start"]["status"] == "ok"


def test_json_records_machine_software_and_command(bench: tuple) -> None:
    doc = bench[0]
    machine = doc["machine"]
    assert machine["cpu_model"] and machine["logical_cores"] >= 1
    assert machine["versions"]["tensorflow"] and machine["versions"]["ai-edge-litert"]
    assert doc["command"].startswith("edge-emotion benchmark --model")
    assert doc["settings"]["runs"] == RUNS and doc["settings"]["threads"] == [1]
    assert doc["interpreters"]["ai-edge-litert"]["backend_version"]


def test_markdown_plots_and_stdout_table_are_written(bench: tuple) -> None:
    doc, out_dir, stdout, stderr = bench
    md = (out_dir / "benchmark.md").read_text()
    assert doc["command"] in md
    assert "| keras model(x) |" in md and "| int8 litert t1 |" in md
    for name in ("latency_vs_accuracy.png", "latency_distribution.png"):
        data = (out_dir / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    measured = [r for r in doc["rows"] if r["status"] == "ok"]
    table_lines = [
        ln for ln in stdout.splitlines() if ln.startswith(("keras", "float", "dyn", "int8"))
    ]
    assert len(table_lines) == len(measured)
    assert "benchmark: [" in stderr  # progress lines while it runs


def test_photo_pipeline_is_timed_per_stage_on_every_measured_tflite_row(bench: tuple) -> None:
    doc, out_dir, out, _ = bench
    fixtures = sorted((Path(__file__).parent / "fixtures" / "photos").glob("*.jpg"))
    expected = [name for f in fixtures for name in (f.name, f"{f.stem}-640.jpg")]
    assert [p["name"] for p in doc["settings"]["photos"]] == expected
    measured = [r for r in doc["rows"] if r["kind"] == "tflite" and r["status"] == "ok"]
    assert measured
    for row in measured:
        photo = row["photo"]
        assert photo["faces"] == dict.fromkeys(expected, 1)  # one person in each
        assert len(photo["ms"]["total"]) == len(expected) * 2  # two runs each
        p50 = photo["p50_ms"]
        assert all(p50[k] > 0 for k in ("decode", "detect", "classify"))
        assert p50["total"] >= max(p50["decode"], p50["detect"], p50["classify"])
        assert photo["pipeline"] == "blazeface-fused (full + short), mirror view"  # the default
    report = (out_dir / "benchmark.md").read_text()
    assert "### Photo pipeline" in report
    assert "pipeline: blazeface-fused (full + short), mirror view." in report
    assert "photo pipeline, median ms" in out
