"""Value types of the export step: what to export, how, and what came out.

Everything is a frozen dataclass so options and results can be logged, compared and serialised
without surprises; `to_dict()` gives the JSON shape written to `export_report.json`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from edge_emotion.errors import UsageError


class ExportMode(StrEnum):
    """The four TFLite flavours; the value is also the output file stem (`int8.tflite`)."""

    FLOAT32 = "float32"  # plain conversion, the size reference
    FLOAT16 = "float16"  # weights stored as fp16, dequantized at load/compute time
    DYNAMIC = "dynamic"  # dynamic-range: int8 weights, float activations, no calibration
    INT8 = "int8"  # full integer: int8 weights and activations, TFLITE_BUILTINS_INT8 only

    @property
    def needs_calibration(self) -> bool:
        return self is ExportMode.INT8

    @classmethod
    def parse_many(cls, values: list[str] | tuple[str, ...]) -> tuple[ExportMode, ...]:
        """`--quantize` values (repeatable, or `all`) -> modes in canonical order, no duplicates."""
        if not values:
            values = ["all"]
        chosen: set[ExportMode] = set()
        for raw in values:
            for part in str(raw).split(","):
                name = part.strip().lower()
                if not name:
                    continue
                if name == "all":
                    chosen.update(cls)
                    continue
                try:
                    chosen.add(cls(name))
                except ValueError:
                    known = ", ".join([m.value for m in cls] + ["all"])
                    raise UsageError(
                        f"unknown --quantize mode {part.strip()!r} (known: {known})"
                    ) from None
        if not chosen:
            raise UsageError("--quantize needs at least one mode")
        return tuple(m for m in cls if m in chosen)


class IoType(StrEnum):
    """Input/output tensor type of the full-integer model (other modes always use float)."""

    INT8 = "int8"
    UINT8 = "uint8"
    FLOAT = "float"

    @classmethod
    def parse(cls, value: str) -> IoType:
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            known = ", ".join(m.value for m in cls)
            raise UsageError(f"unknown --io type {value!r} (known: {known})") from None


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    UNVALIDATED = "unvalidated"


DEFAULT_CALIBRATION_SAMPLES = 200
DEFAULT_MAX_DROP = 1.0
DEFAULT_SEED = 0
VALIDATION_SPLITS = ("val", "test")


@dataclass(frozen=True)
class ExportOptions:
    """Everything `edge-emotion export` lets the user choose."""

    modes: tuple[ExportMode, ...] = tuple(ExportMode)
    io_type: IoType = IoType.INT8
    calibration_samples: int = DEFAULT_CALIBRATION_SAMPLES
    seed: int = DEFAULT_SEED
    max_drop: float = DEFAULT_MAX_DROP  # percentage points of accuracy below Keras
    out_dir: Path | None = None  # default RUN_DIR/export
    force: bool = False  # overwrite this command's own earlier outputs (never other files)
    validate: bool = True
    splits: tuple[str, ...] = VALIDATION_SPLITS
    quantizer: str = "tflite_converter"
    threads: int | None = None  # interpreter threads used for validation
    strip: bool = False  # also write <mode>.bare.tflite, the flatbuffer without metadata
    # Real-photo faces are cropped this much tighter than the measured training framing; None:
    # PHOTO_FRAMING_SCALE for a model trained on whole face images, 1 for a `--detect` run
    # (trained on the device's own crops of photos, whose framing is right as it is).
    framing_scale: float | None = None

    def __post_init__(self) -> None:
        if not self.modes:
            raise UsageError("--quantize needs at least one mode")
        if self.calibration_samples < 1:
            raise UsageError(
                f"--calibration-samples must be at least 1, got {self.calibration_samples}"
            )
        if not 0.0 <= self.max_drop <= 100.0:
            raise UsageError(f"--max-drop must be between 0 and 100 points, got {self.max_drop}")
        if self.framing_scale is not None and not 0.5 <= self.framing_scale <= 2.0:  # and nan
            raise UsageError(f"--framing-scale must be between 0.5 and 2, got {self.framing_scale}")


@dataclass(frozen=True)
class CalibrationManifest:
    """Exactly which images calibrated an int8 model, so the result can be reproduced."""

    count: int
    seed: int
    split: str
    per_class: dict[str, int]
    samples: list[dict[str, Any]]  # {"path", "label", "sha256"} in the order fed
    preprocess: dict[str, Any]
    source_model_sha256: str
    requested: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SplitComparison:
    """One exported model against the Keras original on one split."""

    split: str
    n: int
    keras: dict[str, Any]  # binary_metrics of the Keras model
    model: dict[str, Any]  # binary_metrics of the exported model via the runtime Classifier
    agreement: float  # fraction of images with the same label as Keras
    mean_abs_diff: float
    max_abs_diff: float
    accuracy_drop_points: float  # (keras - model) accuracy in percentage points
    predicted_classes: list[int]  # classes the exported model predicted at least once
    keras_predicted_classes: list[int]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Validation:
    status: Status
    reasons: tuple[str, ...] = ()  # why it failed (empty when passed)
    splits: tuple[SplitComparison, ...] = ()
    notes: tuple[str, ...] = ()  # caveats that did not fail the model
    backend: str = ""
    max_drop: float = DEFAULT_MAX_DROP

    def split(self, name: str) -> SplitComparison | None:
        return next((s for s in self.splits if s.split == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "reasons": list(self.reasons),
            "notes": list(self.notes),
            "backend": self.backend,
            "max_drop_points": self.max_drop,
            "splits": {s.split: s.to_dict() for s in self.splits},
        }


@dataclass(frozen=True)
class ExportResult:
    """One exported file and how it fared."""

    mode: ExportMode
    path: Path
    metadata_path: Path
    bytes: int  # size of the bare flatbuffer (metadata excluded)
    file_bytes: int  # size on disk, metadata included
    ratio_to_float32: float
    io_type: str
    input_quantization: dict[str, Any] | None
    output_quantization: dict[str, Any] | None
    validation: Validation
    converter: str
    seconds: float
    bare_path: Path | None = None  # `--strip`: the same flatbuffer without metadata

    @property
    def status(self) -> Status:
        return self.validation.status

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode.value,
            "path": str(self.path),
            "metadata_path": str(self.metadata_path),
            "bare_path": str(self.bare_path) if self.bare_path else None,
            "bytes": self.bytes,
            "file_bytes": self.file_bytes,
            "ratio_to_float32": self.ratio_to_float32,
            "io_type": self.io_type,
            "input_quantization": self.input_quantization,
            "output_quantization": self.output_quantization,
            "status": self.status.value,
            "validation": self.validation.to_dict(),
            "converter": self.converter,
            "seconds": round(self.seconds, 3),
        }


REPORT_TOOL = "edge-emotion export"


@dataclass(frozen=True)
class ExportReport:
    run_dir: Path
    out_dir: Path
    source_model_sha256: str
    arch: str
    float32_bytes: int
    results: tuple[ExportResult, ...]
    calibration: CalibrationManifest | None
    options: dict[str, Any]
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(r.status is not Status.FAILED for r in self.results)

    @property
    def failed(self) -> tuple[ExportResult, ...]:
        return tuple(r for r in self.results if r.status is Status.FAILED)

    def result(self, mode: ExportMode | str) -> ExportResult | None:
        return next((r for r in self.results if r.mode == ExportMode(mode)), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": REPORT_TOOL,
            "run_dir": str(self.run_dir),
            "out_dir": str(self.out_dir),
            "source_model_sha256": self.source_model_sha256,
            "arch": self.arch,
            "float32_bytes": self.float32_bytes,
            "status": "passed" if self.passed else "failed",
            "results": {r.mode.value: r.to_dict() for r in self.results},
            "calibration": self.calibration.to_dict() if self.calibration else None,
            "options": self.options,
            "versions": self.versions,
        }
