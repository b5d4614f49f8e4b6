"""The benchmark document's types read every committed benchmark.json and write it back unchanged,
and refuse a document of another shape with a message that says where. No TensorFlow, no model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from benchmark_docs import COMMITTED

from edge_emotion.benchmarks.types import BenchmarkDoc, DocumentError, Metrics
from edge_emotion.training.metrics import binary_metrics


def test_every_committed_benchmark_json_round_trips_unchanged() -> None:
    assert len(COMMITTED) >= 3  # fer2013-48x48x1, -edge-plus, synthetic-256x256x3
    for path in COMMITTED:
        data = json.loads(path.read_text())
        assert BenchmarkDoc.from_dict(data).to_dict() == data, path


def _committed() -> dict:
    return json.loads(COMMITTED[0].read_text())


def test_an_unknown_key_is_refused_with_its_place() -> None:
    data = _committed()
    data["rows"][1]["latency"]["p51_ms"] = 1.0
    with pytest.raises(
        DocumentError, match=r"BenchmarkDoc\.rows\[1\]\.latency: unknown key.*p51_ms"
    ):
        BenchmarkDoc.from_dict(data)


def test_a_missing_required_key_is_refused_with_its_place() -> None:
    data = _committed()
    del data["machine"]["cpu_model"]
    with pytest.raises(DocumentError, match=r"BenchmarkDoc\.machine: missing key.*cpu_model"):
        BenchmarkDoc.from_dict(data)
    del data["rows"]
    with pytest.raises(DocumentError, match=r"missing key.*rows"):
        BenchmarkDoc.from_dict(data)


def test_a_value_of_the_wrong_shape_is_refused() -> None:
    data = _committed()
    data["rows"][0]["cold_start"]["runs"] = {"wall_ms": 1.0}
    with pytest.raises(DocumentError, match=r"rows\[0\]\.cold_start\.runs: expected a list"):
        BenchmarkDoc.from_dict(data)


def test_copies_of_the_first_run_and_derived_labels_must_agree() -> None:
    data = _committed()
    data["run"]["arch"] = "other"
    with pytest.raises(DocumentError, match=r"BenchmarkDoc\.run: differs from the first of `runs`"):
        BenchmarkDoc.from_dict(data)
    data = _committed()
    data["rows"][0]["label"] = "renamed"
    with pytest.raises(DocumentError, match=r"rows\[0\]\.label: 'renamed'"):
        BenchmarkDoc.from_dict(data)


def test_binary_metrics_are_exactly_the_metrics_type() -> None:
    labels, probs = np.array([0, 1, 1, 0, 1]), np.array([0.2, 0.9, 0.4, 0.6, 0.7])
    data = binary_metrics(labels, probs, 0.5, ("happy", "sad"))
    assert Metrics.from_dict(data).to_dict() == data


def test_report_of_a_malformed_document_is_one_line_and_exit_2(tmp_path: Path) -> None:
    data = _committed()
    del data["settings"]["runs"]
    path = tmp_path / "benchmark.json"
    path.write_text(json.dumps(data))
    proc = subprocess.run(
        [sys.executable, "-m", "edge_emotion.benchmarks.report", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "'runs'" in lines[0], lines
