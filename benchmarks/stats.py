"""Summary statistics of a latency sample, so every row is summarised the same way.

Percentiles use linear interpolation between order statistics (numpy's default), which keeps
min <= p50 <= p90 <= p99 <= max for any sample. Pure numpy: no TensorFlow, cheap to test.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from edge_emotion.benchmarks.types import LatencyStats


def summarize(latencies_ms: Sequence[float]) -> LatencyStats:
    """Summarise a non-empty sample of per-call latencies (ms)."""
    arr = np.asarray(latencies_ms, dtype=np.float64).ravel()
    if arr.size == 0:
        raise ValueError("no latencies to summarise")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError("latencies must be finite and non-negative")
    p50, p90, p99 = np.percentile(arr, [50, 90, 99])
    mean = float(arr.mean())
    return LatencyStats(
        n=int(arr.size),
        mean_ms=mean,
        std_ms=float(arr.std(ddof=1)) if arr.size > 1 else 0.0,
        min_ms=float(arr.min()),
        p50_ms=float(p50),
        p90_ms=float(p90),
        p99_ms=float(p99),
        max_ms=float(arr.max()),
        images_per_s=1000.0 / mean if mean > 0 else float("inf"),
    )
