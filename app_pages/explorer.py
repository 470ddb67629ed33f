"""Sampling explorer: steps vs quality, spherical interpolation, sampling with another schedule.

Every experiment runs the sampler in one call and keeps the images (server-wide, a few
results): Streamlit resets Keras after every rerun, and a setting that does not
touch an experiment must not rerun it.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict

import numpy as np
import streamlit as st

from core.forward import sample_noise
from core.samplers import SPACINGS, sampling_grid, slerp, trajectory
from core.schedules import SCHEDULE_NAMES, make_schedule
from lab.i18n import labels, schedule_label, t
from lab.images import png_bytes
from lab.models import denoiser_and_schedule, model_picker
from lab.state import Param, int_in, one_of, publish, restore

STEP_COUNTS = (1, 2, 3, 5, 10, 20, 50, 100)
# The book's spacing first.
SPACING_CHOICES = ["continuous"] + [s for s in SPACINGS if s != "continuous"][::-1]
MAX_SEED = 2**31 - 1
MAX_ROWS = 4
MAX_STEPS = 100
CROSS_IMAGES = 6
TILE_WIDTH = 88
KEPT_RESULTS = 24

PARAMS = [
    Param("ex_spacing", "continuous", one_of(SPACING_CHOICES)),
    Param("ex_seed", 0, int_in(0, MAX_SEED)),
    Param("ex_rows", 3, int_in(1, MAX_ROWS)),
    Param("ex_steps", 20, int_in(1, MAX_STEPS)),
    Param("ex_a", 0, int_in(0, MAX_SEED)),
    Param("ex_b", 1, int_in(0, MAX_SEED)),
    Param("ex_points", 11, int_in(3, 21)),
    Param("ex_other", "linear", one_of(SCHEDULE_NAMES)),
]
restore(PARAMS)


# ---------------------------------------------------------------------------------------
# Computing (once per setting, kept for every session of the server)
# ---------------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def _results() -> OrderedDict:
    return OrderedDict()


def remembered(key: tuple, compute):
    """compute() once per key; the last KEPT_RESULTS results are kept. Not st.cache_data:
    a progress bar drawn while computing must not be replayed on a cache hit."""
    store = _results()
    if key in store:
        store.move_to_end(key)
        return store[key]
    value = compute()
    store[key] = value
    while len(store) > KEPT_RESULTS:
        store.popitem(last=False)
    return value


def model_id(choice) -> tuple:
    """The chosen model, including when its bundle was written (a retrained model)."""
    try:
        stamp = os.path.getmtime(choice.path) if choice.path else 0.0
    except OSError:
        stamp = 0.0
    return (choice.key, choice.path, stamp)


def noises(seeds, shape) -> np.ndarray:
    return np.stack([sample_noise(tuple(shape), int(s)) for s in seeds])


def sample_images(denoiser, schedule, noise, steps, spacing, tick=None) -> np.ndarray:
    """Deterministic DDIM from `noise`: the last x̂0 as pixels (like core.samplers.sample),
    calling tick() after each step."""
    last = None
    for last in trajectory(denoiser, schedule, noise, steps, spacing=spacing):
        if tick is not None:
            tick()
    return np.asarray(denoiser.to_pixels(last.x0_pred), dtype=np.float32)


def warm_up(denoiser, noise) -> None:
    """One call before timing, so the first column does not pay for graph tracing."""
    n = len(noise)
    denoiser.predict(noise, np.full(n, 0.5, np.float32), np.full(n, 0.5, np.float32))


def step_grid(denoiser, schedule, seeds, spacing, counts, bar) -> dict:
    noise = noises(seeds, denoiser.image_shape)
    warm_up(denoiser, noise)
    total, done = sum(counts), 0
    images, seconds = [], []
    for n in counts:
        def tick(n=n):
            nonlocal done
            done += 1
            bar.progress(done / total, text=t("explorer.computing", n=n))
        start = time.perf_counter()
        images.append(sample_images(denoiser, schedule, noise, n, spacing, tick))
        seconds.append(time.perf_counter() - start)
    return {"images": images, "seconds": seconds}


def shown(images: np.ndarray) -> tuple[list[bytes], bool]:
    """PNG bytes of each image, and whether every pixel was a finite number."""
    finite = bool(np.isfinite(images).all())
    clean = np.nan_to_num(images, nan=0.0, posinf=0.0, neginf=0.0)
    return [png_bytes(x) for x in clean], finite


def duration(seconds: float) -> str:
    return t("explorer.ms", ms=seconds * 1e3) if seconds < 1.0 else t("explorer.s", s=seconds)


def line_chart(series: dict, title: str, x_label: str, y_label: str, band=None) -> dict:
    """A small Plotly spec: named lines {name: (x, y)}, and optionally a shaded y band."""
    colors = ["#009E73", "#D55E00", "#0072B2"]
    data = [dict(type="scatter", mode="lines+markers", x=list(map(float, x)),
                 y=list(map(float, y)), name=name, line=dict(color=c, width=2),
                 marker=dict(size=5))
            for (name, (x, y)), c in zip(series.items(), colors)]
    layout = dict(title=dict(text=title), height=300, margin=dict(l=10, r=10, t=40, b=10),
                  xaxis=dict(title=dict(text=x_label)), yaxis=dict(title=dict(text=y_label)),
                  legend=dict(orientation="h", x=0, y=-0.25, yanchor="top"))
    if band is not None:
        lo, hi, name = band
        layout["shapes"] = [dict(type="rect", xref="paper", x0=0, x1=1, yref="y", y0=lo, y1=hi,
                                 fillcolor="rgba(0,158,115,0.12)", line=dict(width=0),
                                 layer="below")]
        data.append(dict(type="scatter", mode="lines", x=[None], y=[None], name=name,
                         line=dict(color="rgba(0,158,115,0.35)", width=10)))
    return dict(data=data, layout=layout)


# ---------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------

st.title(t("explorer.title"))
st.markdown(t("explorer.intro"))
choice = model_picker()

with st.container(border=True):
    c1, c2, c3, c4 = st.columns([2.2, 1.4, 1, 1.6])
    spacing = c1.selectbox(t("explorer.spacing"), SPACING_CHOICES, key="ex_spacing",
                           format_func=labels("explorer.spacing"),
                           help=t("explorer.spacing_help"), persist_state="session")
    seed = c2.number_input(t("explorer.seed"), 0, MAX_SEED, key="ex_seed",
                           help=t("explorer.seed_help"), persist_state="session")
    rows = c3.selectbox(t("explorer.rows"), list(range(1, MAX_ROWS + 1)), key="ex_rows",
                        persist_state="session")
    steps = c4.slider(t("explorer.steps"), 1, MAX_STEPS, key="ex_steps",
                      persist_state="session")

try:
    denoiser, schedule = denoiser_and_schedule(choice)
except Exception as err:  # a bundle that no longer loads: say so, never a traceback
    publish(PARAMS)
    st.error(t("explorer.model_error", detail=str(err)))
    st.stop()
mid = model_id(choice)

# ---------------------------------------------------------------------------------------
st.subheader(t("explorer.steps_title"))
st.markdown(t("explorer.steps_intro"))
counts = [n for n in STEP_COUNTS if spacing == "continuous" or n <= schedule.T]
if len(counts) < len(STEP_COUNTS):
    st.info(t("explorer.steps_capped", T=schedule.T))
seeds = list(range(seed, min(seed + rows, MAX_SEED + 1)))
try:
    bar = st.empty()
    grid = remembered(("grid", mid, tuple(seeds), spacing, tuple(counts)),
                      lambda: step_grid(denoiser, schedule, seeds, spacing, counts,
                                        bar.progress(0.0, text=t("explorer.computing", n=1))))
    bar.empty()
except Exception as err:  # noqa: BLE001  (a clear message, never a traceback)
    st.error(t("explorer.error", detail=str(err)))
else:
    all_finite = True
    for col, n, seconds, images in zip(st.columns(len(counts)), counts, grid["seconds"],
                                       grid["images"]):
        pngs, finite = shown(images)
        all_finite &= finite
        col.markdown("**" + (t("explorer.one_step") if n == 1 else t("explorer.n_steps", n=n))
                     + "**")
        col.caption(duration(seconds))
        col.image(pngs, width="stretch", output_format="PNG")
    if not all_finite:
        st.warning(t("explorer.not_finite"))
    st.caption(t("explorer.timing_note"))

# ---------------------------------------------------------------------------------------
st.subheader(t("explorer.interp_title"))
st.markdown(t("explorer.interp_intro"))
c1, c2, c3 = st.columns(3)
seed_a = c1.number_input(t("explorer.seed_a"), 0, MAX_SEED, key="ex_a", persist_state="session")
seed_b = c2.number_input(t("explorer.seed_b"), 0, MAX_SEED, key="ex_b", persist_state="session")
points = c3.slider(t("explorer.points"), 3, 21, key="ex_points", persist_state="session")
s_values = np.linspace(0.0, 1.0, points)
noise_a, noise_b = noises([seed_a, seed_b], denoiser.image_shape)


def interpolate():
    mixtures = slerp(noise_b, noise_a, s_values)  # s = 0: a, s = 1: b
    return sample_images(denoiser, schedule, mixtures, steps, spacing)


try:
    with st.spinner(t("explorer.interp_running", n=points)):
        path = remembered(("interp", mid, seed_a, seed_b, points, steps, spacing), interpolate)
except Exception as err:  # noqa: BLE001  (a clear message, never a traceback)
    st.error(t("explorer.error", detail=str(err)))
else:
    pngs, finite = shown(path)
    captions = [f"{s:.2f}" for s in s_values]
    captions[0], captions[-1] = (t("explorer.interp_end", seed=seed_a),
                                 t("explorer.interp_end", seed=seed_b))
    for col, png, caption in zip(st.columns(points, gap="small"), pngs, captions):
        col.image(png, width="stretch", caption=caption, output_format="PNG")
    if not finite:
        st.warning(t("explorer.not_finite"))
    st.caption(t("explorer.interp_note", steps=steps))
    if choice.kind == "ideal":
        st.caption(t("explorer.interp_ideal"))
fine = np.linspace(0.0, 1.0, 41)
dims = np.sqrt(noise_a.size)
st.plotly_chart(line_chart({
    t("explorer.norm_slerp"): (fine, [np.linalg.norm(slerp(noise_b, noise_a, s)) / dims
                                      for s in fine]),
    t("explorer.norm_lerp"): (fine, [np.linalg.norm((1 - s) * noise_a + s * noise_b) / dims
                                     for s in fine]),
}, t("explorer.norm_title"), "s", t("explorer.norm_y")), key="norms")

# ---------------------------------------------------------------------------------------
st.subheader(t("explorer.cross_title"))
st.markdown(t("explorer.cross_intro"))
other_name = st.selectbox(t("explorer.other"), SCHEDULE_NAMES, format_func=labels("schedule"),
                          key="ex_other", persist_state="session")
publish(PARAMS)
other = make_schedule(other_name, schedule.T)
if other_name == schedule.name:
    st.info(t("explorer.same_schedule"))
cross_seeds = list(range(seed, min(seed + CROSS_IMAGES, MAX_SEED + 1)))


def both_schedules():
    noise = noises(cross_seeds, denoiser.image_shape)
    return [sample_images(denoiser, s, noise, steps, spacing) for s in (schedule, other)]


try:
    with st.spinner(t("explorer.cross_running")):
        own_images, other_images = remembered(
            ("cross", mid, other_name, tuple(cross_seeds), steps, spacing), both_schedules)
    grids = [sampling_grid(s, steps, spacing) for s in (schedule, other)]
except Exception as err:  # noqa: BLE001  (a clear message, never a traceback)
    st.error(t("explorer.error", detail=str(err)))
else:
    seed_captions = [t("explorer.interp_end", seed=s) for s in cross_seeds]
    all_finite = True
    for label, images in ((t("explorer.own_row", name=schedule_label(schedule.name)), own_images),
                          (t("explorer.other_row", name=schedule_label(other_name)),
                           other_images)):
        pngs, finite = shown(images)
        all_finite &= finite
        st.markdown(f"**{label}**")
        st.image(pngs, width=TILE_WIDTH, caption=seed_captions,
                 output_format="PNG")
    if not all_finite:
        st.warning(t("explorer.not_finite"))
    diff = float(np.abs(np.nan_to_num(own_images) - np.nan_to_num(other_images)).mean())
    st.caption(t("explorer.cross_diff", d=diff))
    band = None
    if choice.kind == "keras":
        lo, hi = (float(schedule.rates(x)[0]) ** 2 for x in (0.0, 1.0))
        band = (lo, hi, t("explorer.trained_band"))
    st.plotly_chart(line_chart(
        {schedule_label(s.name): (np.arange(1, len(g) + 1), g.noise_rates**2)
         for s, g in zip((schedule, other), grids)},
        t("explorer.variance_title"), t("explorer.variance_x"), t("explorer.variance_y"),
        band=band), key="variances")
    if choice.kind == "keras":
        st.caption(t("explorer.cross_keras", lo=band[0], hi=band[1]))
    else:
        st.caption(t("explorer.cross_ideal"))
