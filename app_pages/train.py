"""Train live: train a small denoiser in a worker process and watch it learn.

The network trains in a spawned worker (lab.jobs), never in this process:
Streamlit resets Keras after every rerun (REFERENCE.md platform facts), and the
page must stay light (no TensorFlow import here). A fragment polls the job once a
second and keeps everything it reported in the session, so the charts and the
snapshot replay survive reruns. A server-wide JobManager caps how many runs train
at once; the others wait in a queue, and a closed tab's run is reaped.
"""

from __future__ import annotations

import hashlib
import math
import tempfile
import uuid
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from core.data import procedural_flowers
from core.schedules import SCHEDULE_NAMES
from lab import uploads
from lab.i18n import labels, t
from lab.images import png_bytes
from lab.jobs import JobManager, TrainingJob
from lab.models import SESSION_MODELS, model_picker
from lab.state import Param, int_in, one_of, publish, restore

# Mirrors of core.training / core.diffusion / core.unet (which import TensorFlow);
# tests/test_app_train.py checks that they agree.
DEFAULT_PRESET = "tiny"
DEFAULT_LEARNING_RATE = 2e-3
DEFAULT_BATCH_SIZE = 32
DEFAULT_EMA = 0.999
PRESETS = ("tiny", "small", "book")
LOSSES = ("mae", "mse")
PREDICTIONS = ("eps", "v")
SIZES = (32, 64)
SOURCES = ("procedural", "upload")
BUDGETS = ("minutes", "steps")
# The last two are far too large on purpose: a learner can watch a run diverge,
# and see the lab stop it and keep the last good weights.
LEARNING_RATES = (1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 1.0, 100.0)
BATCH_SIZES = (16, 32, 64, 128)
EMA_DECAYS = (0.99, 0.995, 0.999, 0.9995)
PREVIEW = 16
SMOOTHING = 0.9        # EMA of the raw loss for the smoothed curve
IDLE_REAP_S = 60.0     # a run whose page sent no heartbeat for this long is ended
RUNS_DIR = Path(tempfile.gettempdir()) / "diffusion-lab-runs"

JOB = "_train_job"          # session_state: the TrainingJob of this session
RUN = "_train_run"          # session_state: dict of everything the job reported
UPLOADED = "_train_uploaded"  # session_state: (key, UploadSummary) of the last upload read
RUN_COUNT = "_train_runs"   # session_state: how many runs this session started
ACTIVE = ("created", "running", "paused", "stopping")


def float_in(options):
    by_text = {f"{o:g}": o for o in options}
    return lambda raw: by_text[f"{float(raw):g}"]


PARAMS = [
    Param("tr_source", "procedural", one_of(SOURCES)),
    Param("tr_count", 1000, int_in(16, 20_000)),
    Param("tr_size", 32, one_of(SIZES)),
    Param("tr_preset", DEFAULT_PRESET, one_of(PRESETS)),
    Param("tr_schedule", "offset_cosine", one_of(SCHEDULE_NAMES)),
    Param("tr_loss", "mae", one_of(LOSSES)),
    Param("tr_pred", "eps", one_of(PREDICTIONS)),
    Param("tr_lr", DEFAULT_LEARNING_RATE, float_in(LEARNING_RATES), lambda v: f"{v:g}"),
    Param("tr_batch", DEFAULT_BATCH_SIZE, one_of(BATCH_SIZES)),
    Param("tr_ema", DEFAULT_EMA, float_in(EMA_DECAYS), lambda v: f"{v:g}"),
    Param("tr_budget", "minutes", one_of(BUDGETS)),
    Param("tr_minutes", 3, int_in(1, 60)),
    Param("tr_steps", 1000, int_in(1, 100_000)),
]
restore(PARAMS)


@st.cache_resource
def job_manager() -> JobManager:
    return JobManager()


def baseline(loss: str) -> float:
    """Loss of a network that outputs zeros (pitfall P7)."""
    return math.sqrt(2.0 / math.pi) if loss == "mae" else 1.0


