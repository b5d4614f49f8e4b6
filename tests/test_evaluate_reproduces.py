"""`evaluate` reproduces the run's test metrics from its manifest and works on a bare model."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from edge_emotion.errors import UsageError
from edge_emotion.training.evaluate import evaluate, format_table


def test_evaluate_run_dir_reproduces_metrics_json(tiny_run):
    saved = json.loads((tiny_run / "metrics.json").read_text())
    result = evaluate(tiny_run, split="test")
    assert result.metrics == saved["test"]
    assert evaluate(tiny_run, split="val").metrics == saved["val"]


def test_evaluate_cli_json_matches_metrics_json(tiny_run):
    proc = subprocess.run(
        [sys.executable, "-m", "edge_emotion.cli", "evaluate", "--model", str(tiny_run), "--json"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    saved = json.loads((tiny_run / "metrics.json").read_text())["test"]
    for key in ("accuracy", "precision", "recall", "f1", "roc_auc", "confusion_matrix", "support"):
        assert out[key] == saved[key], key


def test_bare_model_file_with_data_evaluates_every_image(tiny_run, tiny_data):
    result = evaluate(tiny_run / "model.keras", data=tiny_data)
    assert result.metrics["n"] == 48
    assert result.metrics["support"] == {"happy": 24, "sad": 24}
    table = format_table(result)
    assert "confusion matrix" in table and "roc auc" in table
    with pytest.raises(UsageError, match="--data"):
        evaluate(tiny_run / "model.keras")
