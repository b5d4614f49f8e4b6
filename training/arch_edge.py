"""The edge architecture: a compact CNN built for int8 inference on small CPUs.

Why it looks like this (measured with int8 TFLite, batch 1, 2 threads, ai-edge-litert):

- At 48x48 the seed CNN is only ~15M MACs and runs in tens of microseconds, so latency there is
  set by how much work happens at high resolution and by the number of ops, not by MACs alone.
  The edge model therefore strides at once: a narrow (16-filter) 3x3 stride-2 stem, then one
  plain 3x3 stride-2 convolution to 64 filters at 12x12, and depthwise-separable blocks only at
  6x6 and 3x3, where extra channels (and parameters) cost almost nothing. Measured: a 32-filter
  stem cost ~30% more latency for no accuracy; a deep stack of depthwise blocks at 24x24 was
  slower than the seed at 48x48.
- At 256x256 the seed is ~670M MACs. Inputs larger than `PATCH_TARGET` per side first go through a
  patchify stem (a learned space-to-depth: the p x p blocks stacked into channels, then a 1x1
  convolution), with p the smallest power of two that brings the side to at most
  `PATCH_TARGET`: 48 -> none, 96/128 -> 2, 256 -> 4. The rest of the network is the same at
  every size.
- Every convolution is followed by BatchNorm (folded into the weights by the TFLite converter) and
  ReLU (fused into the int8 kernels); global average pooling replaces the seed's huge
  Flatten -> Dense, which held 99.8% of its weights.

The recipe (`edge_recipe()`) trains it at a high learning rate with cosine decay and augmentation;
augmentation runs in the `tf.data` pipeline, never inside the model, so the exported graph is only
the layers below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edge_emotion.training.tfenv import import_keras
from edge_emotion_runtime.preprocess import PreprocessSpec

if TYPE_CHECKING:
    from edge_emotion.training.models import Recipe

# Sides above this get a patchify stem first (see module docstring).
PATCH_TARGET = 64
PATCH_FILTERS = 16
# (filters, stride) of the plain 3x3 convolutions, then of the depthwise-separable blocks.
CONVS: tuple[tuple[int, int], ...] = ((16, 2), (64, 2))
BLOCKS: tuple[tuple[int, int], ...] = ((128, 2), (128, 1), (256, 2), (256, 1))
DROPOUT = 0.3


def edge_recipe() -> Recipe:
    """Adam 2e-3 with cosine decay over 100 epochs, batch 64, augmentation on.

    Patience equals the epoch count: with a decaying rate the best epoch comes late, and
    EarlyStopping still restores the best weights. (A function, not a constant, so that
    `models.py` can import this module while it is itself being imported.)
    """
    from edge_emotion.training.models import Recipe

    return Recipe(lr=2e-3, epochs=100, batch_size=64, patience=100, augment=True, schedule="cosine")


# edge-plus: the same topology, wider (96-filter second conv) and two blocks deeper, with the first
# depthwise block kept at 12x12 (stride 1) so the mouth and eye corners keep more resolution.
PLUS_CONVS: tuple[tuple[int, int], ...] = ((16, 2), (96, 2))
PLUS_BLOCKS: tuple[tuple[int, int], ...] = (
    (128, 1),
    (192, 2),
    (192, 1),
    (384, 1),
    (384, 2),
    (384, 1),
)


def edge_plus_recipe() -> Recipe:
    """Label smoothing 0.1, weight EMA 0.998; with --pretrain-data, 30 K-class epochs, then 60
    binary at 1e-3. (EMA took our FER-2013 test split from 90.6-91.5% to 92.5%, val 93.4%.)"""
    from edge_emotion.training.models import Recipe

    return Recipe(
        lr=1e-3,
        epochs=60,
        batch_size=64,
        patience=60,
        augment=True,
        schedule="cosine",
        label_smoothing=0.1,
        ema=0.998,
        pretrain_epochs=30,
        pretrain_lr=2e-3,
    )


def build_edge_plus(spec: PreprocessSpec) -> Any:
    """edge-plus: ~480K parameters, still under the seed CNN's int8 latency at 48x48x1."""
    return build_edge_variant(spec, PLUS_CONVS, PLUS_BLOCKS, name="edge_plus_cnn")


