"""Images for the lab: the built-in procedural flowers and images a user uploads.

Two sources feed every page and the trainer, and both end in the same place: float32
RGB arrays in [0, 1], HWC for one image and NHWC for a batch.

* `procedural_flowers` paints a seeded, endless data set of flowers with numpy alone.
  The book trains on Oxford 102 flowers, which the lab cannot download (no network at
  run time), so we draw flowers that share what makes that data set learnable: a round,
  centred subject with petals, a contrasting centre and a soft background.
* `load_image` turns whatever a user uploads into that array, or raises one
  `ImageLoadError` whose `.code` the app translates into a message that says what to do.

This module imports only numpy, Pillow and the standard library, so a notebook or a CLI
can use it without TensorFlow or Streamlit.
"""

from __future__ import annotations

import contextlib
import io
import math
import operator
import os
import re
import threading
import warnings
from pathlib import Path
from typing import IO, Union

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

__all__ = [
    "MIN_FLOWER_SIZE",
    "MAX_FLOWER_SIZE",
    "MAX_PIXELS",
    "MAX_UPLOAD_BYTES",
    "ImageLoadError",
    "procedural_flowers",
    "flower_grid",
    "load_image",
    "center_crop_resize",
]

# ---------------------------------------------------------------------------------------
# Procedural flowers: constants
# ---------------------------------------------------------------------------------------

# Sizes the painter supports. Below 32 px a flower is a few blobs; above 256 px the lab's
# small models would not train in a lesson anyway.
MIN_FLOWER_SIZE = 32
MAX_FLOWER_SIZE = 256

# Parameters are drawn for blocks of this many images from a stream seeded by
# (seed, block index), so image i only depends on (seed, i), never on how many images
# were asked for.
PARAM_BLOCK = 256

# Pixels painted per vectorised chunk: small enough that the ~30 float32 temporaries of
# one chunk stay in a 2 MB L2 cache (measured fastest on a 2-core EPYC), large enough
# that Python overhead stays small.
CHUNK_PIXELS = 1 << 16

# Anti-aliasing: an edge fades over this many pixels either side (smoothstep on a signed
# distance), so shapes look soft at 32 px and still crisp at 256 px.
EDGE_SOFTNESS_PX = 0.7

# Geometry, in units of half the image side (the image spans [-1, 1]).
PETAL_COUNT_RANGE = (4, 16)  # inclusive
FLOWER_RADIUS_RANGE = (0.48, 0.82)
CENTRE_JITTER = 0.13
CENTRE_DISC_RANGE = (0.13, 0.30)  # radius of the centre disc, as a fraction of the flower
STEM_PROBABILITY = 0.6
STEM_WIDTH_RANGE = (0.035, 0.065)  # full width
STEM_BEND_RANGE = (-0.3, 0.3)  # sideways offset of the stem at the bottom edge
LEAF_PROBABILITY = 0.45  # given a stem
LEAF_POSITION_RANGE = (0.35, 0.75)  # along the visible part of the stem
LEAF_ANGLE_RANGE = (0.5, 1.1)  # radians away from the stem, pointing upward
LEAF_LENGTH_RANGE = (0.25, 0.45)
LEAF_WIDTH = 0.22  # half-width as a fraction of the length
LEAF_SHAPE = (0.6, 1.2)  # (a, b) of the petal profile below: a pointed tip
INNER_LAYER_PROBABILITY = 0.3  # a second, shorter ring of petals between the first
INNER_LENGTH_RANGE = (0.55, 0.75)  # as a fraction of the outer petals
INNER_TINTS = (0.7, 1.2)  # the inner ring is darker or lighter than the outer one...
INNER_TINT_JITTER = 0.1  # ...by a factor near one of these

# Petal styles: (probability, width as a fraction of the space one petal has, tip
# exponent range). The half-width along a petal follows t^a (1-t)^b (t: 0 at the centre,
# 1 at the tip); b = 0.5 gives a round end, b > 1 a pointed one.
PETAL_STYLES = {
    "rounded": (0.4, (0.9, 1.4), (0.45, 0.6)),
    "pointed": (0.35, (0.75, 1.15), (1.0, 1.6)),
    "thin": (0.25, (0.45, 0.7), (0.6, 1.0)),
}
PETAL_BASE_EXPONENT = (0.45, 0.7)  # a: how fast a petal widens from the centre
# Thin petals read as daisies: at least this many, around a bigger centre disc.
THIN_MIN_PETALS = 8
THIN_CENTRE_SCALE = 1.15

# Shading, as fractions of brightness.
PETAL_EDGE_DARKEN = 0.35  # darker petal edges make overlapping petals readable
CENTRE_RING_DARKEN = 0.3  # a shadow on the petals around the centre disc gives depth
CENTRE_HIGHLIGHT = 0.25  # the centre disc is lighter in the middle (a dome)
CENTRE_RING_WIDTH = 0.3  # of the flower radius

