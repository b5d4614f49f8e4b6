"""The export façade: `export_run(run_dir, options) -> ExportReport`.

Order of work, chosen so that a failure leaves the disk as it was or with complete files only:
1. check everything that can be checked without converting (run dir, Keras model, modes,
   existing outputs, calibration set) - a usage/data error writes nothing;
2. convert every requested mode in memory (a converter error writes nothing);
3. per mode: write a hidden temporary model, validate it through the runtime Classifier, then
   write the final `<mode>.tflite` + `<mode>.json` atomically with the validation results
   embedded - failed models are kept, marked failed;
4. write `export_report.json`.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from edge_emotion import __version__
from edge_emotion.errors import UsageError
from edge_emotion.export.calibration import CalibrationSet, build_calibration
from edge_emotion.export.modelcard import (
    BARE_SUFFIX,
    build_metadata,
    io_quantization,
    is_our_file,
    metadata_json_path,
    write_model,
)
from edge_emotion.export.quantizers import Quantizer, get_quantizer
from edge_emotion.export.source import SourceModel, load_source
from edge_emotion.export.types import (
    ExportMode,
    ExportOptions,
    ExportReport,
    ExportResult,
    IoType,
    Status,
    Validation,
)
from edge_emotion.export.validate import Reference, validate_model
from edge_emotion.paths import check_output_dir
from edge_emotion.rundir import RunDir, write_json
from edge_emotion_runtime.crop import photo_crop_metadata
from edge_emotion_runtime.defaults import PHOTO_FRAMING_SCALE
from edge_emotion_runtime.metadata import QuantParams, embed, strip, write_atomic

REPORT_FILE = "export_report.json"
Echo = Callable[[str], None]


@dataclass(frozen=True)
class _Job:
    """What every mode of one export shares: the source model, where and how to write, the
    calibration set, the validation references, the options and the float32 size."""

    source: SourceModel
    out_dir: Path
    io_type: IoType
    calibration: CalibrationSet | None
    refs: list[Reference]
    options: ExportOptions
    float32_bytes: int
    say: Echo


@dataclass(frozen=True)
class _Converted:
    """One mode converted in memory: the bare flatbuffer, seconds taken, the converter."""

    flatbuffer: bytes
    seconds: float
    converter: str


def model_path(out_dir: Path, mode: ExportMode) -> Path:
    return out_dir / f"{mode.value}.tflite"


def bare_model_path(out_dir: Path, mode: ExportMode) -> Path:
    """`--strip`'s bare flatbuffer (no metadata), for flows that cannot carry the archive."""
    return out_dir / f"{mode.value}{BARE_SUFFIX}"


def planned_outputs(
    out_dir: Path, modes: tuple[ExportMode, ...], strip: bool = False
) -> list[Path]:
    """Every file this export will write (and the only files --force may replace)."""
    paths: list[Path] = []
    for mode in modes:
        path = model_path(out_dir, mode)
        paths += [path, metadata_json_path(path)]
        if strip:
            paths.append(bare_model_path(out_dir, mode))
    return [*paths, out_dir / REPORT_FILE]


def check_outputs(
    out_dir: Path, modes: tuple[ExportMode, ...], force: bool, strip: bool = False
) -> None:
    """Refuse to replace existing outputs without --force, and anything not ours even with it."""
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{out_dir}: exists and is not a directory")
    existing = [p for p in planned_outputs(out_dir, modes, strip) if p.exists()]
    if not existing:
        return
    if not force:
        names = ", ".join(p.name for p in existing)
        raise UsageError(
            f"{out_dir}: {names} already exist; pass --force to replace this export's own files"
        )
    foreign = [p for p in existing if p.is_dir() or not is_our_file(p)]
    if foreign:
        raise UsageError(
            f"{foreign[0]}: exists and was not written by edge-emotion export; "
            "refusing to overwrite it even with --force"
        )


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"edge-emotion": __version__}
    for dist in ("edge-emotion-runtime", "tensorflow", "keras", "ai-edge-litert", "numpy"):
        with contextlib.suppress(PackageNotFoundError):
            out[dist] = version(dist)
    return out


def _references(source: SourceModel, splits: tuple[str, ...]) -> list[Reference]:
    from edge_emotion.training.dataset import load_split

    refs = []
    for split in splits:
        data = load_split(source.run, split)
        x = data.x()
        refs.append(Reference(split=split, x=x, labels=data.labels, keras_probs=source.predict(x)))
    return refs


def _measure_crop(run: RunDir, say: Echo) -> dict[str, Any]:
    """The face framing of a run trained before it was recorded: measured as `train` does."""
    from edge_emotion.training.dataset import load_split
    from edge_emotion.training.framing import measure_framings

    say("framing: not in the run's config (an older run); measuring it on the train split ...")
    report = measure_framings(load_split(run, "train").pixels)
    for message in report.notes():
        say(f"note: {message}")
    return report.section(recorded_by="edge-emotion export")


def framing_scale(crop: dict[str, Any], options: ExportOptions) -> float:
    """How much tighter than the measured framing real-photo faces are cropped (see
    `ExportOptions.framing_scale`)."""
    if options.framing_scale is not None:
        return options.framing_scale
    return 1.0 if crop.get("training_crop") else PHOTO_FRAMING_SCALE


def _quant_dict(params: QuantParams) -> dict[str, Any]:
    return asdict(params)


