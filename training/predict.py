"""The one way the workstation asks a Keras model for probabilities.

Training metrics, `edge-emotion evaluate`, the export's Keras reference and the benchmark's Keras
accuracy pass all call `predict_probs`, so they agree to the bit on the same inputs: one call,
one fixed batch size (batch composition can change float results in the last bits).
"""

from __future__ import annotations

from typing import Any

import numpy as np

PREDICT_BATCH = 64


def predict_probs(model: Any, x: np.ndarray) -> np.ndarray:
    """P(labels[1]) as float32 (N,) for float32 inputs (N,H,W,C)."""
    if len(x) == 0:
        return np.zeros((0,), dtype=np.float32)
    out = model.predict(np.asarray(x, dtype=np.float32), batch_size=PREDICT_BATCH, verbose=0)
    return np.asarray(out, dtype=np.float32).reshape(-1)
