"""Machine and software facts recorded with every benchmark, so numbers can be compared later.

Versions are read from package metadata, never by importing the packages (importing TensorFlow
here would cost seconds and memory in the parent process that launches the workers).
"""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata as importlib_metadata

from edge_emotion.benchmarks.types import Machine

DISTRIBUTIONS = (
    "tensorflow",
    "keras",
    "numpy",
    "ai-edge-litert",
    "tflite-runtime",
    "pillow",
    "edge-emotion",
    "edge-emotion-runtime",
)


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo (Linux) or platform's best guess."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.lower().startswith(("model name", "hardware", "processor\t: arm")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> list[str]:
    """SIMD features that matter for TFLite/XNNPACK kernels (AVX2, AVX-512, NEON...)."""
    interesting = {
        "avx",
        "avx2",
        "avx512f",
        "avx512_vnni",
        "avx_vnni",
        "fma",
        "sse4_2",
        "neon",
        "asimd",
        "asimddp",
    }
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.lower().startswith(("flags", "features")):
                    return sorted(set(line.split(":", 1)[1].split()) & interesting)
    except OSError:
        pass
    return []


def memory_total_mb() -> float | None:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for dist in DISTRIBUTIONS:
        try:
            out[dist] = importlib_metadata.version(dist)
        except importlib_metadata.PackageNotFoundError:
            out[dist] = None
    return out


def load_average() -> tuple[float, ...] | None:
    try:
        return tuple(round(v, 2) for v in os.getloadavg())
    except OSError:
        return None


def machine_info() -> Machine:
    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    return Machine(
        cpu_model=cpu_model(),
        cpu_flags=tuple(cpu_flags()),
        logical_cores=os.cpu_count(),
        usable_cores=len(affinity) if affinity is not None else os.cpu_count(),
        memory_total_mb=memory_total_mb(),
        os=platform.platform(),
        machine=platform.machine(),
        python=platform.python_version(),
        python_implementation=platform.python_implementation(),
        python_executable=sys.executable,
        versions=versions(),
    )