def ema_decay_at(step: int, target: float) -> float:
    return min(target, (1.0 + step) / (10.0 + step))


def snapshot_every(budget: str, steps: int) -> int:
    """Few snapshots: each costs a 20-step DDIM run of 16 images in the worker."""
    if budget == "steps":
        return max(10, min(200, steps // 15))
    return 100


@st.cache_data(max_entries=4, show_spinner=False)
def flower_preview(n: int, size: int) -> np.ndarray:
    return procedural_flowers(min(n, PREVIEW), size=size, seed=0)


def grid_png(images01: np.ndarray, cols: int = 8) -> bytes:
    n, h, w, _ = images01.shape
    rows = math.ceil(n / cols)
    canvas = np.ones((rows * (h + 2) - 2, cols * (w + 2) - 2, 3), np.float32)
    for i, img in enumerate(images01):
        r, c = divmod(i, cols)
        canvas[r * (h + 2):r * (h + 2) + h, c * (w + 2):c * (w + 2) + w] = img
    scale = max(1, 64 // h)
    return png_bytes(canvas.repeat(scale, 0).repeat(scale, 1))


manager = job_manager()
manager.reap(IDLE_REAP_S)
job: TrainingJob | None = st.session_state.get(JOB)
active = job is not None and job.state in ACTIVE

st.title(t("train.title"))
st.markdown(t("train.intro"))
model_picker()

# ---- data -------------------------------------------------------------------------------
st.subheader(t("train.data"))
size = st.radio(t("train.size"), SIZES, key="tr_size", horizontal=True, disabled=active,
                format_func=lambda s: f"{s}×{s}", persist_state="session")
source = st.radio(t("train.source"), SOURCES, format_func=labels("train.source"),
                  key="tr_source", horizontal=True, disabled=active, persist_state="session")
train_images = None
n_images = 0
if source == "procedural":
    count = st.number_input(t("train.count"), 16, 20_000, step=100, key="tr_count",
                            help=t("train.count_help"), disabled=active,
                            persist_state="session")
    n_images = int(count)
    preview = flower_preview(n_images, size)
else:
    files = st.file_uploader(t("train.upload"), type=["png", "jpg", "jpeg", "webp", "zip"],
                             accept_multiple_files=True, key="tr_upload", disabled=active,
                             help=t("train.upload_help", max_files=uploads.MAX_FILES))
    summary = None
    if files:
        digest = hashlib.sha1()
        for f in files:
            digest.update(f.name.encode() + f.getvalue())
        read_key = (digest.hexdigest(), size)
        kept = st.session_state.get(UPLOADED)
        if kept is None or kept[0] != read_key:
            with st.spinner():
                kept = (read_key, uploads.read_uploads(files, size))
            st.session_state[UPLOADED] = kept
        summary = kept[1]
    if summary is None:
        st.info(t("train.no_upload"))
        preview = None
    else:
        details = []
        for name, code in summary.refused:
            limit = (uploads.MAX_FILES if code == "too_many"
                     else uploads.MAX_ZIP_BYTES // 2**20)
            details.append(t(f"train.refused.{code}", name=name, limit=limit))
        if summary.not_images:
            details.append(t("train.skip.not_images", n=len(summary.not_images)))
        if summary.unsafe:
            details.append(t("train.skip.unsafe", n=len(summary.unsafe)))
        if summary.failed:
            details.append(t("train.skip.failed", n=len(summary.failed),
                             names=", ".join(n for n, _ in summary.failed[:3])))
        if summary.count:
            st.success(t("train.upload_ok", n=summary.count))
            if details:
                st.warning(t("train.upload_problems", details="; ".join(details)))
        else:
            st.error(t("train.upload_none") + (" " + "; ".join(details) if details else ""))
        n_images = summary.count
        train_images = summary.images if summary.count else None
        preview = summary.images[:PREVIEW] if summary.count else None
if preview is not None and len(preview):
    st.caption(t("train.preview", n=n_images, size=size, shown=len(preview)))
    st.image(grid_png(preview), output_format="PNG")

# ---- settings ---------------------------------------------------------------------------
with st.expander(t("train.settings"), expanded=not active):
    c1, c2, c3 = st.columns(3)
    with c1:
        preset = st.selectbox(t("train.preset"), PRESETS, format_func=labels("train.preset"),
                              key="tr_preset", disabled=active, persist_state="session")
        schedule = st.selectbox(t("train.schedule"), SCHEDULE_NAMES,
                                format_func=labels("schedule"), key="tr_schedule",
                                disabled=active, persist_state="session")
        loss = st.radio(t("train.loss"), LOSSES, format_func=labels("train.loss"),
                        key="tr_loss", horizontal=True, disabled=active,
                        persist_state="session")
    with c2:
        prediction = st.radio(t("train.prediction"), PREDICTIONS,
                              format_func=labels("train.prediction"), key="tr_pred",
                              disabled=active, persist_state="session")
        lr = st.select_slider(t("train.lr"), LEARNING_RATES, format_func=lambda v: f"{v:g}",
                              key="tr_lr", disabled=active, persist_state="session")
        batch = st.select_slider(t("train.batch"), BATCH_SIZES, key="tr_batch",
                                 disabled=active, persist_state="session")
    with c3:
        ema = st.select_slider(t("train.ema"), EMA_DECAYS, format_func=lambda v: f"{v:g}",
                               key="tr_ema", help=t("train.ema_help"), disabled=active,
                               persist_state="session")
        budget = st.radio(t("train.budget"), BUDGETS, format_func=labels("train.budget"),
                          key="tr_budget", horizontal=True, disabled=active,
                          persist_state="session")
        if budget == "minutes":
            budget_value = st.number_input(t("train.minutes"), 1, 60, key="tr_minutes",
                                           disabled=active, persist_state="session")
        else:
            budget_value = st.number_input(t("train.steps"), 1, 100_000, key="tr_steps",
                                           disabled=active, persist_state="session")
publish(PARAMS)



def start_run() -> None:
    cfg = {"image_size": int(size), "preset": preset, "schedule": schedule, "loss": loss,
           "prediction": prediction, "learning_rate": float(lr), "batch_size": int(batch),
           "ema_decay": float(ema), "data": "procedural", "num_images": int(n_images),
           "max_steps": int(budget_value) if budget == "steps" else None,
           "max_minutes": float(budget_value) if budget == "minutes" else None,
           "snapshot_every": snapshot_every(budget, int(budget_value))}
    number = st.session_state.get(RUN_COUNT, 0) + 1
    st.session_state[RUN_COUNT] = number
    name = f"run {number} · {preset} {size}px"
    out_dir = RUNS_DIR / f"{uuid.uuid4().hex[:12]}"
    new = TrainingJob(cfg, out_dir, images=train_images if source == "upload" else None,
                      name=f"run-{number}")
    st.session_state[JOB] = new
    st.session_state[RUN] = {"name": name, "config": cfg, "progress": [], "snapshots": [],
                             "done": None, "error": None, "registered": False}
    manager.submit(new)


can_start = not active and (source == "procedural" or train_images is not None)
# Not an on_click callback: a callback would see the settings of the previous rerun.
if st.button(t("train.start"), type="primary", icon=":material/play_arrow:", key="tr_start",
             disabled=not can_start):
    start_run()
    st.rerun()
if active:
    st.caption(t("train.one_run"))
elif source == "upload" and train_images is None:
    st.caption(t("train.need_images"))


# ---- live -------------------------------------------------------------------------------
def absorb(run: dict, events: list[dict]) -> None:
    for ev in events:
        kind = ev.get("type")
        if kind == "progress":
            run["progress"].append(ev)
        elif kind == "snapshot":
            run["snapshots"].append((int(ev["step"]), np.asarray(ev["images"])))
        elif kind == "done":
            run["done"] = ev
        elif kind == "error":
            run["error"] = ev.get("message", "")


def register(run: dict, job) -> None:
    bundle = (run["done"] or {}).get("bundle") or job.bundle
    if bundle and not run["registered"]:
        st.session_state.setdefault(SESSION_MODELS, {})[run["name"]] = str(bundle)
        run["registered"] = True
        run["bundle"] = str(bundle)


def loss_chart(run: dict) -> go.Figure:
    prog = run["progress"]
    steps = [p["step"] for p in prog]
    raw = [p.get("n_loss_recent", p.get("n_loss")) for p in prog]
    smooth, s = [], None
    for v in raw:
        if v is not None and math.isfinite(v):
            s = v if s is None else SMOOTHING * s + (1 - SMOOTHING) * v
        smooth.append(s)
    val = [(p["step"], p["val_n_loss"]) for p in prog if p.get("val_n_loss") is not None]
    base = baseline(run["config"]["loss"])
    fig = go.Figure()
    fig.add_scatter(x=steps, y=raw, mode="lines", name=t("train.chart_raw"),
                    line=dict(width=1), opacity=0.45)
    fig.add_scatter(x=steps, y=smooth, mode="lines", name=t("train.chart_smooth"),
                    line=dict(width=2.5))
    if val:
        fig.add_scatter(x=[v[0] for v in val], y=[v[1] for v in val], mode="lines+markers",
                        name=t("train.chart_val"))
    fig.add_hline(y=base, line_dash="dash", line_color="gray",
                  annotation_text=t("train.chart_baseline", value=f"{base:.3f}"))
    fig.update_layout(title=t("train.chart_loss"), xaxis_title=t("train.chart_step"),
                      height=320, margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(orientation="h", y=-0.25))
    return fig


def bins_chart(run: dict) -> go.Figure | None:
    rows = [p for p in run["progress"] if "n_loss_bin_0" in p]
    if not rows:
        return None
    z = [[p.get(f"n_loss_bin_{b}") for p in rows] for b in range(10)]
    fig = go.Figure(go.Heatmap(x=[p["step"] for p in rows], y=list(range(10)), z=z,
                               colorscale="Viridis"))
    fig.update_layout(title=t("train.chart_bins"), xaxis_title=t("train.chart_step"),
                      yaxis_title=t("train.chart_bin_axis"), height=300,
                      margin=dict(l=10, r=10, t=40, b=10))
    return fig


def show_run(run: dict, live: bool) -> None:
    prog = run["progress"]
    cfg = run["config"]
    if prog:
        last = prog[-1]
        step, ips, eta = int(last["step"]), float(last.get("images_per_s", 0)), last.get("eta_s")
        total = cfg["max_steps"]
        if total:
            frac = step / total
        elif cfg["max_minutes"] and eta is not None:
            frac = 1 - eta / (cfg["max_minutes"] * 60)
        else:
            frac = 0.0
        text = (t("train.progress", step=step, ips=f"{ips:.0f}", eta=f"{eta:.0f}")
                if eta is not None and live else t("train.progress_no_eta", step=step,
                                                   ips=f"{ips:.0f}"))
        st.progress(min(1.0, max(0.0, frac)), text=text)
        target = float(cfg["ema_decay"])
        decay = ema_decay_at(step, target)
        st.markdown(t("train.ema_state", step=step, decay=f"{decay:.4f}", target=f"{target:g}",
                      window=f"{1 / max(1e-9, 1 - decay):.0f}"))
    left, right = st.columns(2)
    with left:
        st.plotly_chart(loss_chart(run), key=f"tr_loss_chart_{live}")
        st.caption(t("train.baseline_note", value=f"{baseline(cfg['loss']):.3f}"))
    with right:
        fig = bins_chart(run)
        if fig is not None:
            st.plotly_chart(fig, key=f"tr_bins_chart_{live}")
            st.caption(t("train.bins_note"))
    st.markdown("**" + t("train.snapshots") + "**")
    snaps = run["snapshots"]
    if not snaps:
        st.caption(t("train.no_snapshot", every=cfg["snapshot_every"]))
        return
    if len(snaps) > 1:
        pick = st.slider(t("train.snapshot_step"), 1, len(snaps), value=len(snaps),
                         key=f"tr_snap_{live}_{len(snaps) if live else 0}")
    else:
        pick = 1
    step, images = snaps[pick - 1]
    st.image(grid_png(images.astype(np.float32) / 255.0), output_format="PNG",
             caption=t("train.snapshot_caption", step=step))


def pause() -> None:
    st.session_state[JOB].pause()


def resume() -> None:
    st.session_state[JOB].resume()


def stop() -> None:
    st.session_state[JOB].stop()


@st.fragment(run_every=1.0)
def live_view() -> None:
    job = st.session_state.get(JOB)
    run = st.session_state.get(RUN)
    if job is None or run is None:
        return
    manager.heartbeat(job)
    manager.tick()
    absorb(run, job.poll())
    if job.state not in ACTIVE or run["done"] or run["error"]:
        register(run, job)
        st.rerun()  # the whole page: settings unlock, the result shows
    st.subheader(t("train.live"))
    b1, b2, b3, _ = st.columns([1, 1, 1, 3])
    paused = job.state == "paused"
    if paused:
        b1.button(t("train.resume"), key="tr_resume", icon=":material/play_arrow:",
                  on_click=resume)
    else:
        b1.button(t("train.pause"), key="tr_pause", icon=":material/pause:", on_click=pause,
                  disabled=job.state != "running")
    b2.button(t("train.stop"), key="tr_stop", icon=":material/stop:", on_click=stop,
              disabled=job.state == "stopping")
    position = manager.position(job)
    if job.state == "created" and position > 0:
        st.info(t("train.queued", position=position))
    elif job.state == "stopping":
        st.info(t("train.stopping"))
    elif paused:
        st.info(t("train.paused", step=run["progress"][-1]["step"] if run["progress"] else 0))
    elif not run["progress"]:
        st.info(t("train.starting"))
    show_run(run, live=True)


def show_result(job, run: dict) -> None:
    register(run, job)
    done = run["done"] or {}
    reason = done.get("reason")
    steps = int(done.get("steps") or (run["progress"][-1]["step"] if run["progress"] else 0))
    seconds = f"{float(done.get('seconds') or 0):.0f}"
    if run["error"] or job.state == "failed" or reason not in ("budget", "epochs", "stopped",
                                                               "diverged"):
        st.error(t("train.failed", detail=(run["error"] or done.get("message")
                                           or job.state)[:300]))
    elif reason == "diverged":
        st.error(t("train.done.diverged", steps=steps))
    elif reason == "stopped":
        st.warning(t(f"train.done.{reason}", steps=steps, seconds=seconds))
    else:
        st.success(t(f"train.done.{reason}", steps=steps, seconds=seconds))
    if run.get("bundle"):
        st.markdown(t("train.in_picker", name=run["name"]))

        def bundle_zip() -> bytes:
            from core.checkpoints import bundle_to_zip
            return bundle_to_zip(run["bundle"])

        st.download_button(t("train.download"), bundle_zip,
                           file_name=f"{Path(run['bundle']).name}.zip", mime="application/zip",
                           key="tr_download", help=t("train.download_help"),
                           icon=":material/download:", on_click="ignore")
        st.caption(t("train.further_note"))
    show_run(run, live=False)


run = st.session_state.get(RUN)
if job is not None and run is not None:
    if active:
        manager.heartbeat(job)
        live_view()
    else:
        absorb(run, job.poll())
        st.subheader(t("train.live"))
        show_result(job, run)
