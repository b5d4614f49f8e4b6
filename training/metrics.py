"""Binary classification metrics in plain numpy, so export and benchmarks can use them too.

Class 1 is the positive class (labels[1] = "sad", what the sigmoid outputs).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the ROC curve via the rank-sum (Mann-Whitney U) statistic, ties averaged.

    None when only one class is present (AUC is undefined).
    """
    labels = np.asarray(labels).astype(bool).ravel()
    scores = np.asarray(scores, dtype=np.float64).ravel()
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(scores.size, dtype=np.float64)
    # average ranks (1-based) over tied groups
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    avg = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(avg, counts)
    u = ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def _ratio(num: int, den: int) -> float:
    return float(num) / den if den else 0.0


def binary_metrics(
    labels: Any, probs: Any, threshold: float = 0.5, class_names: tuple[str, ...] = ("happy", "sad")
) -> dict[str, Any]:
    """Accuracy, precision, recall, F1 (of class 1), ROC AUC, confusion matrix and support.

    `probs` are P(class 1); a prediction is class 1 when prob > threshold (the runtime's rule).
    confusion_matrix[i][j] counts true class i predicted as j.
    """
    y = np.asarray(labels).astype(np.int64).ravel()
    p = np.asarray(probs, dtype=np.float64).ravel()
    if y.shape != p.shape:
        raise ValueError(f"labels and probs differ in length ({y.size} vs {p.size})")
    pred = (p > threshold).astype(np.int64)
    tp = int(np.sum((y == 1) & (pred == 1)))
    tn = int(np.sum((y == 0) & (pred == 0)))
    fp = int(np.sum((y == 0) & (pred == 1)))
    fn = int(np.sum((y == 1) & (pred == 0)))
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    per_class = {}
    for idx, name in enumerate(class_names[:2]):
        correct = tp if idx == 1 else tn
        predicted = (tp + fp) if idx == 1 else (tn + fn)
        support = int(np.sum(y == idx))
        per_class[name] = {
            "precision": _ratio(correct, predicted),
            "recall": _ratio(correct, support),
            "f1": _ratio(2 * correct, predicted + support),
            "support": support,
        }
    return {
        "n": int(y.size),
        "threshold": float(threshold),
        "accuracy": _ratio(tp + tn, y.size),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "roc_auc": roc_auc(y, p),
        "confusion_matrix": [[tn, fp], [fn, tp]],
        "support": {name: per_class[name]["support"] for name in per_class},
        "per_class": per_class,
        "positive_label": class_names[1],
    }
