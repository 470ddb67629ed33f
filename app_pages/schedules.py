"""Schedules: how linear, cosine and offset cosine (and others) spend their steps."""

import numpy as np
import streamlit as st

from core import forward
from core.schedules import (DEFAULT_PARAMS, SCHEDULE_NAMES, book_linear_rates, key_numbers)
from lab import figures, inputs
from lab.i18n import labels, schedule_label, t
from lab.images import png_bytes
from lab.state import Param, dump_flag, dump_list, flag, int_in, one_of, publish, restore, some_of

DEFAULT_SCHEDULES = ["linear", "cosine", "offset_cosine"]
GRID_FRACTIONS = [0.0, 0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9, 1.0]
GRID_SIZE = 64
P1_BATCH = 64
# Widget bounds per schedule parameter: (min, max, step, number format).
PARAM_BOUNDS = {
    "beta_start": (1e-6, 0.5, 1e-5, "%.5f"),
    "beta_end": (1e-6, 0.999, 1e-4, "%.4f"),
    "s": (0.0, 0.5, 0.001, "%.3f"),
    "max_beta": (0.5, 0.9999, 0.0001, "%.4f"),
    "min_signal_rate": (0.0, 0.99, 0.01, "%.3f"),
    "max_signal_rate": (0.01, 1.0, 0.01, "%.3f"),
}
PARAMS = [
    Param("schedules", DEFAULT_SCHEDULES, some_of(SCHEDULE_NAMES), dump_list),
    Param("steps", 1000, one_of(inputs.T_CHOICES)),
    Param("zsnr", False, flag, dump_flag),
    Param("image", 0, int_in(0, inputs.GALLERY_SIZE - 1)),
    Param("noise_seed", 0, int_in(0, 2**31 - 1)),
    Param("p1_n", 20, int_in(2, 1000)),
]
restore(PARAMS)

st.title(t("schedules.title"))
st.markdown(t("schedules.intro"))

with st.container(border=True):
    c1, c2, c3 = st.columns([5, 1.2, 1.6])
    chosen = c1.multiselect(t("schedules.pick"), SCHEDULE_NAMES, format_func=labels("schedule"),
                            key="schedules", persist_state="session")
    T = c2.selectbox("T", inputs.T_CHOICES, key="steps", persist_state="session")
    zero_snr = c3.toggle(t("schedules.zero_snr"), key="zsnr", help=t("schedules.zero_snr_help"),
                         persist_state="session")
    params: dict[str, dict[str, float]] = {}
    with st.expander(t("schedules.params")):
        for col, name in zip(st.columns(max(1, len(chosen))), chosen):
            col.markdown(f"**{schedule_label(name)}**")
            params[name] = {}
            for p, default in DEFAULT_PARAMS[name].items():
                lo, hi, step, fmt = PARAM_BOUNDS[p]
                params[name][p] = col.number_input(t(f"param.{p}"), lo, hi, default, step,
                                                   format=fmt,
                                                   key=f"p_{name}_{p}", persist_state="session")

if not chosen:
    publish(PARAMS)
    st.info(t("schedules.none"))
    st.stop()

schedules = {}
for name in chosen:
    try:
        schedules[name] = inputs.schedule(name, T, zero_snr, **params[name])
    except ValueError as err:
        st.error(t("schedules.bad_params", name=schedule_label(name), detail=str(err)))
if not schedules:
    st.stop()
names = {name: schedule_label(name) for name in schedules}

st.subheader(t("schedules.curves_title"))
st.plotly_chart(figures.schedule_curves(
    {names[n]: s for n, s in schedules.items()},
    titles=[t("schedules.panel_alpha_bar"), t("schedules.panel_noise"), t("schedules.panel_beta"),
            t("schedules.panel_log_snr")], x_label="t / T"), key="curves")
st.caption(t("schedules.curves_note"))

st.subheader(t("schedules.table_title"))
rows = []
for name, sched in schedules.items():
    k = key_numbers(sched)
    rows.append({t("schedules.col_schedule"): names[name],
                 t("schedules.col_alpha_bar_end"): f"{k['alpha_bar_end']:.3g}",
                 t("schedules.col_terminal_log_snr"): (
                     "−∞" if np.isneginf(k["terminal_log_snr"]) else f"{k['terminal_log_snr']:.2f}"),
                 t("schedules.col_t_snr_1"): f"{k['t_snr_1']:.3f}",
                 t("schedules.col_share"): f"{k['share_snr_above_1']:.0%}"})
st.dataframe(rows, hide_index=True)
st.caption(t("schedules.table_note"))

st.subheader(t("schedules.grid_title"))
c1, c2 = st.columns([3, 1])
flower = c1.select_slider(t("schedules.grid_flower"), list(range(inputs.GALLERY_SIZE)),
                          format_func=lambda i: str(i + 1), key="image", persist_state="session")
seed = c2.number_input(t("common.seed"), 0, 2**31 - 1, key="noise_seed", persist_state="session")
x0 = forward.to_model_range(inputs.gallery(GRID_SIZE)[flower])
eps = inputs.noise(x0.shape, seed)
st.caption(t("schedules.grid_note"))
for name, sched in schedules.items():
    steps = np.round(np.array(GRID_FRACTIONS) * T).astype(int)
    row = forward.add_noise(np.repeat(x0[None], len(steps), 0), np.repeat(eps[None], len(steps), 0),
                            steps, sched)
    st.markdown(f"**{names[name]}**")
    for col, x, f in zip(st.columns(len(row)), row, GRID_FRACTIONS):
        col.image(png_bytes(forward.to_pixel_range(x)), caption=f"t/T = {f:g}", width="stretch",
                  output_format="PNG")

st.subheader(t("schedules.p1_title"))
st.markdown(t("schedules.p1_intro"))
n = st.slider(t("schedules.p1_grid"), 2, 1000, key="p1_n", persist_state="session")
publish(PARAMS)
correct = inputs.schedule("linear", 1000)
t_full = np.arange(1, 1001) / 1000
t_grid = np.arange(n) / n  # the book evaluates its schedule on [x / T for x in range(T)]
book_grid = book_linear_rates(t_grid)[1] ** 2
t_batch = np.random.default_rng(0).uniform(0, 1, P1_BATCH)
book_batch = book_linear_rates(t_batch)[1] ** 2
st.plotly_chart(figures.pitfall_p1(
    t_full, correct.alphas_cumprod, t_grid, book_grid, t_batch, book_batch,
    names=[t("schedules.p1_correct"), t("schedules.p1_book_grid", n=n),
           t("schedules.p1_book_batch", n=P1_BATCH)],
    title=t("schedules.p1_chart_title"), x_label="t", y_label="ᾱ"), key="p1")
last = float(t_grid[-1])
right = float(correct.rates(last)[1] ** 2)
c1, c2, c3, c4 = st.columns(4)
c1.metric(t("schedules.p1_metric_book", t=f"{last:.3g}"), f"{book_grid[-1]:.3g}")
c2.metric(t("schedules.p1_metric_right", t=f"{last:.3g}"), f"{right:.3g}")
x_book = forward.to_pixel_range(np.sqrt(book_grid[-1]) * x0 + np.sqrt(1 - book_grid[-1]) * eps)
x_right = forward.to_pixel_range(np.sqrt(right) * x0 + np.sqrt(1 - right) * eps)
c3.image(png_bytes(x_book), caption=t("schedules.p1_img_book"), width=128, output_format="PNG")
c4.image(png_bytes(x_right), caption=t("schedules.p1_img_right"), width=128, output_format="PNG")
st.caption(t("schedules.p1_fix"))
