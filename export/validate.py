"""Prove an exported model still does the job: run it through the runtime `Classifier` (the
code a device runs) on the run's val and test splits and compare with the Keras original on the
very same float inputs.

A model fails when its accuracy drops more than `max_drop` percentage points below Keras on any
validated split, when it predicts one class for every image of a split where Keras predicts
both (the classic broken-calibration symptom; a Keras model that is itself constant - e.g. an
undertrained one - makes that check uninformative, so it is reported but not failed), or when it
produces non-finite probabilities.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_emotion.export.types import SplitComparison, Status, Validation


@dataclass(frozen=True)
class Reference:
    """One split's inputs, true labels and the Keras model's probabilities on them."""

    split: str
    x: np.ndarray  # float32 (N,H,W,C), runtime-preprocessed
    labels: np.ndarray  # int64 (N,)
    keras_probs: np.ndarray  # float (N,), P(positive class)


def compare(
    split: str,
    labels: np.ndarray,
    keras_probs: np.ndarray,
    probs: np.ndarray,
    threshold: float,
    class_names: tuple[str, ...],
) -> SplitComparison:
    """Metrics of both models and how much the exported one deviates from Keras."""
    from edge_emotion.training.metrics import binary_metrics

    keras_probs = np.asarray(keras_probs, dtype=np.float64).ravel()
    probs = np.asarray(probs, dtype=np.float64).ravel()
    keras_m = binary_metrics(labels, keras_probs, threshold, class_names=class_names)
    model_m = binary_metrics(labels, probs, threshold, class_names=class_names)
    keras_pred = keras_probs > threshold
    pred = probs > threshold
    diff = np.abs(probs - keras_probs)
    finite = bool(np.all(np.isfinite(probs)))
    return SplitComparison(
        split=split,
        n=int(probs.size),
        keras=keras_m,
        model=model_m,
        agreement=float(np.mean(pred == keras_pred)) if probs.size else 0.0,
        mean_abs_diff=float(diff.mean()) if finite and probs.size else float("nan"),
        max_abs_diff=float(diff.max()) if finite and probs.size else float("nan"),
        accuracy_drop_points=100.0 * (keras_m["accuracy"] - model_m["accuracy"]),
        predicted_classes=sorted({int(v) for v in pred}),
        keras_predicted_classes=sorted({int(v) for v in keras_pred}),
    )


def judge(
    comparisons: Sequence[SplitComparison], max_drop: float, class_names: tuple[str, ...]
) -> tuple[Status, tuple[str, ...], tuple[str, ...]]:
    """(status, failure reasons, notes) for a model's comparisons. Pure, so it is unit-tested."""
    reasons: list[str] = []
    notes: list[str] = []
    for c in comparisons:
        if not np.isfinite(c.max_abs_diff):
            reasons.append(f"{c.split}: the model outputs NaN/inf probabilities")
            continue
        if c.accuracy_drop_points > max_drop + 1e-9:
            reasons.append(
                f"{c.split}: accuracy {100 * c.model['accuracy']:.2f}% is "
                f"{c.accuracy_drop_points:.2f} points below Keras "
                f"{100 * c.keras['accuracy']:.2f}% (allowed: {max_drop:g})"
            )
        if len(c.predicted_classes) == 1:
            only = class_names[c.predicted_classes[0]]
            if len(c.keras_predicted_classes) > 1:
                reasons.append(
                    f"{c.split}: predicts '{only}' for all {c.n} images while Keras "
                    "predicts both classes (broken calibration?)"
                )
            elif tuple(c.keras_predicted_classes) != tuple(c.predicted_classes):
                # Both constant but opposite: on a balanced split the accuracies tie, so the
                # drop rule alone would pass a model that disagrees with Keras on every image.
                keras_only = class_names[c.keras_predicted_classes[0]]
                reasons.append(
                    f"{c.split}: predicts '{only}' for all {c.n} images while Keras predicts "
                    f"'{keras_only}' for all of them"
                )
            else:
                notes.append(
                    f"{c.split}: predicts only '{only}', as Keras does; the "
                    "single-class check is uninformative for this model"
                )
    status = Status.FAILED if reasons else Status.PASSED
    return status, tuple(reasons), tuple(notes)


def validate_model(
    path: Path,
    references: Mapping[str, Reference] | Sequence[Reference],
    max_drop: float,
    threads: int | None = None,
) -> Validation:
    """Load `path` with the runtime Classifier, score every reference split, and judge it.

    The Classifier checks the model and supplies labels and threshold; the splits are scored in
    batches on a separate interpreter of the same backend (`batched`), which gives the same
    probabilities several times faster. A model the runtime refuses to load fails validation
    (with the runtime's one-line reason) instead of aborting the whole export.
    """
    from edge_emotion.export.batched import batch_probabilities
    from edge_emotion_runtime.classifier import Classifier
    from edge_emotion_runtime.errors import EdgeEmotionError

    refs = list(references.values()) if isinstance(references, Mapping) else list(references)
    try:
        classifier = Classifier.load(path, threads=threads)
    except EdgeEmotionError as err:
        return Validation(
            status=Status.FAILED, reasons=(f"runtime cannot load it: {err}",), max_drop=max_drop
        )
    names = tuple(classifier.labels)
    comparisons = []
    for ref in refs:
        probs = batch_probabilities(path, ref.x, backend=classifier.backend, threads=threads)
        comparisons.append(
            compare(ref.split, ref.labels, ref.keras_probs, probs, classifier.threshold, names)
        )
    status, reasons, notes = judge(comparisons, max_drop, names)
    return Validation(
        status=status,
        reasons=reasons,
        splits=tuple(comparisons),
        notes=notes,
        backend=f"{classifier.backend} {classifier.backend_version}",
        max_drop=max_drop,
    )
