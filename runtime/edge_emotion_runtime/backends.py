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
from edge_emotion_runtime.vocab import AUTO_BACKEND, BACKEND_CHOICES, BackendName, choices

BACKENDS: tuple[str, ...] = choices(BackendName)


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
        return importlib.metadata.version(KINDS[name].distribution)
    except importlib.metadata.PackageNotFoundError:
        return str(getattr(module, "__version__", "unknown"))


def _load_litert() -> Backend:
    from ai_edge_litert import interpreter as mod

    name = BackendName.LITERT.value
    return Backend(name, _version(name, mod), mod.Interpreter, mod.OpResolverType)


def _load_tflite() -> Backend:
    from tflite_runtime import interpreter as mod

    name = BackendName.TFLITE.value
    return Backend(name, _version(name, mod), mod.Interpreter, mod.OpResolverType)


def _load_tensorflow() -> Backend:
    # Quiet TensorFlow's C++ start-up chatter (oneDNN, CUDA probing) unless the user chose a level.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return Backend(
        BackendName.TENSORFLOW.value,
        str(tf.__version__),
        tf.lite.Interpreter,
        tf.lite.experimental.OpResolverType,
    )


@dataclass(frozen=True)
class BackendKind:
    """Everything known about one backend before it is imported: its top-level package (found
    without importing it), its distribution (for the version), how to install it, how to load it."""

    name: BackendName
    module: str
    distribution: str
    install_hint: str
    load: Callable[[], Backend]


KINDS: dict[str, BackendKind] = {
    kind.name: kind
    for kind in (
        BackendKind(
            BackendName.LITERT,
            "ai_edge_litert",
            "ai-edge-litert",
            "pip install ai-edge-litert  (or: pip install 'edge-emotion-runtime[litert]')",
            _load_litert,
        ),
        BackendKind(
            BackendName.TFLITE,
            "tflite_runtime",
            "tflite-runtime",
            "pip install tflite-runtime 'numpy<2'  (Python <= 3.11 only)",
            _load_tflite,
        ),
        BackendKind(
            BackendName.TENSORFLOW,
            "tensorflow",
            "tensorflow",
            "pip install tensorflow",
            _load_tensorflow,
        ),
    )
}
_cache: dict[str, Backend] = {}
# The TensorFlow fallback note is said once per process, however many models are loaded.
_noted: set[str] = set()


def is_installed(name: str) -> bool:
    """True when the backend's top-level package can be found (without importing it)."""
    try:
        return importlib.util.find_spec(KINDS[name].module) is not None
    except (ImportError, ValueError):  # e.g. sys.modules[name] = None blocks the package
        return False


def _load(name: str) -> Backend:
    name = str(name)  # a BackendName member is said as its plain value in messages
    if name in _cache:
        return _cache[name]
    if not is_installed(name):
        raise BackendError(f"backend {name!r} is not installed: {KINDS[name].install_hint}")
    try:
        backend = KINDS[name].load()
    except Exception as err:  # a broken install (e.g. tflite-runtime under numpy 2)
        raise BackendError(
            f"backend {name!r} is installed but fails to import ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''}); {KINDS[name].install_hint}"
        ) from None
    _cache[name] = backend
    return backend


def resolve(name: str = AUTO_BACKEND, *, note: Callable[[str], None] | None = None) -> Backend:
    """The backend called `name`, or for "auto" the first of litert, tflite, tensorflow.

    Falling back to TensorFlow prints one note (on stderr unless `note` is given), because it
    works but is the slow, heavy choice a device should not end up with by accident.
    """
    if name not in BACKEND_CHOICES:
        raise BackendError(f"unknown backend {name!r}; choose one of {', '.join(BACKEND_CHOICES)}")
    if name != AUTO_BACKEND:
        return _load(name)
    errors: list[str] = []
    for candidate in (BackendName.LITERT, BackendName.TFLITE):
        if not is_installed(candidate):
            continue
        try:
            return _load(candidate)
        except BackendError as err:
            errors.append(str(err))
    if is_installed(BackendName.TENSORFLOW):
        backend = _load(BackendName.TENSORFLOW)
        message = (
            "note: no LiteRT or tflite-runtime interpreter found; using TensorFlow's "
            f"tf.lite.Interpreter (slow to start; {KINDS[BackendName.LITERT].install_hint})"
        )
        if note is not None or message not in _noted:
            _noted.add(message)
            (note or (lambda m: print(m, file=sys.stderr)))(message)
        return backend
    detail = f" ({'; '.join(errors)})" if errors else ""
    hint = KINDS[BackendName.LITERT].install_hint
    raise BackendError(f"no TFLite interpreter is installed{detail}; {hint}")
