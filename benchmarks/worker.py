"""Measure a group of benchmark rows inside one fresh process and print one JSON line per row.

Run by `edge-emotion benchmark`, never by hand:

    python -P -m edge_emotion.benchmarks.worker measure JOB.json      (dev venv)
    python -P path/to/benchmarks/worker.py measure JOB.json           (tflite-runtime venv)

A fresh process per group keeps imports, allocator state and memory of one backend from leaking
into another's figures. This file deliberately imports only the standard library, numpy and
`edge_emotion_runtime` at top level (TensorFlow/Keras only inside the Keras rows), so it also runs
in a venv that holds tflite-runtime + numpy<2 and nothing of the workstation toolkit.

Protocol: the job file lists rows; for each row the worker prints exactly one line
`{"row": ..., "status": "ok"|"skipped"|"failed", ...}` on the original stdout (anything a library
prints to stdout is redirected to stderr so it cannot corrupt the stream).

Also `keras-cold MODEL IMAGE SPEC_JSON`: the Keras cold-start process (load the model, preprocess
one image, predict, print the answer), timed from outside.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import json
import os
import platform
import re
import resource
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from importlib import metadata as importlib_metadata
from typing import Any, TextIO

import numpy as np

# "Replacing 7 out of 9 node(s) with delegate (TfLiteXNNPackDelegate) node, yielding 2 partitions"
_REPLACING = re.compile(
    r"Replacing (\d+) out of (\d+) node\(s\) with delegate \(([^)]+)\)"
    r"(?: node, yielding (\d+) partitions)?"
)
_BACKEND_DISTRIBUTIONS = {
    "litert": "ai-edge-litert",
    "tflite": "tflite-runtime",
    "tensorflow": "tensorflow",
    "keras": "keras",
}
_BACKEND_MODULES = {
    "litert": "ai_edge_litert.interpreter",
    "tflite": "tflite_runtime.interpreter",
    "tensorflow": "tensorflow",
}


def _version(dist: str) -> str | None:
    try:
        return importlib_metadata.version(dist)
    except importlib_metadata.PackageNotFoundError:
        return None


def environment(backend: str) -> dict[str, Any]:
    """Versions as seen from inside this worker's interpreter."""
    return {
        "python": platform.python_version(),
        "executable": sys.executable,
        "numpy": np.__version__,
        "backend_distribution": _BACKEND_DISTRIBUTIONS.get(backend),
        "backend_version": _version(_BACKEND_DISTRIBUTIONS.get(backend, "")),
        "edge_emotion_runtime": _version("edge-emotion-runtime"),
    }


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def time_calls(call: Callable[[], Any], warmup: int, runs: int) -> list[float]:
    """Per-call wall time in ms of `runs` calls after `warmup` untimed ones; GC off while timing."""
    return time_paired([call], warmup, runs)[0]


def time_paired(calls: list[Callable[[], Any]], warmup: int, runs: int) -> list[list[float]]:
    """Per-call wall times (ms) of several calls, alternated call by call, so that a noisy
    machine slows them alike and their ratio stays fair; GC off while timing."""
    for _ in range(warmup):
        for call in calls:
            call()
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    out: list[list[float]] = [[] for _ in calls]
    try:
        for _ in range(runs):
            for times, call in zip(out, calls, strict=True):
                start = time.perf_counter_ns()
                call()
                times.append((time.perf_counter_ns() - start) / 1e6)
    finally:
        if was_enabled:
            gc.enable()
    return out


def litert_benchmark(model: str, threads: int | None, runs: int) -> dict[str, Any] | None:
    """The median of ai-edge-litert's own `litert-benchmark` tool (CompiledModel API, CPU) for
    this model, or None where the tool is not installed (tflite-runtime, LiteRT 1.x)."""
    tool = os.path.join(os.path.dirname(sys.executable), "litert-benchmark")
    if not os.path.isfile(tool):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "result.json")
        command = [tool, "--model", model, "--num_runs", str(runs), "--warmup_runs", "20"]
        command += ["--num_threads", str(threads or 1), "--result_json", out]
        import subprocess

        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        if done.returncode != 0 or not os.path.isfile(out):
            return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1][:200]}
        with open(out) as fh:
            latency = json.load(fh)["latency"]
    return {
        "median_ms": latency["median_ms"],
        "avg_ms": latency["avg_ms"],
        "num_runs": latency["num_runs"],
        "threads": threads or 1,
        # The tool prints milliseconds with two decimals: 0.02 means 0.015-0.025 ms.
        "resolution_ms": 0.01,
    }


def xnnpack_info(log: str, interpreter: Any) -> dict[str, Any]:
    """What the backend says about the XNNPACK delegate: log lines and/or delegate nodes."""
    info: dict[str, Any] = {
        "log": [
            line.strip()
            for line in log.splitlines()
            if "xnnpack" in line.lower() or "delegate" in line.lower()
        ][:10],
        "nodes_replaced": None,
        "nodes_total": None,
        "partitions": None,
        "delegate_nodes": None,
    }
    for match in _REPLACING.finditer(log):
        if "xnnpack" in match.group(3).lower():
            info["nodes_replaced"] = int(match.group(1))
            info["nodes_total"] = int(match.group(2))
            if match.group(4):
                info["partitions"] = int(match.group(4))
    if interpreter is not None and hasattr(interpreter, "_get_ops_details"):
        try:
            ops = interpreter._get_ops_details()
            info["delegate_nodes"] = sum(1 for op in ops if op.get("op_name") == "DELEGATE")
            info["graph_nodes"] = len(ops) - info["delegate_nodes"]
        except Exception:  # a private API: absent or changed in some versions
            pass
    return info


