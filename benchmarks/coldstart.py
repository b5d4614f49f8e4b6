"""Cold start: wall time of a whole fresh process to its first printed result, and its peak RSS.

The clock starts just before `fork/exec` and stops when the first line arrives on the child's
stdout (the answer for one image), so it covers interpreter start-up, imports, model load,
image decoding and the first inference. Peak RSS comes from `os.wait4` in a tiny launcher
process, the kernel's own accounting of that one child (ru_maxrss), so there is no sampling gap
as with polling.
"Cold" means a fresh process; the OS page cache is warm after the first repetition, which is why
several repetitions are taken and the median is reported.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from edge_emotion.benchmarks.plan import Group, Interpreter
from edge_emotion.benchmarks.types import ColdRun, ColdStart

if TYPE_CHECKING:
    from edge_emotion.benchmarks.rows import EvalSet


def _env(interpreter: Interpreter) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if interpreter.pythonpath:
        parts = [*interpreter.pythonpath, env.get("PYTHONPATH", "")]
        env["PYTHONPATH"] = os.pathsep.join(p for p in parts if p)
    return env


# Runs as `python -S -c _LAUNCHER RESULT_FILE TIMEOUT_S COMMAND...`: a tiny fresh process that
# forks the measured command and reaps it with wait4. Measuring through it (not directly from the
# benchmark process) matters: Linux carries a process's pre-exec RSS into ru_maxrss, so a child
# forked straight from a parent that holds TensorFlow would report the parent's size. The
# launcher is ~10 MB, which is then the floor of the figure. The start time is taken with
# CLOCK_MONOTONIC, shared by all processes, just before the fork.
_LAUNCHER = """
import os, signal, sys, time
result, timeout, command = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
start = time.monotonic_ns()
pid = os.fork()
if pid == 0:
    signal.alarm(timeout)
    try:
        os.execvp(command[0], command)
    except OSError as err:
        os.write(2, f"cannot start {command[0]}: {err}\\n".encode())
    os._exit(127)
_, status, usage = os.wait4(pid, 0)
with open(result, "w") as fh:
    fh.write(f"{start} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""


def run_once(command: list[str], env: dict[str, str], timeout_s: int = 900) -> ColdRun:
    """Start `command` through the launcher, time its first stdout line, read its peak RSS."""
    with tempfile.TemporaryDirectory(prefix="edge-emotion-cold-") as tmp:
        result = os.path.join(tmp, "result")
        err_path = os.path.join(tmp, "stderr")
        with open(err_path, "wb") as err_file:
            proc = subprocess.Popen(
                [sys.executable, "-S", "-c", _LAUNCHER, result, str(timeout_s), *command],
                stdout=subprocess.PIPE,
                stderr=err_file,
                stdin=subprocess.DEVNULL,
                env=env,
            )
            assert proc.stdout is not None
            first = proc.stdout.readline()
            first_ns = time.monotonic_ns()
            proc.stdout.read()
            proc.stdout.close()
            launcher_code = proc.wait()
            exit_ns = time.monotonic_ns()
        with open(err_path, "rb") as fh:
            tail = fh.read().decode("utf-8", "replace").strip().splitlines()[-3:]
        try:
            with open(result) as fh:
                start_text, rss_text, code_text = fh.read().split()
        except (OSError, ValueError):
            return ColdRun(0.0, 0.0, 0.0, launcher_code or 1, "", " | ".join(tail))
    start, returncode = int(start_text), int(code_text)
    kib = int(rss_text) / 1024 if sys.platform == "darwin" else int(rss_text)
    return ColdRun(
        wall_ms=(first_ns - start) / 1e6 if first else 0.0,
        exit_ms=(exit_ns - start) / 1e6,
        peak_rss_mb=kib / 1024,
        returncode=returncode,
        first_line=first.decode("utf-8", "replace").strip(),
        stderr_tail=" | ".join(tail),
    )


def runtime_cli(interpreter: Interpreter) -> list[str]:
    """How to start `edge-emotion-run` with this Python: its console script, else `-m`."""
    script = os.path.join(os.path.dirname(interpreter.python), "edge-emotion-run")
    if not interpreter.pythonpath and os.access(script, os.X_OK):
        return [script]
    return [interpreter.python, "-m", "edge_emotion_runtime.cli"]


def tflite_command(
    interpreter: Interpreter,
    model: str,
    backend: str,
    threads: int | None,
    xnnpack: bool,
    image: str,
) -> list[str]:
    command = [*runtime_cli(interpreter), "--model", model, "--backend", backend]
    if threads is not None:
        command += ["--threads", str(threads)]
    if not xnnpack:
        command.append("--no-xnnpack")
    return [*command, image]


def keras_command(interpreter: Interpreter, model: str, image: str, spec_json: str) -> list[str]:
    return [
        interpreter.python,
        "-P",
        "-m",
        "edge_emotion.benchmarks.worker",
        "keras-cold",
        model,
        image,
        spec_json,
    ]


def measure(command: list[str], interpreter: Interpreter, repeats: int) -> ColdStart:
    """`repeats` cold starts of one command: every run, the median wall time, the max RSS."""
    env = _env(interpreter)
    runs = tuple(run_once(command, env) for _ in range(max(1, repeats)))
    ok = [r for r in runs if r.returncode == 0 and r.first_line]
    if not ok:
        bad = runs[-1]
        detail = bad.stderr_tail or bad.first_line or "no output"
        return ColdStart(
            tuple(command), runs, status="failed", reason=f"exit {bad.returncode}: {detail}"
        )
    walls = sorted(r.wall_ms for r in ok)
    return ColdStart(
        tuple(command),
        runs,
        status="ok",
        wall_ms_median=statistics.median(walls),
        wall_ms_min=walls[0],
        peak_rss_mb=max(r.peak_rss_mb for r in ok),
        first_line=ok[0].first_line,
    )


def measure_cold_starts(
    groups: list[tuple[Group, EvalSet, str]],
    raw: dict[str, dict[str, Any]],
    repeats: int,
    progress: Callable[[str], None],
) -> dict[str, ColdStart]:
    """Fresh-process starts of every measured row: (group, its run's eval set, spec JSON)."""
    cold: dict[str, ColdStart] = {}
    todo = [
        (g, r, evalset, spec_json)
        for g, evalset, spec_json in groups
        for r in g.rows
        if r.skip_reason is None and raw.get(r.id, {}).get("status") == "ok"
    ]
    keras_done: dict[str, ColdStart] = {}  # model path -> result (direct and predict share)
    for i, (group, row, evalset, spec_json) in enumerate(todo, 1):
        if row.kind.startswith("keras"):
            if row.model_path not in keras_done:
                command = keras_command(group.interpreter, row.model_path, evalset.image, spec_json)
                keras_done[row.model_path] = measure(command, group.interpreter, repeats)
            cold[row.id] = replace(
                keras_done[row.model_path], note="load model + model(x) on one image"
            )
        else:
            command = tflite_command(
                group.interpreter,
                row.model_path,
                row.backend,
                row.threads,
                row.xnnpack,
                evalset.image,
            )
            cold[row.id] = measure(command, group.interpreter, repeats)
        result = cold[row.id]
        shown = (
            f"{result.wall_ms_median:.0f} ms, peak RSS {result.peak_rss_mb:.0f} MB"
            if result.status == "ok"
            else f"failed: {result.reason}"
        )
        name = f"{row.run}: " if row.id != row.key else ""
        progress(f"benchmark: cold start [{i}/{len(todo)}] {name}{row.label}: {shown}")
    return cold
