"""Forward process: watch an image dissolve into Gaussian noise, step by step."""

import numpy as np
import streamlit as st

from core import forward
from core.schedules import SCHEDULE_NAMES
from lab import figures, inputs
from lab.i18n import labels, subscript, t
from lab.images import png_bytes
from lab.state import Param, int_in, one_of, publish, restore

SIZES = [64, 128, 256]
FILMSTRIP_FRAMES = 9
ANIMATION_FRAMES = 31
ANIMATION_MAX_SIZE = 128
MAX_SEED = 2**31 - 1
FILMSTRIP_MAX_SIZE = 128

PARAMS = [
    Param("schedule", "linear", one_of(SCHEDULE_NAMES)),
    Param("T", 1000, one_of(inputs.T_CHOICES)),
    Param("size", 128, one_of(SIZES)),
    Param("seed", 0, int_in(0, MAX_SEED)),
    Param("t", 250, int_in(0, max(inputs.T_CHOICES))),
    *inputs.PICKER_PARAMS,
]
restore(PARAMS)

st.title(t("forward.title"))
st.markdown(t("forward.intro"))

with st.container(border=True):
    left, right = st.columns([3, 2], gap="large")
    with right:
        name = st.selectbox(t("common.schedule"), SCHEDULE_NAMES, format_func=labels("schedule"),
                            key="schedule", persist_state="session")
        c1, c2, c3 = st.columns(3)
        T = c1.selectbox("T", inputs.T_CHOICES, key="T", help=t("forward.T_help"),
                         persist_state="session")
        size = c2.selectbox(t("common.size"), SIZES, format_func=lambda s: f"{s} px",
                            key="size", persist_state="session")
        seed = c3.number_input(t("common.seed"), 0, MAX_SEED, key="seed",
                               help=t("common.seed_help"), persist_state="session")
    with left:
        x0, image_key = inputs.image_picker("forward", size)

sched = inputs.schedule(name, T)
eps = inputs.noise(x0.shape, seed)


def tex_number(x: float) -> str:
    """4 significant digits, in LaTeX: 4.036e-05 becomes 4.036\\times10^{-5}."""
    mantissa, _, exponent = f"{x:.4g}".partition("e")
    return mantissa + (rf"\times10^{{{int(exponent)}}}" if exponent else "")


def show(x: np.ndarray) -> bytes:
    """Exact pixels as PNG. st.image must also be told output_format="PNG", or it
    re-encodes RGB bytes as JPEG and smears the noise."""
    return png_bytes(forward.to_pixel_range(x))


