"""Reverse denoising: run the sampler once, then step through x_t, ε̂, x̂0 and x_{t-1}.

The whole trajectory is computed in one call and kept (as pixels) in the session:
Streamlit resets Keras after every rerun, and stepping must be instant, so the
step viewer (a fragment) only reads the kept arrays and never calls the model.
"""

import math

import streamlit as st

from core.samplers import SAMPLERS, SPACINGS
from lab import figures, inputs
from lab import reverse_view as rv
from lab.i18n import current_language, labels, t
from lab.models import denoiser_and_schedule, model_picker
from lab.state import Param, int_in, one_of, publish, restore

MAX_SEED = 2**31 - 1
MAX_STEPS = 1000
MAX_IMAGES = 16
STARTS = ["noise", "flower"]
# The spacings in the order the picker offers them: the book's first.
SPACING_CHOICES = ["continuous"] + [s for s in SPACINGS if s != "continuous"][::-1]
RUNS = "_reverse_runs"       # session_state: {settings key: {"traj": Trajectory, ...}}
KEPT_RUNS = 2                # the current run and the one before (toggle back for free)
COMPUTED = "_reverse_computed"  # session_state: how many runs this session computed


def eta_in_range(raw: str) -> float:
    value = round(float(raw), 2)
    if not 0.0 <= value <= 1.0:  # also refuses nan
        raise ValueError(f"eta {raw} outside 0..1")
    return value


PARAMS = [
    Param("rev_sampler", "ddim", one_of(SAMPLERS)),
    Param("rev_steps", 20, int_in(1, MAX_STEPS)),
    Param("rev_eta", 0.0, eta_in_range, lambda v: f"{v:g}"),
    Param("rev_spacing", "continuous", one_of(SPACING_CHOICES)),
    Param("rev_seed", 0, int_in(0, MAX_SEED)),
    Param("rev_n", 8, int_in(1, MAX_IMAGES)),
    Param("rev_start", "noise", one_of(STARTS)),
    Param("rev_flower", 0, int_in(0, inputs.GALLERY_SIZE - 1)),
    Param("rev_start_t", 500, int_in(1, 100_000)),
    Param("rev_step", 1, int_in(1, MAX_STEPS)),
    Param("rev_image", 1, int_in(1, MAX_IMAGES)),
]
restore(PARAMS)

st.title(t("reverse.title"))
st.markdown(t("reverse.intro"))

choice = model_picker()
try:
    denoiser, schedule = denoiser_and_schedule(choice)
except Exception as err:  # a damaged session model: say so, keep the page alive
    st.error(t("reverse.error.failed", detail=str(err)[:300]))
    st.stop()

with st.container(border=True):
    c1, c2, c3 = st.columns([1, 1, 1.3], gap="large")
    with c1:
        sampler = st.radio(t("reverse.sampler"), SAMPLERS, format_func=labels("reverse.sampler"),
                           key="rev_sampler", horizontal=True, help=t("reverse.sampler_help"),
                           persist_state="session")
        ddpm = sampler == "ddpm"
        st.slider(t("reverse.eta"), 0.0, 1.0, step=0.05, key="rev_eta", disabled=ddpm,
                  help=t("reverse.eta_help"), persist_state="session")
        if ddpm:
            st.caption(t("reverse.eta_ddpm"))
        spacing = st.selectbox(t("reverse.spacing"), SPACING_CHOICES,
                               format_func=labels("reverse.spacing"), key="rev_spacing",
                               help=t("reverse.spacing_help"), persist_state="session")
    with c2:
        steps = st.number_input(t("reverse.steps"), 1, MAX_STEPS, key="rev_steps",
                                help=t("reverse.steps_help"), persist_state="session")
        n = st.slider(t("reverse.n"), 1, MAX_IMAGES, key="rev_n", help=t("reverse.n_help"),
                      persist_state="session")
        seed = st.number_input(t("common.seed"), 0, MAX_SEED, key="rev_seed",
                               help=t("reverse.seed_help"), persist_state="session")
    with c3:
        start = st.radio(t("reverse.start"), STARTS, format_func=labels("reverse.start"),
                         key="rev_start", horizontal=True, help=t("reverse.start_help"),
                         persist_state="session")
        flower = start_t = None
        if start == "flower":
            st.image(list(inputs.gallery(64)), width=30,
                     caption=[str(i + 1) for i in range(inputs.GALLERY_SIZE)])
            flower = st.radio(t("reverse.flower"), list(range(inputs.GALLERY_SIZE)),
                              format_func=lambda i: str(i + 1), horizontal=True,
                              key="rev_flower", persist_state="session",
                              label_visibility="collapsed")
            if st.session_state["rev_start_t"] > schedule.T:
                st.session_state["rev_start_t"] = schedule.T
            start_t = st.slider(t("reverse.start_t"), 1, schedule.T, key="rev_start_t",
                                help=t("reverse.start_t_help"), persist_state="session")

