"""Model architectures and their default training recipes.

`ARCHS` maps an architecture name to its builder and the recipe it is trained with by default, so
adding an architecture is one `register_arch(...)` call. The models take the float32 output of the
runtime's `preprocess` (already scaled); no preprocessing layers live inside them, which keeps
exported graphs clean.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from edge_emotion.errors import UsageError
from edge_emotion.training.tfenv import import_keras
from edge_emotion_runtime.preprocess import PreprocessSpec

Builder = Callable[[PreprocessSpec], Any]  # spec -> keras.Model


@dataclass(frozen=True)
class Recipe:
    """Default hyper-parameters of an architecture; every field can be overridden by a flag."""

    lr: float = 1e-5
    epochs: int = 20
    batch_size: int = 32
    patience: int = 5
    augment: bool = False
    # "constant": Adam at `lr` throughout; "cosine": cosine decay from `lr` to lr/100 over all
    # epochs' steps (suits short, high-lr recipes with a restore-best EarlyStopping).
    schedule: str = "constant"
    # Binary cross-entropy towards 0.5 by this much (0: none); also used when pre-training.
    label_smoothing: float = 0.0
    # Mixup (Beta(a, a) blend of image pairs and their targets) with this alpha; 0: none.
    mixup: float = 0.0
    # Exponential moving average of the weights with this momentum (0: none). Validation,
    # early stopping and the saved model all use the averaged weights.
    ema: float = 0.0
    # With --pretrain-data: epochs and Adam rate (cosine decay) of the K-class pre-training.
    pretrain_epochs: int = 30
    pretrain_lr: float = 2e-3
    # With augment: the photo-like augmentation (`photo_augment.py`) instead of the standard one,
    # in pre-training too.
    photo_aug: bool = False


@dataclass(frozen=True)
class Arch:
    name: str
    builder: Builder
    recipe: Recipe
    description: str = ""
    min_size: int = 1  # smallest image side the architecture can take

    def check(self, spec: PreprocessSpec) -> None:
        """A `UsageError` when the input is too small for this architecture."""
        if min(spec.height, spec.width) < self.min_size:
            raise UsageError(
                f"--image-size {min(spec.height, spec.width)} is too small for arch "
                f"{self.name!r} (minimum {self.min_size})"
            )


ARCHS: dict[str, Arch] = {}


def register_arch(
    name: str,
    builder: Builder,
    recipe: Recipe | None = None,
    description: str = "",
    min_size: int = 1,
) -> Arch:
    """Add (or replace) an architecture in the registry."""
    arch = Arch(
        name=name,
        builder=builder,
        recipe=recipe or Recipe(),
        description=description,
        min_size=min_size,
    )
    ARCHS[name] = arch
    return arch


def get_arch(name: str) -> Arch:
    try:
        return ARCHS[name]
    except KeyError:
        known = ", ".join(sorted(ARCHS))
        raise UsageError(f"unknown --arch {name!r} (known: {known})") from None


def build_model(arch: str, spec: PreprocessSpec) -> Any:
    """A fresh, uncompiled Keras model of `arch` for inputs shaped like `spec`."""
    entry = get_arch(arch)
    entry.check(spec)
    return entry.builder(spec)


def build_seed(spec: PreprocessSpec) -> Any:
    """The seed notebook's CNN, layer for layer (59,076,673 parameters at 256x256x3).

    Three 3x3 'valid' convolutions (32, 64, 128 filters, ReLU) each followed by 2x2 max pooling,
    then Flatten -> Dense 512 ReLU -> Dropout 0.5 -> Dense 1 sigmoid = P(labels[1]). The Dense
    input size follows the image size.
    """
    keras = import_keras()
    layers = keras.layers
    inputs = keras.Input(shape=spec.shape, name="image")
    x = layers.Conv2D(32, (3, 3), activation="relu", name="conv1")(inputs)
    x = layers.MaxPooling2D(name="pool1")(x)
    x = layers.Conv2D(64, (3, 3), activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(name="pool2")(x)
    x = layers.Conv2D(128, (3, 3), activation="relu", name="conv3")(x)
    x = layers.MaxPooling2D(name="pool3")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(512, activation="relu", name="dense")(x)
    x = layers.Dropout(0.5, name="dropout")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="p_sad")(x)
    return keras.Model(inputs, outputs, name="seed_cnn")


register_arch(
    "seed",
    build_seed,
    Recipe(lr=1e-5, epochs=20, batch_size=32, patience=5, augment=False),
    description="the seed notebook's 3-conv CNN (59M parameters at 256x256x3)",
    min_size=22,  # three valid 3x3 convs + 2x2 pools must leave at least 1x1
)

from edge_emotion.training.arch_edge import (  # noqa: E402
    build_edge,
    build_edge_plus,
    edge_plus_recipe,
    edge_recipe,
)

register_arch(
    "edge",
    build_edge,
    edge_recipe(),
    description="compact int8-first CNN: strided stem, depthwise-separable tail (<250K params)",
)

register_arch(
    "edge-plus",
    build_edge_plus,
    edge_plus_recipe(),
    description="wider/deeper edge (~480K params), meant for --pretrain-data on more faces",
)