def export_run(
    run_dir: str | os.PathLike[str],
    options: ExportOptions,
    *,
    quantizer: Quantizer | None = None,
    echo: Echo | None = None,
) -> ExportReport:
    """Convert, validate and write every requested mode of a training run."""
    say = echo or (lambda _msg: None)
    run = RunDir.open(run_dir)
    modes = tuple(ExportMode(m) for m in options.modes)
    io_type = IoType(options.io_type)
    out_dir = Path(options.out_dir) if options.out_dir is not None else run.export_dir
    check_output_dir(out_dir, "--out")
    check_outputs(out_dir, modes, options.force, options.strip)
    quantizer = quantizer or get_quantizer(options.quantizer)
    source = load_source(run)
    if not source.crop:
        source = replace(source, crop=_measure_crop(run, say))

    calibration: CalibrationSet | None = None
    if ExportMode.INT8 in modes:
        calibration = build_calibration(
            run, options.calibration_samples, options.seed, source.sha256, source.labels
        )
        say(
            f"calibration: {calibration.manifest.count} train images "
            f"({', '.join(f'{k} {v}' for k, v in calibration.manifest.per_class.items())}), "
            f"seed {options.seed}"
        )

    # Validation data and Keras' answers first: a missing split fails before any conversion.
    refs = _references(source, options.splits) if options.validate else []

    converted = _convert(quantizer, source, modes, calibration, io_type, say)
    float32_bytes = len(converted[ExportMode.FLOAT32].flatbuffer)
    job = _Job(source, out_dir, io_type, calibration, refs, options, float32_bytes, say)

    out_dir.mkdir(parents=True, exist_ok=True)
    results = [_finish_mode(job, mode, converted[mode]) for mode in modes]

    report = ExportReport(
        run_dir=run.path,
        out_dir=out_dir,
        source_model_sha256=source.sha256,
        arch=source.arch,
        float32_bytes=float32_bytes,
        results=tuple(results),
        calibration=calibration.manifest if calibration else None,
        options={
            "modes": [m.value for m in modes],
            "io": io_type.value,
            "calibration_samples": options.calibration_samples,
            "seed": options.seed,
            "max_drop": options.max_drop,
            "splits": list(options.splits),
            "validate": options.validate,
            "quantizer": getattr(quantizer, "name", type(quantizer).__name__),
            "force": options.force,
        },
        versions=_versions(),
    )
    write_json(out_dir / REPORT_FILE, report.to_dict())
    return report


def _convert(
    quantizer: Quantizer,
    source: SourceModel,
    modes: tuple[ExportMode, ...],
    calibration: CalibrationSet | None,
    io_type: IoType,
    say: Echo,
) -> dict[ExportMode, _Converted]:
    """Every mode (and float32, the size reference) converted in memory first: a converter
    failure leaves the disk untouched."""
    converted: dict[ExportMode, _Converted] = {}
    for mode in (ExportMode.FLOAT32, *[m for m in modes if m is not ExportMode.FLOAT32]):
        started = time.perf_counter()
        say(f"converting {mode.value} ...")
        data = quantizer.convert(
            source.model,
            mode,
            calibration.x if mode.needs_calibration and calibration else None,
            io_type,
        )
        converted[mode] = _Converted(
            strip(data), time.perf_counter() - started, quantizer.describe()
        )
    return converted


def _finish_mode(job: _Job, mode: ExportMode, converted: _Converted) -> ExportResult:
    """Validate (a hidden copy) and write one mode's model with its metadata."""
    source, out_dir, options, calibration = job.source, job.out_dir, job.options, job.calibration
    flatbuffer, converter = converted.flatbuffer, converted.converter
    in_q, out_q = io_quantization(flatbuffer, source.spec)
    calib = calibration.manifest.to_dict() if (calibration and mode.needs_calibration) else None

    def card(validation: dict[str, Any] | None, status: str) -> Any:
        return build_metadata(
            spec=source.spec,
            labels=source.labels,
            threshold=source.threshold,
            positive_index=source.positive_index,
            mode=mode.value,
            arch=source.arch,
            source_model_sha256=source.sha256,
            input_quantization=in_q,
            output_quantization=out_q,
            calibration=calib,
            converter=converter,
            validation=validation,
            status=status,
            crop=photo_crop_metadata(source.crop, framing_scale(source.crop, options)),
        )

    final = model_path(out_dir, mode)
    if job.refs:
        # Validate a hidden temporary copy, so the final name only ever holds a model whose
        # metadata already carries its validation result.
        tmp = out_dir / f".{mode.value}.validating-{os.getpid()}.tflite"
        try:
            write_atomic(tmp, embed(flatbuffer, card(None, Status.UNVALIDATED.value)))
            job.say(f"validating {mode.value} ...")
            validation = validate_model(tmp, job.refs, options.max_drop, options.threads)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    else:
        validation = Validation(status=Status.UNVALIDATED, max_drop=options.max_drop)
    file_bytes = write_model(final, flatbuffer, card(validation.to_dict(), validation.status.value))
    bare = bare_model_path(out_dir, mode) if options.strip else None
    if bare is not None:
        write_atomic(bare, flatbuffer)
    return ExportResult(
        mode=mode,
        path=final,
        metadata_path=metadata_json_path(final),
        bytes=len(flatbuffer),
        file_bytes=file_bytes,
        ratio_to_float32=len(flatbuffer) / job.float32_bytes if job.float32_bytes else float("nan"),
        io_type=job.io_type.value if mode is ExportMode.INT8 else IoType.FLOAT.value,
        input_quantization=_quant_dict(in_q),
        output_quantization=_quant_dict(out_q),
        validation=validation,
        converter=converter,
        seconds=converted.seconds,
        bare_path=bare,
    )


__all__ = [
    "REPORT_FILE",
    "bare_model_path",
    "check_outputs",
    "export_run",
    "model_path",
    "planned_outputs",
]