# Petal colours as HSV. Hues between these two values (greens and cyans) are skipped:
# a green flower on a green background teaches the model nothing.
PETAL_HUE_GAP = (0.19, 0.52)
PETAL_SATURATION_RANGE = (0.45, 0.95)
PETAL_VALUE_RANGE = (0.72, 1.0)
WHITE_PETAL_PROBABILITY = 0.13
WHITE_SATURATION_SCALE = 0.12  # white petals keep a hint of their hue
WHITE_VALUE_RANGE = (0.93, 1.0)
# The colour drifts from the centre to the tip toward white, a darker shade or a nearby
# hue, by this amount, with this curve exponent.
PETAL_GRADIENT_AMOUNT = (0.25, 0.7)
PETAL_GRADIENT_GAMMA = (0.6, 2.0)
DARK_TIP_SHADE = 0.45
NEARBY_HUE_SHIFT = 0.09
SWAP_GRADIENT_PROBABILITY = 0.4  # the tips carry the base colour, the centre the shade

# Centre disc colours (HSV ranges); one is picked per flower, then swapped for the most
# contrasting of yellow / dark brown if it is too close in brightness to the petals.
CENTRE_PALETTE = (
    ((0.11, 0.15), (0.8, 1.0), (0.85, 1.0)),  # yellow
    ((0.06, 0.10), (0.8, 1.0), (0.75, 0.95)),  # orange
    ((0.04, 0.09), (0.6, 0.9), (0.18, 0.38)),  # dark brown
    ((0.75, 0.95), (0.3, 0.6), (0.12, 0.28)),  # near-black purple
    ((0.15, 0.22), (0.45, 0.75), (0.7, 0.9)),  # pale green-yellow
)
MIN_CENTRE_CONTRAST = 0.22  # in luma

STEM_HSV = ((0.24, 0.36), (0.45, 0.8), (0.3, 0.55))
LEAF_LIGHTER = 1.15  # leaves catch more light than the stem

# Backgrounds: a vertical gradient plus a few large Gaussian blobs (out-of-focus foliage,
# soil or sky), all from one palette per image.
BACKGROUND_PALETTES = (
    ((0.22, 0.38), (0.35, 0.75), (0.25, 0.6)),  # greens
    ((0.05, 0.11), (0.3, 0.6), (0.2, 0.5)),  # browns
    ((0.53, 0.60), (0.2, 0.5), (0.55, 0.85)),  # sky blues
    ((0.25, 0.40), (0.4, 0.8), (0.1, 0.28)),  # dark foliage
)
BACKGROUND_PALETTE_WEIGHTS = (0.35, 0.25, 0.25, 0.15)
FOREIGN_BLOB_PROBABILITY = 0.25  # a blob from another palette: sky through leaves
BACKGROUND_BLOBS = 5
BLOB_SIGMA_RANGE = (0.2, 0.55)
BLOB_POSITION_RANGE = (-1.1, 1.1)  # a little past the edges, so blobs can be cut off
BLOB_WEIGHT_RANGE = (0.4, 1.0)
BLOB_VALUE_JITTER = 0.45  # blobs are up to this much lighter or darker than the base
BACKGROUND_BASE_WEIGHT = 0.6  # weight of the gradient against the blobs

LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)

# Grid helper: gap between tiles, and its grey level.
GRID_GAP_PX = 2
GRID_GAP_VALUE = 1.0

# ---------------------------------------------------------------------------------------
# Loading user images: constants
# ---------------------------------------------------------------------------------------

# The header says how many pixels an image has before anything is decoded; refusing
# big ones there keeps a 20,000 x 20,000 "decompression bomb" from eating the memory.
MAX_PIXELS = 40_000_000
# Bigger uploads are refused before Pillow sees them (Streamlit has its own limit too).
BYTES_PER_MB = 1024 * 1024
MAX_UPLOAD_BYTES = 20 * BYTES_PER_MB

UINT8_MAX = 255.0
UINT16_MAX = 65535.0
WHITE = 1.0  # transparent pixels are composited over white, like a browser shows them

# File signatures of formats Pillow reads: bytes that start like an image but fail to
# open are reported as a damaged image ("corrupt"), not as "not an image".
IMAGE_SIGNATURES = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",  # JPEG
    b"GIF87a",
    b"GIF89a",
    b"BM",  # BMP
    b"II*\x00",  # TIFF, little-endian
    b"MM\x00*",  # TIFF, big-endian
)
# Pillow messages that mean "this build cannot decode it", as opposed to damaged data.
UNSUPPORTED_HINTS = ("not available", "unsupported", "not supported", "unknown", "ghostscript")

Source = Union[bytes, bytearray, memoryview, str, os.PathLike, IO[bytes]]


# ---------------------------------------------------------------------------------------
# Procedural flowers
# ---------------------------------------------------------------------------------------


