"""Class labels and the decision rule, shared by training, export and the device.

Index order is alphabetical, as Keras' `image_dataset_from_directory` assigns it in the seed
notebook, so the sigmoid output is P(labels[1]) = P("sad") and the seed's `yhat > 0.5 -> Sad`
rule (and its `cnn_emotion_model.h5`) keep their meaning.
"""

from __future__ import annotations

DEFAULT_LABELS: tuple[str, str] = ("happy", "sad")
DEFAULT_THRESHOLD: float = 0.5
# Index of the label whose probability the single sigmoid unit outputs.
POSITIVE_INDEX: int = 1
# What a face is called when its label's probability is below the `--min-confidence` asked for.
UNCERTAIN: str = "uncertain"


def decide(
    p_positive: float,
    labels: tuple[str, ...] = DEFAULT_LABELS,
    threshold: float = DEFAULT_THRESHOLD,
    positive_index: int = POSITIVE_INDEX,
) -> tuple[str, float]:
    """Return (label, probability of that label) for one sigmoid output.

    Strictly above the threshold is the positive label: at exactly 0.5 (reachable with an int8
    output, q = 0) the answer is the other one, as the seed's `yhat > 0.5` had it.
    """
    if p_positive > threshold:
        return labels[positive_index], float(p_positive)
    return labels[1 - positive_index], float(1.0 - p_positive)


def p_happy_from_positive(p_positive: float, labels: tuple[str, ...], positive_index: int) -> float:
    """P("happy") as the runtime reports it, from the sigmoid's P(labels[positive_index]).

    A model whose positive label is not "happy" reports 1 - P(positive), also when no label is
    called "happy". The mapping is its own inverse: `positive_from_p_happy` is the same formula.
    """
    return p_positive if labels[positive_index] == "happy" else 1.0 - p_positive


def positive_from_p_happy(p_happy: float, labels: tuple[str, ...], positive_index: int) -> float:
    """P(labels[positive_index]) from a reported (e.g. smoothed) P("happy"), for `decide`."""
    return p_happy_from_positive(p_happy, labels, positive_index)


def hedge(label: str, probability: float, min_confidence: float | None) -> str:
    """`label`, or UNCERTAIN when its probability is below `min_confidence` (None: never).

    The probabilities stay as they were: only the name says the model was not sure."""
    if min_confidence is not None and probability < min_confidence:
        return UNCERTAIN
    return label
