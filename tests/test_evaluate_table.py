"""`evaluate`'s printed table says the numbers of its metrics, each under its own name.

The metrics are chosen so that precision, recall, F1, accuracy and both classes' rows all
differ: a table that swaps any two of them (or the confusion matrix's rows or columns) fails.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from edge_emotion.training.evaluate import Evaluation, format_table
from edge_emotion.training.metrics import binary_metrics

LABELS = ("happy", "sad")


@pytest.fixture
def result() -> Evaluation:
    # 10 happy (0), 6 sad (1); 3 happy predicted sad, 2 sad predicted happy, scores not ranked
    # perfectly: precision 4/7, recall 4/6, accuracy 11/16; per class all different.
    labels = np.array([0] * 10 + [1] * 6)
    probs = np.array([0.1] * 6 + [0.45, 0.8, 0.9, 0.7] + [0.95, 0.6, 0.55, 0.65, 0.2, 0.4])
    metrics = binary_metrics(labels, probs, 0.5, LABELS)
    assert len({metrics["precision"], metrics["recall"], metrics["f1"], metrics["accuracy"]}) == 4
    return Evaluation(model=Path("m.keras"), source="test", metrics=metrics, labels=LABELS)


def _value(table: str, name: str) -> float:
    match = re.search(rf"^{name}\s+([0-9.]+)", table, flags=re.MULTILINE)
    assert match, f"no '{name}' line in:\n{table}"
    return float(match.group(1))


def test_summary_lines_carry_their_own_metric(result):
    table = format_table(result)
    m = result.metrics
    for name, key in [
        ("accuracy", "accuracy"),
        ("precision", "precision"),
        ("recall", "recall"),
        ("f1", "f1"),
        ("roc auc", "roc_auc"),
    ]:
        assert _value(table, name) == pytest.approx(m[key], abs=5e-5), name
    assert _value(table, "precision") == pytest.approx(4 / 7, abs=5e-5)
    assert _value(table, "recall") == pytest.approx(4 / 6, abs=5e-5)
    assert f"({m['n']} images)" in table


def test_per_class_rows_and_confusion_matrix_match_the_metrics(result):
    table = format_table(result)
    m = result.metrics
    header = next(line for line in table.splitlines() if line.startswith("class"))
    assert header.split() == ["class", "precision", "recall", "f1", "support"]
    for name in LABELS:
        row = next(line.split() for line in table.splitlines() if line.split()[:1] == [name])
        c = m["per_class"][name]
        assert [float(v) for v in row[1:4]] == pytest.approx(
            [c["precision"], c["recall"], c["f1"]], abs=5e-5
        ), name
        assert int(row[4]) == c["support"]
    lines = table.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("confusion matrix"))
    assert lines[start + 1].split() == list(LABELS)  # columns: predicted
    for i, name in enumerate(LABELS):  # rows: true
        cells = lines[start + 2 + i].split()
        assert cells[0] == name and [int(v) for v in cells[1:]] == m["confusion_matrix"][i]
    assert m["confusion_matrix"] == [[7, 3], [2, 4]]
