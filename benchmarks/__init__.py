"""Side-by-side latency, cold-start, memory, size and accuracy of every variant against Keras."""

from __future__ import annotations