def procedural_flowers(n: int, size: int = 32, seed: int = 0) -> np.ndarray:
    """Paint `n` seeded flowers, float32 (n, size, size, 3) in [0, 1].

    Determinism: the parameters of image i come from the random stream
    `SeedSequence(seed, spawn_key=(i // PARAM_BLOCK,))` (the same stream as the
    `i // PARAM_BLOCK`-th child of `SeedSequence(seed).spawn(...)`), which draws every
    parameter for a whole block of images in a fixed order. So image i depends only on
    (seed, i): `procedural_flowers(5, seed=3)[2]` equals `procedural_flowers(10, seed=3)[2]`.
    The parameters do not depend on `size` either, so the same index shows the same
    flower at 32 px and at 256 px (the pixels differ, of course).

    Painting is vectorised over a chunk of images at once: polar coordinates around
    each flower's centre, signed distances to petals, centre disc and stem, and a
    smoothstep over about one pixel for anti-aliased edges.
    """
    n = _check_int("n", n, low=1)
    size = _check_int(
        "size",
        size,
        low=MIN_FLOWER_SIZE,
        high=MAX_FLOWER_SIZE,
        hint=f"Use a size from {MIN_FLOWER_SIZE} to {MAX_FLOWER_SIZE} pixels.",
    )
    seed = _check_int("seed", seed, low=0)

    params = _flower_params(n, seed)
    images = np.empty((n, size, size, 3), dtype=np.float32)
    chunk = max(1, CHUNK_PIXELS // (size * size))
    grid = _pixel_grid(size)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        part = {k: v[start:stop] for k, v in params.items()}
        images[start:stop] = _paint(part, grid, size).transpose(0, 2, 3, 1)
    return images


def flower_grid(images: np.ndarray, cols: int, gap: int = GRID_GAP_PX) -> np.ndarray:
    """Tile a batch (N, H, W, 3) into one (rows*H + gaps, cols*W + gaps, 3) image.

    Tiles are separated by `gap` pixels of white, which reads well on the light and the
    dark theme; missing tiles in the last row stay white. Meant for READMEs and figures.
    """
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(
            f"flower_grid expects a batch of images (N, H, W, C), got shape {images.shape}."
        )
    cols = _check_int("cols", cols, low=1)
    gap = _check_int("gap", gap, low=0)
    n, h, w, c = images.shape
    cols = min(cols, max(n, 1))
    rows = max(1, math.ceil(n / cols))
    out = np.full(
        (rows * h + (rows - 1) * gap, cols * w + (cols - 1) * gap, c),
        GRID_GAP_VALUE,
        dtype=np.result_type(images.dtype, np.float32),
    )
    for i in range(n):
        r, q = divmod(i, cols)
        y, x = r * (h + gap), q * (w + gap)
        out[y : y + h, x : x + w] = images[i]
    return out


def _flower_params(n: int, seed: int) -> dict[str, np.ndarray]:
    """Parameters of images 0..n-1, drawn block by block (see `procedural_flowers`)."""
    blocks = [
        _draw_block(np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(b,))))
        for b in range(math.ceil(n / PARAM_BLOCK))
    ]
    return {k: np.concatenate([blk[k] for blk in blocks])[:n] for k in blocks[0]}


