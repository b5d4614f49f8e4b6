"""binary_metrics against hand-computed values; AUC by ranks including ties."""

from __future__ import annotations

import numpy as np
import pytest

from edge_emotion.training.metrics import binary_metrics, roc_auc


def test_binary_metrics_match_hand_computed_counts():
    labels = [0, 0, 0, 1, 1, 1, 1]
    probs = [0.1, 0.6, 0.4, 0.9, 0.2, 0.7, 0.5]  # 0.5 is not > 0.5 -> predicted 0
    m = binary_metrics(labels, probs)
    # tn=2 (0.1, 0.4), fp=1 (0.6), tp=2 (0.9, 0.7), fn=2 (0.2, 0.5)
    assert m["confusion_matrix"] == [[2, 1], [2, 2]]
    assert m["accuracy"] == pytest.approx(4 / 7)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 4)
    assert m["f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 2))
    assert m["support"] == {"happy": 3, "sad": 4}
    assert m["per_class"]["happy"]["recall"] == pytest.approx(2 / 3)
    assert m["per_class"]["happy"]["precision"] == pytest.approx(2 / 4)


def test_roc_auc_equals_pairwise_definition_with_ties():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    scores = np.round(rng.random(200), 1)  # many ties
    pos, neg = scores[labels == 1], scores[labels == 0]
    pairs = (pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()
    assert roc_auc(labels, scores) == pytest.approx(pairs)


def test_roc_auc_extremes_and_single_class():
    assert roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert roc_auc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert roc_auc([1, 1, 1], [0.2, 0.5, 0.9]) is None
    assert binary_metrics([1, 1], [0.9, 0.8])["roc_auc"] is None


def test_threshold_moves_the_decision():
    assert binary_metrics([0, 1], [0.3, 0.4], threshold=0.35)["accuracy"] == 1.0
    assert binary_metrics([0, 1], [0.3, 0.4])["accuracy"] == 0.5