eta = 0.0 if ddpm else float(st.session_state["rev_eta"])  # DDPM takes no η
publish(PARAMS)

run_key = (choice.key, choice.path, sampler, int(steps), eta, spacing, int(seed), int(n),
           start, flower, start_t)
runs = st.session_state.setdefault(RUNS, {})


def compute() -> bool:
    """Run the sampler once for these settings (progress per step); False on bad input."""
    bar = st.progress(0.0, text=t("reverse.progress", k=0, n=steps))

    def on_step(done, total):
        bar.progress(done / total, text=t("reverse.progress", k=done, n=total))

    start_image = None if start == "noise" else inputs.gallery(choice.image_size)[flower]
    try:
        traj = rv.compute_trajectory(denoiser, schedule, n=int(n), steps=int(steps),
                                     sampler=sampler, eta=eta, spacing=spacing, seed=int(seed),
                                     start_image01=start_image, start_t=start_t,
                                     on_step=on_step)
    except rv.SettingsError as err:
        bar.empty()
        st.error(t(f"reverse.error.{err.code}", **err.params))
        return False
    except Exception as err:  # never a traceback: say what failed, keep the page
        bar.empty()
        st.error(t("reverse.error.failed", detail=str(err)[:300]))
        return False
    bar.empty()
    while len(runs) >= KEPT_RUNS:
        runs.pop(next(iter(runs)))
    runs[run_key] = {"traj": traj}
    st.session_state[COMPUTED] = st.session_state.get(COMPUTED, 0) + 1
    return True


if run_key not in runs and not compute():
    st.stop()
run = runs[run_key]
traj: rv.Trajectory = run["traj"]
st.caption(t("reverse.computed", n=traj.n_images, steps=traj.steps, seconds=f"{traj.seconds:.2f}"))
if len(traj.kept) < traj.steps:
    st.info(t("reverse.strided", kept=len(traj.kept), steps=traj.steps))


def go_to(step: int) -> None:
    st.session_state["rev_step"] = step


