"""Noise schedules for variance-preserving diffusion.

A schedule says how much of the clean image survives at each step t of the
forward process: x_t = sqrt(alpha_bar_t) * x0 + sqrt(1 - alpha_bar_t) * eps.
Everything else (betas, SNR, the rates the network is conditioned on) follows
from the table ``alphas_cumprod`` (alpha_bar).

Two ways to ask for it, both kept consistent:

* discrete, like Hugging Face diffusers: arrays of length T indexed by the
  0-based timestep ``i`` (``alphas_cumprod[i]`` is alpha_bar after step i + 1);
* continuous, like the book: ``rates(t)`` for any array of t in [0, 1], where
  t = (i + 1) / T lands exactly on table entry i and t = 0 is the clean image.

``rates(t)`` works element by element, so a shuffled training batch or a
20-step sampling grid gets the same numbers as the full table (pitfall P1:
the book's linear schedule takes a cumulative product over whatever times it
is given). ``book_linear_rates`` reproduces that mistake on purpose, so the
lab can show it.

Names and tables follow diffusers (``DDPMScheduler`` beta schedules), so the
numbers here equal theirs for ``linear``, ``scaled_linear``, ``cosine``
("squaredcos_cap_v2") and ``sigmoid``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

# DDPM (Ho et al. 2020): betas rise linearly over T = 1000 steps.
LINEAR_BETA_START = 1e-4
LINEAR_BETA_END = 0.02
# Stable Diffusion's "scaled linear": linear in sqrt(beta).
SCALED_LINEAR_BETA_START = 0.00085
SCALED_LINEAR_BETA_END = 0.012
# Improved DDPM (Nichol & Dhariwal 2021): a small offset s keeps beta_1 from
# being vanishingly small; betas are capped so the last step stays finite.
COSINE_S = 0.008
COSINE_MAX_BETA = 0.999
# The book's offset cosine: the signal rate never reaches 0 or 1 (pitfall P6:
# x0_pred = (x_t - noise_rate * eps_pred) / signal_rate divides by it).
OFFSET_COSINE_MIN_SIGNAL_RATE = 0.02
OFFSET_COSINE_MAX_SIGNAL_RATE = 0.95
# Sigmoid schedule (diffusers): betas follow a logistic curve over [-6, 6].
SIGMOID_RANGE = 6.0

DEFAULT_T = 1000
MAX_T = 100_000

SCHEDULE_NAMES = ("linear", "scaled_linear", "cosine", "offset_cosine", "sigmoid")

# Parameters each schedule accepts, with defaults (the published values).
DEFAULT_PARAMS: dict[str, dict[str, float]] = {
    "linear": {"beta_start": LINEAR_BETA_START, "beta_end": LINEAR_BETA_END},
    "scaled_linear": {"beta_start": SCALED_LINEAR_BETA_START, "beta_end": SCALED_LINEAR_BETA_END},
    "cosine": {"s": COSINE_S, "max_beta": COSINE_MAX_BETA},
    "offset_cosine": {
        "min_signal_rate": OFFSET_COSINE_MIN_SIGNAL_RATE,
        "max_signal_rate": OFFSET_COSINE_MAX_SIGNAL_RATE,
    },
    "sigmoid": {"beta_start": LINEAR_BETA_START, "beta_end": LINEAR_BETA_END},
}


@dataclass(frozen=True, eq=False)
class Schedule:
    """A noise schedule: tables of length T and continuous-time ``rates(t)``.

    All tables are float64 numpy arrays indexed by the 0-based timestep i,
    i.e. diffusion step t = i + 1 in the DDPM paper's 1-based notation.
    """

    name: str
    T: int
    params: dict
    zero_terminal_snr: bool
    alphas_cumprod: np.ndarray
    # For schedules defined in continuous time (offset cosine), the closed form
    # signal rate; others interpolate their table.
    _signal_rate_fn: Callable[[np.ndarray], np.ndarray] | None = field(default=None, repr=False)

    @property
    def alphas(self) -> np.ndarray:
        """alpha_i = alpha_bar_i / alpha_bar_{i-1}, with alpha_bar_{-1} = 1."""
        return self.alphas_cumprod / np.concatenate([[1.0], self.alphas_cumprod[:-1]])

    @property
    def betas(self) -> np.ndarray:
        """Per-step noise variance beta_i = 1 - alpha_i."""
        return 1.0 - self.alphas

    @property
    def signal_rates(self) -> np.ndarray:
        """sqrt(alpha_bar): how much of x0 is left in x_t."""
        return np.sqrt(self.alphas_cumprod)

    @property
    def noise_rates(self) -> np.ndarray:
        """sqrt(1 - alpha_bar): how much noise is in x_t."""
        return np.sqrt(1.0 - self.alphas_cumprod)

    @property
    def snr(self) -> np.ndarray:
        """Signal-to-noise ratio alpha_bar / (1 - alpha_bar); inf where there is no noise."""
        with np.errstate(divide="ignore"):
            return self.alphas_cumprod / (1.0 - self.alphas_cumprod)

    @property
    def log_snr(self) -> np.ndarray:
        """Natural log of the SNR: the clearest axis to compare schedules on."""
        with np.errstate(divide="ignore"):
            return np.log(self.alphas_cumprod) - np.log1p(-self.alphas_cumprod)

    @property
    def label(self) -> str:
        """A short description such as ``cosine(s=0.008, max_beta=0.999)``."""
        params = ", ".join(f"{k}={v:g}" for k, v in self.params.items())
        zt = ", zero_terminal_snr" if self.zero_terminal_snr else ""
        return f"{self.name}({params}{zt})"

    def alpha_bar_at(self, t: int) -> float:
        """alpha_bar at the 1-based step t in 0..T; t = 0 is the clean image (1.0)."""
        if not 0 <= t <= self.T:
            raise ValueError(f"step t must be between 0 and T={self.T}, got {t}")
        return 1.0 if t == 0 else float(self.alphas_cumprod[t - 1])

    def rates(self, t) -> tuple[np.ndarray, np.ndarray]:
        """(noise_rates, signal_rates) for continuous times t in [0, 1], like the book.

        Element-wise: the answer for one t never depends on the other times in
        the batch. t = (i + 1) / T equals table entry i exactly.
        """
        t = np.asarray(t, dtype=np.float64)
        if np.any(~np.isfinite(t)) or np.any(t < 0.0) or np.any(t > 1.0):
            raise ValueError("diffusion times t must lie in [0, 1]")
        if self._signal_rate_fn is not None:
            signal = self._signal_rate_fn(t)
            noise = np.sqrt(np.clip(1.0 - signal**2, 0.0, 1.0))
            return noise, signal
        grid = np.arange(self.T + 1) / self.T
        alpha_bar = np.interp(t, grid, np.concatenate([[1.0], self.alphas_cumprod]))
        return np.sqrt(1.0 - alpha_bar), np.sqrt(alpha_bar)

    def t_where_snr_crosses_one(self) -> float:
        """Fraction t/T at which SNR falls through 1 (alpha_bar = 0.5); nan if never."""
        # Entry j of this extended table is alpha_bar at t = j / T (j = 0: clean).
        table = np.concatenate([[1.0], self.alphas_cumprod])
        below = np.nonzero(table <= 0.5)[0]
        if below.size == 0:
            return float("nan")
        j = int(below[0])
        a0, a1 = table[j - 1], table[j]
        return float((j - 1 + (a0 - 0.5) / (a0 - a1)) / self.T)


def _check_T(T) -> int:
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)):
        raise ValueError(f"T must be a whole number of steps between 2 and {MAX_T}, got {T!r}")
    if not 2 <= T <= MAX_T:
        raise ValueError(f"T must be between 2 and {MAX_T} steps, got {T}")
    return int(T)


def _check_beta_range(beta_start: float, beta_end: float) -> None:
    for label, beta in (("beta_start", beta_start), ("beta_end", beta_end)):
        if not (math.isfinite(beta) and 0.0 < beta < 1.0):
            raise ValueError(f"{label} must lie strictly between 0 and 1, got {beta}")
    if beta_start > beta_end:
        raise ValueError(f"beta_start ({beta_start}) must not exceed beta_end ({beta_end})")


def _cumprod(betas: np.ndarray) -> np.ndarray:
    return np.cumprod(1.0 - betas)


def _linear(T, beta_start, beta_end):
    _check_beta_range(beta_start, beta_end)
    return _cumprod(np.linspace(beta_start, beta_end, T, dtype=np.float64))


def _scaled_linear(T, beta_start, beta_end):
    _check_beta_range(beta_start, beta_end)
    betas = np.linspace(beta_start**0.5, beta_end**0.5, T, dtype=np.float64) ** 2
    return _cumprod(betas)


def _sigmoid(T, beta_start, beta_end):
    _check_beta_range(beta_start, beta_end)
    x = np.linspace(-SIGMOID_RANGE, SIGMOID_RANGE, T, dtype=np.float64)
    betas = 1.0 / (1.0 + np.exp(-x)) * (beta_end - beta_start) + beta_start
    return _cumprod(betas)


def _cosine(T, s, max_beta):
    if not (math.isfinite(s) and 0.0 <= s < 1.0):
        raise ValueError(f"cosine offset s must lie in [0, 1), got {s}")
    if not (math.isfinite(max_beta) and 0.0 < max_beta < 1.0):
        raise ValueError(f"max_beta must lie strictly between 0 and 1, got {max_beta}")

    def f(t):
        return np.cos((t + s) / (1.0 + s) * math.pi / 2) ** 2

    i = np.arange(T, dtype=np.float64)
    betas = np.minimum(1.0 - f((i + 1) / T) / f(i / T), max_beta)
    return _cumprod(betas)


def offset_cosine_signal_rate(t, min_signal_rate=OFFSET_COSINE_MIN_SIGNAL_RATE,
                              max_signal_rate=OFFSET_COSINE_MAX_SIGNAL_RATE):
    """The book's offset cosine: angle runs linearly from acos(max) to acos(min)."""
    start_angle = math.acos(max_signal_rate)
    end_angle = math.acos(min_signal_rate)
    return np.cos(start_angle + np.asarray(t, dtype=np.float64) * (end_angle - start_angle))


