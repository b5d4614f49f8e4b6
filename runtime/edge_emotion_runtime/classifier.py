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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge_emotion_runtime import backends
from edge_emotion_runtime.errors import ModelError
from edge_emotion_runtime.labels import (
    DEFAULT_LABELS,
    DEFAULT_THRESHOLD,
    POSITIVE_INDEX,
    decide,
    p_happy_from_positive,
    positive_from_p_happy,
)
from edge_emotion_runtime.metadata import ModelMetadata, QuantParams, read_metadata
from edge_emotion_runtime.preprocess import (
    MAX_PIXELS,
    PreprocessSpec,
    from_array,
    scale,
    scale_into,
    to_pixels,
)
from edge_emotion_runtime.quantization import (
    FLOAT_DTYPES,
    INTEGER_DTYPES,
    params_from_details,
    quantize,
    same_params,
)

_UINT8 = np.dtype(np.uint8)
_bitwise_xor = np.bitwise_xor
# Inputs this large are written straight into the interpreter's buffer (see Classifier).
IN_PLACE_BYTES = 16 * 1024
# Bytes 4..8 of every TFLite flatbuffer.
TFLITE_IDENTIFIER = b"TFL3"


class ModelWarning(UserWarning):
    """Something about the model is usable but worth one line (no metadata, failed validation)."""


@dataclass(frozen=True)
class Prediction:
    """One classified image. `probability` is that of `label`; `ms` is the model time only
    (quantize, invoke, dequantize), not decoding the image."""

    path: str | None
    label: str
    probability: float
    p_happy: float
    ms: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_new_object = object.__new__