@st.fragment
def step_view():
    """Everything that depends on t reruns alone when the slider moves."""
    if st.session_state["t"] > T:  # T just shrank below the chosen t
        st.session_state["t"] = T
    t_step = st.slider(t("forward.t"), 0, T, key="t", help=t("forward.t_help"),
                       persist_state="session")
    publish(PARAMS)
    a = forward.alpha_bar(sched, t_step)
    x_t = forward.add_noise(x0, eps, t_step, sched)
    signal, noise_rate = float(np.sqrt(a)), float(np.sqrt(1.0 - a))

    cols = st.columns([1, 1, 1, 2.2])
    cols[0].image(show(x0), caption=t("forward.x0_caption"), width="stretch", output_format="PNG")
    cols[1].image(show(eps), caption=t("forward.eps_caption"), width="stretch", output_format="PNG")
    cols[2].image(show(x_t), caption=t("forward.xt_caption", t=subscript(t_step)),
                  width="stretch", output_format="PNG")
    with cols[3]:
        st.latex(r"x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\varepsilon")
        st.latex(rf"x_{{{t_step}}} = {signal:.4f}\cdot x_0 + {noise_rate:.4f}\cdot\varepsilon")
        snr = r"\infty" if a >= 1.0 else tex_number(a / (1.0 - a))
        st.latex(rf"\bar\alpha_{{{t_step}}} = {tex_number(a)},\quad \mathrm{{SNR}} = {snr}")
        st.caption(t("forward.equation_note"))

    st.plotly_chart(figures.pixel_histogram(
        {t("forward.hist_x0"): x0, t("forward.hist_xt", t=subscript(t_step)): x_t},
        normal_label=t("common.normal_pdf"), title=t("forward.hist_title"),
        x_label=t("forward.hist_x")), key="hist")

    st.subheader(t("forward.chain_title"))
    st.markdown(t("forward.chain_intro"))
    if t_step == 0:
        st.info(t("forward.chain_at_zero"))
        return
    chain_key = (image_key, name, T, seed, x0.shape)
    if st.session_state.get("_chain_key") != chain_key:  # one image's checkpoints at a time
        st.session_state["_chain_key"] = chain_key
        st.session_state["_chain_checkpoints"] = {}
    with st.spinner(t("forward.chain_running", t=t_step)):
        x_chain = forward.forward_chain(x0, sched, t_step, seed + 1,
                                        checkpoints=st.session_state["_chain_checkpoints"])
    r_one = forward.standardised_residual(x_t, x0, a)
    r_chain = forward.standardised_residual(x_chain, x0, a)
    c1, c2, c3 = st.columns([1, 1, 3])
    c1.image(show(x_t), caption=t("forward.one_shot"), width="stretch", output_format="PNG")
    c2.image(show(x_chain), caption=t("forward.chain", t=t_step), width="stretch",
             output_format="PNG")
    with c3:
        st.plotly_chart(figures.pixel_histogram(
            {t("forward.one_shot"): r_one, t("forward.chain_short"): r_chain},
            normal_label=t("common.normal_pdf"), title=t("forward.residual_title"),
            x_label=t("forward.residual_x"), colors=[figures.XT_COLOR, figures.CHAIN_COLOR]),
            key="residual_hist")
    rows = []
    for label, x, r in ((t("forward.one_shot"), x_t, r_one),
                        (t("forward.chain_short"), x_chain, r_chain)):
        sx, sr = forward.pixel_stats(x), forward.pixel_stats(r)
        rows.append({t("forward.col_method"): label, t("forward.col_xt_mean"): sx["mean"],
                     t("forward.col_xt_std"): sx["std"], t("forward.col_r_mean"): sr["mean"],
                     t("forward.col_r_std"): sr["std"]})
    st.dataframe(rows, hide_index=True, column_config={
        k: st.column_config.NumberColumn(format="%.3f") for k in list(rows[0])[1:]})
    st.caption(t("forward.chain_note"))


publish(PARAMS)
step_view()

st.subheader(t("forward.filmstrip_title"))
steps = np.linspace(0, T, FILMSTRIP_FRAMES).round().astype(int)
stride = max(1, size // FILMSTRIP_MAX_SIZE)
strip = forward.add_noise(np.repeat(x0[None, ::stride, ::stride], len(steps), 0),
                          np.repeat(eps[None, ::stride, ::stride], len(steps), 0), steps, sched)
for col, x, s in zip(st.columns(len(steps)), strip, steps):
    col.image(show(x), caption=f"t = {s}", width="stretch", output_format="PNG")


@st.cache_data(show_spinner=False, max_entries=4)
def animation(image_key: str, name: str, T: int, seed: int, size: int, lang: str):
    # x0 and eps are fixed by (image_key, seed, size); the key stands in for them.
    steps = np.linspace(0, T, ANIMATION_FRAMES).round().astype(int)
    stride = max(1, size // ANIMATION_MAX_SIZE)
    small_x0, small_eps = x0[::stride, ::stride], eps[::stride, ::stride]
    frames = forward.add_noise(np.repeat(small_x0[None], len(steps), 0),
                               np.repeat(small_eps[None], len(steps), 0), steps, sched)
    return figures.noising_animation([forward.to_pixel_range(f) for f in frames],
                                     [int(s) for s in steps], play=t("common.play"),
                                     pause=t("common.pause"), step_label="t")


st.subheader(t("forward.animation_title"))
st.caption(t("forward.animation_note"))
st.plotly_chart(animation(image_key, name, T, seed, size, st.session_state.get("lang", "en")),
                key="animation", width=460)