def _draw_block(rng: np.random.Generator, m: int = PARAM_BLOCK) -> dict[str, np.ndarray]:
    """Draw every parameter of `m` flowers, always all of them and in the same order.

    Drawing a parameter even when a flower does not use it (a leaf without a stem) keeps
    the stream aligned, so changing one rule here changes only what it should.
    """
    p: dict[str, np.ndarray] = {}

    def uniform(lo_hi, shape=(m,)):
        return rng.uniform(lo_hi[0], lo_hi[1], size=shape)

    # Shape of the flower head.
    p["petals"] = rng.integers(PETAL_COUNT_RANGE[0], PETAL_COUNT_RANGE[1] + 1, size=m)
    p["radius"] = uniform(FLOWER_RADIUS_RANGE)
    p["cx"] = uniform((-CENTRE_JITTER, CENTRE_JITTER))
    p["cy"] = uniform((-CENTRE_JITTER, CENTRE_JITTER))
    p["rotation"] = uniform((0.0, 2 * np.pi))
    p["centre_frac"] = uniform(CENTRE_DISC_RANGE)

    names = list(PETAL_STYLES)
    probs = np.array([PETAL_STYLES[k][0] for k in names])
    style = rng.choice(len(names), size=m, p=probs / probs.sum())
    fill_u, tip_u = rng.random(m), rng.random(m)
    p["fill"] = np.empty(m)
    p["tip_exp"] = np.empty(m)
    for i, name in enumerate(names):
        _, fill, tip = PETAL_STYLES[name]
        sel = style == i
        p["fill"][sel] = fill[0] + (fill[1] - fill[0]) * fill_u[sel]
        p["tip_exp"][sel] = tip[0] + (tip[1] - tip[0]) * tip_u[sel]
    p["base_exp"] = uniform(PETAL_BASE_EXPONENT)
    thin = style == names.index("thin")
    p["centre_frac"] = np.where(thin, p["centre_frac"] * THIN_CENTRE_SCALE, p["centre_frac"])
    # Re-spread the count over THIN_MIN_PETALS..max rather than clamping, so thin-petalled
    # flowers do not pile up at exactly the minimum.
    spread = PETAL_COUNT_RANGE[1] - THIN_MIN_PETALS + 1
    p["petals"] = np.where(
        thin, np.maximum(p["petals"], THIN_MIN_PETALS + p["petals"] % spread), p["petals"]
    )

    p["inner"] = (rng.random(m) < INNER_LAYER_PROBABILITY).astype(float)
    p["inner_len"] = uniform(INNER_LENGTH_RANGE)

    # Petal colours: inner colour, outer colour and the curve between them.
    hue = rng.random(m) * (1 - (PETAL_HUE_GAP[1] - PETAL_HUE_GAP[0]))
    hue = np.where(hue > PETAL_HUE_GAP[0], hue + PETAL_HUE_GAP[1] - PETAL_HUE_GAP[0], hue)
    sat = uniform(PETAL_SATURATION_RANGE)
    val = uniform(PETAL_VALUE_RANGE)
    white = rng.random(m) < WHITE_PETAL_PROBABILITY
    sat = np.where(white, sat * WHITE_SATURATION_SCALE, sat)
    val = np.where(white, uniform(WHITE_VALUE_RANGE), val)
    base = _hsv_to_rgb(hue, sat, val)
    variant = rng.integers(0, 3, size=m)  # toward white / darker / a nearby hue
    shifted = _hsv_to_rgb((hue + uniform((-NEARBY_HUE_SHIFT, NEARBY_HUE_SHIFT))) % 1.0, sat, val)
    tip_target = np.select(
        [variant[:, None] == 0, variant[:, None] == 1],
        [np.ones_like(base), base * DARK_TIP_SHADE],
        shifted,
    )
    amount = uniform(PETAL_GRADIENT_AMOUNT)[:, None]
    tip = base + (tip_target - base) * amount
    swap = (rng.random(m) < SWAP_GRADIENT_PROBABILITY)[:, None]
    p["petal_inner"] = np.where(swap, tip, base)
    p["petal_outer"] = np.where(swap, base, tip)
    p["gamma"] = uniform(PETAL_GRADIENT_GAMMA)
    # The inner ring of petals is a darker or lighter shade of the outer one.
    p["inner_tint"] = rng.choice(INNER_TINTS, size=m) * uniform(
        (1 - INNER_TINT_JITTER, 1 + INNER_TINT_JITTER)
    )

    # Centre disc colour, forced to contrast with the petals.
    pick = rng.integers(0, len(CENTRE_PALETTE), size=m)
    options = np.stack([_hsv_from_ranges(rng, r, m) for r in CENTRE_PALETTE], axis=1)
    centre = options[np.arange(m), pick]
    yellow, brown = options[:, 0], options[:, 2]
    petal_luma = base @ LUMA
    weak = np.abs(centre @ LUMA - petal_luma) < MIN_CENTRE_CONTRAST
    best = np.where(
        (np.abs(yellow @ LUMA - petal_luma) > np.abs(brown @ LUMA - petal_luma))[:, None],
        yellow,
        brown,
    )
    p["centre_color"] = np.where(weak[:, None], best, centre)

    # Stem and leaf.
    p["stem"] = (rng.random(m) < STEM_PROBABILITY).astype(float)
    p["stem_width"] = uniform(STEM_WIDTH_RANGE)
    p["stem_bend"] = uniform(STEM_BEND_RANGE)
    p["stem_color"] = _hsv_from_ranges(rng, STEM_HSV, m)
    p["leaf"] = p["stem"] * (rng.random(m) < LEAF_PROBABILITY)
    p["leaf_at"] = uniform(LEAF_POSITION_RANGE)
    p["leaf_side"] = rng.choice([-1.0, 1.0], size=m)
    p["leaf_angle"] = uniform(LEAF_ANGLE_RANGE)
    p["leaf_len"] = uniform(LEAF_LENGTH_RANGE)

    # Background: a palette, a vertical gradient and blobs.
    n_pal, n_blobs = len(BACKGROUND_PALETTES), BACKGROUND_BLOBS
    weights = np.array(BACKGROUND_PALETTE_WEIGHTS)
    palette = rng.choice(n_pal, size=m, p=weights / weights.sum())
    bg = np.stack(
        [_hsv_from_ranges(rng, r, m, count=2 + n_blobs) for r in BACKGROUND_PALETTES],
        axis=1,
    )  # (m, palettes, 2 gradient colours + blobs, 3)
    colours = bg[np.arange(m), palette]  # (m, 2 + blobs, 3)
    foreign = rng.random((m, n_blobs)) < FOREIGN_BLOB_PROBABILITY
    other = bg[np.arange(m)[:, None], rng.integers(0, n_pal, (m, n_blobs)), 2 + np.arange(n_blobs)]
    colours[:, 2:] = np.where(foreign[..., None], other, colours[:, 2:])
    jitter = 1 + rng.uniform(-BLOB_VALUE_JITTER, BLOB_VALUE_JITTER, (m, n_blobs, 1))
    colours[:, 2:] = np.clip(colours[:, 2:] * jitter, 0, 1)
    p["bg_colors"] = colours
    p["blob_x"] = uniform(BLOB_POSITION_RANGE, (m, n_blobs))
    p["blob_y"] = uniform(BLOB_POSITION_RANGE, (m, n_blobs))
    p["blob_sigma"] = uniform(BLOB_SIGMA_RANGE, (m, n_blobs))
    p["blob_weight"] = uniform(BLOB_WEIGHT_RANGE, (m, n_blobs))
    return {k: np.asarray(v, dtype=np.float32) for k, v in p.items()}


def _hsv_from_ranges(rng, ranges, m, count=None):
    """Random colours with hue, saturation, value each uniform in its range."""
    shape = (m,) if count is None else (m, count)
    h, s, v = (rng.uniform(lo, hi, shape) for lo, hi in ranges)
    return _hsv_to_rgb(h % 1.0, s, v)


