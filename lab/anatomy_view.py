"""Figures and tables for the Model anatomy page: pure functions, no Streamlit.

* ``sinusoidal_embedding``: the U-Net's noise embedding in numpy (the formula of
  ``core.unet.SinusoidalEmbedding``, float32 like the layer), so the heatmap needs no
  TensorFlow;
* ``unet_diagram``: the U as a Plotly figure (boxes per block, arrows for the data
  path, dashed arrows for the skip connections), from a ``build_unet`` config;
* ``layer_table``: name, type, output shape and parameters of every layer of a Keras
  network (duck-typed: this module imports no Keras);
* ``feature_tiles``: feature-map channels as coloured images.

Labels come in from the page, already translated.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

# The book's embedding (core.unet keeps the same numbers; a test checks they agree).
MIN_FREQUENCY = 1.0
HEATMAP_POINTS = 400

# Diagram geometry, in data units: one column per block, one row per resolution level.
_LEVEL = 1.25
_BOX_W = 0.8
_BOX_H_MIN, _BOX_H_EXTRA = 0.62, 0.3
_COLORS = {"input": "#E8E8E8", "embedding": "#F6D7A7", "stem": "#CFE3F3", "down": "#9EC9E2",
           "mid": "#F4A582", "up": "#A6DBA0", "output": "#DDDDDD"}
_SKIP_COLOR = "#7B3294"
_ARROW_COLOR = "#555555"

# Viridis, sampled at 9 points: enough for a smooth colour ramp by interpolation.
_VIRIDIS = np.array([
    [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
    [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37]], dtype=np.float32) / 255.0


# ---------------------------------------------------------------------------------------
# The noise embedding
# ---------------------------------------------------------------------------------------


def embedding_frequencies(dims: int, max_frequency: float,
                          min_frequency: float = MIN_FREQUENCY) -> np.ndarray:
    """The dims // 2 frequencies f, log-spaced from min_frequency to max_frequency."""
    if dims < 2 or dims % 2:
        raise ValueError(f"the embedding needs an even number of dimensions >= 2, got {dims}")
    return np.exp(np.linspace(math.log(min_frequency), math.log(max_frequency), dims // 2))


def sinusoidal_embedding(variances, dims: int = 32, max_frequency: float = 1000.0,
                         min_frequency: float = MIN_FREQUENCY) -> np.ndarray:
    """[sin(2πf·v), cos(2πf·v)] for each noise variance v: shape (N, dims), float32.

    Computed in float32 exactly as core.unet.SinusoidalEmbedding does (angular speeds
    rounded to float32, then multiplied by the float32 variance), so the two agree to
    the last few bits even where 2πf·v is in the thousands.
    """
    v = np.asarray(variances, dtype=np.float32).reshape(-1, 1)
    speeds = (2.0 * math.pi * embedding_frequencies(dims, max_frequency, min_frequency)
              ).astype(np.float32)
    angles = speeds[None, :] * v
    return np.concatenate([np.sin(angles), np.cos(angles)], axis=1).astype(np.float32)


def embedding_heatmap(dims: int, max_frequency: float, *, title: str, x_label: str,
                      y_label: str, sin_label: str, cos_label: str,
                      points: int = HEATMAP_POINTS) -> go.Figure:
    """The book's figure: embedding dimension (y) against noise variance (x), in [-1, 1]."""
    variances = np.linspace(0.0, 1.0, points, dtype=np.float32)
    z = sinusoidal_embedding(variances, dims, max_frequency).T  # (dims, points)
    fig = go.Figure(go.Heatmap(
        z=z, x=variances, y=np.arange(dims), zmin=-1.0, zmax=1.0, colorscale="RdBu",
        colorbar=dict(thickness=12, len=0.9),
        hovertemplate="v = %{x:.4f}<br>dim %{y}<br>%{z:.3f}<extra></extra>"))
    half = dims // 2
    fig.add_hline(y=half - 0.5, line=dict(color="black", width=1.5))
    for y, text in ((half / 2 - 0.5, sin_label), (half * 1.5 - 0.5, cos_label)):
        fig.add_annotation(x=1.0, y=y, xref="paper", yref="y", xanchor="left", text=text,
                           showarrow=False, xshift=4, font=dict(size=12))
    fig.update_layout(title=dict(text=title), height=380, margin=dict(l=50, r=60, t=40, b=40),
                      xaxis=dict(title=dict(text=x_label), range=[0, 1]),
                      yaxis=dict(title=dict(text=y_label), autorange="reversed"))
    return fig


# ---------------------------------------------------------------------------------------
# The U-Net diagram
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    """One block of the diagram: ``group`` names its layers (see ``layer_group``)."""

    group: str
    kind: str
    x: float
    y: float
    height: float
    title: str
    detail: str
    hover: str


def layer_group(name: str) -> str:
    """Which diagram box a layer belongs to: 'down0', 'mid', 'up2', 'embedding', ..."""
    match = re.match(r"(down\d+|up\d+|mid)_", name)
    if match:
        return match.group(1)
    if name.startswith("noise_embedding"):
        return "embedding"
    if name in ("image_conv", "input_concat"):
        return "stem"
    if name == "output_conv":
        return "output"
    return "input"


def _res(size: int) -> str:
    return f"{size}×{size}"


def unet_boxes(config: dict, image_size: int, channels: int, labels: dict,
               params: dict | None = None) -> tuple[list[Box], list[tuple[str, str]],
                                                    list[tuple[str, str, str]]]:
    """Boxes, data-path edges (group, group) and skips (down group, up group, label).

    config: build_unet's keyword arguments (widths, block_depth, bottleneck_width,
    embedding_dims); params: parameters per group (``layer_table(...)["groups"]``),
    shown on hover when given.
    """
    widths = [int(w) for w in config["widths"]]
    depth = int(config["block_depth"])
    bottom = int(config["bottleneck_width"])
    emb = int(config["embedding_dims"])
    levels = len(widths)
    biggest = max(widths + [bottom, widths[0] + emb])
    params = params or {}

    def height(ch):
        return _BOX_H_MIN + _BOX_H_EXTRA * ch / biggest

    def hover(group, text):
        count = params.get(group)
        extra = "" if count is None else "<br>" + labels["params"].format(n=f"{count:,}")
        return text + extra

    def ch(n):
        return labels["ch"].format(n=n)

    s = image_size
    boxes = [
        Box("input", "input", 0, 0, height(channels), labels["image"],
            f"{_res(s)}×{channels}", labels["image"]),
        Box("variance", "input", 0, -_LEVEL, height(1), labels["variance"], "1×1×1",
            labels["variance_hover"]),
        Box("embedding", "embedding", 1, -_LEVEL, height(emb), labels["embedding"],
            f"{ch(emb)}<br>→ {_res(s)}",
            hover("embedding", labels["embedding_hover"].format(dims=emb))),
        Box("stem", "stem", 1, 0, height(widths[0] + emb), labels["stem"],
            f"{ch(f'{widths[0]}+{emb}')}<br>{_res(s)}",
            hover("stem", labels["stem_hover"].format(width=widths[0], dims=emb))),
    ]
    edges = [("input", "stem"), ("variance", "embedding"), ("embedding", "stem"), ("stem", "down0")]
    skips = []
    for i, w in enumerate(widths):
        size = s // 2**i
        boxes.append(Box(f"down{i}", "down", 2 + i, -i * _LEVEL, height(w),
                         labels["down"].format(n=i + 1), f"{ch(w)}<br>{size}→{size // 2}",
                         hover(f"down{i}", labels["down_hover"].format(
                             depth=depth, width=w, size=_res(size), half=_res(size // 2)))))
        if i:
            edges.append((f"down{i - 1}", f"down{i}"))
        skips.append((f"down{i}", f"up{i}", labels["skip"].format(depth=depth, width=w)))
    size = s // 2**levels
    boxes.append(Box("mid", "mid", 2 + levels, -levels * _LEVEL, height(bottom), labels["mid"],
                     f"{ch(bottom)}<br>{size}×{size}",
                     hover("mid", labels["mid_hover"].format(depth=depth, width=bottom,
                                                             size=_res(size)))))
    edges.append((f"down{levels - 1}", "mid"))
    for k, i in enumerate(reversed(range(levels))):
        w, size = widths[i], s // 2**i
        boxes.append(Box(f"up{i}", "up", 3 + levels + k, -i * _LEVEL, height(w),
                         labels["up"].format(n=i + 1), f"{ch(w)}<br>{size // 2}→{size}",
                         hover(f"up{i}", labels["up_hover"].format(
                             depth=depth, width=w, size=_res(size), half=_res(size // 2)))))
        edges.append(("mid" if k == 0 else f"up{i + 1}", f"up{i}"))
    boxes.append(Box("output", "output", 3 + 2 * levels, 0, height(channels), labels["output"],
                     f"{ch(channels)}<br>{_res(s)}", hover("output", labels["output_hover"])))
    edges.append(("up0", "output"))
    return boxes, edges, skips


def _edge_point(box: Box, toward_x: float, toward_y: float) -> tuple[float, float]:
    """Where the line from the box centre to (toward_x, toward_y) leaves the box."""
    dx, dy = toward_x - box.x, toward_y - box.y
    scales = []
    if dx:
        scales.append(_BOX_W / 2 / abs(dx))
    if dy:
        scales.append(box.height / 2 / abs(dy))
    k = min(scales) if scales else 0.0
    return box.x + k * dx, box.y + k * dy


def unet_diagram(config: dict, image_size: int, channels: int, labels: dict,
                 params: dict | None = None, title: str = "") -> go.Figure:
    """The U-Net as boxes and arrows: down path, bottleneck, up path, skip connections.

    labels: translated texts (see app_pages/anatomy.py ``diagram_labels``).
    """
    boxes, edges, skips = unet_boxes(config, image_size, channels, labels, params)
    by_group = {b.group: b for b in boxes}
    fig = go.Figure()
    shapes, annotations = [], []
    for b in boxes:
        shapes.append(dict(type="rect", x0=b.x - _BOX_W / 2, x1=b.x + _BOX_W / 2,
                           y0=b.y - b.height / 2, y1=b.y + b.height / 2,
                           fillcolor=_COLORS[b.kind], line=dict(color="#333333", width=1),
                           layer="below", name=b.group))
        annotations.append(dict(x=b.x, y=b.y, text=f"<b>{b.title}</b><br>{b.detail}",
                                showarrow=False, font=dict(size=10.5, color="#222222"),
                                name=f"box:{b.group}"))
    for a, b in edges:
        src, dst = by_group[a], by_group[b]
        x0, y0 = _edge_point(src, dst.x, dst.y)
        x1, y1 = _edge_point(dst, src.x, src.y)
        annotations.append(dict(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x",
                                ayref="y", showarrow=True, arrowhead=2, arrowwidth=1.5,
                                arrowcolor=_ARROW_COLOR, text="", name=f"edge:{a}>{b}"))
    for a, b, text in skips:
        src, dst = by_group[a], by_group[b]
        x0, x1 = src.x + _BOX_W / 2, dst.x - _BOX_W / 2
        # A dashed line, and a short arrow at its end for the head.
        shapes.append(dict(type="line", x0=x0, x1=x1 - 0.1, y0=src.y, y1=dst.y,
                           line=dict(color=_SKIP_COLOR, width=1.5, dash="dash"),
                           name=f"skip:{a}>{b}"))
        annotations.append(dict(x=x1, y=dst.y, ax=x1 - 0.12, ay=dst.y, xref="x", yref="y",
                                axref="x", ayref="y", showarrow=True, arrowhead=2,
                                arrowwidth=1.5, arrowcolor=_SKIP_COLOR, text="",
                                name=f"skip_head:{a}>{b}"))
        annotations.append(dict(x=(x0 + x1) / 2, y=src.y, text=text, showarrow=False,
                                yshift=9, font=dict(size=10, color=_SKIP_COLOR),
                                name=f"skip_label:{a}>{b}"))
    # Invisible markers carry the hover text of each box.
    fig.add_trace(go.Scatter(x=[b.x for b in boxes], y=[b.y for b in boxes], mode="markers",
                             marker=dict(size=40, opacity=0), hovertext=[b.hover for b in boxes],
                             hoverinfo="text", showlegend=False))
    levels = len(config["widths"])
    x_max = 3 + 2 * levels
    fig.update_layout(
        title=dict(text=title), shapes=shapes, annotations=annotations,
        height=170 + 110 * levels, margin=dict(l=10, r=10, t=40 if title else 10, b=10),
        xaxis=dict(visible=False, range=[-0.5, x_max + 0.5], fixedrange=True),
        yaxis=dict(visible=False, range=[-levels * _LEVEL - 0.55, 0.6], fixedrange=True),
        plot_bgcolor="white", dragmode=False)
    return fig


# ---------------------------------------------------------------------------------------
# The layer table
# ---------------------------------------------------------------------------------------


def _shape_text(layer) -> str:
    shape = getattr(getattr(layer, "output", None), "shape", None)
    if shape is None:
        return ""
    return "(" + ", ".join("?" if d is None else str(d) for d in tuple(shape)[1:]) + ")"


def _size(weights) -> int:
    return int(sum(int(np.prod(w.shape)) for w in weights))


def layer_table(network) -> dict:
    """Rows (name, type, output shape, parameters, group) for a Keras functional network,
    with totals: ``total`` = ``trainable`` + ``non_trainable`` (BatchNorm statistics)."""
    rows = []
    groups: dict[str, int] = {}
    for layer in network.layers:
        n = _size(layer.weights)
        group = layer_group(layer.name)
        groups[group] = groups.get(group, 0) + n
        rows.append({"name": layer.name, "type": type(layer).__name__,
                     "shape": _shape_text(layer), "params": n, "group": group})
    trainable = _size(network.trainable_weights)
    non_trainable = _size(network.non_trainable_weights)
    return {"rows": rows, "groups": groups, "trainable": trainable,
            "non_trainable": non_trainable, "total": trainable + non_trainable}


# ---------------------------------------------------------------------------------------
# Feature maps
# ---------------------------------------------------------------------------------------


def colormap(values01: np.ndarray) -> np.ndarray:
    """Values in [0, 1] -> viridis RGB in [0, 1], shape (..., 3)."""
    v = np.clip(np.nan_to_num(np.asarray(values01, dtype=np.float32)), 0.0, 1.0)
    position = v * (len(_VIRIDIS) - 1)
    lo = np.floor(position).astype(int).clip(0, len(_VIRIDIS) - 2)
    frac = (position - lo)[..., None]
    return _VIRIDIS[lo] * (1.0 - frac) + _VIRIDIS[lo + 1] * frac


def feature_tiles(maps: np.ndarray, count: int = 16) -> tuple[list[np.ndarray], list[tuple]]:
    """The first ``count`` channels of one feature map (H, W, C) as RGB images in [0, 1].

    Each channel is stretched to its own min..max (a flat channel shows as one colour).
    Returns the images and each channel's (min, max).
    """
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim != 3:
        raise ValueError(f"feature maps must be (H, W, C), got shape {maps.shape}")
    tiles, ranges = [], []
    for k in range(min(count, maps.shape[-1])):
        channel = maps[..., k]
        lo, hi = float(channel.min()), float(channel.max())
        scaled = (channel - lo) / (hi - lo) if hi > lo else np.full_like(channel, 0.5)
        tiles.append(colormap(scaled))
        ranges.append((lo, hi))
    return tiles, ranges
