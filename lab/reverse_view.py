"""The Reverse denoising page's machinery: run a trajectory once, keep it as pixels,
and build what the page shows from it (grids, a chart, LaTeX, a GIF).

Pure functions and plain data, no Streamlit: the page calls ``compute_trajectory``
once per setting (Streamlit resets Keras after every rerun, see REFERENCE.md), keeps
the returned ``Trajectory`` and steps through it without another model call. Arrays
are stored as uint8 pixels, so a 20-step run of 16 images at 32 px is 4 MB, and a
long run keeps at most ``MAX_TRAJECTORY_BYTES`` (evenly spaced steps beyond that).
"""

from __future__ import annotations

import io
import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
from PIL import Image

from core.forward import to_pixel_range
from core.samplers import CLEAN_END, SamplingGrid, sampling_grid, trajectory
from core.schedules import Schedule
from lab.images import to_uint8

# Pixels kept per trajectory (x_t, ε̂, x̂0, x_{t−1} of every kept step, uint8).
MAX_TRAJECTORY_BYTES = 64 * 2**20
GRID_COLS = 4
GRID_GAP = 2                 # white pixels between tiles
GIF_MIN_TILE = 128           # tiles are enlarged (nearest neighbour) to at least this
GIF_MAX_FRAMES = 101         # the start and up to 100 steps; longer runs are subsampled
GIF_FRAME_MS = 120
GIF_LAST_FRAME_MS = 1500
GIF_BAR_PX = 4               # progress bar under the grid: also keeps every frame distinct
ANIMATION_MAX_FRAMES = 61
CHANGE_COLOR = "#D55E00"
DISTANCE_COLOR = "#0072B2"
CURRENT_COLOR = "#444444"


class SettingsError(ValueError):
    """Settings that cannot be sampled; ``code`` and ``params`` name a translated message."""

    def __init__(self, code: str, **params):
        super().__init__(f"{code}: {params}")
        self.code = code
        self.params = params


@dataclass(frozen=True, eq=False)
class Trajectory:
    """A whole reverse run as pixels. Step k (0-based) goes from x_t to x_{t−1}.

    ``kept``: the step indices whose images are stored (all of them unless the run is
    longer than the memory budget allows). Image arrays are uint8 (len(kept), N, H, W, 3);
    per-step numbers (t, rates, σ, change) cover every step.
    """

    sampler: str
    spacing: str
    eta: float
    T: int
    kept: np.ndarray          # (K,) int, ascending, includes 0 and steps-1
    x_t: np.ndarray
    eps: np.ndarray
    x0: np.ndarray
    x_prev: np.ndarray
    final: np.ndarray         # (N, H, W, 3) uint8: the last step's x̂0, the sample
    t: np.ndarray             # (steps,) table index or continuous time
    t_prev: np.ndarray
    alpha_t: np.ndarray       # ᾱ at t and at t_prev, float64 (steps,)
    alpha_prev: np.ndarray
    sigma: np.ndarray
    change: np.ndarray        # (steps, N): mean |x̂0(k) − x̂0(k−1)| in [0, 1] pixels; nan at k = 0
    distance: np.ndarray      # (K, N): mean |x̂0(k) − final|
    seconds: float

    @property
    def steps(self) -> int:
        return len(self.t)

    @property
    def n_images(self) -> int:
        return self.final.shape[0]

    @property
    def continuous(self) -> bool:
        return self.spacing == "continuous"

    def position(self, step: int) -> int:
        """Index into the kept arrays of the kept step nearest to 0-based ``step``."""
        return int(np.abs(self.kept - step).argmin())

    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.x_t, self.eps, self.x0, self.x_prev, self.final))


# ---------------------------------------------------------------------------------------
# Checking settings and computing the trajectory
# ---------------------------------------------------------------------------------------


def predicts_noise(denoiser) -> bool:
    """True for a network that outputs ε (x̂0 then divides by the signal rate)."""
    model = getattr(denoiser, "model", None)
    return getattr(model, "prediction", None) == "eps"


