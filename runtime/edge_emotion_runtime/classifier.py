"""Classify face images with one TFLite model: the device-side Python API.

`Classifier.load` creates the interpreter once and checks that the model is shaped like ours
(one (1,H,W,C) input with C in {1,3}, one scalar output) before any image is touched, so a wrong
file fails at load time with one clear line instead of deep inside `invoke()`.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from edge_emotion_runtime import backends
from edge_emotion_runtime.errors import ModelError
from edge_emotion_runtime.fastpath import IN_PLACE_BYTES, ModelIO, pixel_fast_path
from edge_emotion_runtime.labels import (
    DEFAULT_LABELS,
    DEFAULT_THRESHOLD,
    POSITIVE_INDEX,
    decide,
    p_happy_from_positive,
    positive_from_p_happy,
)
from edge_emotion_runtime.metadata import ModelMetadata, QuantParams, read_metadata
from edge_emotion_runtime.prediction import Prediction
from edge_emotion_runtime.prediction import make_prediction as _prediction
from edge_emotion_runtime.preprocess import MAX_PIXELS, PreprocessSpec, from_array, to_pixels
from edge_emotion_runtime.quantization import (
    FLOAT_DTYPES,
    INTEGER_DTYPES,
    params_from_details,
    quantize,
    same_params,
)

__all__ = [
    "IN_PLACE_BYTES",
    "TFLITE_IDENTIFIER",
    "Classifier",
    "ModelWarning",
    "Prediction",
    "pixel_fast_path",
]

_UINT8 = np.dtype(np.uint8)
# Bytes 4..8 of every TFLite flatbuffer.
TFLITE_IDENTIFIER = b"TFL3"


class ModelWarning(UserWarning):
    """Something about the model is usable but worth one line (no metadata, failed validation)."""


def _shape(shape: Any) -> str:
    return "x".join(str(int(d)) for d in shape)


class Classifier:
    """A loaded model plus its metadata. Use `Classifier.load(path)`.

    One interpreter is reused for every call; calls are serialised with a lock because a TFLite
    interpreter is not thread-safe.
    """

    def __init__(
        self,
        *,
        path: Path,
        interpreter: Any,
        backend: backends.Backend,
        metadata: ModelMetadata,
        has_metadata: bool,
        threads: int | None,
        use_xnnpack: bool,
    ) -> None:
        self.path = path
        self.metadata = metadata
        self.has_metadata = has_metadata
        self.backend = backend.name
        self.backend_version = backend.version
        self.threads = threads
        self.use_xnnpack = use_xnnpack
        self._interpreter = interpreter
        inp = interpreter.get_input_details()[0]
        out = interpreter.get_output_details()[0]
        self.input_quantization: QuantParams = params_from_details(inp)
        self.output_quantization: QuantParams = params_from_details(out)
        # All tensor traffic, with the int8 fast path for resized uint8 faces (fastpath.py).
        self._io = ModelIO(
            interpreter,
            metadata.preprocess,
            self.input_quantization,
            self.output_quantization,
            threading.Lock(),
        )
        self.pixel_path = self._io.mode
        # The pixel shape `predict` hands to the fast path; None where it cannot take pixels.
        self._fast_shape = tuple(metadata.preprocess.shape) if self._io.direct else None

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        threads: int | None = None,
        backend: str = "auto",
        use_xnnpack: bool = True,
        quiet: bool = False,
    ) -> Classifier:
        """Open a `.tflite` model (with or without embedded metadata) on the chosen backend.

        Raises ModelError for a missing/unreadable/non-TFLite file or a model not shaped like a
        single-sigmoid image classifier, BackendError when no interpreter is available.
        `quiet` drops the interpreter's native INFO lines (the CLI uses it).
        """
        path = Path(path)
        if threads is not None and (not isinstance(threads, int) or threads < 1):
            raise ModelError(f"threads must be a positive integer, got {threads!r}")
        if not path.exists():
            raise ModelError(f"{path}: no such model file")
        if path.is_dir():
            raise ModelError(f"{path}: is a directory, not a .tflite model")
        try:
            with open(path, "rb") as fh:
                header = fh.read(8)
        except OSError as err:
            raise ModelError(f"{path}: cannot read model ({err.strerror or err})") from None
        if len(header) < 8 or header[4:8] != TFLITE_IDENTIFIER:
            raise ModelError(f"{path}: not a TFLite model (no TFL3 flatbuffer identifier)")
        metadata = read_metadata(path)
        chosen = backends.resolve(backend)
        interpreter = chosen.open(path, threads=threads, use_xnnpack=use_xnnpack, quiet=quiet)
        has_metadata = metadata is not None
        metadata = _check_model(path, interpreter, metadata)
        return cls(
            path=path,
            interpreter=interpreter,
            backend=chosen,
            metadata=metadata,
            has_metadata=has_metadata,
            threads=threads,
            use_xnnpack=use_xnnpack,
        )

    # ------------------------------------------------------------------ properties
    @property
    def spec(self) -> PreprocessSpec:
        return self.metadata.preprocess

    @property
    def interpreter(self) -> Any:
        """The underlying TFLite interpreter (for tools and benchmarks; not thread-safe)."""
        return self._interpreter

    def input_tensor(self, source: Any) -> np.ndarray:
        """The exact (1,H,W,C) input tensor `predict` feeds for `source`."""
        return self._input_tensor(source)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.metadata.labels

    @property
    def threshold(self) -> float:
        return self.metadata.threshold

    def describe(self) -> str:
        """One line: model, shape, I/O types, backend."""
        s = self.spec
        return (
            f"{self.path.name}: {s.height}x{s.width}x{s.channels} "
            f"{self.input_quantization.dtype}->{self.output_quantization.dtype}, "
            f"mode {self.metadata.export_mode}, backend {self.backend} {self.backend_version}"
        )

    # ------------------------------------------------------------------ inference
    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """P(labels[positive_index]) for float32 inputs shaped (N,H,W,C) or (H,W,C) -> (N,).

        Inputs are the *preprocessed* floats (as `preprocess.scale` returns); quantized models
        get them quantized with the input tensor's parameters, and outputs come back dequantized.
        """
        x = np.asarray(x, dtype=np.float32)
        if x.shape == self.spec.shape:
            x = x[None]
        if x.ndim != 4 or x.shape[1:] != self.spec.shape:
            raise ValueError(
                f"expected input shaped (N,{','.join(map(str, self.spec.shape))}), got {x.shape}"
            )
        out = np.empty(len(x), dtype=np.float32)
        for i in range(len(x)):
            out[i] = self._invoke(x[i : i + 1])
        return out

    def predict(self, source: Any) -> Prediction:
        """Classify one image: a path, bytes, a PIL image, or a numpy array.

        Arrays: uint8 shaped exactly like the model input are taken as already-resized pixels,
        float arrays of that shape as already-preprocessed input, any other uint8 HxW / HxWxC
        array as a picture to convert and resize. Raises ImageError for an unusable image.
        """
        if (
            type(source) is np.ndarray
            and source.shape == self._fast_shape
            and source.dtype == _UINT8
        ):
            p, ms = self._io.run_pixels(source)
            return self._decide(p, None, ms)
        path = str(source) if isinstance(source, (str, os.PathLike)) else None
        tensor = self._input_tensor(source)
        start = time.perf_counter()
        p = self._io.run_tensor(tensor)
        ms = (time.perf_counter() - start) * 1000.0
        return self._decide(p, path, ms)

    def predict_mirrored(self, pixels: np.ndarray) -> Prediction:
        """The mean of `predict` on a face crop (uint8, shaped like the model input) and on its
        mirror image, decided by the model's rule. An expression does not change in a mirror,
        so the mean is a two-view ensemble for one extra invoke (~0.1 ms); the photo pipeline
        classifies faces this way by default. `predict` itself stays one invoke."""
        first = self.predict(pixels)
        second = self.predict(np.ascontiguousarray(pixels[:, ::-1]))
        return self.decide_p_happy((first.p_happy + second.p_happy) / 2.0, first.ms + second.ms)

    def decide_p_happy(self, p_happy: float, ms: float = 0.0) -> Prediction:
        """The model's own decision rule applied to a P("happy") that is not one invoke's output
        (a mirror pair's mean, a photo's mean over faces, a track's smoothed value)."""
        meta = self.metadata
        p_positive = positive_from_p_happy(p_happy, meta.labels, meta.positive_index)
        return self._decide(p_positive, None, ms)

    def predict_many(self, sources: Iterable[Any]) -> list[Prediction]:
        """`predict` for each item, in order; the first bad image raises its ImageError."""
        return [self.predict(s) for s in sources]

    # ------------------------------------------------------------------ internals
    def _input_tensor(self, source: Any) -> np.ndarray:
        """The (1,H,W,C) tensor to feed for one image, in the input tensor's dtype.

        uint8 pixels take the exact integer path when the model's input quantization allows
        it (`pixel_fast_path`): no float arithmetic at all; otherwise they are scaled to
        floats and quantized with the tensor's parameters.
        """
        spec = self.spec
        if isinstance(source, np.ndarray) and source.shape == spec.shape:
            if np.issubdtype(source.dtype, np.floating):
                return quantize(
                    source[None].astype(np.float32, copy=False), self.input_quantization
                )
            if source.dtype == np.uint8:
                return self._io.pixels_tensor(source[None])
        return self._io.pixels_tensor(self._pixels(source)[None])

    def _pixels(self, source: Any) -> np.ndarray:
        """uint8 pixels shaped like the model input, from any supported source."""
        spec = self.spec
        if isinstance(source, np.ndarray):
            expected = f"uint8 HxW or HxWxC pixels or a {spec.shape} input"
            source = from_array(source, expected)
        return to_pixels(source, spec, max_pixels=MAX_PIXELS)

    def _invoke(self, x: np.ndarray) -> float:
        """One float input (1,H,W,C), quantized with the input tensor's parameters."""
        return self._io.run_tensor(quantize(x, self.input_quantization))

    def _decide(self, p_positive: float, path: str | None, ms: float) -> Prediction:
        meta = self.metadata
        p_positive = 0.0 if p_positive < 0.0 else 1.0 if p_positive > 1.0 else p_positive
        label, probability = decide(p_positive, meta.labels, meta.threshold, meta.positive_index)
        p_happy = p_happy_from_positive(p_positive, meta.labels, meta.positive_index)
        return _prediction(path, label, probability, p_happy, ms)


def _check_model(path: Path, interpreter: Any, metadata: ModelMetadata | None) -> ModelMetadata:
    """Validate tensor shapes/types against our contract; synthesise metadata for a bare model."""
    inputs = interpreter.get_input_details()
    outputs = interpreter.get_output_details()
    if len(inputs) != 1 or len(outputs) != 1:
        raise ModelError(
            f"{path}: expected 1 input and 1 output tensor, model has {len(inputs)} and "
            f"{len(outputs)}"
        )
    inp, out = inputs[0], outputs[0]
    shape = tuple(int(d) for d in inp["shape"])
    if len(shape) != 4 or shape[0] != 1 or shape[3] not in (1, 3) or min(shape) < 1:
        raise ModelError(
            f"{path}: unexpected input shape {_shape(shape)}; expected 1xHxWxC with C = 1 or 3"
        )
    if int(np.prod(out["shape"])) != 1:
        raise ModelError(
            f"{path}: unexpected output shape {_shape(out['shape'])}; expected one sigmoid value"
        )
    for role, detail in (("input", inp), ("output", out)):
        dtype = np.dtype(detail["dtype"]).name
        if dtype not in (*FLOAT_DTYPES, *INTEGER_DTYPES):
            raise ModelError(f"{path}: unsupported {role} type {dtype}")
    try:
        in_q, out_q = params_from_details(inp), params_from_details(out)
    except ValueError as err:
        raise ModelError(f"{path}: {err}") from None
    for role, q in (("input", in_q), ("output", out_q)):
        if q.dtype in INTEGER_DTYPES and not q.scale > 0:
            raise ModelError(f"{path}: {q.dtype} {role} tensor has no quantization scale")
    _, height, width, channels = shape
    if metadata is None:
        warnings.warn(
            f"{path}: no embedded metadata; assuming {height}x{width}x{channels} input scaled to "
            f"[0,1] and labels {'/'.join(DEFAULT_LABELS)}",
            ModelWarning,
            stacklevel=3,
        )
        return ModelMetadata(
            preprocess=PreprocessSpec(height=height, width=width, channels=channels),
            labels=DEFAULT_LABELS,
            threshold=DEFAULT_THRESHOLD,
            positive_index=POSITIVE_INDEX,
            input_quantization=in_q,
            output_quantization=out_q,
        )
    spec = metadata.preprocess
    if spec.shape != (height, width, channels):
        raise ModelError(
            f"{path}: model input is {height}x{width}x{channels} but its metadata says "
            f"{_shape(spec.shape)}"
        )
    if len(metadata.labels) != 2 or metadata.positive_index not in (0, 1):
        raise ModelError(
            f"{path}: metadata must name 2 labels and a positive index of 0 or 1, got "
            f"{list(metadata.labels)} / {metadata.positive_index}"
        )
    for role, declared, actual in (
        ("input", metadata.input_quantization, in_q),
        ("output", metadata.output_quantization, out_q),
    ):
        if declared is not None and not same_params(declared, actual):
            warnings.warn(
                f"{path}: metadata {role} quantization {declared} differs from the model's "
                f"{actual}; using the model's",
                ModelWarning,
                stacklevel=3,
            )
    if metadata.validation_status == "failed":
        warnings.warn(
            f"{path}: this model FAILED validation at export; use it for inspection only",
            ModelWarning,
            stacklevel=3,
        )
    return metadata.with_updates(input_quantization=in_q, output_quantization=out_q)
