"""The U-Net is the book's network, parameter for parameter, and its parts behave."""

import math

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from core.unet import (  # noqa: E402
    PRESETS,
    SinusoidalEmbedding,
    build_unet,
    feature_layer_names,
    unet_kwargs,
)


def _split(model):
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    frozen = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    return trainable, frozen


@pytest.mark.parametrize("size", [32, 64])
def test_book_network_has_1953507_parameters_at_32_and_64_px(size):
    net = build_unet(size)
    assert net.count_params() == 1_953_507
    assert _split(net) == (1_950_627, 2_880)  # 2,880 = BatchNorm moving mean + variance
    assert net.output_shape == (None, size, size, 3)
    assert [tuple(i.shape) for i in net.inputs] == [(None, size, size, 3), (None, 1, 1, 1)]


def test_book_preset_is_the_default_network():
    assert unet_kwargs("book") == unet_kwargs({})
    assert build_unet(32, **unet_kwargs("book")).count_params() == 1_953_507


def test_tiny_preset_has_653763_parameters():
    assert build_unet(32, **unet_kwargs("tiny")).count_params() == 653_763


def test_small_preset_lies_between_tiny_and_book():
    counts = {name: build_unet(32, **unet_kwargs(name)).count_params() for name in PRESETS}
    assert counts["tiny"] < counts["small"] < counts["book"]


def test_unet_kwargs_fills_a_partial_dict_and_refuses_unknown_names():
    kw = unet_kwargs({"widths": [16, 32]})
    assert kw["widths"] == (16, 32) and kw["bottleneck_width"] == 128 and kw["block_depth"] == 2
    with pytest.raises(ValueError, match="tiny, small, book"):
        unet_kwargs("huge")
    with pytest.raises(ValueError, match="depth"):
        unet_kwargs({"depth": 3})


def test_indivisible_image_size_is_refused_with_a_suggestion():
    with pytest.raises(ValueError) as err:
        build_unet(30)
    assert str(err.value) == (
        "image size 30 must be divisible by 8 for 3 down-sampling levels; try 32")


def test_embedding_layer_round_trips_through_its_config():
    layer = SinusoidalEmbedding(embedding_dims=8, max_frequency=100.0, name="emb")
    clone = SinusoidalEmbedding.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(restored, SinusoidalEmbedding) and restored.embedding_dims == 8
    assert restored.max_frequency == 100.0


def test_embedding_matches_the_book_formula():
    variances = np.array([0.0, 0.01, 0.5, 1.0], np.float32).reshape(-1, 1, 1, 1)
    out = np.asarray(SinusoidalEmbedding()(variances))
    freqs = np.exp(np.linspace(math.log(1.0), math.log(1000.0), 16))
    angles = 2 * math.pi * freqs * variances
    expected = np.concatenate([np.sin(angles), np.cos(angles)], axis=-1)
    assert out.shape == (4, 1, 1, 32)
    # float32 angles reach 2π·1000 ≈ 6283, where one rounding step is 5e-4
    np.testing.assert_allclose(out, expected, atol=1e-3)
    np.testing.assert_array_equal(out[0, 0, 0], [0.0] * 16 + [1.0] * 16)


def test_untrained_network_predicts_no_noise():
    net = build_unet(16, widths=(8, 16), bottleneck_width=16, block_depth=1)
    x = np.random.default_rng(0).standard_normal((2, 16, 16, 3)).astype(np.float32)
    out = np.asarray(net([x, np.full((2, 1, 1, 1), 0.3, np.float32)]))
    assert out.shape == (2, 16, 16, 3)
    assert np.all(out == 0.0)


def test_feature_layer_names_list_blocks_input_to_output():
    net = build_unet(16, widths=(8, 16), bottleneck_width=16, block_depth=1)
    names = feature_layer_names(net)
    assert names[0] == "noise_embedding" and names[-1] == "output_conv"
    assert "mid_res0_add" in names and "down1_res0_add" in names and "up0_res0_add" in names
