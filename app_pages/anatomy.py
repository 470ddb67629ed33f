"""Model anatomy: the U-Net as a diagram and a layer table, the noise embedding, feature maps."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import streamlit as st

from core.forward import sample_noise
from lab import anatomy_view, inputs
from lab.i18n import labels, t
from lab.images import png_bytes
from lab.models import keras_model, model_picker
from lab.state import Param, int_in, one_of, publish, restore

NETS = ["model", "book", "small", "tiny"]
PRESET_IMAGE_SIZE = 64          # the book's images
EMB_DIMS = [4, 8, 16, 32, 64, 128]
EMB_FREQS = [10, 100, 1000, 10000]
FEATURE_CHANNELS = 16
FEATURE_TILE_WIDTH = 88
DEFAULT_LAYER = "down0_res1_add"
T_STEPS = 21                    # t in 0, 0.05, ..., 1
MAX_SEED = 2**31 - 1
DIAGRAM_LABELS = ("image", "variance", "variance_hover", "embedding", "embedding_hover", "stem",
                  "stem_hover", "down", "down_hover", "mid", "mid_hover", "up", "up_hover",
                  "output", "output_hover", "skip", "params", "ch")


def layer_name(raw: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", raw):
        raise ValueError(f"not a layer name: {raw!r}")
    return raw


def time_in_grid(raw: str) -> float:
    value = round(float(raw), 2)
    if value not in T_CHOICES:
        raise ValueError(f"t must be one of 0, 0.05, ..., 1, got {raw}")
    return value


T_CHOICES = [round(k / (T_STEPS - 1), 2) for k in range(T_STEPS)]
PARAMS = [
    Param("an_net", "model", one_of(NETS)),
    Param("an_dims", 32, one_of(EMB_DIMS)),
    Param("an_freq", 1000, one_of(EMB_FREQS)),
    Param("an_layer", DEFAULT_LAYER, layer_name),
    Param("an_flower", 0, int_in(0, inputs.GALLERY_SIZE - 1)),
    Param("an_t", 0.25, time_in_grid, lambda v: f"{v:g}"),
    Param("an_seed", 0, int_in(0, MAX_SEED)),
]
restore(PARAMS)


@st.cache_resource(show_spinner=False, max_entries=8)
def architecture(image_size: int, channels: int, config_json: str) -> dict:
    """Build the network once per server (imports TensorFlow) and keep only plain data:
    the layer table, parameter counts and the names of the layers worth looking at."""
    from core.unet import build_unet, feature_layer_names

    network = build_unet(image_size, channels, **json.loads(config_json))
    table = anatomy_view.layer_table(network)
    table["feature_layers"] = feature_layer_names(network)
    return table


@st.cache_data(show_spinner=False, max_entries=32)
def feature_maps(model_path: str, written: float, flower: int, t_value: float, seed: int) -> dict:
    """Every feature layer of the model's EMA network for one noised flower: the first
    channels of each, as numpy arrays (cached: switching layers is instant). `written`
    (the bundle's time stamp) tells a retrained model from the old one."""
    model, _ = keras_model(model_path)
    x0 = model.normalize(inputs.gallery(model.image_size)[flower][None]).numpy()
    noise_rate, signal_rate = (float(r) for r in model.schedule.rates(t_value))
    eps = sample_noise(x0.shape, seed)
    x_t = (signal_rate * x0 + noise_rate * eps).astype(np.float32)
    maps = model.features(x_t, noise_rate**2)
    return {"x_t": model.denormalize(x_t).numpy()[0], "signal": signal_rate,
            "variance": noise_rate**2,
            "maps": {name: m[0][..., :max(FEATURE_CHANNELS, 32)] for name, m in maps.items()},
            "channels": {name: int(m.shape[-1]) for name, m in maps.items()}}


def model_config(choice) -> tuple[dict, int, int]:
    """The chosen model's build_unet arguments, image size and channels (metadata only)."""
    from core.checkpoints import read_metadata

    meta = read_metadata(choice.path)
    return dict(meta["unet"]), int(meta["image_size"]), int(meta.get("channels", 3))


def preset_config(name: str) -> dict:
    from core.unet import unet_kwargs

    kw = unet_kwargs(name)
    return {**kw, "widths": list(kw["widths"])}


st.title(t("anatomy.title"))
st.markdown(t("anatomy.intro"))
choice = model_picker()

# ---------------------------------------------------------------------------------------
st.subheader(t("anatomy.arch_title"))
net = st.radio(t("anatomy.net"), NETS, format_func=labels("anatomy.net"), horizontal=True,
               key="an_net", help=t("anatomy.net_help"), persist_state="session")
channels = 3
if net == "model" and choice.kind == "keras":
    try:
        config, image_size, channels = model_config(choice)
        net_label = choice.label
    except Exception as err:  # a bundle without readable metadata
        st.error(t("anatomy.model_error", detail=str(err)))
        st.stop()
else:
    if net == "model":
        st.info(t("anatomy.ideal_is_formula"))
    preset = "book" if net == "model" else net
    config, image_size = preset_config(preset), PRESET_IMAGE_SIZE
    net_label = t(f"anatomy.net.{preset}")
st.caption(t("anatomy.showing", net=net_label[:1].upper() + net_label[1:],
             levels=len(config["widths"]),
             widths=" / ".join(map(str, config["widths"])), bottom=config["bottleneck_width"],
             depth=config["block_depth"], size=image_size))
try:
    with st.spinner(t("anatomy.building")):
        table = architecture(image_size, channels, json.dumps(config, sort_keys=True))
except Exception as err:  # noqa: BLE001  (odd metadata: a clear message)
    st.error(t("anatomy.build_error", detail=str(err)))
    table = None

if table is not None:
    diagram_labels = {k: t(f"anatomy.d.{k}") for k in DIAGRAM_LABELS}
    st.plotly_chart(anatomy_view.unet_diagram(config, image_size, channels, diagram_labels,
                                              params=table["groups"]), key="diagram")
    st.caption(t("anatomy.diagram_note"))
    c1, c2, c3 = st.columns(3)
    c1.metric(t("anatomy.total"), f"{table['total']:,}")
    c2.metric(t("anatomy.trainable"), f"{table['trainable']:,}")
    c3.metric(t("anatomy.non_trainable"), f"{table['non_trainable']:,}",
              help=t("anatomy.non_trainable_help"))
    st.caption(t("anatomy.book_total_note"))
    with st.expander(t("anatomy.table_title")):
        st.dataframe(
            [{t("anatomy.col_name"): r["name"], t("anatomy.col_type"): r["type"],
              t("anatomy.col_shape"): r["shape"], t("anatomy.col_params"): r["params"]}
             for r in table["rows"]],
            hide_index=True, key="layers",
            column_config={t("anatomy.col_params"): st.column_config.NumberColumn(format="%d")})

# ---------------------------------------------------------------------------------------
st.subheader(t("anatomy.emb_title"))
st.markdown(t("anatomy.emb_intro"))
c1, c2 = st.columns(2)
dims = c1.select_slider(t("anatomy.emb_dims"), EMB_DIMS, key="an_dims", persist_state="session")
freq = c2.select_slider(t("anatomy.emb_freq"), EMB_FREQS, format_func=lambda f: f"{f:,}",
                        key="an_freq", persist_state="session")
st.plotly_chart(anatomy_view.embedding_heatmap(
    dims, float(freq), title=t("anatomy.emb_chart_title"), x_label=t("anatomy.emb_x"),
    y_label=t("anatomy.emb_y"), sin_label=t("anatomy.emb_sin"), cos_label=t("anatomy.emb_cos")),
    key="embedding")
st.caption(t("anatomy.emb_alias", points=anatomy_view.HEATMAP_POINTS))
st.markdown(t("anatomy.emb_why"))

# ---------------------------------------------------------------------------------------
st.subheader(t("anatomy.feat_title"))
if choice.kind != "keras":
    publish(PARAMS)
    st.info(t("anatomy.feat_ideal"))
    st.stop()

try:
    model, _ = keras_model(choice.path)  # cached; TensorFlow is imported here
except Exception as err:
    publish(PARAMS)
    st.error(t("anatomy.model_error", detail=str(err)))
    st.stop()

from core.unet import feature_layer_names  # noqa: E402  (TensorFlow is loaded by now)

layers = feature_layer_names(model.ema_network)
if st.session_state.get("an_layer") not in layers:
    st.session_state["an_layer"] = DEFAULT_LAYER if DEFAULT_LAYER in layers else layers[1]
st.markdown(t("anatomy.feat_intro", count=FEATURE_CHANNELS))
c1, c2, c3, c4 = st.columns([2, 2, 2, 1])
layer = c1.selectbox(t("anatomy.feat_layer"), layers, key="an_layer", persist_state="session")
flower = c2.select_slider(t("anatomy.feat_flower"), list(range(inputs.GALLERY_SIZE)),
                          format_func=lambda i: str(i + 1), key="an_flower",
                          persist_state="session")
t_value = c3.select_slider(t("anatomy.feat_t"), T_CHOICES, key="an_t",
                           help=t("anatomy.feat_t_help"), persist_state="session")
seed = c4.number_input(t("anatomy.feat_seed"), 0, MAX_SEED, key="an_seed",
                       persist_state="session")
publish(PARAMS)

try:
    with st.spinner(t("anatomy.feat_running")):
        result = feature_maps(choice.path, os.path.getmtime(choice.path), flower, t_value,
                              seed)
except Exception as err:
    st.error(t("anatomy.feat_error", detail=str(err)))
    st.stop()

maps = result["maps"][layer]
h, w, _ = maps.shape
left, right = st.columns([1, 5])
left.image(png_bytes(result["x_t"]), width="stretch", output_format="PNG",
           caption=t("anatomy.feat_input_caption", t=t_value, signal=result["signal"],
                     variance=result["variance"]))
with right:
    st.markdown(t("anatomy.feat_shape", layer=layer, h=h, w=w, c=result["channels"][layer]))
    if h == 1 and w == 1:
        vector = maps[0, 0]
        st.plotly_chart(dict(
            data=[dict(type="bar", x=list(range(len(vector))), y=vector.tolist(),
                       marker=dict(color="#3b7a78"))],
            layout=dict(title=dict(text=t("anatomy.feat_vector_title", layer=layer)), height=260,
                        margin=dict(l=10, r=10, t=40, b=10),
                        xaxis=dict(title=dict(text=t("anatomy.feat_vector_x"))))),
            key="feature_vector")
        st.caption(t("anatomy.feat_vector_note"))
    else:
        tiles, _ = anatomy_view.feature_tiles(maps, FEATURE_CHANNELS)
        st.image([png_bytes(tile) for tile in tiles], width=FEATURE_TILE_WIDTH,
                 caption=[t("anatomy.feat_channel", k=k) for k in range(len(tiles))],
                 output_format="PNG")