def _prediction(
    path: str | None, label: str, probability: float, p_happy: float, ms: float
) -> Prediction:
    """`Prediction(...)` without the frozen dataclass `__init__`'s five `object.__setattr__`
    calls: 0.2 instead of 0.6 µs, which is 1-4% of a call on the edge model. Same fields,
    equality and repr (a test compares the two)."""
    made = _new_object(Prediction)
    fields = made.__dict__
    fields["path"] = path
    fields["label"] = label
    fields["probability"] = probability
    fields["p_happy"] = p_happy
    fields["ms"] = ms
    return made


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
        self._lock = threading.Lock()
        inp = interpreter.get_input_details()[0]
        out = interpreter.get_output_details()[0]
        self._input_index = inp["index"]
        self._output_index = out["index"]
        self.input_quantization: QuantParams = params_from_details(inp)
        self.output_quantization: QuantParams = params_from_details(out)
        self._input_dtype = np.dtype(inp["dtype"])
        self.pixel_path = pixel_fast_path(metadata.preprocess, self.input_quantization)
        oq = self.output_quantization
        # Output dequantization as two floats: one multiply on the hot path.
        self._out_scale = oq.scale if oq.is_quantized else 1.0
        self._out_zero = float(oq.zero_point) if oq.is_quantized else 0.0
        # The hot path for resized uint8 faces fills the input tensor without temporaries
        # (under the lock). A small input (a 48x48 face, 2 KB) is written into a scratch array
        # and copied by set_tensor; a large one (256x256x3 float32, 768 KB) straight into the
        # interpreter's own buffer, which saves that copy (~30 µs) but costs ~1 µs of view
        # set-up that a 2 KB copy does not. The callable from `tensor()` may be kept; the views
        # it returns must be gone by invoke().
        self._float_input = self._input_dtype == np.float32
        self._scratch = np.zeros((1, *metadata.preprocess.shape), dtype=self._input_dtype)
        self._scratch_face = self._scratch[0]
        self._in_place = self._scratch.nbytes >= IN_PLACE_BYTES
        self._input_view = interpreter.tensor(self._input_index)
        # A 0-d array, not the int 0x80: numpy converts a Python int operand on every call.
        self._x80 = np.array(0x80, dtype=np.uint8)
        self._xor = self.pixel_path == "xor"
        self._direct_pixels = self.pixel_path != "float" or self._float_input
        self._pixel_shape = tuple(metadata.preprocess.shape)

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
            and source.shape == self._pixel_shape
            and source.dtype == _UINT8
            and self._direct_pixels
        ):
            return self._predict_pixels(source)
        path = str(source) if isinstance(source, (str, os.PathLike)) else None
        tensor = self._input_tensor(source)
        start = time.perf_counter()
        p = self._run(tensor)
        ms = (time.perf_counter() - start) * 1000.0
        return self._decide(p, path, ms)

    def predict_mirrored(self, pixels: np.ndarray) -> Prediction:
        """The mean of `predict` on a face crop (uint8, shaped like the model input) and on its
        mirror image, decided by the model's rule. An expression does not change in a mirror,
        so the mean is a two-view ensemble for one extra invoke (~0.1 ms); the photo pipeline
        classifies faces this way by default. `predict` itself stays one invoke."""
        meta = self.metadata
        first = self.predict(pixels)
        second = self.predict(np.ascontiguousarray(pixels[:, ::-1]))
        p_happy = (first.p_happy + second.p_happy) / 2.0
        p_positive = positive_from_p_happy(p_happy, meta.labels, meta.positive_index)
        return self._decide(p_positive, None, first.ms + second.ms)

    def predict_many(self, sources: Iterable[Any]) -> list[Prediction]:
        """`predict` for each item, in order; the first bad image raises its ImageError."""
        return [self.predict(s) for s in sources]

    # ------------------------------------------------------------------ internals
    def _predict_pixels(self, pixels: np.ndarray) -> Prediction:
        """Already-resized uint8 pixels into the input tensor (xor, copy or `scale_into`; in
        place or through set_tensor), invoke, read.

        This is the per-frame call of a camera loop, so it is written for its ~1 µs of Python
        around invoke (the benchmark reports it against a bare invoke loop): no temporaries,
        no per-call allocation but the result.
        """
        interpreter = self._interpreter
        with self._lock:
            start = time.perf_counter()
            if self._in_place:
                face = self._input_view()[0]
                try:
                    self._fill(pixels, face)
                finally:
                    del face  # invoke() refuses to run while a view of its buffers is alive
            else:
                self._fill(pixels, self._scratch_face)
                interpreter.set_tensor(self._input_index, self._scratch)
            interpreter.invoke()
            raw = interpreter.get_tensor(self._output_index).item()
            ms = (time.perf_counter() - start) * 1000.0
        return self._decide((raw - self._out_zero) * self._out_scale, None, ms)

    def _fill(self, pixels: np.ndarray, face: np.ndarray) -> None:
        """Write one resized uint8 face into `face`, an (H,W,C) array of the input's dtype."""
        if self._xor:
            _bitwise_xor(pixels, self._x80, face.view(_UINT8))
        elif self._float_input:
            scale_into(pixels, self.metadata.preprocess, face)
        else:
            face[...] = pixels

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
                return self._pixels_tensor(source[None])
        return self._pixels_tensor(self._pixels(source)[None])

    def _pixels_tensor(self, pixels: np.ndarray) -> np.ndarray:
        """uint8 pixels -> a new input tensor, through `_fill` (the fast path's own code)
        wherever pixels map onto the tensor directly; else scaled and quantized."""
        if not self._direct_pixels:
            return quantize(scale(pixels, self.spec), self.input_quantization)
        tensor = np.empty(pixels.shape, dtype=self._input_dtype)
        self._fill(pixels, tensor)
        return tensor

    def _pixels(self, source: Any) -> np.ndarray:
        """uint8 pixels shaped like the model input, from any supported source."""
        spec = self.spec
        if isinstance(source, np.ndarray):
            expected = f"uint8 HxW or HxWxC pixels or a {spec.shape} input"
            source = from_array(source, expected)
        return to_pixels(source, spec, max_pixels=MAX_PIXELS)

    def _invoke(self, x: np.ndarray) -> float:
        """One float input (1,H,W,C), quantized with the input tensor's parameters."""
        return self._run(quantize(x, self.input_quantization))

    def _run(self, tensor: np.ndarray) -> float:
        """set_tensor / invoke / get_tensor under the lock; the dequantized scalar output."""
        with self._lock:
            self._interpreter.set_tensor(self._input_index, tensor)
            self._interpreter.invoke()
            raw = self._interpreter.get_tensor(self._output_index)
        return (float(raw.flat[0]) - self._out_zero) * self._out_scale

    def _decide(self, p_positive: float, path: str | None, ms: float) -> Prediction:
        meta = self.metadata
        p_positive = 0.0 if p_positive < 0.0 else 1.0 if p_positive > 1.0 else p_positive
        label, probability = decide(p_positive, meta.labels, meta.threshold, meta.positive_index)
        p_happy = p_happy_from_positive(p_positive, meta.labels, meta.positive_index)
        return _prediction(path, label, probability, p_happy, ms)


def pixel_fast_path(spec: PreprocessSpec, quant: QuantParams) -> str:
    """How uint8 pixels become the input tensor: "xor", "identity" or "float".

    With input = pixel / 255 and the usual full-integer input quantization (scale 1/255, zero
    point -128 for int8, 0 for uint8), quantize(pixel / 255) is exactly `pixel ^ 0x80` viewed as
    int8, or the pixel itself: no float round trip is needed (a test checks all 256 levels).
    Anything else takes the general float path.
    """
    if spec.divisor != 255.0 or spec.offset != 0.0 or not quant.is_quantized:
        return "float"
    if abs(quant.scale * 255.0 - 1.0) > 1e-6:
        return "float"
    if quant.dtype == "int8" and quant.zero_point == -128:
        return "xor"
    if quant.dtype == "uint8" and quant.zero_point == 0:
        return "identity"
    return "float"


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
