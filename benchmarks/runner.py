"""Run a whole benchmark: evaluation data, one worker process per group, cold starts, ratios.

Everything is measured sequentially from one invocation, so every row sees the same machine
state as far as possible and the ratios against the Keras row compare like with like.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from edge_emotion.benchmarks import coldstart, photos, plan, sysinfo
from edge_emotion.benchmarks.coldstart import measure_cold_starts
from edge_emotion.benchmarks.rows import EvalSet, assemble
from edge_emotion.benchmarks.stats import summarize
from edge_emotion.benchmarks.types import (
    BenchmarkDoc,
    ColdStart,
    EvalInfo,
    ExportSummary,
    LoadAverage,
    PhotoInfo,
    Row,
    RunInfo,
    Settings,
    WorkerEnv,
)
from edge_emotion.errors import UsageError
from edge_emotion.rundir import RunDir
from edge_emotion.vocab import RowKind
from edge_emotion_runtime.labels import DEFAULT_LABELS, DEFAULT_THRESHOLD
from edge_emotion_runtime.vocab import BackendName

SCHEMA_VERSION = 1
EVAL_SEED = 0
Progress = Callable[[str], None]
TIMED_CALL = {
    RowKind.KERAS_DIRECT: "np.asarray(model(x, training=False))",
    RowKind.KERAS_COMPILED: "tf.function(model, jit_compile=True)(x)",
    RowKind.KERAS_PREDICT: "model.predict(x, verbose=0)",
    RowKind.TFLITE: "Classifier.predict(face): uint8 pixels of one resized face -> "
    "input tensor (integer fast path or quantize), set_tensor, invoke, get_tensor, "
    "dequantize, decide",
    "bare": "set_tensor, invoke, get_tensor on the same interpreter, alternated "
    "call by call with the tflite row's call",
}


@dataclass(frozen=True)
class BenchmarkOptions:
    # The runs compared in one invocation (the first is the reference).
    run_paths: tuple[Path, ...]
    data: Path | None = None
    threads: tuple[int, ...] = (1, 2)
    runs: int = 50
    warmup: int = 10
    backends: tuple[str, ...] = plan.BACKENDS
    tflite_python: str | None = None
    max_eval: int | None = None
    cold_runs: int = 3
    isolation: str = "backend"  # or "row"
    command_line: str = ""
    # Short names of the runs (default: each run directory's name).
    names: tuple[str, ...] = ()
    # Real photos for the photo-pipeline columns (None: photos.default_photo_dir()); timed
    # `photo_runs` times each per TFLite row (0: no photo columns).
    photos: Path | None = None
    photo_runs: int = 5

    def __post_init__(self) -> None:
        if not self.run_paths:
            raise ValueError("BenchmarkOptions needs at least one run")


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- evaluation data
def load_eval(run: RunDir, data: Path | None, max_eval: int | None, workdir: Path) -> EvalSet:
    """The run's test split (or every image of --data), optionally a seeded random subset."""
    from edge_emotion.training.dataset import load_folder, load_split
    from edge_emotion.training.framing import training_crop
    from edge_emotion.training.manifest import image_source

    spec = run.preprocess_spec()
    if data is None:
        split = load_split(run, "test")
        source = "test split of the run's manifest"
    else:
        config = run.config()
        labels = tuple(config.get("labels", DEFAULT_LABELS))
        # A --detect run is measured on the face crops it was trained on, never whole photos.
        split = load_folder(data, spec, labels=labels, crop=training_crop(config))
        source = f"every image under --data {data}"
    total = len(split)
    index = np.arange(total)
    if max_eval is not None and max_eval < total:
        index = np.sort(np.random.default_rng(EVAL_SEED).choice(total, max_eval, replace=False))
    pixels, labels = split.pixels[index], split.labels[index]
    first = split.samples[int(index[0])] if len(index) else None
    image = None
    if first is not None and split.root is not None:
        candidate = image_source(split.root, first)
        if isinstance(candidate, (str, os.PathLike)) and Path(candidate).is_file():
            image = str(candidate)
    if image is None:  # CSV rows or no data: a PNG of the (already resized) first image
        image = str(workdir / "coldstart.png")
        arr = pixels[0] if len(pixels) else np.full(spec.shape, 128, np.uint8)
        Image.fromarray(arr[:, :, 0] if spec.channels == 1 else arr).save(image)
    info = EvalInfo(
        source=source,
        n=len(index),
        n_available=int(total),
        max_eval=max_eval,
        subset_seed=EVAL_SEED if len(index) < total else None,
        class_counts=tuple(np.bincount(labels, minlength=2).astype(int).tolist()),
        # Content hash of the evaluated images and labels, so a comparison of several runs can
        # say whether their accuracies were measured on the same images.
        images_sha256=_fingerprint([split.samples[int(i)] for i in index]),
    )
    return EvalSet(pixels=pixels, labels=labels, image=image, info=info)


