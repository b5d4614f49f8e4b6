"""Metadata that travels inside a `.tflite` file, readable with the standard library alone.

The JSON is stored in a small ZIP archive appended after the TFLite flatbuffer (the same trick
TFLite Support and Ultralytics use for associated files): TFLite loaders ignore trailing bytes,
and `zipfile` finds an archive from the end of a file, so a lone model copied to a device still
knows its labels, preprocessing, quantization and validation results.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from edge_emotion_runtime.errors import ModelError
from edge_emotion_runtime.fields import integer, real
from edge_emotion_runtime.labels import DEFAULT_LABELS, DEFAULT_THRESHOLD, POSITIVE_INDEX
from edge_emotion_runtime.preprocess import PreprocessSpec

METADATA_FILENAME = "edge_emotion_metadata.json"
# Bumped when a field changes what the device must do (2: the `crop` framing section). A runtime
# refuses a model written with a newer schema rather than misreading it.
SCHEMA_VERSION = 2
# Largest metadata JSON a runtime inflates (a real one is ~7 kB): checked against the archive's
# declared size before inflating and enforced again while reading, so a small model whose
# appended archive inflates to hundreds of MB (a "zip bomb") costs nothing.
MAX_METADATA_BYTES = 1 << 20


class MetadataTooLarge(ValueError):
    """The embedded metadata would inflate past MAX_METADATA_BYTES."""


@dataclass(frozen=True)
class QuantParams:
    """Affine quantization of one tensor: real = scale * (q - zero_point)."""

    dtype: str  # "float32", "int8" or "uint8"
    scale: float = 0.0
    zero_point: int = 0

    @property
    def is_quantized(self) -> bool:
        return self.dtype in ("int8", "uint8") and self.scale > 0


@dataclass(frozen=True)
class ModelMetadata:
    """Everything the runtime needs to use a model without guessing what training did."""

    preprocess: PreprocessSpec
    labels: tuple[str, ...] = DEFAULT_LABELS
    threshold: float = DEFAULT_THRESHOLD
    positive_index: int = POSITIVE_INDEX
    input_quantization: QuantParams | None = None
    output_quantization: QuantParams | None = None
    export_mode: str = "unknown"
    arch: str = "unknown"
    source_model_sha256: str = ""
    toolkit_version: str = ""
    # "passed", "failed" or "unvalidated"; a failed model is kept for inspection only.
    validation_status: str = "unvalidated"
    validation: dict[str, Any] = field(default_factory=dict)
    calibration: dict[str, Any] = field(default_factory=dict)
    # How to crop a detected face for this model: per-detector framings measured on its training
    # images (`edge_emotion_runtime.crop`); empty for models exported before it was recorded.
    crop: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION
    # Length and hash of the flatbuffer the metadata belongs to (filled in by `embed`).
    model_bytes: int = 0
    model_sha256: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["labels"] = list(self.labels)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelMetadata:
        """Parse and validate (types and ranges): ValueError names the first bad field."""
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object, got {type(data).__name__}")
        data = dict(data)
        version = integer(data, "schema_version", SCHEMA_VERSION, low=1)
        if version > SCHEMA_VERSION:
            raise ValueError(
                f"written with metadata schema {version}, this runtime reads up to "
                f"{SCHEMA_VERSION}: upgrade edge-emotion-runtime"
            )
        if not isinstance(data.get("preprocess"), dict):
            raise ValueError("metadata has no 'preprocess' object")
        data["preprocess"] = _preprocess(data["preprocess"])
        labels = data.get("labels", list(DEFAULT_LABELS))
        if not (
            isinstance(labels, list)
            and len(labels) == 2
            and all(isinstance(x, str) and x for x in labels)
        ):
            raise ValueError(f"'labels' must be a list of two names, got {labels!r}")
        data["labels"] = tuple(labels)
        data["threshold"] = real(data, "threshold", DEFAULT_THRESHOLD, low=0.0, high=1.0)
        data["positive_index"] = integer(data, "positive_index", POSITIVE_INDEX, low=0, high=1)
        data["model_bytes"] = integer(data, "model_bytes", 0, low=0)
        data["schema_version"] = version
        for key in ("input_quantization", "output_quantization"):
            if data.get(key) is not None:
                data[key] = _quant(key, data[key])
        for key in ("validation", "calibration", "crop"):
            if not isinstance(data.get(key, {}), dict):
                raise ValueError(f"'{key}' must be an object, got {type(data[key]).__name__}")
        if data.get("crop"):
            from edge_emotion_runtime.crop import framings_from_metadata

            framings_from_metadata(data["crop"])  # every framing's numbers in range, or ValueError
        for key in (
            "export_mode",
            "arch",
            "source_model_sha256",
            "toolkit_version",
            "validation_status",
            "model_sha256",
        ):
            if not isinstance(data.get(key, ""), str):
                raise ValueError(f"'{key}' must be a string, got {data[key]!r}")
        # Unknown top-level keys are informational additions of a same-schema writer: ignored.
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def with_updates(self, **changes: Any) -> ModelMetadata:
        return replace(self, **changes)


def _preprocess(data: dict[str, Any]) -> PreprocessSpec:
    """The preprocessing section, strictly: an unknown key could change the tensors a model
    needs, so it is refused rather than dropped."""
    unknown = sorted(set(data) - set(PreprocessSpec.__dataclass_fields__))
    if unknown:
        raise ValueError(
            f"unknown preprocessing key(s) {', '.join(unknown)} (exported by a newer toolkit?)"
        )
    if not isinstance(data.get("resample", "bilinear"), str):
        raise ValueError(f"'resample' must be a string, got {data['resample']!r}")
    divisor = real(data, "divisor", 255.0)
    if divisor == 0:
        raise ValueError("'divisor' must not be 0")
    return PreprocessSpec(
        height=integer(data, "height", 256, low=1, high=8192),
        width=integer(data, "width", 256, low=1, high=8192),
        channels=integer(data, "channels", 3, low=1, high=3),
        resample=data.get("resample", "bilinear"),
        divisor=divisor,
        offset=real(data, "offset", 0.0),
        alpha_background=integer(data, "alpha_background", 255, low=0, high=255),
    )


def _quant(key: str, data: Any) -> QuantParams:
    if not isinstance(data, dict) or not isinstance(data.get("dtype"), str):
        raise ValueError(f"'{key}' must be an object with a 'dtype' string, got {data!r}")
    return QuantParams(
        dtype=data["dtype"],
        scale=real(data, "scale", 0.0, low=0.0),
        zero_point=integer(data, "zero_point", 0, low=-(2**31), high=2**31 - 1),
    )


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_json(archive: zipfile.ZipFile) -> Any:
    """The metadata member parsed, inflating at most MAX_METADATA_BYTES (MetadataTooLarge past
    that, whatever the archive declares; ValueError/RecursionError for bad JSON)."""
    info = archive.getinfo(METADATA_FILENAME)
    if info.file_size > MAX_METADATA_BYTES:
        raise MetadataTooLarge(
            f"embedded metadata is {info.file_size:,} bytes inflated, above the limit of "
            f"{MAX_METADATA_BYTES:,}"
        )
    with archive.open(info) as member:
        raw = member.read(MAX_METADATA_BYTES + 1)
    if len(raw) > MAX_METADATA_BYTES:
        raise MetadataTooLarge(f"embedded metadata inflates past {MAX_METADATA_BYTES:,} bytes")
    return json.loads(raw.decode("utf-8"))


def _split(data: bytes) -> tuple[bytes, dict[str, Any] | None]:
    """(flatbuffer bytes, metadata dict or None) of a possibly metadata-carrying model."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if METADATA_FILENAME not in archive.namelist():
                return data, None
            meta = _read_json(archive)
    except (zipfile.BadZipFile, KeyError, ValueError, EOFError, RecursionError):
        return data, None
    size = meta.get("model_bytes", 0) if isinstance(meta, dict) else 0
    if isinstance(size, bool) or not isinstance(size, int) or not 0 < size <= len(data):
        return data, None
    return data[:size], meta


