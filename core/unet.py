"""The book's denoising U-Net (Generative Deep Learning, 2nd ed., chapter 8).

The network sees a noisy image x_t and the *variance* of its noise (noise_rate²) and
predicts the noise (or v, see core.diffusion). It is the keras.io DDIM example's
U-Net, written as one small function per idea:

* `SinusoidalEmbedding`: the noise variance as 32 sines and cosines (Vaswani et al.
  2017, §3.5, with log-spaced frequencies as in NeRF), so the network can tell a
  variance of 0.01 from 0.02 as easily as 0.9 from 0.91;
* `residual_block`: BatchNorm, two 3×3 convolutions, a skip connection;
* `down_block` / `up_block`: the two halves of the U, joined by skip connections;
* `build_unet`: all of it, with the book's widths as defaults (1,953,507 parameters).

Layers get explicit, systematic names ("down1_res0_add", "mid_res1_add", ...) so the
lab can show what a given block computes (`feature_layer_names`), and so rebuilding a
network never depends on Keras' global name counters.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers, ops

# The book's network: three resolution levels of 32, 64, 96 channels, two residual
# blocks per level, a bottom ("bottleneck") of two blocks of 128 channels.
BOOK_WIDTHS = (32, 64, 96)
BOOK_BOTTLENECK_WIDTH = 128
BOOK_BLOCK_DEPTH = 2
# 32 embedding dims = 16 frequencies, log-spaced from 1 to 1000: the slowest wave
# changes little over the variance range [0, 1], the fastest oscillates ~1000 times.
EMBEDDING_DIMS = 32
EMBEDDING_MIN_FREQUENCY = 1.0
EMBEDDING_MAX_FREQUENCY = 1000.0

# Named sizes. "tiny" trains at ~400 images/s at 32 px on 2 CPU cores and is the
# one a live lesson can afford (REFERENCE.md). "small" scales every book width by
# 3/4: about 0.56x the book's parameters and convolution FLOPs, so it trains
# roughly twice as fast as the book's net while keeping its shape (the same levels,
# depth and embedding), for a run of a few minutes that still looks like the book.
PRESETS: dict[str, dict] = {
    "tiny": {"widths": (16, 32, 64), "bottleneck_width": 64},
    "small": {"widths": (24, 48, 72), "bottleneck_width": 96},
    "book": {"widths": BOOK_WIDTHS, "bottleneck_width": BOOK_BOTTLENECK_WIDTH},
}
_DEFAULTS = {
    "widths": BOOK_WIDTHS,
    "block_depth": BOOK_BLOCK_DEPTH,
    "bottleneck_width": BOOK_BOTTLENECK_WIDTH,
    "embedding_dims": EMBEDDING_DIMS,
    "embedding_max_frequency": EMBEDDING_MAX_FREQUENCY,
}


def unet_kwargs(preset_or_dict="book") -> dict:
    """The full `build_unet` keyword arguments for a preset name or a partial dict.

    A dict is filled in from the book's values, so `{"widths": (16, 32, 64)}` means
    "the book's network with other widths". Two descriptions of the same network give
    equal dicts (widths always a tuple), which is how checkpoints compare them.
    """
    if isinstance(preset_or_dict, str):
        if preset_or_dict not in PRESETS:
            raise ValueError(
                f"unknown U-Net preset {preset_or_dict!r}; choose one of "
                f"{', '.join(PRESETS)} or pass a dict of build_unet arguments"
            )
        given = PRESETS[preset_or_dict]
    elif isinstance(preset_or_dict, dict):
        given = preset_or_dict
    else:
        raise ValueError(
            f"unet must be a preset name ({', '.join(PRESETS)}) or a dict of build_unet "
            f"arguments, got {type(preset_or_dict).__name__}"
        )
    unknown = sorted(set(given) - set(_DEFAULTS))
    if unknown:
        raise ValueError(
            f"unknown U-Net argument(s) {', '.join(unknown)}; allowed: {', '.join(_DEFAULTS)}"
        )
    kwargs = {**_DEFAULTS, **given}
    kwargs["widths"] = tuple(_positive_int("widths", w) for w in kwargs["widths"])
    if not kwargs["widths"]:
        raise ValueError("widths needs at least one level, e.g. (32, 64, 96)")
    for key in ("block_depth", "bottleneck_width", "embedding_dims"):
        kwargs[key] = _positive_int(key, kwargs[key])
    if kwargs["embedding_dims"] % 2:
        raise ValueError(
            "embedding_dims must be even (half sines, half cosines), "
            f"got {kwargs['embedding_dims']}"
        )
    freq = float(kwargs["embedding_max_frequency"])
    if not (math.isfinite(freq) and freq > EMBEDDING_MIN_FREQUENCY):
        raise ValueError(
            f"embedding_max_frequency must be a number above {EMBEDDING_MIN_FREQUENCY:g}, "
            f"got {freq}"
        )
    kwargs["embedding_max_frequency"] = freq
    return kwargs


def _positive_int(name, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive whole number, got {value!r}")
    return int(value)


def check_image_size(image_size, levels: int) -> int:
    """Each level halves the image, so the size must divide by 2**levels."""
    image_size = _positive_int("image_size", image_size)
    factor = 2**levels
    if image_size % factor:
        nearest = max(factor, factor * round(image_size / factor))
        raise ValueError(
            f"image size {image_size} must be divisible by {factor} for {levels} "
            f"down-sampling levels; try {nearest}"
        )
    return image_size


@keras.saving.register_keras_serializable(package="diffusion_lab")
class SinusoidalEmbedding(layers.Layer):
    """Embed a noise variance x, shape (..., 1), as [sin(ω·x), cos(ω·x)], shape (..., dims).

    The angular speeds are ω = 2π·f for `dims // 2` frequencies f spaced evenly in
    log space from `min_frequency` to `max_frequency` (the book: 16 from 1 to 1000).
    A real layer rather than a Lambda, so a saved model loads with safe_mode=True.
    """

    def __init__(self, embedding_dims=EMBEDDING_DIMS, min_frequency=EMBEDDING_MIN_FREQUENCY,
                 max_frequency=EMBEDDING_MAX_FREQUENCY, **kwargs):
        super().__init__(**kwargs)
        if embedding_dims < 2 or embedding_dims % 2:
            raise ValueError(f"embedding_dims must be an even number >= 2, got {embedding_dims}")
        self.embedding_dims = int(embedding_dims)
        self.min_frequency = float(min_frequency)
        self.max_frequency = float(max_frequency)

    def angular_speeds(self) -> np.ndarray:
        """ω = 2π·f, float32, shape (dims // 2,)."""
        frequencies = np.exp(np.linspace(math.log(self.min_frequency),
                                          math.log(self.max_frequency),
                                          self.embedding_dims // 2))
        return (2.0 * math.pi * frequencies).astype(np.float32)

    def call(self, noise_variances):
        angles = ops.convert_to_tensor(self.angular_speeds()) * noise_variances
        return ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.embedding_dims,)

    def get_config(self):
        return {**super().get_config(), "embedding_dims": self.embedding_dims,
                "min_frequency": self.min_frequency, "max_frequency": self.max_frequency}


def residual_block(x, width: int, name: str):
    """BatchNorm, 3×3 conv + swish, 3×3 conv, plus the input (He et al. 2016).

    The input is projected by a 1×1 conv only when its channel count differs from
    `width`. BatchNorm has no learned shift or scale (center=False, scale=False): the
    convolution that follows can learn both, so they would only add parameters.
    """
    if x.shape[-1] == width:
        residual = x
    else:
        residual = layers.Conv2D(width, kernel_size=1, name=f"{name}_skip")(x)
    x = layers.BatchNormalization(center=False, scale=False, name=f"{name}_norm")(x)
    x = layers.Conv2D(width, kernel_size=3, padding="same", activation="swish",
                      name=f"{name}_conv1")(x)
    x = layers.Conv2D(width, kernel_size=3, padding="same", name=f"{name}_conv2")(x)
    return layers.Add(name=f"{name}_add")([x, residual])


def down_block(x, skips: list, width: int, block_depth: int, name: str):
    """`block_depth` residual blocks, each output kept for the up path, then halve the size."""
    for j in range(block_depth):
        x = residual_block(x, width, f"{name}_res{j}")
        skips.append(x)
    return layers.AveragePooling2D(pool_size=2, name=f"{name}_pool")(x)


def up_block(x, skips: list, width: int, block_depth: int, name: str):
    """Double the size, then for each residual block concatenate the matching skip.

    Bilinear upsampling (not transposed convolutions) avoids checkerboard artefacts.
    """
    x = layers.UpSampling2D(size=2, interpolation="bilinear", name=f"{name}_upsample")(x)
    for j in range(block_depth):
        x = layers.Concatenate(name=f"{name}_concat{j}")([x, skips.pop()])
        x = residual_block(x, width, f"{name}_res{j}")
    return x


def build_unet(image_size: int, channels: int = 3, widths=BOOK_WIDTHS,
               block_depth: int = BOOK_BLOCK_DEPTH, bottleneck_width: int = BOOK_BOTTLENECK_WIDTH,
               embedding_dims: int = EMBEDDING_DIMS,
               embedding_max_frequency: float = EMBEDDING_MAX_FREQUENCY,
               name: str = "unet") -> keras.Model:
    """The book's U-Net: inputs [noisy_images (H, W, C), noise_variances (1, 1, 1)].

    With the defaults it is exactly the network of chapter 8: 1,953,507 parameters
    (1,950,627 trainable + 2,880 BatchNorm statistics) at any image size, since
    convolutions do not depend on it. Output: (H, W, C), the predicted noise (or v).
    """
    kw = unet_kwargs({"widths": widths, "block_depth": block_depth,
                      "bottleneck_width": bottleneck_width, "embedding_dims": embedding_dims,
                      "embedding_max_frequency": embedding_max_frequency})
    widths, block_depth = kw["widths"], kw["block_depth"]
    image_size = check_image_size(image_size, len(widths))
    channels = _positive_int("channels", channels)

    noisy_images = keras.Input(shape=(image_size, image_size, channels), name="noisy_images")
    noise_variances = keras.Input(shape=(1, 1, 1), name="noise_variances")

    # The embedding is the same for every pixel: compute it once, then tile it over
    # the image so each convolution sees the noise level next to the pixels.
    e = SinusoidalEmbedding(kw["embedding_dims"], EMBEDDING_MIN_FREQUENCY,
                            kw["embedding_max_frequency"], name="noise_embedding")(noise_variances)
    e = layers.UpSampling2D(size=image_size, interpolation="nearest",
                            name="noise_embedding_upsample")(e)
    x = layers.Conv2D(widths[0], kernel_size=1, name="image_conv")(noisy_images)
    x = layers.Concatenate(name="input_concat")([x, e])

    skips: list = []
    for i, width in enumerate(widths):
        x = down_block(x, skips, width, block_depth, f"down{i}")
    for j in range(block_depth):
        x = residual_block(x, kw["bottleneck_width"], f"mid_res{j}")
    for i, width in reversed(list(enumerate(widths))):
        x = up_block(x, skips, width, block_depth, f"up{i}")

    # Zero-initialised, so the untrained network predicts no noise at all: training
    # starts from the predict-zero baseline (pitfall P7), not from random outputs.
    outputs = layers.Conv2D(channels, kernel_size=1, kernel_initializer="zeros",
                            name="output_conv")(x)
    return keras.Model([noisy_images, noise_variances], outputs, name=name)


def feature_layer_names(network: keras.Model) -> list[str]:
    """Layers worth looking at, input to output: the noise embedding, the input
    concatenation, every residual block's output and the final convolution."""
    wanted = ("noise_embedding", "input_concat", "output_conv")
    return [layer.name for layer in network.layers
            if layer.name in wanted or layer.name.endswith("_add")]