def _hsv_to_rgb(h, s, v):
    """Vectorised HSV -> RGB (all in [0, 1]); returns shape h.shape + (3,)."""
    h, s, v = np.broadcast_arrays(h, s, v)
    i = np.floor(h * 6.0).astype(int) % 6
    f = h * 6.0 - np.floor(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    table = np.stack(
        [
            np.stack([v, t, p], -1),
            np.stack([q, v, p], -1),
            np.stack([p, v, t], -1),
            np.stack([p, q, v], -1),
            np.stack([t, p, v], -1),
            np.stack([v, p, q], -1),
        ],
        axis=-2,
    )
    return np.take_along_axis(table, i[..., None, None], axis=-2)[..., 0, :]


def _pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in [-1, 1]: x across (1, 1, S), y down (1, S, 1)."""
    c = ((np.arange(size, dtype=np.float32) + 0.5) / size * 2 - 1).astype(np.float32)
    return c[None, None, :], c[None, :, None]


def _coverage(distance, softness):
    """Smoothstep coverage of a signed distance: 1 inside, 0 outside, soft over the edge."""
    t = np.clip(0.5 - distance / (2 * softness), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _petal_distance(along, across, length, half_width, a, b):
    """Approximate signed distance to a petal lying along the +x axis from the origin.

    The half-width at t = along / length is `half_width * t^a (1-t)^b`, normalised so
    its maximum is `half_width`. Capping with the distances past the tip and behind the
    base keeps the petal from leaking a hairline along its axis.
    """
    t_peak = a / (a + b)
    norm = 1.0 / (t_peak**a * (1 - t_peak) ** b)
    t = np.clip(along / length, 0.0, 1.0)
    hw = (half_width * norm) * t**a * (1 - t) ** b
    d = np.maximum(across - hw, along - length)
    return np.maximum(d, -along), hw


def _petal_ring(r, theta, k, length, fill, a, b, softness):
    """Coverage and edge shading of k petals around the origin, petal 0 along theta=0.

    Each pixel is tested against the two nearest petal axes (its own sector and the
    neighbouring one), so wide petals overlap instead of being clipped at sector lines.
    """
    sector = (2 * np.pi) / k
    # Angle to the nearest petal axis, in [0, sector/2]; rint is much cheaper than mod.
    turns = theta * (k / (2 * np.pi))
    phi = np.abs(turns - np.rint(turns)) * sector
    cos_phi, sin_phi = np.cos(phi), np.sin(phi)
    # The neighbouring axis is `sector` further on; angle addition saves two trig calls.
    cos_s, sin_s = np.cos(sector), np.sin(sector)
    frames = (
        (r * cos_phi, r * sin_phi),
        (r * (cos_phi * cos_s + sin_phi * sin_s), r * np.abs(sin_phi * cos_s - cos_phi * sin_s)),
    )
    # Half-width: `fill` of the arc one petal has at mid-length.
    half_width = fill * (np.pi * 0.5 * length / k)
    best_d, best_shade = None, None
    for along, across in frames:
        d, hw = _petal_distance(along, across, length, half_width, a, b)
        edge = np.minimum(across / (hw + 1e-6), 1.0)
        shade = 1 - PETAL_EDGE_DARKEN * edge * edge
        if best_d is None:
            best_d, best_shade = d, shade
        else:
            nearer = d < best_d
            best_d = np.where(nearer, d, best_d)
            best_shade = np.where(nearer, shade, best_shade)
    return _coverage(best_d, softness), best_shade


def _background(p, x, y, size):
    """Soft backgrounds, (m, 3, S, S): a vertical gradient mixed with Gaussian blobs.

    Every term is a weight field times a colour, so the whole mix is one batched matmul;
    the blobs are separable Gaussians (an outer product of two 1-D exponentials).
    """
    m = p["cx"].shape[0]
    sigma2 = 2 * p["blob_sigma"][..., None] ** 2
    gx = np.exp(-((x[0, 0] - p["blob_x"][..., None]) ** 2) / sigma2)  # (m, J, S)
    gy = np.exp(-((y[0, :, 0] - p["blob_y"][..., None]) ** 2) / sigma2)  # (m, J, S)
    blobs = gy[..., :, None] * (gx * p["blob_weight"][..., None])[..., None, :]
    down = (y[0, :, 0] + 1) / 2  # 0 at the top, 1 at the bottom
    top = np.broadcast_to(BACKGROUND_BASE_WEIGHT * (1 - down)[:, None], (size, size))
    bottom = np.broadcast_to(BACKGROUND_BASE_WEIGHT * down[:, None], (size, size))
    grad = np.broadcast_to(np.stack([top, bottom]), (m, 2, size, size))
    weights = np.concatenate([grad, blobs], axis=1).reshape(m, -1, size * size)
    mixed = np.matmul(p["bg_colors"].transpose(0, 2, 1), weights)  # (m, 3, S*S)
    mixed /= weights.sum(axis=1, keepdims=True)
    return mixed.reshape(m, 3, size, size)


def _over(canvas, colour, alpha):
    """Alpha-composite `colour` over a channel-first `canvas` (m, 3, S, S), in place.

    Painting channel-first keeps the innermost loop over whole pixel rows; with
    channels last, every broadcast against an alpha map would loop over just 3 values.
    """
    canvas += (colour - canvas) * alpha[:, None]


def _over_some(canvas, which, colour, alpha):
    """`_over` for the images `which` of the chunk only (alpha holds just those)."""
    part = canvas[which]
    _over(part, colour, alpha)
    canvas[which] = part


def _paint(p: dict[str, np.ndarray], grid, size: int) -> np.ndarray:
    """Paint one chunk of flowers, channel-first (m, 3, S, S): background, stem and
    leaf, petals, centre disc. Optional parts are painted only where they appear."""
    x, y = grid
    col = lambda name: p[name][:, None, None]  # noqa: E731  (m,) -> (m, 1, 1)
    colour = lambda name: p[name][:, :, None, None]  # noqa: E731  (m, 3) -> (m, 3, 1, 1)
    soft = np.float32(EDGE_SOFTNESS_PX * 2.0 / size)

    canvas = _background(p, x, y, size)
    cx, cy = col("cx"), col("cy")

    # Stem: a gently bending line from the flower centre to the bottom edge, drawn first
    # so the flower head covers its top.
    stem = np.flatnonzero(p["stem"])
    if stem.size:
        scx, scy, bend = cx[stem], cy[stem], col("stem_bend")[stem]
        depth = np.clip((y - scy) / (1 - scy), 0.0, 1.0)  # 0 at the flower, 1 at the bottom
        stem_d = np.abs(x - (scx + bend * depth * depth)) - col("stem_width")[stem] / 2
        stem_alpha = _coverage(stem_d, soft) * (y > scy)
        _over_some(canvas, stem, colour("stem_color")[stem], stem_alpha)

    # Leaf: a pointed petal attached to the stem, pointing up and outwards.
    leaf = np.flatnonzero(p["leaf"] * (p["cy"] + p["radius"] < 1))
    if leaf.size:
        lcy = cy[leaf]
        visible_from = lcy + col("radius")[leaf]
        leaf_y = visible_from + (1 - visible_from) * col("leaf_at")[leaf]
        leaf_x = cx[leaf] + col("stem_bend")[leaf] * ((leaf_y - lcy) / (1 - lcy)) ** 2
        # -pi/2 points up (y grows downward).
        ang = -np.pi / 2 + col("leaf_side")[leaf] * col("leaf_angle")[leaf]
        lx, ly = x - leaf_x, y - leaf_y
        along = lx * np.cos(ang) + ly * np.sin(ang)
        across = np.abs(ly * np.cos(ang) - lx * np.sin(ang))
        leaf_len = col("leaf_len")[leaf]
        leaf_d, _ = _petal_distance(along, across, leaf_len, LEAF_WIDTH * leaf_len, *LEAF_SHAPE)
        leaf_rgb = np.minimum(colour("stem_color")[leaf] * LEAF_LIGHTER, 1.0)
        _over_some(canvas, leaf, leaf_rgb, _coverage(leaf_d, soft))

    # Flower head in polar coordinates around its centre.
    dx, dy = x - cx, y - cy
    r = np.sqrt(dx * dx + dy * dy)
    theta = np.arctan2(dy, dx) - col("rotation")
    radius, k = col("radius"), col("petals")
    centre_r = radius * col("centre_frac")
    a, b = col("base_exp"), col("tip_exp")

    # Petal colour: inner -> outer along the radius, darker at petal edges and in a ring
    # around the centre disc.
    g = np.clip((r - centre_r) / (radius - centre_r), 0.0, 1.0) ** col("gamma")
    inner_rgb, outer_rgb = colour("petal_inner"), colour("petal_outer")
    petal_rgb = inner_rgb + (outer_rgb - inner_rgb) * g[:, None]
    ring = 1 - CENTRE_RING_DARKEN * np.exp(-(((r - centre_r) / (CENTRE_RING_WIDTH * radius)) ** 2))

    alpha, shade = _petal_ring(r, theta, k, radius, col("fill"), a, b, soft)
    _over(canvas, petal_rgb * (shade * ring)[:, None], alpha)

    # Optional inner ring, rotated by half a petal so it shows between the outer petals.
    inner = np.flatnonzero(p["inner"])
    if inner.size:
        ki = k[inner]
        inner_alpha, inner_shade = _petal_ring(
            r[inner],
            theta[inner] + np.pi / ki,
            ki,
            radius[inner] * col("inner_len")[inner],
            col("fill")[inner],
            a[inner],
            b[inner],
            soft,
        )
        tint = col("inner_tint")[inner][:, None]
        inner_petal = np.minimum(petal_rgb[inner] * tint, 1.0)
        _over_some(canvas, inner, inner_petal * (inner_shade * ring[inner])[:, None], inner_alpha)

    # Centre disc, lit like a dome: lighter in the middle, darker at the rim.
    dome = 1 + CENTRE_HIGHLIGHT * (1 - 2 * np.minimum(r / centre_r, 1.0) ** 2)
    _over(canvas, colour("centre_color") * dome[:, None], _coverage(r - centre_r, soft))

    return np.clip(canvas, 0.0, 1.0)


def _check_int(name, value, low=None, high=None, hint=""):
    """Return `value` as an int, or raise a ValueError that says what is allowed."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}. {hint}".strip())
    try:
        value = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer, got {value!r}. {hint}".strip()) from None
    if (low is not None and value < low) or (high is not None and value > high):
        allowed = (
            f"from {low} to {high}" if high is not None else f"at least {low}"
        )
        raise ValueError(f"{name} must be {allowed}, got {value}. {hint}".strip())
    return value