def _rescale_zero_terminal_snr(signal_rates: np.ndarray):
    """Lin et al. 2023, Algorithm 1: shift sqrt(alpha_bar) so its last value is 0
    and scale it so its first value is unchanged. Returns the new table and the
    affine map, so a continuous-time schedule can apply the same map."""
    first, last = float(signal_rates[0]), float(signal_rates[-1])
    if first - last <= 0.0:
        raise ValueError("zero_terminal_snr needs a schedule whose signal rate decreases")
    scale = first / (first - last)

    def rescale(s):
        return np.clip((s - last) * scale, 0.0, 1.0)

    return rescale(signal_rates), rescale


def _then(first, second):
    """The function t -> second(first(t))."""
    return lambda t: second(first(t))


def make_schedule(name: str, T: int = DEFAULT_T, zero_terminal_snr: bool = False,
                  **params) -> Schedule:
    """Build a noise schedule by name.

    name: one of ``SCHEDULE_NAMES``. T: number of diffusion steps (2..100,000).
    params: override the published constants, e.g. ``beta_start`` / ``beta_end``
    (linear, scaled_linear, sigmoid), ``s`` / ``max_beta`` (cosine),
    ``min_signal_rate`` / ``max_signal_rate`` (offset_cosine).
    zero_terminal_snr: rescale so alpha_bar at the last step is exactly 0
    (Lin et al. 2023); an epsilon-predicting model cannot recover x0 there.
    """
    if name not in DEFAULT_PARAMS:
        raise ValueError(f"unknown schedule {name!r}; choose one of: {', '.join(SCHEDULE_NAMES)}")
    T = _check_T(T)
    allowed = DEFAULT_PARAMS[name]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(
            f"schedule {name!r} takes parameters {', '.join(allowed)}; got unknown {', '.join(unknown)}"
        )
    merged = {k: float(params.get(k, v)) for k, v in allowed.items()}

    signal_fn = None
    if name == "offset_cosine":
        lo, hi = merged["min_signal_rate"], merged["max_signal_rate"]
        if not (math.isfinite(lo) and math.isfinite(hi) and 0.0 <= lo < hi <= 1.0):
            raise ValueError(
                "offset_cosine needs 0 <= min_signal_rate < max_signal_rate <= 1, "
                f"got min_signal_rate={lo}, max_signal_rate={hi}"
            )

        signal_fn = functools.partial(offset_cosine_signal_rate, min_signal_rate=lo,
                                      max_signal_rate=hi)
        alphas_cumprod = signal_fn(np.arange(1, T + 1) / T) ** 2
    else:
        builder = {"linear": _linear, "scaled_linear": _scaled_linear,
                   "cosine": _cosine, "sigmoid": _sigmoid}[name]
        alphas_cumprod = builder(T, **merged)

    if zero_terminal_snr:
        signal_rates, rescale = _rescale_zero_terminal_snr(np.sqrt(alphas_cumprod))
        alphas_cumprod = signal_rates**2
        if signal_fn is not None:
            signal_fn = _then(signal_fn, rescale)

    return Schedule(name=name, T=T, params=merged, zero_terminal_snr=bool(zero_terminal_snr),
                    alphas_cumprod=alphas_cumprod, _signal_rate_fn=signal_fn)


