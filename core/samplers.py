"""Reverse diffusion: DDIM and DDPM steps, timestep grids, trajectories, the ideal denoiser.

The sampler is kept apart from the network, as in Hugging Face diffusers: anything
that implements ``Denoiser`` (the trained Keras U-Net through ``core.diffusion``, or
the ``IdealDenoiser`` below) plugs into the same ``trajectory``. This module imports
numpy only, so the sampling pages work without TensorFlow.

Notation (variance preserving, ᾱ = ``alphas_cumprod``):

* forward one-shot: x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε; ``signal_rate`` = √ᾱ_t and
  ``noise_rate`` = √(1−ᾱ_t), as in the book;
* one reverse step goes from x_t to x_prev, where "prev" is the *less* noisy end
  (ᾱ_prev ≥ ᾱ_t). After the last listed timestep comes the clean end, ᾱ_prev = 1.

Timesteps are **0-based table indices** i into ``schedule.alphas_cumprod`` (the
diffusers convention), with -1 standing for the clean end. ``core.forward`` counts
steps from 1 (its t = i + 1); ``noisy_start`` does that conversion for partial
denoising. The ``"continuous"`` spacing is the book's sampler instead: t runs from
1 to 0 in equal steps and rates come from ``schedule.rates(t)``.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Iterator, Protocol, runtime_checkable

import numpy as np

from core.forward import add_noise, to_model_range, to_pixel_range
from core.schedules import Schedule

__all__ = [
    "SPACINGS",
    "DISCRETE_SPACINGS",
    "SAMPLERS",
    "CLEAN_END",
    "Denoiser",
    "Step",
    "SamplingGrid",
    "ddim_step",
    "ddim_sigma",
    "ddpm_step",
    "ddpm_posterior",
    "timesteps",
    "previous_timesteps",
    "sampling_grid",
    "noisy_start",
    "trajectory",
    "run_trajectory",
    "sample",
    "IdealDenoiser",
    "slerp",
]

# Timestep spacings over a table of T steps (see ``timesteps``), plus the book's
# continuous-time grid.
DISCRETE_SPACINGS = ("linspace", "leading", "trailing")
SPACINGS = DISCRETE_SPACINGS + ("continuous",)
SAMPLERS = ("ddim", "ddpm")

# The "timestep" after the last listed one: the clean image, ᾱ = 1 (diffusers calls
# this ``set_alpha_to_one``).
CLEAN_END = -1

# The book samples in 20 steps by default.
DEFAULT_STEPS = 20

# Below this noise variance (1 − ᾱ) the ideal denoiser treats x_t as clean: the
# posterior is one-hot and ε is undefined, so it predicts ε = 0 there.
MIN_NOISE_VARIANCE = 1e-12

# The ideal denoiser compares each query with this many data images per matmul.
IDEAL_DATA_CHUNK = 2048


# ---------------------------------------------------------------------------------------
# The network's side of the contract
# ---------------------------------------------------------------------------------------


@runtime_checkable
class Denoiser(Protocol):
    """What a sampler needs from a network: split x_t into predicted noise and image.

    ``predict`` takes x_t (N, H, W, C) float32 in the denoiser's own space and per-image
    rates of shape (N,): ``noise_rates`` = √(1−ᾱ_t), ``signal_rates`` = √ᾱ_t. It returns
    ``(eps_pred, x0_pred)``, both float32 shaped like x_t.
    """

    image_shape: tuple[int, int, int]  # (H, W, C)

    def predict(self, x_t: np.ndarray, noise_rates: np.ndarray,
                signal_rates: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def to_pixels(self, x: np.ndarray) -> np.ndarray: ...  # model space -> [0, 1], clipped

    def from_pixels(self, images01: np.ndarray) -> np.ndarray: ...  # [0, 1] -> model space


# ---------------------------------------------------------------------------------------
# One reverse step
# ---------------------------------------------------------------------------------------


def _per_image(value, x: np.ndarray) -> np.ndarray:
    """ᾱ as float64: a scalar stays 0-d; an (N,) array becomes (N, 1, 1, 1) for x."""
    a = np.asarray(value, dtype=np.float64)
    if a.ndim == 0:
        return a
    if a.ndim != 1 or x.ndim == 0 or a.shape[0] != x.shape[0]:
        raise ValueError(
            f"alpha_cumprod must be one number or one per image, shape ({x.shape[0]},) "
            f"for x_t of shape {x.shape}; got shape {a.shape}"
        )
    return a.reshape((-1,) + (1,) * (x.ndim - 1))


def _check_pair(alpha_cumprod_t, alpha_cumprod_prev, x: np.ndarray):
    a_t = _per_image(alpha_cumprod_t, x)
    a_prev = _per_image(alpha_cumprod_prev, x)
    for name, a in (("alpha_cumprod_t", a_t), ("alpha_cumprod_prev", a_prev)):
        if np.any(~np.isfinite(a)) or np.any(a < 0.0) or np.any(a > 1.0):
            raise ValueError(f"{name} must lie in [0, 1], got {a.ravel()[:4]}")
    if np.any(a_prev < a_t):
        raise ValueError(
            "alpha_cumprod_prev must be at least alpha_cumprod_t: the previous step is the "
            "less noisy one (closer to the clean image). Did you swap the two?"
        )
    if np.any(a_t >= 1.0):
        raise ValueError(
            "alpha_cumprod_t is 1 (no noise at all): there is nothing to denoise. "
            "Start from a timestep with alpha_cumprod < 1."
        )
    return a_t, a_prev


def _x0_from_eps(x_t, eps_pred, a_t):
    """DDIM eq. 12's "predicted x0": x̂0 = (x_t − √(1−ᾱ_t)·ε̂) / √ᾱ_t."""
    if np.any(a_t <= 0.0):
        raise ValueError(
            "alpha_cumprod_t is 0 (zero terminal SNR): x0 cannot be recovered from the "
            "predicted noise, the formula divides by sqrt(alpha_cumprod_t) = 0. Pass "
            "x0_pred from a denoiser that predicts x0 or v, or start one step later."
        )
    return (x_t - np.sqrt(1.0 - a_t) * eps_pred) / np.sqrt(a_t)


