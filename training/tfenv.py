"""Import TensorFlow/Keras quietly and only when a command needs them (keeps `--help` fast).

TensorFlow's native libraries write INFO lines (oneDNN, CUDA probing) straight to file
descriptor 2 before any log level applies, so the import and the first device probe run with
stderr redirected to a temporary file; the captured text is replayed only if the import fails
or EDGE_EMOTION_DEBUG is set.
"""

from __future__ import annotations

import os
import sys
from functools import cache
from typing import Any


def quiet_tensorflow() -> None:
    """Lower TensorFlow's log level unless the user chose one."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")


@cache
def import_tf() -> Any:
    from edge_emotion_runtime.native import capture_native

    quiet_tensorflow()
    output = None
    try:
        with capture_native(enabled=not os.environ.get("EDGE_EMOTION_DEBUG")) as output:
            import tensorflow as tf

            tf.get_logger().setLevel("ERROR")
            tf.autograph.set_verbosity(0)
            tf.config.list_physical_devices("GPU")  # probes CUDA once, noisily
    except BaseException:
        if output is not None:
            sys.stderr.write(output.text)  # the native lines explain a failed import
        raise
    return tf


@cache
def import_keras() -> Any:
    import_tf()
    import keras

    return keras


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and TensorFlow, and ask TensorFlow for deterministic kernels.

    With the stateless augmentation (`pipeline.augment_batch`) this makes a seeded run repeat
    bit for bit on the same machine and thread count: the issue-10 recipe gave 90.62% and 91.51%
    for one command before; now it gives one answer.
    """
    keras = import_keras()
    keras.utils.set_random_seed(seed)
    import_tf().config.experimental.enable_op_determinism()