# ---------------------------------------------------------------------------------------
# Loading user images
# ---------------------------------------------------------------------------------------


class ImageLoadError(ValueError):
    """An upload the lab cannot use, with a `.code` the app translates.

    `.code` is one of "empty", "not_image", "corrupt", "too_large", "unsupported";
    `.params` holds the numbers a translated message may show. The English message
    (`str(err)`) already tells the user what to do.
    """

    CODES = ("empty", "not_image", "corrupt", "too_large", "unsupported")

    def __init__(self, code: str, message: str, **params):
        if code not in self.CODES:
            raise ValueError(f"unknown ImageLoadError code {code!r}")
        super().__init__(message)
        self.code = code
        self.params = params

    def __reduce__(self):
        # Keeps the error intact across processes (the trainer runs in a child process).
        return (type(self), (self.code, self.args[0]), {"params": self.params})


def load_image(source: Source, size: int | None = None, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read an image a user gave us into float32 RGB (H, W, 3) in [0, 1].

    `source` is bytes, a path, or a binary file-like object (a Streamlit UploadedFile
    works). Any still image Pillow reads is accepted; an animation gives its first
    frame. EXIF orientation is applied, transparency is composited over white, and
    16-bit images keep their full range (divided by 65535, not clipped at 255).
    With `size`, the image is centre-cropped to a square and resized to size x size:
    cropping keeps the flower round where squashing would not.

    Raises `ImageLoadError` for anything the user can fix; its `.code` says which case.
    """
    if size is not None:
        size = _check_int("size", size, low=1)
    data = _read_source(source)
    if len(data) == 0:
        raise ImageLoadError("empty", "The file is empty. Choose another image file.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise _too_large_bytes(len(data))

    with _strict_decoding():
        img = _open(data, max_pixels)
        if size is not None and img.format == "JPEG":
            # Let libjpeg decode at 1/2, 1/4 or 1/8 scale when the photo is much bigger
            # than needed; the result is never smaller than `size` on its short side.
            img.draft(None, (size, size))
        _decode(img, max_pixels)
        img = _apply_orientation(img)
        array = _to_rgb_float(img)
    if size is not None:
        array = center_crop_resize(array, size)
    return array


def center_crop_resize(img: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop an (H, W, 3) image to a square, then resize it to size x size.

    Cropping (never squashing) keeps shapes as they are. Lanczos resampling on float
    channels avoids both aliasing when shrinking and 8-bit rounding; its slight
    overshoot is clipped back to [0, 1].
    """
    img = np.asarray(img, dtype=np.float32)
    if img.ndim != 3 or img.shape[2] != 3 or min(img.shape[:2]) == 0:
        raise ValueError(f"center_crop_resize expects an (H, W, 3) image, got shape {img.shape}.")
    size = _check_int("size", size, low=1)
    h, w = img.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = img[top : top + side, left : left + side]
    if side == size:
        return np.ascontiguousarray(square)
    channels = []
    for c in range(3):
        band = Image.fromarray(np.ascontiguousarray(square[..., c]))  # float32 -> mode "F"
        channels.append(np.asarray(band.resize((size, size), Image.Resampling.LANCZOS)))
    return np.clip(np.stack(channels, axis=-1), 0.0, 1.0).astype(np.float32)


# A lock so two threads (Streamlit sessions) that load at once restore the flag correctly.
_TRUNCATION_LOCK = threading.Lock()


@contextlib.contextmanager
def _strict_decoding():
    """Make truncated files fail to decode, whatever the process-wide setting is.

    Pillow can be told (globally) to pad truncated images with grey; a damaged upload
    must be reported instead. The flag is only touched if someone else set it, and it
    is put back afterwards.
    """
    if not ImageFile.LOAD_TRUNCATED_IMAGES:
        yield
        return
    with _TRUNCATION_LOCK:
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = True


def _read_source(source: Source) -> bytes:
    """Bytes of `source`, reading at most one byte past the upload limit."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        n = path.stat().st_size
        if n > MAX_UPLOAD_BYTES:
            raise _too_large_bytes(n)
        return path.read_bytes()
    if hasattr(source, "getvalue"):  # BytesIO, Streamlit's UploadedFile
        return bytes(source.getvalue())
    if hasattr(source, "read"):
        data = source.read(MAX_UPLOAD_BYTES + 1)
        if isinstance(data, str):
            raise TypeError("load_image needs a binary file object (opened with 'rb').")
        return bytes(data)
    raise TypeError(
        f"load_image accepts bytes, a path or a binary file object, not {type(source).__name__}."
    )


# `.params` of a "too_large" error: `size` and `limit` are ready to show in any language
# ("48.0 MP", "20 MB"); the raw numbers come alongside for code that wants them.


def _too_large_bytes(n: int) -> ImageLoadError:
    size, limit = f"{n / BYTES_PER_MB:.1f} MB", f"{MAX_UPLOAD_BYTES / BYTES_PER_MB:g} MB"
    return ImageLoadError(
        "too_large",
        f"The file is {size}; the limit is {limit}. Upload a smaller image.",
        kind="bytes",
        size=size,
        limit=limit,
        bytes=n,
        max_bytes=MAX_UPLOAD_BYTES,
    )


def _too_large_pixels(width: int | None, height: int | None, pixels: int | None, limit: int):
    """`too_large` for a pixel count; width/height/pixels are None when Pillow's own
    decompression-bomb guard stopped the file before we could read its size."""
    size = "?" if pixels is None else f"{pixels / 1e6:.1f} MP"
    if width and height:
        size = f"{width} x {height}, {size}"
    limit_text = f"{limit / 1e6:g} MP"
    return ImageLoadError(
        "too_large",
        f"The image is too big ({size}); the limit is {limit_text} (megapixels). "
        "Upload a smaller image or resize it first.",
        kind="pixels",
        size=size,
        limit=limit_text,
        pixels=pixels,
        max_pixels=limit,
        width=width,
        height=height,
    )


def _bomb(err: Exception, limit: int) -> ImageLoadError:
    """Pillow's decompression-bomb guard fired: report it as `too_large`."""
    found = re.search(r"\((\d+) pixels\)", str(err))
    pixels = int(found.group(1)) if found else None
    return _too_large_pixels(None, None, pixels, limit)


def _corrupt(detail: str = "") -> ImageLoadError:
    return ImageLoadError(
        "corrupt",
        "The image file is damaged or incomplete and cannot be decoded. "
        "Save or export it again, then upload it.",
        detail=detail,
    )


def _unsupported(detail: str = "") -> ImageLoadError:
    return ImageLoadError(
        "unsupported",
        "This kind of image cannot be used here. Convert it to PNG or JPEG and upload it again.",
        detail=detail,
    )


def _open(data: bytes, max_pixels: int) -> Image.Image:
    """Identify the file and check its size from the header, before decoding pixels."""
    try:
        # Pillow warns (or raises) for decompression bombs; make the warning an error
        # here only, so nothing global changes.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise _bomb(err, max_pixels) from None
    except UnidentifiedImageError:
        if _looks_like_image(data):
            raise _corrupt("unidentified") from None
        raise ImageLoadError(
            "not_image",
            "This file is not an image Pillow can read. Upload a PNG, JPEG or WebP file.",
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError) as err:
        raise _classify_decode_error(err) from None

    width, height = img.size
    if width <= 0 or height <= 0:
        raise _corrupt("zero size")
    if width * height > max_pixels:
        raise _too_large_pixels(width, height, width * height, max_pixels)
    return img


def _decode(img: Image.Image, max_pixels: int) -> None:
    """Decode the pixels now, so a truncated or damaged file fails here, clearly."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise _bomb(err, max_pixels) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, MemoryError) as err:
        raise _classify_decode_error(err) from None


def _classify_decode_error(err: Exception) -> ImageLoadError:
    """A missing codec is 'unsupported'; anything else that fails to decode is 'corrupt'."""
    text = str(err).lower()
    if isinstance(err, OSError) and any(h in text for h in UNSUPPORTED_HINTS):
        return _unsupported(str(err))
    return _corrupt(str(err))


def _looks_like_image(data: bytes) -> bool:
    """True if the bytes start with a known image signature (see IMAGE_SIGNATURES)."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return True
    return any(data.startswith(sig) for sig in IMAGE_SIGNATURES)


def _apply_orientation(img: Image.Image) -> Image.Image:
    """Rotate a photo the way the camera's EXIF tag says it was held.

    A broken EXIF block should not cost the user an otherwise good photo, so errors
    here leave the image as stored.
    """
    try:
        return ImageOps.exif_transpose(img)
    except Exception:  # noqa: BLE001  (malformed EXIF comes in many exception types)
        return img


def _to_rgb_float(img: Image.Image) -> np.ndarray:
    """Any Pillow mode -> float32 RGB in [0, 1], with 16-bit and alpha handled right."""
    mode = img.mode
    if mode.startswith("I;16") or mode == "I":
        # 16-bit grayscale (Pillow's "I" is how older versions and some formats hold
        # 16-bit data): scale the full range, do not clip at 255.
        gray = np.asarray(img).astype(np.float32) / UINT16_MAX
        return _gray_to_rgb(np.clip(gray, 0.0, 1.0))
    if mode == "F":
        # Float images have no standard range: keep [0, 1] data as is, otherwise map
        # 0..max to 0..1 (the 8-bit or 16-bit range when the data fits one).
        gray = np.nan_to_num(np.asarray(img, dtype=np.float32))
        top = float(gray.max(initial=0.0))
        scale = next((s for s in (1.0, UINT8_MAX, UINT16_MAX) if top <= s), top)
        return _gray_to_rgb(np.clip(gray / scale, 0.0, 1.0))
    if _has_alpha(img):
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float32) / UINT8_MAX
        rgb, alpha = rgba[..., :3], rgba[..., 3:]
        return (rgb * alpha + WHITE * (1 - alpha)).astype(np.float32)
    try:
        rgb = img.convert("RGB")
    except (ValueError, OSError) as err:
        raise _unsupported(f"mode {mode}: {err}") from None
    return np.asarray(rgb, dtype=np.float32) / np.float32(UINT8_MAX)


def _has_alpha(img: Image.Image) -> bool:
    """True for modes with an alpha band and for palette/gray images with transparency."""
    return img.mode in ("RGBA", "RGBa", "LA", "La", "PA") or img.has_transparency_data


def _gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray[..., None], 3, axis=-1).astype(np.float32)