@st.fragment
def step_viewer(key) -> None:
    """Everything that depends on the step or the image shown: no model call here."""
    traj = st.session_state[RUNS][key]["traj"]
    options = [int(k) + 1 for k in traj.kept]  # 1-based step numbers
    current = int(st.session_state.get("rev_step", 1))
    if current not in options:  # a new run, or a step the URL asked for that is not kept
        current = options[traj.position(current - 1)]
        st.session_state["rev_step"] = current
    pos = options.index(current)
    if st.session_state.get("rev_image", 1) > traj.n_images:
        st.session_state["rev_image"] = traj.n_images

    st.subheader(t("reverse.viewer"))
    b1, b2, b3, b4, _, pick = st.columns([1, 1, 1, 1, 1.5, 1.5], vertical_alignment="bottom")
    at_start, at_end = pos == 0, pos == len(options) - 1
    b1.button(t("reverse.first"), key="rev_first", icon=":material/first_page:",
              on_click=go_to, args=(options[0],), disabled=at_start, width="stretch")
    b2.button(t("reverse.previous"), key="rev_previous", icon=":material/chevron_left:",
              on_click=go_to, args=(options[max(0, pos - 1)],), disabled=at_start,
              width="stretch")
    b3.button(t("reverse.next"), key="rev_next", icon=":material/chevron_right:",
              on_click=go_to, args=(options[min(len(options) - 1, pos + 1)],),
              disabled=at_end, width="stretch")
    b4.button(t("reverse.last"), key="rev_last", icon=":material/last_page:",
              on_click=go_to, args=(options[-1],), disabled=at_end, width="stretch")
    image = pick.selectbox(t("reverse.image"), list(range(1, traj.n_images + 1)),
                           key="rev_image", persist_state="session") - 1
    if len(options) == traj.steps and traj.steps > 1:
        st.slider(t("reverse.step"), 1, traj.steps, key="rev_step",
                  help=t("reverse.step_help"), persist_state="session")
    elif len(options) > 1:
        st.select_slider(t("reverse.step"), options, key="rev_step",
                         help=t("reverse.step_help"), persist_state="session")
    publish(PARAMS)

    step = int(st.session_state["rev_step"]) - 1
    p = traj.position(step)
    t_now, t_next = rv.t_label(traj, traj.t[step]), rv.t_label(traj, traj.t_prev[step])
    st.markdown("**" + t("reverse.step_of", k=step + 1, n=traj.steps) + "**")
    shown = ((traj.x_t, t("reverse.cap_xt", t=t_now)), (traj.eps, t("reverse.cap_eps")),
             (traj.x0, t("reverse.cap_x0")), (traj.x_prev, t("reverse.cap_xprev", t=t_next)))
    for col, (arrays, caption) in zip(st.columns(4), shown):
        col.image(rv.png(arrays[p, image]), caption=caption, width="stretch",
                  output_format="PNG")
    numbers, equations = rv.step_latex(traj, step)
    left, right = st.columns([2, 3])
    with left:
        for line in numbers:
            st.latex(line)
    with right:
        for line in equations:
            st.latex(line)
    st.caption(t("reverse.equation_note"))

    left, right = st.columns([2, 3], gap="large")
    with left:
        st.markdown("**" + t("reverse.all_x0") + "**")
        st.image([rv.png(x) for x in traj.x0[p]], width=56, output_format="PNG",
                 caption=[("▶ " if i == image else "") + str(i + 1)
                          for i in range(traj.n_images)])
    with right:
        st.plotly_chart(rv.change_chart(
            traj, image, step,
            (t("reverse.chart_change"), t("reverse.chart_distance"), t("reverse.chart_current")),
            t("reverse.chart_title"), t("reverse.chart_x")), key="rev_chart")
        st.caption(t("reverse.chart_note"))


step_viewer(run_key)

st.subheader(t("reverse.result"))
result_png = rv.png(rv.grid(run["traj"].final, scale=max(1, math.ceil(64 / traj.final.shape[1]))))
left, right = st.columns([2, 3], gap="large")
with left:
    st.image(result_png, width="stretch", output_format="PNG")
    st.caption(t("reverse.final_note"))
    st.download_button(t("reverse.download_png"), result_png, file_name="reverse-samples.png",
                       mime="image/png", key="rev_png", icon=":material/download:",
                       on_click="ignore")


def gif() -> bytes:
    """Made on the first click (on a worker thread), then kept with the run."""
    if "gif" not in run:
        run["gif"] = rv.gif_bytes(traj)
    return run["gif"]


with left:
    st.download_button(t("reverse.download_gif"), gif, file_name="reverse-denoising.gif",
                       mime="image/gif", key="rev_gif", help=t("reverse.gif_help"),
                       icon=":material/animated_images:", on_click="ignore")
with right:
    st.markdown("**" + t("reverse.animation_title") + "**")
    st.caption(t("reverse.animation_note"))
    lang = current_language()
    if ("animation", lang) not in run:
        grids, done = rv.animation_frames(traj)
        run["animation", lang] = figures.noising_animation(
            grids, done, play=t("common.play"), pause=t("common.pause"),
            step_label=t("reverse.animation_step"))
    st.plotly_chart(run["animation", lang], key="rev_animation")