def _load_eval(job: dict[str, Any], spec: Any) -> tuple[np.ndarray | None, np.ndarray]:
    """(float32 eval inputs or None, one uint8 timing face (H,W,C), already resized)."""
    from edge_emotion_runtime.preprocess import scale

    x, pixels = None, None
    if job.get("eval_npz"):
        with np.load(job["eval_npz"]) as data:
            pixels = data["pixels"]
            x = scale(pixels, spec)
    if pixels is not None and len(pixels):
        one = pixels[int(job.get("timing_index", 0)) % len(pixels)]
    else:
        one = np.random.default_rng(0).integers(0, 256, spec.shape, dtype=np.uint8)
    return x, np.ascontiguousarray(one)


def measure_tflite(
    row: dict[str, Any], job: dict[str, Any], x: np.ndarray | None, one: np.ndarray
) -> dict[str, Any]:
    from edge_emotion_runtime.classifier import Classifier
    from edge_emotion_runtime.native import capture_native

    result: dict[str, Any] = {}
    with capture_native() as cap:
        start = time.perf_counter_ns()
        clf = Classifier.load(
            row["model_path"],
            threads=row["threads"],
            backend=row["backend"],
            use_xnnpack=row["xnnpack"],
        )
        result["load_ms"] = (time.perf_counter_ns() - start) / 1e6
        start = time.perf_counter_ns()
        clf.predict(one)
        result["first_inference_ms"] = (time.perf_counter_ns() - start) / 1e6
    if cap.text:  # delegate logs are parsed below and still shown
        sys.stderr.write(cap.text)
        sys.stderr.flush()
    result["backend_used"] = getattr(clf, "backend", row["backend"])
    interpreter = clf.interpreter
    result["xnnpack_delegate"] = xnnpack_info(cap.text, interpreter)
    # The device call on a resized face, alternated with a bare set_tensor/invoke/get_tensor
    # loop on the same interpreter: their ratio is the Python wrapper's overhead.
    tensor = clf.input_tensor(one)
    inp, out = (
        interpreter.get_input_details()[0]["index"],
        interpreter.get_output_details()[0]["index"],
    )

    def bare() -> None:
        interpreter.set_tensor(inp, tensor)
        interpreter.invoke()
        interpreter.get_tensor(out)

    result["latencies_ms"], result["bare_latencies_ms"] = time_paired(
        [lambda: clf.predict(one), bare], job["warmup"], job["runs"]
    )
    if row["backend"] == "litert" and row["xnnpack"] and job.get("litert_benchmark", True):
        found = litert_benchmark(row["model_path"], row["threads"], max(200, job["runs"]))
        if found is not None:
            result["litert_benchmark"] = found
    if row.get("evaluate") and x is not None:
        # In batches on an interpreter of its own: the latency interpreter above stays as timed.
        start = time.perf_counter_ns()
        probs = _sibling("batched", "export").batch_probabilities(
            row["model_path"],
            x,
            backend=row["backend"],
            threads=row["threads"],
            use_xnnpack=row["xnnpack"],
        )
        result["probs"] = probs.astype(np.float64).tolist()
        result["eval_s"] = (time.perf_counter_ns() - start) / 1e9
    if job.get("photos") and job.get("photo_runs", 0) > 0:
        result["photo"] = _sibling("photos", "benchmarks").measure(
            row, job["photos"], job["photo_runs"]
        )
    return result