def _as_image_array(name, value, like=None) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float32)
    if like is not None and arr.shape != like.shape:
        raise ValueError(f"{name} has shape {arr.shape}; it must match x_t, {like.shape}")
    return arr


def ddim_sigma(alpha_cumprod_t, alpha_cumprod_prev, eta: float = 0.0):
    """The DDIM noise scale (Song et al. 2021, eq. 16).

    σ = η·√((1−ᾱ_prev)/(1−ᾱ_t))·√(1−ᾱ_t/ᾱ_prev). η = 0 is deterministic DDIM (the
    book's sampler); at η = 1, σ² is the DDPM posterior variance β̃.
    """
    eta = _check_eta(eta)
    a_t = np.asarray(alpha_cumprod_t, dtype=np.float64)
    a_prev = np.asarray(alpha_cumprod_prev, dtype=np.float64)
    if eta == 0.0:
        return np.zeros(np.broadcast(a_t, a_prev).shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(a_prev > 0.0, a_t / np.where(a_prev > 0.0, a_prev, 1.0), 1.0)
        var = (1.0 - a_prev) / (1.0 - a_t) * (1.0 - ratio)
    return eta * np.sqrt(np.clip(var, 0.0, None))


def _check_eta(eta) -> float:
    eta = float(eta)
    if not (math.isfinite(eta) and 0.0 <= eta <= 1.0):
        raise ValueError(
            f"eta must lie in [0, 1] (0: deterministic DDIM, 1: DDPM-like), got {eta}"
        )
    return eta


def ddim_step(x_t, eps_pred, alpha_cumprod_t, alpha_cumprod_prev, eta: float = 0.0,
              noise=None, x0_pred=None) -> tuple[np.ndarray, np.ndarray]:
    """One DDIM step from x_t to x_prev (Song et al. 2021, eq. 12).

        x̂0     = (x_t − √(1−ᾱ_t)·ε̂) / √ᾱ_t                       ("predicted x0")
        σ      = η·√((1−ᾱ_prev)/(1−ᾱ_t))·√(1−ᾱ_t/ᾱ_prev)           (eq. 16)
        x_prev = √ᾱ_prev·x̂0 + √(1−ᾱ_prev−σ²)·ε̂ + σ·z               (eq. 12)

    ᾱ may be scalars or one value per image, shape (N,). With η > 0, ``noise`` (z,
    standard normal, shaped like x_t) is required. A denoiser that predicts x0
    directly (the ideal denoiser, v-prediction) passes ``x0_pred``: then nothing is
    divided by √ᾱ_t, which is 0 at zero terminal SNR (pitfall P6).

    Returns ``(x_prev, x0_pred)``, float32.
    """
    x_t = _as_image_array("x_t", x_t)
    eps_pred = _as_image_array("eps_pred", eps_pred, x_t)
    a_t, a_prev = _check_pair(alpha_cumprod_t, alpha_cumprod_prev, x_t)
    sigma = ddim_sigma(a_t, a_prev, eta)
    if np.any(sigma > 0.0) and noise is None:
        raise ValueError(
            f"eta={eta} adds fresh noise at each step: pass noise=z, a standard normal "
            "array shaped like x_t (or use eta=0 for deterministic DDIM)"
        )
    if x0_pred is None:
        x0_pred = _x0_from_eps(x_t, eps_pred, a_t)
    x0_pred = _as_image_array("x0_pred", x0_pred, x_t)

    direction = np.sqrt(np.clip(1.0 - a_prev - sigma**2, 0.0, None))  # "direction pointing to x_t"
    x_prev = np.sqrt(a_prev).astype(np.float32) * x0_pred + direction.astype(np.float32) * eps_pred
    if np.any(sigma > 0.0):
        x_prev = x_prev + sigma.astype(np.float32) * _as_image_array("noise", noise, x_t)
    return x_prev.astype(np.float32), x0_pred


def ddpm_posterior(x_t, x0_pred, alpha_cumprod_t, alpha_cumprod_prev):
    """Mean and variance of q(x_prev | x_t, x̂0) (Ho et al. 2020, eq. 6/7).

    With α_t = ᾱ_t/ᾱ_prev and β_t = 1 − α_t (the step between the two timesteps,
    which need not be neighbours):

        mean = √ᾱ_prev·β_t/(1−ᾱ_t)·x̂0 + √α_t·(1−ᾱ_prev)/(1−ᾱ_t)·x_t     (eq. 7)
        β̃    = (1−ᾱ_prev)/(1−ᾱ_t)·β_t

    Returns ``(mean, variance)``: mean float32 shaped like x_t, variance float64,
    0-d or (N, 1, 1, 1), so ``mean + sqrt(variance)·z`` broadcasts.
    """
    x_t = _as_image_array("x_t", x_t)
    x0_pred = _as_image_array("x0_pred", x0_pred, x_t)
    a_t, a_prev = _check_pair(alpha_cumprod_t, alpha_cumprod_prev, x_t)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(a_prev > 0.0, a_t / np.where(a_prev > 0.0, a_prev, 1.0), 1.0)
    beta = 1.0 - alpha
    coef_x0 = np.sqrt(a_prev) * beta / (1.0 - a_t)
    coef_xt = np.sqrt(alpha) * (1.0 - a_prev) / (1.0 - a_t)
    mean = coef_x0.astype(np.float32) * x0_pred + coef_xt.astype(np.float32) * x_t
    variance = np.clip((1.0 - a_prev) / (1.0 - a_t) * beta, 0.0, None)
    return mean.astype(np.float32), variance


def ddpm_step(x_t, eps_pred, alpha_cumprod_t, alpha_cumprod_prev, noise,
              x0_pred=None) -> tuple[np.ndarray, np.ndarray]:
    """One ancestral DDPM step: draw x_prev from q(x_prev | x_t, x̂0) (Ho et al. 2020, eq. 6/7).

    x_prev = mean + √β̃·z (see ``ddpm_posterior``); at the clean end (ᾱ_prev = 1)
    β̃ = 0 and no noise is added, so ``noise`` may be None there. x̂0 comes from ε̂
    as in DDIM unless the denoiser passes ``x0_pred``.

    Returns ``(x_prev, x0_pred)``, float32.
    """
    x_t = _as_image_array("x_t", x_t)
    eps_pred = _as_image_array("eps_pred", eps_pred, x_t)
    a_t, a_prev = _check_pair(alpha_cumprod_t, alpha_cumprod_prev, x_t)
    if x0_pred is None:
        x0_pred = _x0_from_eps(x_t, eps_pred, a_t)
    x0_pred = _as_image_array("x0_pred", x0_pred, x_t)
    mean, variance = ddpm_posterior(x_t, x0_pred, a_t, a_prev)
    if not np.any(variance > 0.0):
        return mean, x0_pred
    if noise is None:
        raise ValueError(
            "a DDPM step adds fresh noise: pass noise=z, a standard normal array shaped "
            "like x_t (only the last step, into the clean end, needs none)"
        )
    x_prev = mean + np.sqrt(variance).astype(np.float32) * _as_image_array("noise", noise, x_t)
    return x_prev.astype(np.float32), x0_pred


# ---------------------------------------------------------------------------------------
# Which timesteps to visit
# ---------------------------------------------------------------------------------------


def _check_count(name: str, value, low: int, high: int | None = None, hint: str = "") -> int:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    try:
        value = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be a whole number, got {value!r}") from None
    if value < low or (high is not None and value > high):
        allowed = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise ValueError(f"{name} must be {allowed}, got {value}. {hint}".strip())
    return value


def timesteps(num_inference_steps: int, T: int, spacing: str = "trailing") -> np.ndarray:
    """The 0-based table indices a sampler visits, noisiest first (int64, descending).

    For n = ``num_inference_steps`` of T (diffusers' ``timestep_spacing``; Lin et al.
    2023, table 2):

    * ``"linspace"``: round(linspace(T−1, 0, n)), both ends included;
    * ``"leading"``: arange(0, n)·(T//n), reversed; never visits T−1, so the sampler
      starts from pure noise labelled as less noisy than it is;
    * ``"trailing"``: round(arange(T, 0, −T/n)) − 1; starts at T−1.

    The step after each timestep is the next listed one (``previous_timesteps``).
    """
    T = _check_count("T", T, 1)
    n = _check_count(
        "num_inference_steps", num_inference_steps, 1, T,
        f"Choose between 1 and the {T} steps of the schedule.",
    )
    if spacing == "linspace":
        ts = np.round(np.linspace(T - 1, 0, n))
    elif spacing == "leading":
        ts = (np.arange(0, n) * (T // n))[::-1]
    elif spacing == "trailing":
        ts = np.round(np.arange(T, 0, -T / n)) - 1
    elif spacing == "continuous":
        raise ValueError(
            "'continuous' spacing has no table indices; use sampling_grid(schedule, steps, "
            "'continuous') for its times t in (0, 1]"
        )
    else:
        raise ValueError(f"unknown spacing {spacing!r}; choose one of: {', '.join(SPACINGS)}")
    return ts.astype(np.int64)


def previous_timesteps(ts: np.ndarray) -> np.ndarray:
    """The step each timestep goes to: the next listed one, then ``CLEAN_END`` (−1).

    Not t − T/n, which diffusers uses even for ``"linspace"`` where the listed steps are
    (T−1)/(n−1) apart: there it skips part of the schedule.
    """
    ts = np.asarray(ts)
    return np.append(ts[1:], CLEAN_END).astype(ts.dtype)


@dataclass(frozen=True, eq=False)
class SamplingGrid:
    """The reverse steps of one run: where each step starts (t) and where it lands (t_prev).

    Discrete spacings: t are 0-based table indices, t_prev = −1 is the clean end
    (ᾱ = 1). ``"continuous"``: t are times in (0, 1], the last t_prev is 0.0, where the
    offset cosine still has signal rate 0.95. Rates are float64 arrays of length steps.
    """

    spacing: str
    t: np.ndarray
    t_prev: np.ndarray
    alphas_cumprod: np.ndarray
    alphas_cumprod_prev: np.ndarray

    @property
    def signal_rates(self) -> np.ndarray:
        return np.sqrt(self.alphas_cumprod)

    @property
    def noise_rates(self) -> np.ndarray:
        return np.sqrt(1.0 - self.alphas_cumprod)

    def __len__(self) -> int:
        return len(self.t)


def _check_start(schedule: Schedule, spacing: str, start_step):
    """The first timestep: T−1 or 1.0 by default, else the caller's, validated."""
    if spacing == "continuous":
        if start_step is None:
            return 1.0
        t0 = float(start_step)
        if not (math.isfinite(t0) and 0.0 < t0 <= 1.0):
            raise ValueError(f"start_step for 'continuous' spacing is a time in (0, 1], got {start_step}")
        return t0
    if start_step is None:
        return schedule.T - 1
    return _check_count(
        "start_step", start_step, 0, schedule.T - 1,
        "It is a 0-based table index (core.forward's step t is start_step + 1).",
    )


def sampling_grid(schedule: Schedule, steps: int = DEFAULT_STEPS, spacing: str = "trailing",
                  start_step=None) -> SamplingGrid:
    """Timesteps and their ᾱ for ``steps`` reverse steps.

    Discrete spacings apply ``timesteps`` to the table; with ``start_step`` = i they
    apply it to the first i + 1 entries (partial denoising from step i: "linspace"
    and "trailing" start exactly at i, "leading" below it). ``"continuous"`` is the
    book's grid t = t0·(1 − k/steps), k = 0..steps−1, t0 = 1 or ``start_step``, each
    step landing on the next, the last on t = 0.
    """
    if spacing not in SPACINGS:
        raise ValueError(f"unknown spacing {spacing!r}; choose one of: {', '.join(SPACINGS)}")
    start = _check_start(schedule, spacing, start_step)
    if spacing == "continuous":
        n = _check_count("steps", steps, 1)
        t = start * (1.0 - np.arange(n) / n)
        t_prev = start * (1.0 - np.arange(1, n + 1) / n)
        t_prev[-1] = 0.0
        a = schedule.rates(t)[1] ** 2
        a_prev = schedule.rates(t_prev)[1] ** 2
    else:
        t = timesteps(steps, start + 1, spacing)
        t_prev = previous_timesteps(t)
        table = np.asarray(schedule.alphas_cumprod, dtype=np.float64)
        a = table[t]
        a_prev = np.where(t_prev == CLEAN_END, 1.0, table[np.maximum(t_prev, 0)])
    return SamplingGrid(spacing=spacing, t=t, t_prev=t_prev, alphas_cumprod=a,
                        alphas_cumprod_prev=a_prev)


def noisy_start(x0, noise, schedule: Schedule, start_step, spacing: str = "trailing") -> np.ndarray:
    """x_t at ``start_step`` for partial denoising: √ᾱ·x0 + √(1−ᾱ)·ε.

    ``x0`` is in the denoiser's space (``denoiser.from_pixels(images01)``). For discrete
    spacings start_step is a 0-based table index (``core.forward.add_noise`` at its
    1-based step start_step + 1); for ``"continuous"`` it is a time in (0, 1].
    """
    if spacing == "continuous":
        t0 = _check_start(schedule, spacing, start_step)
        noise_rate, signal_rate = schedule.rates(t0)
        x0 = np.asarray(x0, dtype=np.float32)
        return (np.float32(signal_rate) * x0
                + np.float32(noise_rate) * np.asarray(noise, dtype=np.float32)).astype(np.float32)
    if spacing not in SPACINGS:
        raise ValueError(f"unknown spacing {spacing!r}; choose one of: {', '.join(SPACINGS)}")
    i = _check_start(schedule, spacing, start_step)
    return add_noise(x0, noise, i + 1, schedule)


# ---------------------------------------------------------------------------------------
# Trajectories
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Step:
    """One reverse step, everything a page needs to show it (arrays float32, (N, H, W, C)).

    ``t`` / ``t_prev``: table indices (−1: the clean end) or continuous times.
    ``sigma``: standard deviation of the fresh noise added (DDIM σ, or √β̃ for DDPM).
    """

    index: int
    t: int | float
    t_prev: int | float
    x_t: np.ndarray
    eps_pred: np.ndarray
    x0_pred: np.ndarray
    x_prev: np.ndarray
    alpha_cumprod_t: float
    alpha_cumprod_prev: float
    noise_rate: float
    signal_rate: float
    sigma: float


def _check_initial(denoiser: Denoiser, initial_noise) -> np.ndarray:
    x = np.array(initial_noise, dtype=np.float32)  # a copy: the caller's array stays as is
    shape = tuple(denoiser.image_shape)
    if x.ndim != 4 or x.shape[1:] != shape:
        raise ValueError(
            f"initial_noise must be a batch (N, {', '.join(map(str, shape))}) for this "
            f"denoiser, got shape {x.shape}"
        )
    return x


def trajectory(denoiser: Denoiser, schedule: Schedule, initial_noise, steps: int = DEFAULT_STEPS,
               eta: float = 0.0, spacing: str = "trailing", sampler: str = "ddim", seed: int = 0,
               start_step=None) -> Iterator[Step]:
    """Run the reverse process, yielding a ``Step`` per reverse step.

    initial_noise: x at the first timestep, (N, H, W, C) in the denoiser's space; pure
    noise for sampling, or ``noisy_start(...)`` for partial denoising from
    ``start_step`` (see ``sampling_grid``). sampler: ``"ddim"`` (with ``eta``) or
    ``"ddpm"`` (ancestral, the posterior of Ho et al.; eta does not apply).
    Fresh noise comes from ``np.random.default_rng(seed)``, so a run is reproducible.
    The image is the last step's ``x0_pred``: for discrete spacings it equals the last
    x_prev; the continuous grid ends at t = 0, which for the offset cosine still holds
    noise (signal rate 0.95), so the book outputs the last x̂0 too.
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; choose one of: {', '.join(SAMPLERS)}")
    eta = _check_eta(eta)
    if sampler == "ddpm" and eta != 0.0:
        raise ValueError(
            "eta applies to the 'ddim' sampler only; 'ddpm' always adds its posterior noise "
            "(like DDIM with eta=1). Pass eta=0 with sampler='ddpm'."
        )
    grid = sampling_grid(schedule, steps, spacing, start_step)
    x = _check_initial(denoiser, initial_noise)
    # Checked above, run below: a bad argument fails at the call, not at the first next().
    return _reverse_steps(denoiser, grid, x, eta, sampler, seed)


def _reverse_steps(denoiser: Denoiser, grid: SamplingGrid, x: np.ndarray, eta: float,
                   sampler: str, seed: int) -> Iterator[Step]:
    n_images = x.shape[0]
    stochastic = sampler == "ddpm" or eta > 0.0
    rng = np.random.default_rng(seed)

    for k in range(len(grid)):
        a_t = float(grid.alphas_cumprod[k])
        a_prev = float(grid.alphas_cumprod_prev[k])
        signal_rate, noise_rate = math.sqrt(a_t), math.sqrt(1.0 - a_t)
        eps_pred, x0_pred = denoiser.predict(
            x,
            np.full(n_images, noise_rate, dtype=np.float32),
            np.full(n_images, signal_rate, dtype=np.float32),
        )
        eps_pred = _as_image_array("the denoiser's eps_pred", eps_pred, x)
        x0_pred = _as_image_array("the denoiser's x0_pred", x0_pred, x)
        z = rng.standard_normal(x.shape, dtype=np.float32) if stochastic else None
        if sampler == "ddim":
            x_prev, x0_pred = ddim_step(x, eps_pred, a_t, a_prev, eta=eta, noise=z, x0_pred=x0_pred)
            sigma = float(ddim_sigma(a_t, a_prev, eta))
        else:
            x_prev, x0_pred = ddpm_step(x, eps_pred, a_t, a_prev, noise=z, x0_pred=x0_pred)
            beta = 1.0 - a_t / a_prev if a_prev > 0.0 else 0.0
            sigma = math.sqrt(max((1.0 - a_prev) / (1.0 - a_t) * beta, 0.0))  # √β̃
        t, t_prev = grid.t[k].item(), grid.t_prev[k].item()
        yield Step(index=k, t=t, t_prev=t_prev, x_t=x, eps_pred=eps_pred, x0_pred=x0_pred,
                   x_prev=x_prev, alpha_cumprod_t=a_t, alpha_cumprod_prev=a_prev,
                   noise_rate=noise_rate, signal_rate=signal_rate, sigma=sigma)
        x = x_prev


def run_trajectory(denoiser: Denoiser, schedule: Schedule, initial_noise, steps: int = DEFAULT_STEPS,
                   **kwargs) -> list[Step]:
    """``trajectory`` run to the end: compute once, cache, and let a page step through it."""
    return list(trajectory(denoiser, schedule, initial_noise, steps, **kwargs))


def sample(denoiser: Denoiser, schedule: Schedule, initial_noise, steps: int = DEFAULT_STEPS,
           **kwargs) -> np.ndarray:
    """Generated images in [0, 1]: the last step's x̂0 through ``denoiser.to_pixels``."""
    last = None
    for last in trajectory(denoiser, schedule, initial_noise, steps, **kwargs):
        pass
    return denoiser.to_pixels(last.x0_pred)


# ---------------------------------------------------------------------------------------
# The ideal denoiser of a finite data set
# ---------------------------------------------------------------------------------------


class IdealDenoiser:
    """The best possible denoiser for a finite training set: the exact E[x0 | x_t].

    If the data are the images x_i, equally likely, then x_t ~ Σ_i N(√ᾱ·x_i, (1−ᾱ)·I)/M
    and the posterior over which image was noised is

        w_i = softmax_i(−‖x_t − √ᾱ·x_i‖² / (2(1−ᾱ))),   x̂0 = Σ_i w_i·x_i.

    This is what a network trained to zero loss on the data would predict, and
    sampling with it returns training images: a perfect denoiser only memorises.

    Model space is [-1, 1] (``core.forward.to_model_range``). ``batch_size`` is how
    many data images one matmul compares with the queries.
    """

    def __init__(self, data01: np.ndarray, batch_size: int = IDEAL_DATA_CHUNK):
        data01 = np.asarray(data01, dtype=np.float32)
        if data01.ndim != 4 or data01.shape[0] == 0:
            raise ValueError(
                f"IdealDenoiser needs a non-empty batch of images (M, H, W, C) in [0, 1], "
                f"got shape {data01.shape}"
            )
        if np.any(~np.isfinite(data01)) or data01.min() < 0.0 or data01.max() > 1.0:
            raise ValueError("IdealDenoiser needs pixel values in [0, 1]; scale the images first")
        self.batch_size = _check_count("batch_size", batch_size, 1)
        self.image_shape = tuple(int(s) for s in data01.shape[1:])
        self.data = to_model_range(data01).reshape(len(data01), -1)  # (M, D), model space
        self._sq_norms = np.einsum("md,md->m", self.data, self.data, dtype=np.float64)

    def __len__(self) -> int:
        return len(self.data)

    def to_pixels(self, x: np.ndarray) -> np.ndarray:
        return to_pixel_range(x)

    def from_pixels(self, images01: np.ndarray) -> np.ndarray:
        return to_model_range(images01)

    def _queries(self, x_t, noise_rate, signal_rate):
        x_t = np.asarray(x_t, dtype=np.float32)
        if x_t.ndim != 4 or x_t.shape[1:] != self.image_shape:
            raise ValueError(
                f"x_t must be a batch (N, {', '.join(map(str, self.image_shape))}), got {x_t.shape}"
            )
        n = len(x_t)
        noise = np.broadcast_to(np.asarray(noise_rate, dtype=np.float64), (n,))
        signal = np.broadcast_to(np.asarray(signal_rate, dtype=np.float64), (n,))
        return x_t, noise, signal

    def _logits(self, q: np.ndarray, noise: np.ndarray, signal: np.ndarray) -> np.ndarray:
        """−‖x_t − s·x_i‖² / (2n²) up to a per-query constant (‖x_t‖² drops out of the softmax).

        Expanded as 2s⟨x_t, x_i⟩ − s²‖x_i‖², so the whole data set costs one (N, D)×(D, M)
        matmul (float32), done in chunks of ``batch_size`` images.
        """
        dots = np.empty((len(q), len(self.data)), dtype=np.float32)
        for start in range(0, len(self.data), self.batch_size):
            chunk = self.data[start:start + self.batch_size]
            np.matmul(q, chunk.T, out=dots[:, start:start + len(chunk)])
        variance = np.maximum(noise**2, MIN_NOISE_VARIANCE)[:, None]
        s = signal[:, None]
        return (2.0 * s * dots - s**2 * self._sq_norms[None, :]) / (2.0 * variance)

    def posterior_weights(self, x_t, noise_rate, signal_rate) -> np.ndarray:
        """w (N, M): how much each training image explains each query x_t; rows sum to 1."""
        x_t, noise, signal = self._queries(x_t, noise_rate, signal_rate)
        logits = self._logits(x_t.reshape(len(x_t), -1), noise, signal)
        logits -= logits.max(axis=1, keepdims=True)  # stable softmax: the largest term is e^0
        w = np.exp(logits)
        w /= w.sum(axis=1, keepdims=True)
        return w

    def predict(self, x_t, noise_rates, signal_rates) -> tuple[np.ndarray, np.ndarray]:
        """(eps_pred, x0_pred): x̂0 = Σ w_i x_i, ε̂ = (x_t − √ᾱ·x̂0)/√(1−ᾱ) (0 where 1−ᾱ ≈ 0)."""
        x_t, noise, signal = self._queries(x_t, noise_rates, signal_rates)
        w = self.posterior_weights(x_t, noise, signal)
        x0_pred = (w.astype(np.float32) @ self.data).reshape(x_t.shape)
        shape = (-1, 1, 1, 1)
        noisy = noise**2 > MIN_NOISE_VARIANCE
        inv_noise = np.where(noisy, 1.0 / np.where(noisy, noise, 1.0), 0.0)
        eps_pred = (x_t - signal.reshape(shape).astype(np.float32) * x0_pred) \
            * inv_noise.reshape(shape).astype(np.float32)
        return eps_pred.astype(np.float32), x0_pred.astype(np.float32)


# ---------------------------------------------------------------------------------------
# Interpolating between noises
# ---------------------------------------------------------------------------------------


def slerp(a, b, s) -> np.ndarray:
    """The book's spherical interpolation: sin(πs/2)·a + cos(πs/2)·b.

    s = 0 gives b, s = 1 gives a. Since sin² + cos² = 1, two independent noises (nearly
    orthogonal, with equal norms in high dimension) stay at noise-like norm all the
    way, where a straight line would shrink to 1/√2 of it halfway and give a dull,
    low-contrast image. ``s`` may be an array; the result has shape s.shape + a.shape.
    """
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    if a.shape != b.shape:
        raise ValueError(f"slerp needs a and b of the same shape, got {a.shape} and {b.shape}")
    s = np.asarray(s, dtype=np.float64)
    angle = (np.pi / 2.0) * s.reshape(s.shape + (1,) * a.ndim)
    return (np.sin(angle).astype(np.float32) * a + np.cos(angle).astype(np.float32) * b).astype(np.float32)