def embed(flatbuffer: bytes, metadata: ModelMetadata) -> bytes:
    """Return flatbuffer + appended metadata archive; any earlier metadata is replaced."""
    flatbuffer, _ = _split(flatbuffer)
    metadata = replace(
        metadata,
        model_bytes=len(flatbuffer),
        model_sha256=sha256_bytes(flatbuffer),
        schema_version=SCHEMA_VERSION,
    )
    # Appending ("a") to the flatbuffer's bytes makes zipfile record offsets from the start of
    # the file, so the whole .tflite is a valid ZIP (`unzip -t` passes), not a ZIP with
    # "extra bytes at beginning".
    buffer = io.BytesIO(flatbuffer)
    buffer.seek(0, io.SEEK_END)
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        text = json.dumps(metadata.to_dict(), indent=2, sort_keys=True)
        archive.writestr(METADATA_FILENAME, text)
    return buffer.getvalue()


def strip(data: bytes) -> bytes:
    """The bare flatbuffer, without appended metadata."""
    return _split(data)[0]


def read_metadata(path: str | os.PathLike[str]) -> ModelMetadata | None:
    """Metadata embedded in a model file, or None for a bare `.tflite`.

    Only the archive at the end of the file is read (zipfile seeks from the end), so a
    200 MB model is never copied into memory just to find its labels.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        with zipfile.ZipFile(path) as archive:
            if METADATA_FILENAME not in archive.namelist():
                return None
            meta = _read_json(archive)
    except (zipfile.BadZipFile, EOFError):
        return None
    except MetadataTooLarge as err:
        raise ModelError(f"{path}: {err}: malformed model") from None
    except (ValueError, RecursionError) as err:
        raise ModelError(f"{path}: embedded metadata is not valid JSON ({err})") from None
    except OSError as err:
        raise ModelError(f"{path}: cannot read model ({err.strerror or err})") from None
    try:
        metadata = ModelMetadata.from_dict(meta)
    except (TypeError, ValueError, ArithmeticError) as err:
        raise ModelError(f"{path}: embedded metadata is malformed: {err}") from None
    if not 0 < metadata.model_bytes <= size:
        raise ModelError(
            f"{path}: embedded metadata says the model is {metadata.model_bytes} bytes, the "
            f"file has {size}"
        )
    return metadata


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write to a temporary sibling, then rename: a crash never leaves a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