def _fingerprint(samples: list[Any]) -> str:
    digest = hashlib.sha256()
    for sample in samples:
        digest.update(f"{sample.sha256 or sample.path}:{sample.label}\n".encode())
    return digest.hexdigest()


# --------------------------------------------------------------------------- workers
def worker_command(interpreter: plan.Interpreter, job_path: Path) -> list[str]:
    if interpreter.worker_as_module:
        return [
            interpreter.python,
            "-P",
            "-m",
            "edge_emotion.benchmarks.worker",
            "measure",
            str(job_path),
        ]
    return [
        interpreter.python,
        "-P",
        str(Path(__file__).with_name("worker.py")),
        "measure",
        str(job_path),
    ]


def run_group(
    group: plan.Group, job: dict[str, Any], workdir: Path, on_row: Callable[[dict[str, Any]], None]
) -> dict[str, dict[str, Any]]:
    """Measure a group's rows in one fresh process; rows it never reported come back failed."""
    rows = [r for r in group.rows if r.skip_reason is None]
    if not rows:
        return {}
    job_path = workdir / f"job-{re.sub(r'[^A-Za-z0-9._-]', '_', group.name)}.json"
    job_path.write_text(json.dumps({**job, "rows": [r.to_dict() for r in rows]}))
    env = coldstart._env(group.interpreter)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryFile() as err_file:
        proc = subprocess.Popen(
            worker_command(group.interpreter, job_path),
            env=env,
            stdout=subprocess.PIPE,
            stderr=err_file,
            stdin=subprocess.DEVNULL,
        )
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").strip()
            if not line.startswith("{"):
                continue
            try:
                payload = json.loads(line)
            except ValueError:
                continue
            results[payload["row"]] = payload
            on_row(payload)
        code = proc.wait()
        err_file.seek(0)
        stderr = err_file.read().decode("utf-8", "replace")
    tail = " | ".join(line for line in stderr.strip().splitlines()[-3:])
    for row in rows:
        if row.id not in results:
            payload = {
                "row": row.id,
                "status": "failed",
                "reason": f"worker exited with code {code} before reporting ({tail})",
            }
            results[row.id] = payload
            on_row(payload)
    return results


def _export_summary(run: RunDir) -> ExportSummary | None:
    """Options and status of the export that produced the .tflite files (export_report.json)."""
    path = run.export_dir / "export_report.json"
    try:
        report = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return ExportSummary(options=report.get("options"), status=report.get("status"))


# --------------------------------------------------------------------------- runs
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def run_names(paths: tuple[Path, ...], given: tuple[str, ...]) -> tuple[str, ...]:
    """Short, unique names of the runs: `--name`s if given, else the run directories' names."""
    if given:
        if len(given) != len(paths):
            raise UsageError(
                f"{len(given)} --name for {len(paths)} --model: give one --name per --model "
                "(or none to use the run directories' names)"
            )
        bad = [n for n in given if not _NAME.match(n)]
        if bad:
            raise UsageError(
                f"--name {bad[0]!r}: use letters, digits, '.', '_' or '-' (e.g. seed, edge)"
            )
        names = list(given)
    else:
        names = []
        for path in paths:
            base = re.sub(r"[^A-Za-z0-9._-]", "-", path.resolve().name).strip("-.") or "run"
            names.append(base)
        base_names = list(names)  # same directory name in different places: number them
        for i, name in enumerate(base_names):
            if base_names.count(name) > 1:
                names[i] = f"{name}-{base_names[:i].count(name) + 1}"
    if len(set(names)) != len(names):
        raise UsageError(f"--name values must differ (got {', '.join(given)})")
    return tuple(names)


@dataclass
class _Run:
    """Everything the benchmark knows about one of the runs it measures."""

    name: str
    path: Path  # as given on the command line
    run: RunDir
    config: dict[str, Any]
    spec: Any  # PreprocessSpec
    labels: tuple[str, ...]
    threshold: float
    workdir: Path
    evalset: EvalSet | None = None
    groups: list[plan.Group] = field(default_factory=list)
    job: dict[str, Any] = field(default_factory=dict)

    def info(self) -> RunInfo:
        assert self.evalset is not None
        return RunInfo(
            name=self.name,
            path=str(self.path),
            arch=self.config.get("arch") or self.config.get("model", {}).get("arch"),
            preprocess=self.spec,
            labels=self.labels,
            threshold=self.threshold,
            keras_model_bytes=self.run.model_path.stat().st_size,
            parameters=(self.config.get("model") or {}).get("parameters"),
            train_command=self.config.get("command"),
            export=_export_summary(self.run),
            eval=self.evalset.info,
        )