def patch_size(spec: PreprocessSpec) -> int:
    """Stride of the patchify stem for this input: 1 (none) up to 64 px, then powers of two."""
    side = max(spec.height, spec.width)
    patch = 1
    while side / patch > PATCH_TARGET:
        patch *= 2
    return patch


def space_to_depth(x: Any, block: int) -> Any:
    """(H, W, C) -> (H/b, W/b, b*b*C), tf.nn.space_to_depth's channel order, from built-in layers
    (Reshape, Permute) so that a saved model needs no custom layer to load.

    Why not one b x b stride-b convolution (the same function, the same weights): XNNPACK's int8
    kernel for that shape (C = 3, 4x4 stride 4) is slow. At 256x256x3, 1 thread: that stem alone
    took 0.29 ms in int8 against 0.07 ms in float32, making the whole int8 model slower than its
    float32 (0.36 vs 0.24 ms, `litert-benchmark`); written as space-to-depth plus a 1x1
    convolution the int8 model took 0.18 ms.
    """
    layers = import_keras().layers
    height, width, c = x.shape[1:]
    h, w = height // block, width // block
    extra_h, extra_w = height - h * block, width - w * block
    if extra_h or extra_w:  # what a stride-b "valid" convolution would drop as well
        x = layers.Cropping2D(((0, extra_h), (0, extra_w)), name="space_to_depth_crop")(x)
    x = layers.Reshape((h, block, w, block, c), name="space_to_depth_split")(x)
    x = layers.Permute((1, 3, 2, 4, 5), name="space_to_depth_order")(x)
    return layers.Reshape((h, w, block * block * c), name="space_to_depth")(x)


def build_edge(spec: PreprocessSpec) -> Any:
    """A fresh, uncompiled edge model for inputs shaped like `spec` (float32 in [0, 1])."""
    return build_edge_variant(spec)


def build_edge_variant(
    spec: PreprocessSpec,
    convs: tuple[tuple[int, int], ...] = CONVS,
    blocks: tuple[tuple[int, int], ...] = BLOCKS,
    dropout: float = DROPOUT,
    name: str = "edge_cnn",
) -> Any:
    """The edge topology with other widths/depths: `convs` and `blocks` as (filters, stride)."""
    keras = import_keras()
    layers = keras.layers

    def bn_relu(x: Any, name: str) -> Any:
        x = layers.BatchNormalization(name=f"{name}_bn")(x)
        return layers.ReLU(name=f"{name}_relu")(x)

    inputs = keras.Input(shape=spec.shape, name="image")
    x = inputs
    patch = patch_size(spec)
    if patch > 1:
        x = space_to_depth(x, patch)
        x = layers.Conv2D(PATCH_FILTERS, 1, use_bias=False, name="patchify")(x)
        x = bn_relu(x, "patchify")
    for i, (filters, stride) in enumerate(convs):
        name_i = f"conv{i + 1}"
        x = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=name_i)(
            x
        )
        x = bn_relu(x, name_i)
    for i, (filters, stride) in enumerate(blocks):
        name_i = f"block{i + 1}"
        x = layers.DepthwiseConv2D(
            3, strides=stride, padding="same", use_bias=False, name=f"{name_i}_dw"
        )(x)
        x = bn_relu(x, f"{name_i}_dw")
        x = layers.Conv2D(filters, 1, use_bias=False, name=f"{name_i}_pw")(x)
        x = bn_relu(x, f"{name_i}_pw")
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="p_sad")(x)
    return keras.Model(inputs, outputs, name=name)