def _sibling(name: str, package: str) -> Any:
    """edge_emotion.<package>.<name> (benchmarks/photos.py, export/batched.py), also when this
    file runs as a script in the tflite venv, where it is loaded from the file next door."""
    try:
        return importlib.import_module(f"edge_emotion.{package}.{name}")
    except ImportError:
        here = os.path.dirname(os.path.abspath(__file__))
        folder = here if package == "benchmarks" else os.path.join(here, os.pardir, package)
        path = os.path.join(folder, f"{name}.py")
        spec = importlib.util.spec_from_file_location(f"_edge_emotion_{package}_{name}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module


def _import_keras() -> tuple[Any, float]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    start = time.perf_counter_ns()
    import keras

    return keras, (time.perf_counter_ns() - start) / 1e6


def measure_keras(
    row: dict[str, Any],
    job: dict[str, Any],
    x: np.ndarray | None,
    one: np.ndarray,
) -> dict[str, Any]:
    """Keras rows: `direct` is eager `model(x, training=False)`; `compiled` the same call traced
    once by `tf.function` with XLA (`jit_compile`, falling back to a plain graph where XLA
    cannot compile the model), the fair baseline for a single image; `predict` is
    `model.predict(x)`."""
    from edge_emotion_runtime.preprocess import PreprocessSpec, scale

    one = scale(one[None], PreprocessSpec.from_dict(job["spec"]))
    result: dict[str, Any] = {}
    keras, import_ms = _import_keras()
    result["import_ms"] = import_ms
    start = time.perf_counter_ns()
    model = keras.models.load_model(row["model_path"], compile=False)
    result["load_ms"] = (time.perf_counter_ns() - start) / 1e6

    if row["kind"] == "keras_direct":

        def call(batch: np.ndarray) -> np.ndarray:
            return np.asarray(model(batch, training=False))
    elif row["kind"] == "keras_compiled":
        import tensorflow as tf

        graph = tf.function(lambda b: model(b, training=False), jit_compile=True)
        try:
            graph(one)
            result["compiled"] = "tf.function(jit_compile=True)"
        except Exception:  # XLA cannot compile every op on every machine
            graph = tf.function(lambda b: model(b, training=False))
            result["compiled"] = "tf.function"

        def call(batch: np.ndarray) -> np.ndarray:
            return np.asarray(graph(batch))
    else:

        def call(batch: np.ndarray) -> np.ndarray:
            return np.asarray(model.predict(batch, verbose=0))

    start = time.perf_counter_ns()
    call(one)
    result["first_inference_ms"] = (time.perf_counter_ns() - start) / 1e6
    result["latencies_ms"] = time_calls(lambda: call(one), job["warmup"], job["runs"])
    if row.get("evaluate") and x is not None:
        from edge_emotion.training.predict import predict_probs

        start = time.perf_counter_ns()
        result["probs"] = predict_probs(model, x).astype(np.float64).tolist()
        result["eval_s"] = (time.perf_counter_ns() - start) / 1e9
    import tensorflow as tf

    result["tf_threads"] = {
        "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
    }
    return result


def _backend_missing(backend: str) -> str | None:
    """None when the backend's module imports here, else the reason it does not."""
    module = "keras" if backend == "keras" else _BACKEND_MODULES.get(backend)
    if module is None:
        return f"unknown backend {backend!r}"
    try:
        importlib.import_module(module)
    except Exception as err:  # ImportError, or numpy ABI errors raised as others
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return (
            f"{_BACKEND_DISTRIBUTIONS.get(backend, module)} is not usable in "
            f"{sys.executable} ({type(err).__name__}: {first})"
        )
    return None


def _emit(out: TextIO, payload: dict[str, Any]) -> None:
    out.write(json.dumps(payload) + "\n")
    out.flush()


def run_job(job_path: str, out: TextIO) -> int:
    from edge_emotion_runtime.preprocess import PreprocessSpec

    with open(job_path) as fh:
        job = json.load(fh)
    spec = PreprocessSpec.from_dict(job["spec"])
    x, one = _load_eval(job, spec)
    missing: dict[str, str | None] = {}
    for row in job["rows"]:
        backend = "keras" if row["kind"].startswith("keras") else row["backend"]
        base = {"row": row["id"], "env": environment(backend)}
        if backend not in missing:
            missing[backend] = _backend_missing(backend)
        if missing[backend]:
            _emit(out, {**base, "status": "skipped", "reason": missing[backend]})
            continue
        print(f"worker: measuring {row['id']}", file=sys.stderr, flush=True)
        try:
            if backend == "keras":
                figures = measure_keras(row, job, x, one)
            else:
                figures = measure_tflite(row, job, x, one)
        except Exception as err:
            traceback.print_exc(file=sys.stderr)
            message = str(err).strip().splitlines()[0] if str(err).strip() else ""
            _emit(out, {**base, "status": "failed", "reason": f"{type(err).__name__}: {message}"})
            continue
        figures["worker_peak_rss_mb"] = peak_rss_mb()
        _emit(out, {**base, "status": "ok", **figures})
    return 0


def keras_cold(model_path: str, image_path: str, spec_json: str) -> int:
    """The Keras cold-start process: import, load, preprocess one image, predict, print."""
    from edge_emotion_runtime.labels import decide
    from edge_emotion_runtime.preprocess import PreprocessSpec, preprocess

    keras, _ = _import_keras()
    model = keras.models.load_model(model_path, compile=False)
    spec = PreprocessSpec.from_dict(json.loads(spec_json))
    p = float(np.asarray(model(preprocess(image_path, spec)[None], training=False)).reshape(-1)[0])
    label, prob = decide(p)
    print(f"{image_path}\t{label}\t{prob:.4f}", flush=True)
    return 0


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "measure":
        # Keep the real stdout for results; route fd 1 to stderr so stray prints cannot corrupt it.
        out = os.fdopen(os.dup(1), "w")
        sys.stdout.flush()
        os.dup2(2, 1)
        sys.stdout = sys.stderr
        return run_job(argv[1], out)
    if len(argv) == 4 and argv[0] == "keras-cold":
        return keras_cold(argv[1], argv[2], argv[3])
    print("usage: worker.py measure JOB.json | keras-cold MODEL IMAGE SPEC_JSON", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
