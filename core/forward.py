"""The forward (noising) process, two ways that agree in distribution.

* one shot, the reparameterisation trick (DDPM eq. 4):
  x_t = sqrt(alpha_bar_t) * x0 + sqrt(1 - alpha_bar_t) * eps
* step by step, the Markov chain it summarises (DDPM eq. 2):
  x_t = sqrt(1 - beta_t) * x_{t-1} + sqrt(beta_t) * eps_t

Steps are 1-based as in the paper: t = 0 is the clean image and t = T the last
step, so x_t uses ``schedule.alphas_cumprod[t - 1]``. Images are float32
arrays, one image (H, W, C) or a batch (N, H, W, C), on the model's scale
[-1, 1] (``to_model_range``), where x_T is close to N(0, I).
"""

from __future__ import annotations

import numpy as np

from core.schedules import Schedule

# The chain keeps a copy of its state every CHAIN_CHECKPOINT_EVERY steps, so
# moving a slider from t to t' costs at most that many steps, not t'. For long
# chains the spacing grows so that no more than CHAIN_MAX_CHECKPOINTS copies
# are kept (40 copies of a 256 px image are 31 MB).
CHAIN_CHECKPOINT_EVERY = 25
CHAIN_MAX_CHECKPOINTS = 40


def to_model_range(images: np.ndarray) -> np.ndarray:
    """[0, 1] pixels -> [-1, 1], the scale on which x_T ~ N(0, I) makes sense."""
    return (np.asarray(images, dtype=np.float32) * 2.0 - 1.0).astype(np.float32)


def to_pixel_range(x: np.ndarray) -> np.ndarray:
    """[-1, 1] -> [0, 1] for display, clipping what noise pushes outside."""
    return np.clip((np.asarray(x, dtype=np.float32) + 1.0) * 0.5, 0.0, 1.0)


def sample_noise(shape, seed: int) -> np.ndarray:
    """Standard normal noise eps, reproducible from an integer seed."""
    return np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)


def _check_step(t, schedule: Schedule) -> np.ndarray:
    t = np.asarray(t)
    if not np.issubdtype(t.dtype, np.integer) or np.any(t < 0) or np.any(t > schedule.T):
        raise ValueError(f"step t must be a whole number from 0 to T={schedule.T}, got {t}")
    return t


def alpha_bar(schedule: Schedule, t) -> np.ndarray:
    """alpha_bar at 1-based steps t (scalar or array); 1.0 at t = 0."""
    t = _check_step(t, schedule)
    table = np.concatenate([[1.0], schedule.alphas_cumprod])
    return table[t]


def add_noise(x0: np.ndarray, noise: np.ndarray, t, schedule: Schedule) -> np.ndarray:
    """One-shot forward process: x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps.

    ``t`` is one step for all images, or one step per image of a batch.
    """
    x0 = np.asarray(x0, dtype=np.float32)
    noise = np.asarray(noise, dtype=np.float32)
    if x0.shape != noise.shape:
        raise ValueError(f"x0 {x0.shape} and noise {noise.shape} must have the same shape")
    a = alpha_bar(schedule, t)
    if a.ndim == 1:  # one step per image: broadcast over H, W, C
        if x0.ndim != 4 or len(a) != len(x0):
            raise ValueError("one step per image needs a batch (N, H, W, C) with N steps")
        a = a.reshape(-1, 1, 1, 1)
    signal = np.sqrt(a).astype(np.float32)
    noise_rate = np.sqrt(1.0 - a).astype(np.float32)
    return signal * x0 + noise_rate * noise


def _step_noise(seed: int, step: int, shape) -> np.ndarray:
    # Noise of step k depends only on (seed, k), so the chain reaches the same
    # x_t whether it runs from 0 or resumes from a checkpoint.
    return np.random.default_rng([seed, step]).standard_normal(shape, dtype=np.float32)


def checkpoint_spacing(T: int) -> int:
    """Steps between two kept states of a chain of T steps."""
    return max(CHAIN_CHECKPOINT_EVERY, -(-T // CHAIN_MAX_CHECKPOINTS))


def forward_chain(x0: np.ndarray, schedule: Schedule, t: int, seed: int,
                  checkpoints: dict | None = None) -> np.ndarray:
    """Step-by-step forward process from x0 to x_t, seeded.

    checkpoints: an optional dict the caller keeps between calls for the same
    (x0, schedule, seed); the chain stores its state there every
    ``checkpoint_spacing(schedule.T)`` steps and resumes from the nearest one.
    """
    t = int(_check_step(t, schedule))
    x = np.array(x0, dtype=np.float32)
    start = 0
    if checkpoints:
        usable = [k for k in checkpoints if k <= t]
        if usable:
            start = max(usable)
            x = checkpoints[start].copy()
    betas = schedule.betas
    every = checkpoint_spacing(schedule.T)
    for step in range(start + 1, t + 1):
        beta = betas[step - 1]
        x *= np.float32(np.sqrt(1.0 - beta))
        x += np.float32(np.sqrt(beta)) * _step_noise(seed, step, x.shape)
        if checkpoints is not None and step % every == 0:
            checkpoints[step] = x.copy()
    return x


def standardised_residual(x_t: np.ndarray, x0: np.ndarray, alpha_bar_t: float) -> np.ndarray:
    """(x_t - sqrt(alpha_bar) x0) / sqrt(1 - alpha_bar): N(0, 1) if x_t is right.

    Whichever way x_t was made, this is the noise it carries; its mean and
    standard deviation show that one-shot and chain agree in distribution.
    """
    if alpha_bar_t >= 1.0:
        raise ValueError("at t = 0 there is no noise to standardise")
    return (np.asarray(x_t) - np.sqrt(alpha_bar_t) * np.asarray(x0)) / np.sqrt(1.0 - alpha_bar_t)


def pixel_stats(x: np.ndarray) -> dict[str, float]:
    """Mean, standard deviation, min and max of all pixels."""
    x = np.asarray(x, dtype=np.float64)
    return {"mean": float(x.mean()), "std": float(x.std()), "min": float(x.min()),
            "max": float(x.max())}