def book_linear_rates(diffusion_times) -> tuple[np.ndarray, np.ndarray]:
    """The book's ``linear_diffusion_schedule``, mistake included (pitfall P1).

    It turns each time into a beta, then takes a cumulative product over the
    *array it was given*. That is right only for the full ordered grid of
    T = 1000 times; for a 20-step grid or a shuffled batch the numbers are
    wrong. Kept only to show the mistake next to ``make_schedule('linear')``.
    """
    times = np.asarray(diffusion_times, dtype=np.float64).reshape(-1)
    betas = LINEAR_BETA_START + times * (LINEAR_BETA_END - LINEAR_BETA_START)
    alpha_bars = np.cumprod(1.0 - betas)
    return np.sqrt(1.0 - alpha_bars), np.sqrt(alpha_bars)


def key_numbers(schedule: Schedule) -> dict[str, float]:
    """The numbers that tell schedules apart, for a table."""
    snr = schedule.snr
    return {
        "alpha_bar_end": float(schedule.alphas_cumprod[-1]),
        "terminal_snr": float(snr[-1]),
        "terminal_log_snr": float(schedule.log_snr[-1]),
        "t_snr_1": schedule.t_where_snr_crosses_one(),
        "share_snr_above_1": float(np.mean(snr > 1.0)),
    }
