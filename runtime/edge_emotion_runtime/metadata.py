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
from edge_emotion_runtime.labels import DEFAULT_LABELS, DEFAULT_THRESHOLD, POSITIVE_INDEX
from edge_emotion_runtime.preprocess import PreprocessSpec

METADATA_FILENAME = "edge_emotion_metadata.json"
SCHEMA_VERSION = 1


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
        data = dict(data)
        if "preprocess" not in data:
            raise ValueError("metadata has no 'preprocess' section")
        data["preprocess"] = PreprocessSpec.from_dict(data["preprocess"])
        data["labels"] = tuple(data.get("labels", DEFAULT_LABELS))
        for key in ("input_quantization", "output_quantization"):
            if data.get(key) is not None:
                data[key] = QuantParams(**data[key])
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def with_updates(self, **changes: Any) -> ModelMetadata:
        return replace(self, **changes)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _split(data: bytes) -> tuple[bytes, dict[str, Any] | None]:
    """(flatbuffer bytes, metadata dict or None) of a possibly metadata-carrying model."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if METADATA_FILENAME not in archive.namelist():
                return data, None
            meta = json.loads(archive.read(METADATA_FILENAME).decode("utf-8"))
    except (zipfile.BadZipFile, KeyError, ValueError, EOFError):
        return data, None
    size = int(meta.get("model_bytes", 0))
    if not 0 < size <= len(data):
        return data, None
    return data[:size], meta


def embed(flatbuffer: bytes, metadata: ModelMetadata) -> bytes:
    """Return flatbuffer + appended metadata archive; any earlier metadata is replaced."""
    flatbuffer, _ = _split(flatbuffer)
    metadata = replace(metadata, model_bytes=len(flatbuffer), model_sha256=sha256_bytes(flatbuffer))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        text = json.dumps(metadata.to_dict(), indent=2, sort_keys=True)
        archive.writestr(METADATA_FILENAME, text)
    return flatbuffer + buffer.getvalue()


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
            meta = json.loads(archive.read(METADATA_FILENAME).decode("utf-8"))
    except (zipfile.BadZipFile, EOFError):
        return None
    except ValueError as err:
        raise ModelError(f"{path}: embedded metadata is not valid JSON ({err})") from None
    except OSError as err:
        raise ModelError(f"{path}: cannot read model ({err.strerror or err})") from None
    if not 0 < int(meta.get("model_bytes", 0)) <= size:
        return None
    try:
        return ModelMetadata.from_dict(meta)
    except (TypeError, ValueError) as err:
        raise ModelError(f"{path}: embedded metadata is malformed ({err})") from None


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
