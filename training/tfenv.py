"""Import TensorFlow/Keras quietly and only when a command needs them (keeps `--help` fast).

TensorFlow's native libraries write INFO lines (oneDNN, CUDA probing) straight to file
descriptor 2 before any log level applies, so the import and the first device probe run with
stderr redirected to a temporary file; the captured text is replayed only if the import fails
or EDGE_EMOTION_DEBUG is set.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from functools import cache
from typing import Any


def quiet_tensorflow() -> None:
    """Lower TensorFlow's log level unless the user chose one."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")


@contextlib.contextmanager
def _captured_stderr() -> Iterator[None]:
    if os.environ.get("EDGE_EMOTION_DEBUG"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        ok = False
        try:
            yield
            ok = True
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            if not ok:
                sink.seek(0)
                sys.stderr.write(sink.read().decode(errors="replace"))


@cache
def import_tf() -> Any:
    quiet_tensorflow()
    with _captured_stderr():
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
        tf.autograph.set_verbosity(0)
        tf.config.list_physical_devices("GPU")  # probes CUDA once, noisily
    return tf


@cache
def import_keras() -> Any:
    import_tf()
    import keras

    return keras
