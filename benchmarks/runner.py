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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from edge_emotion.benchmarks import coldstart, photos, plan, sysinfo
from edge_emotion.benchmarks.stats import summarize
from edge_emotion.benchmarks.types import (
    BenchmarkDoc,
    ColdStart,
    EvalInfo,
    ExportSummary,
    LoadAverage,
    Metrics,
    PhotoInfo,
    PhotoTimes,
    Ratios,
    Row,
    RunInfo,
    Settings,
    WorkerEnv,
)
from edge_emotion.errors import UsageError
from edge_emotion.export.types import ExportMode
from edge_emotion.rundir import RunDir
from edge_emotion.vocab import RowKind
from edge_emotion_runtime.labels import DEFAULT_LABELS, DEFAULT_THRESHOLD
from edge_emotion_runtime.metadata import read_metadata
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
@dataclass(frozen=True)
class EvalSet:
    pixels: np.ndarray
    labels: np.ndarray
    image: str  # one image file for the cold-start processes
    info: EvalInfo


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


# --------------------------------------------------------------------------- assembling rows
# A worker's JSON line for a row is that row's JSON, plus these: the row's id, and what the runner
# turns into figures of its own (the raw probabilities, the photo pipeline's times).
_NOT_ROW_KEYS = ("row", "probs", "photo")


def _metrics(
    labels: np.ndarray, probs: np.ndarray, threshold: float, names: tuple[str, ...]
) -> Metrics:
    from edge_emotion.training.metrics import binary_metrics

    return Metrics.from_dict(binary_metrics(labels, probs, threshold, names))


def _file_facts(row: plan.RowSpec) -> tuple[int | None, str | None]:
    """The model file's size and, for a .tflite, the validation status in its metadata."""
    path = Path(row.model_path)
    if not path.is_file():
        return None, None
    status = None
    if row.kind == RowKind.TFLITE:
        try:
            meta = read_metadata(path)
        except Exception:
            meta = None
        status = meta.validation_status if meta else "no metadata"
    return path.stat().st_size, status


def _photo(reported: dict[str, Any]) -> PhotoTimes:
    """The worker's photo-pipeline times with their medians per stage."""
    p50 = {stage: float(np.median(ms)) for stage, ms in reported["ms"].items()}
    return PhotoTimes.from_dict({**reported, "p50_ms": p50})


def _row(spec: plan.RowSpec, got: dict[str, Any] | None, cold: ColdStart | None) -> Row:
    """A row from its spec and what its worker reported (None: never measured)."""
    file_bytes, validation = _file_facts(spec)
    facts = {"file_bytes": file_bytes, "validation_status": validation}
    if spec.skip_reason is not None:
        return Row.of(spec, status="skipped", reason=spec.skip_reason, **facts)
    if got is None:
        return Row.of(spec, status="failed", reason="not measured", **facts)
    reported = {k: v for k, v in got.items() if k not in _NOT_ROW_KEYS}
    if not reported.get("reason"):
        reported.pop("reason", None)
    row = replace(Row.from_dict({**spec.to_dict(), **facts, **reported}), cold_start=cold)
    if row.status != "ok":
        return row
    assert row.latencies_ms is not None
    return replace(
        row,
        latency=summarize(row.latencies_ms),
        photo=_photo(got["photo"]) if "photo" in got else None,
    )


def assemble(
    groups: list[plan.Group],
    raw: dict[str, dict[str, Any]],
    cold: dict[str, ColdStart],
    evalset: EvalSet,
    threshold: float,
    names: tuple[str, ...],
) -> list[Row]:
    """One row per spec with every raw figure, stats, metrics, agreement and ratios."""
    specs = [row for group in groups for row in group.rows]
    probs: dict[str, np.ndarray] = {}
    rows: dict[str, Row] = {}
    for spec in specs:
        got = raw.get(spec.id)
        row = _row(spec, got, cold.get(spec.id))
        if row.status == "ok" and got is not None and "probs" in got:
            probs[spec.id] = np.asarray(got["probs"], dtype=np.float64)
            row = replace(
                row,
                metrics=_metrics(evalset.labels, probs[spec.id], threshold, names),
                eval_n=len(probs[spec.id]),
            )
        rows[spec.id] = row

    reference_id = next((s.id for s in specs if s.kind == RowKind.KERAS_DIRECT), "")
    reference = probs.get(reference_id)
    for spec in specs:
        if spec.id in probs and reference is not None and len(reference) == len(probs[spec.id]):
            p = probs[spec.id]
            same = (p > threshold) == (reference > threshold)
            rows[spec.id] = replace(
                rows[spec.id],
                agreement_with_keras=float(same.mean()) if len(p) else None,
                disagreements_with_keras=int((~same).sum()),
                max_abs_prob_diff_vs_keras=float(np.abs(p - reference).max()) if len(p) else None,
            )
    for spec in specs:  # rows that reuse another row's evaluation (other thread counts)
        row = rows[spec.id]
        source = rows.get(spec.metrics_from or "")
        if row.status == "ok" and row.metrics is None and source and source.metrics:
            rows[spec.id] = replace(
                row,
                metrics=source.metrics,
                eval_n=source.eval_n,
                agreement_with_keras=source.agreement_with_keras,
                disagreements_with_keras=source.disagreements_with_keras,
                max_abs_prob_diff_vs_keras=source.max_abs_prob_diff_vs_keras,
            )
    return add_ratios(list(rows.values()))


