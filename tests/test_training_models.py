"""The seed CNN is exactly the notebook's architecture, and the registry is extensible."""

from __future__ import annotations

from edge_emotion.training.models import ARCHS, Recipe, build_model, get_arch, register_arch
from edge_emotion_runtime.preprocess import PreprocessSpec


def test_seed_model_has_59_076_673_parameters_at_256x256x3():
    model = build_model("seed", PreprocessSpec.square(256, 3))
    assert model.count_params() == 59_076_673


def test_seed_model_layer_sequence_matches_the_notebook():
    model = build_model("seed", PreprocessSpec.square(256, 3))
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == [
        "InputLayer",
        "Conv2D",
        "MaxPooling2D",
        "Conv2D",
        "MaxPooling2D",
        "Conv2D",
        "MaxPooling2D",
        "Flatten",
        "Dense",
        "Dropout",
        "Dense",
    ]
    convs = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
    assert [c.filters for c in convs] == [32, 64, 128]
    assert all(c.kernel_size == (3, 3) and c.activation.__name__ == "relu" for c in convs)
    dense, dropout, head = model.layers[-3:]
    assert dense.units == 512 and dense.activation.__name__ == "relu"
    assert dropout.rate == 0.5
    assert head.units == 1 and head.activation.__name__ == "sigmoid"
    assert tuple(model.input_shape) == (None, 256, 256, 3)


def test_seed_dense_input_follows_image_size_and_channels():
    model = build_model("seed", PreprocessSpec.square(48, 1))
    assert tuple(model.input_shape) == (None, 48, 48, 1)
    # 48 -> 46 -> 23 -> 21 -> 10 -> 8 -> 4: flatten 4*4*128 = 2048 features into Dense 512
    assert model.get_layer("flatten").output.shape[-1] == 2048


def test_seed_recipe_is_the_notebooks():
    assert get_arch("seed").recipe == Recipe(
        lr=1e-5, epochs=20, batch_size=32, patience=5, augment=False
    )


def test_registering_an_arch_makes_it_buildable():
    import keras

    def tiny(spec: PreprocessSpec):
        inputs = keras.Input(shape=spec.shape)
        return keras.Model(
            inputs,
            keras.layers.Dense(1, activation="sigmoid")(
                keras.layers.GlobalAveragePooling2D()(inputs)
            ),
        )

    register_arch("test-tiny", tiny, Recipe(lr=1e-3, epochs=3))
    try:
        assert build_model("test-tiny", PreprocessSpec.square(16, 1)).count_params() == 2
        assert get_arch("test-tiny").recipe.lr == 1e-3
    finally:
        ARCHS.pop("test-tiny")


def test_seed_smallest_input_is_22_pixels():
    import pytest

    from edge_emotion.errors import UsageError

    assert build_model("seed", PreprocessSpec.square(22, 1)).output_shape == (None, 1)
    with pytest.raises(UsageError, match="too small"):
        build_model("seed", PreprocessSpec.square(21, 1))