def start_index(schedule: Schedule, spacing: str, start_t: int | None):
    """Where sampling starts, for ``core.samplers``: None (pure noise, from the end), a
    0-based table index (discrete spacings) or a time in (0, 1] ("continuous").
    ``start_t`` is the 1-based forward step of the forward page (1..T)."""
    if start_t is None:
        return None
    if spacing == "continuous":
        return start_t / schedule.T
    return start_t - 1


def check_settings(denoiser, schedule: Schedule, steps: int, spacing: str,
                   start_t: int | None) -> SamplingGrid:
    """The sampling grid for these settings, or a ``SettingsError`` a page can translate."""
    if start_t is not None and not 1 <= start_t <= schedule.T:
        raise SettingsError("bad_start", T=schedule.T, t=start_t)
    if spacing != "continuous":
        limit = schedule.T if start_t is None else start_t
        if steps > limit:
            raise SettingsError("too_many_steps", steps=steps, limit=limit,
                                t=schedule.T if start_t is None else start_t)
    grid = sampling_grid(schedule, steps, spacing, start_index(schedule, spacing, start_t))
    if predicts_noise(denoiser) and float(grid.alphas_cumprod[0]) <= 0.0:
        raise SettingsError("zero_snr")
    return grid


def initial_noise(n: int, image_shape, seed: int) -> np.ndarray:
    """The starting noise: image i is the same for every n ≥ i + 1 (one stream per seed)."""
    return np.random.default_rng(seed).standard_normal((n, *image_shape), dtype=np.float32)