def _check_options(opts: BenchmarkOptions) -> None:
    if opts.runs < 1 or opts.warmup < 0:
        raise UsageError("--runs must be >= 1 and --warmup >= 0")
    if not opts.threads or any(t < 1 for t in opts.threads):
        raise UsageError("--threads must be a comma-separated list of positive integers")
    unknown = [b for b in opts.backends if b not in plan.BACKENDS]
    if unknown:
        raise UsageError(
            f"unknown backend(s) {', '.join(unknown)}; choose from {', '.join(plan.BACKENDS)}"
        )
    if opts.isolation not in ("backend", "row"):
        raise UsageError("--isolation must be 'backend' or 'row'")
    if opts.max_eval is not None and opts.max_eval < 1:
        raise UsageError("--max-eval must be >= 1")
    if opts.photo_runs < 0:
        raise UsageError("--photo-runs must be >= 0")
    if opts.photos is not None and not opts.photos.is_dir():
        raise UsageError(f"--photos {opts.photos}: not a directory")
    resolved = [p.resolve() for p in opts.run_paths]
    if len(set(resolved)) != len(resolved):
        raise UsageError("the same run directory was given twice to --model")


# --------------------------------------------------------------------------- entry point
def run_benchmark(opts: BenchmarkOptions, progress: Progress = _stderr) -> BenchmarkDoc:
    """Measure everything and return the benchmark document (what benchmark.json holds).

    With several runs (`opts.run_paths`), every run's rows are measured in this one invocation,
    their worker groups interleaved (see `plan.interleave`), and the document gains a
    `comparison` of the rows all runs share.
    """
    _check_options(opts)
    names = run_names(opts.run_paths, opts.names)
    opened = [RunDir.open(path) for path in opts.run_paths]  # every run valid before measuring
    clock = _Clock(dt.datetime.now(dt.UTC), sysinfo.load_average(), time.perf_counter())

    with tempfile.TemporaryDirectory(prefix="edge-emotion-bench-") as tmp:
        runs = _open_runs(names, opts.run_paths, opened, Path(tmp))
        photo_set = _prepare_runs(runs, opts, Path(tmp), progress)
        order = plan.interleave([r.groups for r in runs])
        raw = _measure_groups(runs, order, progress)
        cold: dict[str, ColdStart] = {}
        if opts.cold_runs > 0:
            cold = measure_cold_starts(
                [
                    (g, runs[i].evalset, json.dumps(runs[i].spec.to_dict()))  # type: ignore[misc]
                    for i, g in order
                ],
                raw,
                opts.cold_runs,
                progress,
            )
        rows: list[Row] = []
        for r in runs:
            assert r.evalset is not None
            rows += assemble(r.groups, raw, cold, r.evalset, r.threshold, r.labels)
    return _document(opts, runs, rows, order, photo_set, clock)


@dataclass(frozen=True)
class _Clock:
    """When the benchmark started, the load average then, and the perf_counter origin."""

    started: dt.datetime
    load_start: tuple[float, ...] | None
    t0: float


def _open_runs(
    names: tuple[str, ...], paths: tuple[Path, ...], opened: list[RunDir], tmp: Path
) -> list[_Run]:
    """One `_Run` per run directory, each with its own work folder in `tmp`."""
    runs: list[_Run] = []
    for i, (name, path, run) in enumerate(zip(names, paths, opened, strict=True)):
        config = run.config()
        workdir = tmp / f"run{i}"
        workdir.mkdir()
        runs.append(
            _Run(
                name=name,
                path=path,
                run=run,
                config=config,
                spec=run.preprocess_spec(),
                labels=tuple(config.get("labels", DEFAULT_LABELS)),
                threshold=float(config.get("threshold", DEFAULT_THRESHOLD)),
                workdir=workdir,
            )
        )
    return runs


