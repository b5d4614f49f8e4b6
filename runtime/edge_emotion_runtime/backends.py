"""Which TFLite interpreter runs the model, and how it is created.

Three interchangeable Python interpreters exist: LiteRT (`ai_edge_litert`, the maintained one),
the frozen `tflite_runtime` 2.14, and `tf.lite.Interpreter` inside full TensorFlow. They share the
same class and keyword arguments, so this module only decides which one to import. TensorFlow is
imported only when it is asked for or is the last resort, because importing it costs seconds and
hundreds of megabytes that a device should never pay.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from edge_emotion_runtime.errors import BackendError, ModelError
from edge_emotion_runtime.native import NativeOutput, capture_native

BACKENDS: tuple[str, ...] = ("litert", "tflite", "tensorflow")
BACKEND_CHOICES: tuple[str, ...] = ("auto", *BACKENDS)

_INSTALL_HINT = {
    "litert": "pip install ai-edge-litert  (or: pip install 'edge-emotion-runtime[litert]')",
    "tflite": "pip install tflite-runtime 'numpy<2'  (Python <= 3.11 only)",
    "tensorflow": "pip install tensorflow",
}
_DISTRIBUTION = {"litert": "ai-edge-litert", "tflite": "tflite-runtime", "tensorflow": "tensorflow"}


@dataclass(frozen=True)
class Backend:
    """An importable interpreter implementation."""

    name: str
    version: str
    interpreter_class: Any
    # The module's OpResolverType enum (all three have it; BUILTIN_WITHOUT_DEFAULT_DELEGATES
    # turns off the XNNPACK delegate that is otherwise applied by default).
    op_resolver_type: Any

    @property
    def description(self) -> str:
        return f"{self.name} {self.version}"

    def create(
        self,
        model_path: str,
        *,
        threads: int | None = None,
        use_xnnpack: bool = True,
        quiet: bool = False,
    ) -> Any:
        """A new interpreter with tensors allocated, reading the model from `model_path`.

        By path, the interpreter memory-maps the file instead of holding a copy of it (a 225 MB
        float32 model peaked at 939 MB RSS from bytes, 507 MB by path). Bytes appended after
        the flatbuffer (our metadata archive) are ignored by every TFLite loader.

        With `quiet`, the interpreter's native "INFO: Created ... XNNPACK delegate" chatter is
        dropped; any other native output is passed on, and on failure it is folded into the
        raised error so the user still sees one complete line.
        """
        kwargs: dict[str, Any] = {"model_path": str(model_path), "num_threads": threads}
        if not use_xnnpack:
            kwargs["experimental_op_resolver_type"] = (
                self.op_resolver_type.BUILTIN_WITHOUT_DEFAULT_DELEGATES
            )
        native = NativeOutput()
        try:
            with capture_native(enabled=quiet) as native, warnings.catch_warnings():
                # tf.lite.Interpreter warns that it is deprecated in favour of LiteRT on every
                # construction; `resolve` already said so once.
                warnings.simplefilter("ignore", DeprecationWarning)
                warnings.simplefilter("ignore", UserWarning)
                interpreter = self.interpreter_class(**kwargs)
                interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as err:
            detail = [line for line in native.lines if not line.startswith("INFO:")]
            if detail:
                raise type(err)(f"{err}; {' '.join(detail[-2:])}") from None
            raise
        for line in native.lines:
            if not line.startswith("INFO:"):
                print(line, file=sys.stderr)
        return interpreter

    def open(
        self,
        model_path: str | os.PathLike[str],
        *,
        threads: int | None = None,
        use_xnnpack: bool = True,
        quiet: bool = False,
        what: str = "model",
    ) -> Any:
        """`create`, with an interpreter's refusal turned into one ModelError line."""
        try:
            return self.create(
                str(model_path), threads=threads, use_xnnpack=use_xnnpack, quiet=quiet
            )
        except (ValueError, RuntimeError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ModelError(
                f"{model_path}: {self.name} cannot load this {what} ({first})"
            ) from None


def _version(name: str, module: Any) -> str:
    try:
        return importlib.metadata.version(_DISTRIBUTION[name])
    except importlib.metadata.PackageNotFoundError:
        return str(getattr(module, "__version__", "unknown"))


def _load_litert() -> Backend:
    from ai_edge_litert import interpreter as mod

    return Backend("litert", _version("litert", mod), mod.Interpreter, mod.OpResolverType)


def _load_tflite() -> Backend:
    from tflite_runtime import interpreter as mod

    return Backend("tflite", _version("tflite", mod), mod.Interpreter, mod.OpResolverType)


def _load_tensorflow() -> Backend:
    # Quiet TensorFlow's C++ start-up chatter (oneDNN, CUDA probing) unless the user chose a level.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return Backend(
        "tensorflow", str(tf.__version__), tf.lite.Interpreter, tf.lite.experimental.OpResolverType
    )


_LOADERS: dict[str, Callable[[], Backend]] = {
    "litert": _load_litert,
    "tflite": _load_tflite,
    "tensorflow": _load_tensorflow,
}
_MODULES = {"litert": "ai_edge_litert", "tflite": "tflite_runtime", "tensorflow": "tensorflow"}
_cache: dict[str, Backend] = {}
# The TensorFlow fallback note is said once per process, however many models are loaded.
_noted: set[str] = set()


def is_installed(name: str) -> bool:
    """True when the backend's top-level package can be found (without importing it)."""
    try:
        return importlib.util.find_spec(_MODULES[name]) is not None
    except (ImportError, ValueError):  # e.g. sys.modules[name] = None blocks the package
        return False


def _load(name: str) -> Backend:
    if name in _cache:
        return _cache[name]
    if not is_installed(name):
        raise BackendError(f"backend {name!r} is not installed: {_INSTALL_HINT[name]}")
    try:
        backend = _LOADERS[name]()
    except Exception as err:  # a broken install (e.g. tflite-runtime under numpy 2)
        raise BackendError(
            f"backend {name!r} is installed but fails to import ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''}); {_INSTALL_HINT[name]}"
        ) from None
    _cache[name] = backend
    return backend


def resolve(name: str = "auto", *, note: Callable[[str], None] | None = None) -> Backend:
    """The backend called `name`, or for "auto" the first of litert, tflite, tensorflow.

    Falling back to TensorFlow prints one note (on stderr unless `note` is given), because it
    works but is the slow, heavy choice a device should not end up with by accident.
    """
    if name not in BACKEND_CHOICES:
        raise BackendError(f"unknown backend {name!r}; choose one of {', '.join(BACKEND_CHOICES)}")
    if name != "auto":
        return _load(name)
    errors: list[str] = []
    for candidate in ("litert", "tflite"):
        if not is_installed(candidate):
            continue
        try:
            return _load(candidate)
        except BackendError as err:
            errors.append(str(err))
    if is_installed("tensorflow"):
        backend = _load("tensorflow")
        message = (
            "note: no LiteRT or tflite-runtime interpreter found; using TensorFlow's "
            f"tf.lite.Interpreter (slow to start; {_INSTALL_HINT['litert']})"
        )
        if note is not None or message not in _noted:
            _noted.add(message)
            (note or (lambda m: print(m, file=sys.stderr)))(message)
        return backend
    detail = f" ({'; '.join(errors)})" if errors else ""
    raise BackendError(f"no TFLite interpreter is installed{detail}; {_INSTALL_HINT['litert']}")