def kept_steps(steps: int, bytes_per_step: int, budget: int | None = None) -> np.ndarray:
    """Which steps to store: all, or as many evenly spaced ones as fit in ``budget`` bytes
    (default ``MAX_TRAJECTORY_BYTES``), the first and the last always included."""
    budget = MAX_TRAJECTORY_BYTES if budget is None else budget
    fit = max(2, budget // max(1, bytes_per_step))
    if steps <= fit:
        return np.arange(steps)
    return np.unique(np.round(np.linspace(0, steps - 1, fit)).astype(int))


def compute_trajectory(denoiser, schedule: Schedule, *, n: int, steps: int, sampler: str,
                       eta: float, spacing: str, seed: int, start_image01=None,
                       start_t: int | None = None,
                       on_step: Callable[[int, int], None] | None = None,
                       budget: int | None = None) -> Trajectory:
    """Run the reverse process once and keep it as pixels.

    Starts from pure noise (``start_image01`` None) or from ``start_image01`` (H, W, 3)
    in [0, 1], noised to the forward page's step ``start_t``, with its own noise per
    image. DDPM must get ``eta=0``. ``on_step(done, steps)`` reports progress.
    Raises ``SettingsError`` (translatable) for settings that cannot be sampled.
    """
    check_settings(denoiser, schedule, steps, spacing,
                   None if start_image01 is None else start_t)
    started = time.perf_counter()
    shape = tuple(denoiser.image_shape)
    x = initial_noise(n, shape, seed)
    start = None
    if start_image01 is not None:
        from core.samplers import noisy_start

        start = start_index(schedule, spacing, start_t)
        x0 = denoiser.from_pixels(np.repeat(np.asarray(start_image01, np.float32)[None], n, 0))
        x = noisy_start(x0, x, schedule, start, spacing)

    per_step = 4 * n * int(np.prod(shape))
    kept = kept_steps(steps, per_step, budget)
    keep_at = {int(k): i for i, k in enumerate(kept)}
    images = {name: np.empty((len(kept), n, *shape), np.uint8)
              for name in ("x_t", "eps", "x0", "x_prev")}
    numbers = {name: np.empty(steps, np.float64)
               for name in ("t", "t_prev", "alpha_t", "alpha_prev", "sigma")}
    change = np.full((steps, n), np.nan)
    previous_x0 = None
    last_x0 = None
    for step in trajectory(denoiser, schedule, x, steps=steps, eta=eta, spacing=spacing,
                           sampler=sampler, seed=seed + 1, start_step=start):
        k = step.index
        if not (np.all(np.isfinite(step.x0_pred)) and np.all(np.isfinite(step.x_prev))):
            raise SettingsError("not_finite", step=k + 1)
        x0_pixels = denoiser.to_pixels(step.x0_pred)
        if previous_x0 is not None:
            change[k] = np.abs(x0_pixels - previous_x0).mean(axis=(1, 2, 3))
        previous_x0 = last_x0 = x0_pixels
        if k in keep_at:
            i = keep_at[k]
            images["x_t"][i] = to_uint8(denoiser.to_pixels(step.x_t))
            images["eps"][i] = to_uint8(to_pixel_range(step.eps_pred))
            images["x0"][i] = to_uint8(x0_pixels)
            images["x_prev"][i] = to_uint8(denoiser.to_pixels(step.x_prev))
        for name, value in (("t", step.t), ("t_prev", step.t_prev),
                            ("alpha_t", step.alpha_cumprod_t),
                            ("alpha_prev", step.alpha_cumprod_prev), ("sigma", step.sigma)):
            numbers[name][k] = value
        if on_step is not None:
            on_step(k + 1, steps)

    final = to_uint8(last_x0)
    distance = np.abs(images["x0"].astype(np.float32) - final.astype(np.float32)[None]
                      ).mean(axis=(2, 3, 4)) / 255.0
    return Trajectory(sampler=sampler, spacing=spacing, eta=float(eta), T=schedule.T,
                      kept=kept, final=final, change=change, distance=distance,
                      seconds=time.perf_counter() - started, **images, **numbers)


# ---------------------------------------------------------------------------------------
# What the page shows
# ---------------------------------------------------------------------------------------


def t_label(traj: Trajectory, value: float) -> str:
    """A timestep as the forward page counts it: table index i is step i + 1 (the clean
    end, −1, is 0); continuous times keep 3 decimals."""
    if traj.continuous:
        return f"{value:.3f}"
    return str(int(value) + 1 if int(value) != CLEAN_END else 0)


def tex_number(x: float) -> str:
    """4 significant digits in LaTeX: 4.036e-05 becomes 4.036\\times10^{-5}."""
    mantissa, _, exponent = f"{x:.4g}".partition("e")
    return mantissa + (rf"\times10^{{{int(exponent)}}}" if exponent else "")


def step_latex(traj: Trajectory, k: int) -> tuple[list[str], list[str]]:
    """The step's numbers, and its equations with those numbers filled in:
    x̂0 from ε̂, then x_{t'} (t' is the step this one lands on)."""
    a_t, a_prev, sigma = float(traj.alpha_t[k]), float(traj.alpha_prev[k]), float(traj.sigma[k])
    t, tp = t_label(traj, traj.t[k]), t_label(traj, traj.t_prev[k])
    s, nr = math.sqrt(a_t), math.sqrt(max(0.0, 1.0 - a_t))
    numbers = [
        rf"t = {t} \;\to\; t' = {tp}",
        rf"\bar\alpha_t = {tex_number(a_t)},\quad \bar\alpha_{{t'}} = {tex_number(a_prev)}",
        rf"\sqrt{{\bar\alpha_t}} = {s:.4f},\quad \sqrt{{1-\bar\alpha_t}} = {nr:.4f}",
        rf"\sigma = {sigma:.4f}",
    ]
    equations = [
        r"\hat x_0 = \frac{x_t - \sqrt{1-\bar\alpha_t}\,\hat\varepsilon}{\sqrt{\bar\alpha_t}}"
        rf" = \frac{{x_{{{t}}} - {nr:.4f}\,\hat\varepsilon}}{{{s:.4f}}}",
    ]
    if traj.sampler == "ddim":
        direction = math.sqrt(max(0.0, 1.0 - a_prev - sigma**2))
        equations += [
            r"x_{t'} = \sqrt{\bar\alpha_{t'}}\,\hat x_0 + \sqrt{1-\bar\alpha_{t'}-\sigma^2}\,"
            r"\hat\varepsilon + \sigma z",
            rf"x_{{{tp}}} = {math.sqrt(a_prev):.4f}\,\hat x_0 + {direction:.4f}\,\hat\varepsilon"
            + (rf" + {sigma:.4f}\,z" if sigma > 0 else ""),
        ]
    else:
        alpha = a_t / a_prev if a_prev > 0 else 1.0
        beta = 1.0 - alpha
        c0 = math.sqrt(a_prev) * beta / (1.0 - a_t)
        ct = math.sqrt(alpha) * (1.0 - a_prev) / (1.0 - a_t)
        numbers.append(r"\alpha = \bar\alpha_t/\bar\alpha_{t'} = "
                       rf"{tex_number(alpha)},\quad \beta = 1-\alpha")
        equations += [
            r"x_{t'} = \frac{\sqrt{\bar\alpha_{t'}}\,\beta}{1-\bar\alpha_t}\,\hat x_0 + "
            r"\frac{\sqrt{\alpha}\,(1-\bar\alpha_{t'})}{1-\bar\alpha_t}\,x_t + \sigma z",
            rf"x_{{{tp}}} = {c0:.4f}\,\hat x_0 + {ct:.4f}\,x_{{{t}}}"
            + (rf" + {sigma:.4f}\,z" if sigma > 0 else ""),
        ]
    return numbers, equations


def grid(images: np.ndarray, cols: int = GRID_COLS, scale: int = 1, gap: int = GRID_GAP) -> np.ndarray:
    """Tile uint8 images (N, H, W, 3) into one uint8 image, white gaps, each tile
    enlarged ``scale`` times (nearest neighbour, so pixels stay crisp)."""
    images = np.asarray(images, dtype=np.uint8)
    if scale > 1:
        images = images.repeat(scale, axis=1).repeat(scale, axis=2)
    n, h, w, c = images.shape
    cols = max(1, min(cols, n))
    rows = math.ceil(n / cols)
    out = np.full((rows * h + (rows - 1) * gap, cols * w + (cols - 1) * gap, c), 255, np.uint8)
    for i in range(n):
        r, q = divmod(i, cols)
        out[r * (h + gap): r * (h + gap) + h, q * (w + gap): q * (w + gap) + w] = images[i]
    return out


def png(img_uint8: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.asarray(img_uint8, np.uint8)).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def frame_positions(count: int, limit: int) -> np.ndarray:
    """Up to ``limit`` evenly spaced indices of ``count`` frames, first and last included."""
    if count <= limit:
        return np.arange(count)
    return np.unique(np.round(np.linspace(0, count - 1, limit)).astype(int))


def frames(traj: Trajectory) -> tuple[list[np.ndarray], list[int]]:
    """The run as a film: x_t at each kept step, then the final images; with the number
    of steps done (0 = the start) for each frame."""
    batches = list(traj.x_t) + [traj.final]
    done = [int(k) for k in traj.kept] + [traj.steps]
    return batches, done


def _gif_palette(natives: list[np.ndarray]) -> tuple[Image.Image, list[int]]:
    """One palette for the whole film (from a few of its frames), so frames are
    quantised by a cheap nearest-colour lookup; the last three entries are white (the
    gaps) and the two colours of the progress bar."""
    sample = np.concatenate([natives[i] for i in sorted({0, len(natives) // 2, len(natives) - 1})])
    source = Image.fromarray(sample).quantize(colors=256 - len(_GIF_RESERVED),
                                              method=Image.Quantize.MEDIANCUT)
    colours = source.getpalette()[: 3 * (256 - len(_GIF_RESERVED))]
    colours += [0, 0, 0] * (256 - len(_GIF_RESERVED) - len(colours) // 3)
    for rgb in _GIF_RESERVED:
        colours += list(rgb)
    palette = Image.new("P", (1, 1))
    palette.putpalette(colours)
    return palette, colours


_GIF_RESERVED = ((255, 255, 255), (0, 114, 178), (220, 220, 220))  # gap, bar done, bar to do
_WHITE, _BAR_DONE, _BAR_TODO = 253, 254, 255


def gif_bytes(traj: Trajectory, max_frames: int = GIF_MAX_FRAMES) -> bytes:
    """An animated GIF of the grid of x_t, one frame per step (and the start), with a
    progress bar underneath; longer runs are subsampled to ``max_frames``.

    Frames are quantised at their own size with one shared palette and then enlarged
    (nearest neighbour) to tiles of at least ``GIF_MIN_TILE`` px, which costs a fraction
    of quantising the enlarged pictures. The bar is at least 128 px wide, so every frame
    differs from the one before and Pillow keeps them all."""
    batches, _ = frames(traj)
    keep = frame_positions(len(batches), max_frames)
    natives = [grid(batches[i], gap=1) for i in keep]
    palette, colours = _gif_palette(natives)
    scale = max(1, math.ceil(GIF_MIN_TILE / traj.final.shape[1]))
    pictures = []
    for j, native in enumerate(natives):
        white = (native == 255).all(axis=2)
        indices = np.asarray(Image.fromarray(native).quantize(palette=palette,
                                                              dither=Image.Dither.NONE))
        indices = np.where(white, _WHITE, indices).astype(np.uint8)
        indices = indices.repeat(scale, axis=0).repeat(scale, axis=1)
        h, w = indices.shape
        canvas = np.full((h + GRID_GAP + GIF_BAR_PX, w), _WHITE, np.uint8)
        canvas[:h] = indices
        filled = round(w * j / max(1, len(natives) - 1))
        canvas[h + GRID_GAP:, :filled] = _BAR_DONE
        canvas[h + GRID_GAP:, filled:] = _BAR_TODO
        picture = Image.fromarray(canvas, mode="P")
        picture.putpalette(colours)
        pictures.append(picture)
    durations = [GIF_FRAME_MS] * (len(pictures) - 1) + [GIF_LAST_FRAME_MS]
    buf = io.BytesIO()
    pictures[0].save(buf, format="GIF", save_all=True, append_images=pictures[1:],
                     duration=durations, loop=0)
    return buf.getvalue()


def animation_frames(traj: Trajectory, max_frames: int = ANIMATION_MAX_FRAMES
                     ) -> tuple[list[np.ndarray], list[int]]:
    """Grids in [0, 1] (for lab.figures.noising_animation) and their step numbers."""
    batches, done = frames(traj)
    keep = frame_positions(len(batches), max_frames)
    return ([grid(batches[i]).astype(np.float32) / 255.0 for i in keep], [done[i] for i in keep])


def change_chart(traj: Trajectory, image: int, step: int, names: tuple[str, str, str],
                 title: str, x_label: str) -> dict:
    """How much x̂0 of one image moves per step, and how far it still is from the final
    image, with the current step marked. A plain figure dict (cheap to redraw)."""
    x_all = np.arange(1, traj.steps + 1)
    change = traj.change[:, image]
    x_kept = traj.kept + 1
    distance = traj.distance[:, image]
    pos = traj.position(step)
    data = [
        dict(type="scatter", x=x_all[1:].tolist(), y=change[1:].tolist(), mode="lines+markers",
             name=names[0], line=dict(color=CHANGE_COLOR, width=2), marker=dict(size=4)),
        dict(type="scatter", x=x_kept.tolist(), y=distance.tolist(), mode="lines+markers",
             name=names[1], line=dict(color=DISTANCE_COLOR, width=2), marker=dict(size=4)),
        dict(type="scatter", x=[int(x_kept[pos])], y=[float(distance[pos])], mode="markers",
             name=names[2], marker=dict(color=CURRENT_COLOR, size=11, symbol="circle-open",
                                        line=dict(width=2))),
    ]
    layout = dict(
        title=dict(text=title), height=280, margin=dict(l=10, r=10, t=40, b=10),
        xaxis=dict(title=dict(text=x_label), range=[0.5, traj.steps + 0.5]),
        yaxis=dict(rangemode="tozero"),
        shapes=[dict(type="line", xref="x", yref="paper", x0=int(x_kept[pos]),
                     x1=int(x_kept[pos]), y0=0, y1=1,
                     line=dict(color=CURRENT_COLOR, dash="dot", width=1))],
        legend=dict(x=0.99, xanchor="right", y=0.98, yanchor="top",
                    bgcolor="rgba(255,255,255,0.6)"),
    )
    return dict(data=data, layout=layout)
