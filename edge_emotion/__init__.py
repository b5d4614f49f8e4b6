"""edge-emotion workstation toolkit: train, export, validate and benchmark.

Sub-packages live in top-level folders (`training/`, `export/`, `benchmarks/`) and install as
`edge_emotion.training`, `edge_emotion.export` and `edge_emotion.benchmarks`. Nothing here imports
TensorFlow at import time, so `edge-emotion --help` stays instant.
"""

from __future__ import annotations

__version__ = "0.1.0"