def _prepare_runs(
    runs: list[_Run], opts: BenchmarkOptions, tmp: Path, progress: Progress
) -> list[dict[str, Any]]:
    """Each run's evaluation images, plan of worker groups and job; the photo set (returned)."""
    multi = len(runs) > 1
    tflite_interp, tflite_reason = None, ""
    if BackendName.TFLITE in opts.backends:
        tflite_interp, tflite_reason = plan.resolve_tflite_python(opts.tflite_python)
        if tflite_interp is None:
            progress(f"benchmark: tflite rows skipped: {tflite_reason}")
    photo_set: list[dict[str, Any]] = []
    if opts.photo_runs > 0:
        photo_dir = opts.photos or photos.default_photo_dir()
        photo_set = photos.prepare(photo_dir, tmp)
        progress(f"benchmark: {len(photo_set)} photos for the photo pipeline ({photo_dir})")
    for r in runs:
        shown = f"{r.name}: " if multi else ""
        progress(f"benchmark: {shown}loading evaluation images")
        r.evalset = load_eval(r.run, opts.data, opts.max_eval, r.workdir)
        np.savez(r.workdir / "eval.npz", pixels=r.evalset.pixels, labels=r.evalset.labels)
        progress(
            f"benchmark: {shown}{r.evalset.info.n} evaluation images ({r.evalset.info.source})"
        )
        r.groups = plan.build_plan(
            r.run.path,
            list(opts.backends),
            list(opts.threads),
            tflite_interp,
            tflite_reason,
            run_name=r.name,
            prefix_ids=multi,
        )
        if opts.isolation == "row":
            r.groups = plan.isolate_rows(r.groups)
        r.job = {
            "spec": r.spec.to_dict(),
            "eval_npz": str(r.workdir / "eval.npz"),
            "warmup": opts.warmup,
            "runs": opts.runs,
            "timing_index": 0,
            "photos": photo_set,
            "photo_runs": opts.photo_runs,
        }
    return photo_set


def _measure_groups(
    runs: list[_Run], order: list[tuple[int, plan.Group]], progress: Progress
) -> dict[str, dict[str, Any]]:
    """Every worker group, in `order`, one fresh worker process each: row id -> its report."""
    total = sum(len(g.rows) for _, g in order)
    done = [0]

    def on_row(payload: dict[str, Any]) -> None:
        done[0] += 1
        if payload["status"] == "ok":
            lat = summarize(payload["latencies_ms"])
            shown = f"p50 {lat.p50_ms:.3f} ms, mean {lat.mean_ms:.3f} ms"
        else:
            shown = f"{payload['status']}: {payload.get('reason', '')}"
        progress(f"benchmark: [{done[0]}/{total}] {payload['row']}: {shown}")

    raw: dict[str, dict[str, Any]] = {}
    for index, group in order:
        for row in group.rows:
            if row.skip_reason is not None:
                on_row({"row": row.id, "status": "skipped", "reason": row.skip_reason})
        progress(f"benchmark: starting worker for {group.name} ({group.interpreter.python})")
        raw.update(run_group(group, runs[index].job, runs[index].workdir, on_row))
    return raw


def _document(
    opts: BenchmarkOptions,
    runs: list[_Run],
    rows: list[Row],
    order: list[tuple[int, plan.Group]],
    photo_set: list[dict[str, Any]],
    clock: _Clock,
) -> BenchmarkDoc:
    """The benchmark document from the measured rows."""
    from edge_emotion.benchmarks.compare import compare

    multi = len(runs) > 1
    interpreters: dict[str, WorkerEnv] = {}
    for row in rows:
        if row.env is not None:
            interpreters.setdefault(row.env.backend_distribution or "keras", row.env)
    infos = tuple(r.info() for r in runs)
    return BenchmarkDoc(
        schema_version=SCHEMA_VERSION,
        tool="edge-emotion benchmark",
        date=clock.started.isoformat(timespec="seconds"),
        duration_s=round(time.perf_counter() - clock.t0, 1),
        command=opts.command_line,
        runs=infos,
        settings=Settings(
            runs=opts.runs,
            warmup=opts.warmup,
            threads=opts.threads,
            backends=opts.backends,
            isolation=opts.isolation,
            cold_runs=opts.cold_runs,
            batch=1,
            timed_call=TIMED_CALL,
            photos=tuple(
                PhotoInfo.from_dict({k: v for k, v in p.items() if k != "path"}) for p in photo_set
            ),
            photo_runs=opts.photo_runs,
            measurement_order=tuple(g.name for _, g in order) if multi else None,
        ),
        machine=sysinfo.machine_info(),
        load_average=LoadAverage(start=clock.load_start, end=sysinfo.load_average()),
        nice=os.nice(0) if hasattr(os, "nice") else None,
        interpreters=interpreters,
        rows=tuple(rows),
        comparison=compare(infos, rows) if multi else None,
    )
