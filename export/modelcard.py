"""Build the metadata each exported `.tflite` carries, and write model + metadata atomically.

The metadata (labels, threshold, preprocessing, input/output quantization, provenance and
validation results) is embedded with the runtime's `embed` - a JSON file in a ZIP appended after
the flatbuffer - so a lone `.tflite` on a device describes itself, and is also written as
readable `<mode>.json` beside it. Quantization parameters are read back from the converted model
with an interpreter rather than assumed, so they are what the device will actually see.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from edge_emotion import __version__
from edge_emotion.errors import ModelError
from edge_emotion.export.quiet import quiet_native
from edge_emotion_runtime.metadata import (
    METADATA_FILENAME,
    ModelMetadata,
    QuantParams,
    embed,
    read_metadata,
    strip,
    write_atomic,
)
from edge_emotion_runtime.preprocess import PreprocessSpec
from edge_emotion_runtime.quantization import params_from_details

# `export --strip` writes <mode>.bare.tflite: the flatbuffer alone, for microcontroller flows.
BARE_SUFFIX = ".bare.tflite"


def interpreter_for(flatbuffer: bytes) -> Any:
    """A LiteRT interpreter (TensorFlow's deprecated one only if LiteRT is missing)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # pragma: no cover - LiteRT is a dependency of edge-emotion
        from edge_emotion.training.tfenv import import_tf

        Interpreter = import_tf().lite.Interpreter
    with quiet_native():
        interpreter = Interpreter(model_content=flatbuffer)
        interpreter.allocate_tensors()
    return interpreter


def io_quantization(flatbuffer: bytes, spec: PreprocessSpec) -> tuple[QuantParams, QuantParams]:
    """(input, output) quantization of a converted model, checked against our contract:
    one input shaped like the preprocessing, one output holding a single probability."""
    interpreter = interpreter_for(flatbuffer)
    inputs = interpreter.get_input_details()
    outputs = interpreter.get_output_details()
    if len(inputs) != 1 or len(outputs) != 1:
        raise ModelError(
            f"converted model has {len(inputs)} inputs and {len(outputs)} outputs; "
            "expected one of each"
        )
    shape = tuple(int(v) for v in inputs[0]["shape"][1:])
    if shape != spec.shape:
        raise ModelError(
            f"converted model input is {shape}, the run's preprocessing gives {spec.shape}"
        )
    if int(np.prod(outputs[0]["shape"][1:])) != 1:
        raise ModelError(
            f"converted model output shape is {tuple(outputs[0]['shape'])}; "
            "expected one probability"
        )
    return params_from_details(inputs[0]), params_from_details(outputs[0])


def build_metadata(
    *,
    spec: PreprocessSpec,
    labels: tuple[str, ...],
    threshold: float,
    positive_index: int,
    mode: str,
    arch: str,
    source_model_sha256: str,
    input_quantization: QuantParams,
    output_quantization: QuantParams,
    calibration: dict[str, Any] | None,
    converter: str,
    validation: dict[str, Any] | None = None,
    status: str = "unvalidated",
    crop: dict[str, Any] | None = None,
) -> ModelMetadata:
    validation = dict(validation or {})
    validation.setdefault("converter", converter)
    return ModelMetadata(
        preprocess=spec,
        labels=tuple(labels),
        threshold=float(threshold),
        positive_index=int(positive_index),
        input_quantization=input_quantization,
        output_quantization=output_quantization,
        export_mode=mode,
        arch=arch,
        source_model_sha256=source_model_sha256,
        toolkit_version=f"edge-emotion {__version__}",
        validation_status=status,
        validation=validation,
        calibration=dict(calibration or {}),
        crop=dict(crop or {}),
    )


def metadata_json_path(model_path: Path) -> Path:
    return model_path.with_suffix(".json")


def write_model(path: Path, flatbuffer: bytes, metadata: ModelMetadata) -> int:
    """Write `<mode>.tflite` (flatbuffer + embedded metadata) and `<mode>.json`, each atomically.

    Returns the size of the `.tflite` file on disk.
    """
    # The per-image calibration list (about 5% of a small int8 file) is for people auditing the
    # export, not for the device: the sidecar JSON and the export report keep it, the model
    # carries the summary (count, classes, seed).
    full = dict(metadata.calibration)
    summary = {k: v for k, v in full.items() if k != "samples"}
    if "samples" in full:
        summary["samples_listed_in"] = f"{metadata_json_path(path).name}, export_report.json"
    data = embed(flatbuffer, metadata.with_updates(calibration=summary))
    # The JSON beside the model is the embedded one (with the flatbuffer hash `embed` fills)
    # plus the full calibration list.
    card = json.loads(_embedded_json(data))
    card["calibration"] = full
    write_atomic(path, data)
    write_atomic(
        metadata_json_path(path), (json.dumps(card, indent=2, sort_keys=True) + "\n").encode()
    )
    return len(data)


def _embedded_json(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read(METADATA_FILENAME).decode("utf-8")


def is_our_file(path: Path) -> bool:
    """True if `path` was written by `edge-emotion export` (safe to replace with --force)."""
    try:
        if path.name.endswith(BARE_SUFFIX):
            # No metadata to recognise: ours when it is exactly our sibling model, stripped.
            sibling = path.with_name(path.name[: -len(BARE_SUFFIX)] + ".tflite")
            return is_our_file(sibling) and strip(sibling.read_bytes()) == path.read_bytes()
        if path.suffix == ".tflite":
            return read_metadata(path) is not None
        data = json.loads(path.read_text())
    except (OSError, ValueError, ModelError):
        return False
    if not isinstance(data, dict):
        return False
    return data.get("tool") == "edge-emotion export" or (
        "export_mode" in data and "preprocess" in data and "model_sha256" in data
    )