def add_ratios(rows: list[Row]) -> list[Row]:
    """The rows with ratios against fair baselines: speed against the compiled Keras call (eager
    `model(x)` pays Python dispatch per layer, which flatters small models), size against the
    run's float32 .tflite (`model.keras` also stores the optimizer state)."""
    ok = [r for r in rows if r.status == "ok"]
    eager = next((r for r in ok if r.kind == RowKind.KERAS_DIRECT), None)
    base = next((r for r in ok if r.kind == RowKind.KERAS_COMPILED), eager)
    if base is None:
        return rows
    f32 = next(
        (r for r in rows if r.kind == RowKind.TFLITE and r.variant == ExportMode.FLOAT32), None
    )
    f32_bytes = f32.file_bytes if f32 else None
    return [
        replace(r, ratios=_ratios(r, base, eager, f32_bytes)) if r.status == "ok" else r
        for r in rows
    ]


def _ratios(row: Row, base: Row, eager: Row | None, f32_bytes: int | None) -> Ratios:
    assert row.latency is not None and base.latency is not None
    p50 = row.latency.p50_ms
    bc, rc = base.cold_start, row.cold_start
    colds = bc and rc and bc.status == "ok" and rc.status == "ok"
    return Ratios(
        baseline=base.kind,
        speedup_p50=base.latency.p50_ms / p50,
        speedup_mean=base.latency.mean_ms / row.latency.mean_ms,
        speedup_p50_vs_eager=eager.latency.p50_ms / p50 if eager and eager.latency else None,
        wrapper_overhead_p50=p50 / float(np.median(row.bare_latencies_ms))
        if row.bare_latencies_ms
        else None,
        size_ratio=row.file_bytes / f32_bytes
        if f32_bytes and row.file_bytes and row.kind == RowKind.TFLITE
        else None,
        accuracy_delta=row.metrics.accuracy - base.metrics.accuracy
        if base.metrics and row.metrics
        else None,
        cold_start_speedup=bc.wall_ms_median / rc.wall_ms_median if colds else None,
        peak_rss_ratio=rc.peak_rss_mb / bc.peak_rss_mb if colds else None,
    )


# --------------------------------------------------------------------------- cold starts
def measure_cold_starts(
    groups: list[tuple[plan.Group, EvalSet, str]],
    raw: dict[str, dict[str, Any]],
    repeats: int,
    progress: Progress,
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
                command = coldstart.keras_command(
                    group.interpreter, row.model_path, evalset.image, spec_json
                )
                keras_done[row.model_path] = coldstart.measure(command, group.interpreter, repeats)
            cold[row.id] = replace(
                keras_done[row.model_path], note="load model + model(x) on one image"
            )
        else:
            command = coldstart.tflite_command(
                group.interpreter,
                row.model_path,
                row.backend,
                row.threads,
                row.xnnpack,
                evalset.image,
            )
            cold[row.id] = coldstart.measure(command, group.interpreter, repeats)
        result = cold[row.id]
        shown = (
            f"{result.wall_ms_median:.0f} ms, peak RSS {result.peak_rss_mb:.0f} MB"
            if result.status == "ok"
            else f"failed: {result.reason}"
        )
        name = f"{row.run}: " if row.id != row.key else ""
        progress(f"benchmark: cold start [{i}/{len(todo)}] {name}{row.label}: {shown}")
    return cold


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
    from edge_emotion.benchmarks.compare import compare

    _check_options(opts)
    names = run_names(opts.run_paths, opts.names)
    multi = len(names) > 1
    opened = [RunDir.open(path) for path in opts.run_paths]  # every run valid before measuring
    started = dt.datetime.now(dt.UTC)
    load_start = sysinfo.load_average()
    t0 = time.perf_counter()

    with tempfile.TemporaryDirectory(prefix="edge-emotion-bench-") as tmp:
        runs: list[_Run] = []
        for i, (name, path, run) in enumerate(zip(names, opts.run_paths, opened, strict=True)):
            config = run.config()
            workdir = Path(tmp) / f"run{i}"
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

        tflite_interp, tflite_reason = None, ""
        if BackendName.TFLITE in opts.backends:
            tflite_interp, tflite_reason = plan.resolve_tflite_python(opts.tflite_python)
            if tflite_interp is None:
                progress(f"benchmark: tflite rows skipped: {tflite_reason}")
        photo_set: list[dict[str, Any]] = []
        if opts.photo_runs > 0:
            photo_dir = opts.photos or photos.default_photo_dir()
            photo_set = photos.prepare(photo_dir, Path(tmp))
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
        order = plan.interleave([r.groups for r in runs])
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

    interpreters: dict[str, WorkerEnv] = {}
    for row in rows:
        if row.env is not None:
            interpreters.setdefault(row.env.backend_distribution or "keras", row.env)
    infos = tuple(r.info() for r in runs)
    return BenchmarkDoc(
        schema_version=SCHEMA_VERSION,
        tool="edge-emotion benchmark",
        date=started.isoformat(timespec="seconds"),
        duration_s=round(time.perf_counter() - t0, 1),
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
        load_average=LoadAverage(start=load_start, end=sysinfo.load_average()),
        nice=os.nice(0) if hasattr(os, "nice") else None,
        interpreters=interpreters,
        rows=tuple(rows),
        comparison=compare(infos, rows) if multi else None,
    )
