"""core.samplers: DDIM/DDPM steps match the papers, grids visit the right timesteps,
trajectories are consistent, and the ideal denoiser memorises its data set."""

import math
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import ROOT
from core import samplers
from core.data import procedural_flowers
from core.samplers import (
    CLEAN_END,
    IdealDenoiser,
    ddim_sigma,
    ddim_step,
    ddpm_posterior,
    ddpm_step,
    noisy_start,
    previous_timesteps,
    run_trajectory,
    sample,
    sampling_grid,
    slerp,
    timesteps,
    trajectory,
)
from core.schedules import make_schedule

# Hand-computed example: ᾱ_t = 0.25, ᾱ_prev = 0.64, x_t = 1, ε̂ = 0.5.
#   √ᾱ_t = 0.5, √(1−ᾱ_t) = √0.75 = 0.8660254
#   x̂0 = (1 − 0.8660254·0.5) / 0.5 = 1.1339746
#   η = 0: x_prev = 0.8·1.1339746 + √0.36·0.5 = 0.9071797 + 0.3 = 1.2071797
#   η = 1: σ² = (0.36/0.75)·(1 − 0.25/0.64) = 0.48·0.609375 = 0.2925
#          x_prev = 0.9071797 + √(0.36 − 0.2925)·0.5 + √0.2925·z
#                 = 0.9071797 + 0.1299038 + 0.5408327·z
#   DDPM: α_t = 0.390625, β_t = 0.609375, β̃ = 0.48·0.609375 = 0.2925,
#         mean = 0.8·0.609375/0.75·x̂0 + √0.390625·0.36/0.75·x_t = 0.65·x̂0 + 0.3·x_t = 1.0370835
A_T, A_PREV = 0.25, 0.64
X_T, EPS = 1.0, 0.5
X0_HAND = 1.1339746
DDIM_ETA0_HAND = 1.2071797
SIGMA2_HAND = 0.2925
DDIM_ETA1_MEAN_HAND = 1.0370835
DDPM_MEAN_HAND = 1.0370835


def arr(value, shape=(1, 2, 2, 1)):
    return np.full(shape, value, dtype=np.float32)


def random_images(n, size=8, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (n, size, size, 3)).astype(np.float32)


def nearest_training_error(images01, data01):
    """Max abs pixel error from each image to its nearest training image."""
    diff = np.abs(images01.reshape(len(images01), 1, -1) - data01.reshape(1, len(data01), -1))
    return diff.max(axis=-1).min(axis=-1)


# ---------------------------------------------------------------------------------------
# One step
# ---------------------------------------------------------------------------------------


def test_ddim_step_matches_hand_computed_numbers():
    x_prev, x0 = ddim_step(arr(X_T), arr(EPS), A_T, A_PREV)
    np.testing.assert_allclose(x0, X0_HAND, rtol=1e-6)
    np.testing.assert_allclose(x_prev, DDIM_ETA0_HAND, rtol=1e-6)
    assert x_prev.dtype == np.float32 and x0.dtype == np.float32


def test_ddim_step_with_eta_one_matches_hand_computed_numbers():
    z = arr(1.0)
    x_prev, _ = ddim_step(arr(X_T), arr(EPS), A_T, A_PREV, eta=1.0, noise=z)
    np.testing.assert_allclose(x_prev, DDIM_ETA1_MEAN_HAND + math.sqrt(SIGMA2_HAND), rtol=1e-6)


def test_ddim_eta_zero_is_deterministic_and_needs_no_noise():
    x_t = np.random.default_rng(0).standard_normal((2, 4, 4, 3)).astype(np.float32)
    eps = np.random.default_rng(1).standard_normal((2, 4, 4, 3)).astype(np.float32)
    a, _ = ddim_step(x_t, eps, 0.3, 0.5, eta=0.0)
    b, _ = ddim_step(x_t, eps, 0.3, 0.5, eta=0.0, noise=np.full_like(x_t, 9.0))
    np.testing.assert_array_equal(a, b)  # any noise given is ignored at η = 0


def test_ddim_with_eta_needs_noise():
    with pytest.raises(ValueError, match="pass noise"):
        ddim_step(arr(X_T), arr(EPS), A_T, A_PREV, eta=0.5)


def test_ddim_eta_one_sigma_is_the_ddpm_posterior_std():
    table = make_schedule("linear").alphas_cumprod
    for t, prev in ((999, 899), (500, 499), (10, 0)):
        a_t, a_prev = table[t], table[prev]
        beta = 1 - a_t / a_prev
        beta_tilde = (1 - a_prev) / (1 - a_t) * beta
        assert ddim_sigma(a_t, a_prev, 1.0) ** 2 == pytest.approx(beta_tilde, rel=1e-10)
        _, variance = ddpm_posterior(arr(0.0), arr(0.0), a_t, a_prev)
        assert float(variance) == pytest.approx(beta_tilde, rel=1e-10)
    assert ddim_sigma(A_T, A_PREV, 1.0) ** 2 == pytest.approx(SIGMA2_HAND)
    assert ddim_sigma(A_T, A_PREV, 0.5) ** 2 == pytest.approx(0.25 * SIGMA2_HAND)


def test_ddpm_posterior_mean_and_variance_match_hand_computed_numbers():
    mean, variance = ddpm_posterior(arr(X_T), arr(X0_HAND), A_T, A_PREV)
    np.testing.assert_allclose(mean, DDPM_MEAN_HAND, rtol=1e-6)
    assert float(variance) == pytest.approx(SIGMA2_HAND)
    x_prev, x0 = ddpm_step(arr(X_T), arr(EPS), A_T, A_PREV, noise=arr(-1.0))
    np.testing.assert_allclose(x0, X0_HAND, rtol=1e-6)
    np.testing.assert_allclose(x_prev, DDPM_MEAN_HAND - math.sqrt(SIGMA2_HAND), rtol=1e-6)


def test_ddim_eta_one_equals_the_ddpm_step_for_the_same_noise():
    rng = np.random.default_rng(2)
    x_t, eps, z = (rng.standard_normal((2, 4, 4, 3)).astype(np.float32) for _ in range(3))
    ddim, _ = ddim_step(x_t, eps, 0.2, 0.7, eta=1.0, noise=z)
    ddpm, _ = ddpm_step(x_t, eps, 0.2, 0.7, noise=z)
    np.testing.assert_allclose(ddim, ddpm, rtol=1e-5, atol=1e-5)


def test_ddpm_step_into_the_clean_end_adds_no_noise():
    x_prev, x0 = ddpm_step(arr(X_T), arr(EPS), A_T, 1.0, noise=None)
    np.testing.assert_allclose(x_prev, x0)
    with pytest.raises(ValueError, match="pass noise"):
        ddpm_step(arr(X_T), arr(EPS), A_T, A_PREV, noise=None)


def test_steps_take_one_alpha_cumprod_per_image():
    rng = np.random.default_rng(3)
    x_t, eps = (rng.standard_normal((3, 4, 4, 2)).astype(np.float32) for _ in range(2))
    a_t, a_prev = np.array([0.1, 0.25, 0.5]), np.array([0.2, 0.64, 0.9])
    batched, _ = ddim_step(x_t, eps, a_t, a_prev)
    for i in range(3):
        one, _ = ddim_step(x_t[i:i + 1], eps[i:i + 1], a_t[i], a_prev[i])
        np.testing.assert_allclose(batched[i:i + 1], one, rtol=1e-6)
    with pytest.raises(ValueError, match="one per image"):
        ddim_step(x_t, eps, a_t[:2], a_prev[:2])


def test_step_rejects_swapped_alphas():
    with pytest.raises(ValueError, match="swap"):
        ddim_step(arr(X_T), arr(EPS), A_PREV, A_T)


def test_given_x0_pred_avoids_dividing_by_zero_signal():
    """Zero terminal SNR (pitfall P6): at ᾱ_t = 0, x0 cannot come from ε."""
    with pytest.raises(ValueError, match="zero terminal SNR"):
        ddim_step(arr(X_T), arr(X_T), 0.0, 0.1)
    x_prev, x0 = ddim_step(arr(X_T), arr(X_T), 0.0, 0.36, x0_pred=arr(0.5))
    np.testing.assert_allclose(x0, 0.5)
    np.testing.assert_allclose(x_prev, 0.6 * 0.5 + 0.8 * 1.0, rtol=1e-6)


# ---------------------------------------------------------------------------------------
# Timestep grids
# ---------------------------------------------------------------------------------------


def test_linspace_spacing_for_ten_of_a_thousand():
    ts = timesteps(10, 1000, "linspace")
    np.testing.assert_array_equal(ts, [999, 888, 777, 666, 555, 444, 333, 222, 111, 0])
    # The previous step is the next listed one, not t − T/n as diffusers does.
    np.testing.assert_array_equal(previous_timesteps(ts),
                                  [888, 777, 666, 555, 444, 333, 222, 111, 0, CLEAN_END])


def test_leading_spacing_for_ten_of_a_thousand_never_visits_the_last_step():
    ts = timesteps(10, 1000, "leading")
    np.testing.assert_array_equal(ts, [900, 800, 700, 600, 500, 400, 300, 200, 100, 0])
    np.testing.assert_array_equal(previous_timesteps(ts),
                                  [800, 700, 600, 500, 400, 300, 200, 100, 0, CLEAN_END])


def test_trailing_spacing_for_ten_of_a_thousand():
    ts = timesteps(10, 1000, "trailing")
    np.testing.assert_array_equal(ts, [999, 899, 799, 699, 599, 499, 399, 299, 199, 99])
    np.testing.assert_array_equal(previous_timesteps(ts),
                                  [899, 799, 699, 599, 499, 399, 299, 199, 99, CLEAN_END])


def test_spacings_when_n_does_not_divide_T():
    # T/n = 333.3: trailing rounds arange(1000, 0, -333.3) = 1000, 666.7, 333.3, then − 1.
    np.testing.assert_array_equal(timesteps(3, 1000, "trailing"), [999, 666, 332])
    np.testing.assert_array_equal(timesteps(3, 1000, "leading"), [666, 333, 0])
    np.testing.assert_array_equal(timesteps(3, 1000, "linspace"), [999, 500, 0])


@pytest.mark.parametrize("spacing", samplers.DISCRETE_SPACINGS)
def test_every_spacing_of_all_steps_visits_the_whole_table(spacing):
    np.testing.assert_array_equal(timesteps(1000, 1000, spacing), np.arange(999, -1, -1))
    for n in (1, 7, 333, 999):
        ts = timesteps(n, 1000, spacing)
        assert len(ts) == n and np.all(np.diff(ts) < 0) and ts[0] <= 999 and ts[-1] >= 0


@pytest.mark.parametrize("n", [0, -1, 1001])
def test_step_counts_outside_one_to_T_are_rejected(n):
    with pytest.raises(ValueError, match="between 1 and the 1000 steps"):
        timesteps(n, 1000, "trailing")


def test_unknown_spacing_and_fractional_steps_are_rejected():
    with pytest.raises(ValueError, match="choose one of"):
        timesteps(10, 1000, "uniform")
    with pytest.raises(ValueError, match="whole number"):
        timesteps(2.5, 1000, "trailing")


def test_grid_alphas_come_from_the_table_and_end_at_the_clean_image():
    schedule = make_schedule("linear")
    grid = sampling_grid(schedule, 10, "linspace")
    np.testing.assert_array_equal(grid.alphas_cumprod, schedule.alphas_cumprod[grid.t])
    np.testing.assert_array_equal(grid.alphas_cumprod_prev[:-1], schedule.alphas_cumprod[grid.t[1:]])
    assert grid.alphas_cumprod_prev[-1] == 1.0


def test_continuous_grid_is_the_books_sampler():
    schedule = make_schedule("offset_cosine")
    grid = sampling_grid(schedule, 20, "continuous")
    np.testing.assert_allclose(grid.t, 1 - np.arange(20) / 20)
    np.testing.assert_allclose(grid.t_prev, 1 - np.arange(1, 21) / 20)
    assert grid.signal_rates[0] == pytest.approx(0.02)
    # t = 0 of the offset cosine is signal rate 0.95, not a clean image.
    assert grid.alphas_cumprod_prev[-1] == pytest.approx(0.95**2)


# ---------------------------------------------------------------------------------------
# Trajectories
# ---------------------------------------------------------------------------------------


class RecordingDenoiser:
    """Predicts ε = x_t·n and x̂0 from it; records the rates it was given."""

    def __init__(self, image_shape=(4, 4, 3)):
        self.image_shape = image_shape
        self.calls = []

    def predict(self, x_t, noise_rates, signal_rates):
        self.calls.append((noise_rates.copy(), signal_rates.copy()))
        n, s = noise_rates.reshape(-1, 1, 1, 1), signal_rates.reshape(-1, 1, 1, 1)
        eps = (x_t * n).astype(np.float32)
        return eps, ((x_t - n * eps) / s).astype(np.float32)

    def to_pixels(self, x):
        return np.clip((x + 1) / 2, 0, 1)

    def from_pixels(self, images01):
        return images01 * 2 - 1


def test_trajectory_yields_one_consistent_step_per_reverse_step():
    denoiser = RecordingDenoiser()
    noise = np.random.default_rng(0).standard_normal((3, 4, 4, 3)).astype(np.float32)
    steps = list(trajectory(denoiser, make_schedule("cosine"), noise, 12))
    assert [s.index for s in steps] == list(range(12))
    assert all(s.t > s.t_prev for s in steps) and steps[-1].t_prev == CLEAN_END
    assert [s.t_prev for s in steps[:-1]] == [s.t for s in steps[1:]]
    for a, b in zip(steps, steps[1:]):
        np.testing.assert_array_equal(a.x_prev, b.x_t)  # each step starts where the last ended
    for s in steps:
        for x in (s.x_t, s.eps_pred, s.x0_pred, s.x_prev):
            assert x.shape == (3, 4, 4, 3) and x.dtype == np.float32
    np.testing.assert_array_equal(steps[0].x_t, noise)


def test_denoiser_gets_per_image_rates_of_the_current_timestep():
    denoiser = RecordingDenoiser()
    schedule = make_schedule("linear")
    steps = run_trajectory(denoiser, schedule, np.zeros((2, 4, 4, 3), np.float32), 5)
    for (noise_rates, signal_rates), s in zip(denoiser.calls, steps):
        assert noise_rates.shape == (2,) and signal_rates.shape == (2,)
        np.testing.assert_allclose(signal_rates, math.sqrt(schedule.alphas_cumprod[s.t]), rtol=1e-6)
        np.testing.assert_allclose(noise_rates**2 + signal_rates**2, 1.0, rtol=1e-6)


def test_trajectory_rejects_noise_of_the_wrong_shape():
    with pytest.raises(ValueError, match="initial_noise"):
        run_trajectory(RecordingDenoiser(), make_schedule("linear"), np.zeros((2, 8, 8, 3)), 5)


def test_trajectory_checks_its_arguments_when_called():
    denoiser = RecordingDenoiser()
    noise = np.zeros((1, 4, 4, 3), np.float32)
    with pytest.raises(ValueError, match="choose one of"):
        trajectory(denoiser, make_schedule("linear"), noise, 5, sampler="euler")
    with pytest.raises(ValueError, match="eta must lie in"):
        trajectory(denoiser, make_schedule("linear"), noise, 5, eta=2.0)
    assert isinstance(IdealDenoiser(random_images(2)), samplers.Denoiser)


def test_ddim_eta_one_and_ddpm_are_reproducible_with_a_seed():
    denoiser = IdealDenoiser(random_images(5))
    schedule = make_schedule("cosine")
    noise = np.random.default_rng(0).standard_normal((2, 8, 8, 3)).astype(np.float32)
    for kwargs in ({"eta": 1.0}, {"sampler": "ddpm"}):
        a = run_trajectory(denoiser, schedule, noise, 8, seed=7, **kwargs)
        b = run_trajectory(denoiser, schedule, noise, 8, seed=7, **kwargs)
        c = run_trajectory(denoiser, schedule, noise, 8, seed=8, **kwargs)
        for sa, sb in zip(a, b):
            np.testing.assert_array_equal(sa.x_prev, sb.x_prev)
        assert not np.array_equal(a[0].x_prev, c[0].x_prev)
        assert a[0].sigma > 0


def test_ddpm_trajectory_sigma_is_the_posterior_std():
    denoiser = IdealDenoiser(random_images(3))
    schedule = make_schedule("linear")
    noise = np.random.default_rng(0).standard_normal((1, 8, 8, 3)).astype(np.float32)
    steps = run_trajectory(denoiser, schedule, noise, 4, sampler="ddpm")
    for s in steps:
        a_t, a_prev = s.alpha_cumprod_t, s.alpha_cumprod_prev
        beta_tilde = (1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)
        assert s.sigma == pytest.approx(math.sqrt(beta_tilde))
    assert steps[-1].sigma == 0.0
    with pytest.raises(ValueError, match="eta applies"):
        run_trajectory(denoiser, schedule, noise, 4, sampler="ddpm", eta=0.5)


# ---------------------------------------------------------------------------------------
# The ideal denoiser
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, spacing, zero_terminal_snr",
    [("linear", "trailing", False), ("cosine", "trailing", False),
     ("offset_cosine", "continuous", False), ("cosine", "trailing", True)],
)
def test_ddim_with_one_training_image_returns_that_image(name, spacing, zero_terminal_snr):
    image = procedural_flowers(1, 32, seed=4)
    denoiser = IdealDenoiser(image)
    schedule = make_schedule(name, zero_terminal_snr=zero_terminal_snr)
    noise = np.random.default_rng(0).standard_normal((3, 32, 32, 3)).astype(np.float32)
    steps = run_trajectory(denoiser, schedule, noise, 10, spacing=spacing)
    out = denoiser.to_pixels(steps[-1].x0_pred)
    assert np.abs(out - image).max() < 1e-5
    # Deterministic DDIM with a perfect denoiser keeps the noise it started with:
    # x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε0 at every step.
    x0 = denoiser.from_pixels(image)
    eps0 = steps[0].eps_pred
    for s in steps[1:]:
        expected = s.signal_rate * x0 + s.noise_rate * eps0
        np.testing.assert_allclose(s.x_t, expected, atol=1e-4)


def test_ideal_denoiser_over_several_images_memorises():
    data = procedural_flowers(12, 32, seed=1)
    denoiser = IdealDenoiser(data)
    noise = np.random.default_rng(5).standard_normal((6, 32, 32, 3)).astype(np.float32)
    images = sample(denoiser, make_schedule("offset_cosine"), noise, 20, spacing="continuous")
    assert images.shape == (6, 32, 32, 3)
    assert nearest_training_error(images, data).max() < 1e-4
    # ... and not always the same one.
    nearest = np.argmin(np.abs(images.reshape(6, 1, -1) - data.reshape(1, 12, -1)).max(-1), axis=1)
    assert len(set(nearest.tolist())) > 1


def test_ddpm_with_the_ideal_denoiser_also_lands_on_training_images():
    data = procedural_flowers(8, 32, seed=2)
    denoiser = IdealDenoiser(data)
    noise = np.random.default_rng(6).standard_normal((4, 32, 32, 3)).astype(np.float32)
    images = sample(denoiser, make_schedule("cosine"), noise, 20, sampler="ddpm", seed=3)
    assert nearest_training_error(images, data).max() < 1e-4


def test_posterior_weights_match_a_direct_computation():
    data = random_images(7, size=4, seed=1)
    denoiser = IdealDenoiser(data, batch_size=3)  # chunks of 3, 3 and 1 images
    x = denoiser.from_pixels(data).reshape(7, -1).astype(np.float64)
    q = np.random.default_rng(2).standard_normal((5, 4, 4, 3))
    noise_rates = np.array([0.99, 0.9, 0.7, 0.5, 0.3])
    signal_rates = np.sqrt(1 - noise_rates**2)
    w = denoiser.posterior_weights(q, noise_rates, signal_rates)
    for j in range(5):
        d2 = ((q[j].reshape(1, -1) - signal_rates[j] * x) ** 2).sum(axis=1)
        p = np.exp(-(d2 - d2.min()) / (2 * noise_rates[j] ** 2))
        np.testing.assert_allclose(w[j], p / p.sum(), rtol=1e-4, atol=1e-7)
    eps, x0 = denoiser.predict(q.astype(np.float32), noise_rates, signal_rates)
    np.testing.assert_allclose(x0.reshape(5, -1), w @ x, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(
        eps, (q - signal_rates[:, None, None, None] * x0) / noise_rates[:, None, None, None],
        rtol=1e-4, atol=1e-4)


def test_posterior_weights_move_from_spread_to_one_image():
    data = procedural_flowers(1000, 32, seed=0)
    denoiser = IdealDenoiser(data)
    noise = np.random.default_rng(1).standard_normal((16, 32, 32, 3)).astype(np.float32)
    steps = run_trajectory(denoiser, make_schedule("offset_cosine"), noise, 20, spacing="continuous")
    first = denoiser.posterior_weights(steps[0].x_t, steps[0].noise_rate, steps[0].signal_rate)
    late = denoiser.posterior_weights(steps[12].x_t, steps[12].noise_rate, steps[12].signal_rate)
    np.testing.assert_allclose(first.sum(axis=1), 1.0, rtol=1e-9)
    assert first.max() < 0.05  # pure noise: no image stands out
    assert late.max(axis=1).min() > 0.99  # well before the end, one image per sample


def test_ideal_denoiser_handles_no_noise_and_pure_noise():
    data = random_images(4)
    denoiser = IdealDenoiser(data)
    x0 = denoiser.from_pixels(data[:2])
    eps, pred = denoiser.predict(x0, np.zeros(2), np.ones(2))  # ᾱ = 1: x_t is clean
    np.testing.assert_allclose(pred, x0, atol=1e-6)
    assert np.all(eps == 0)
    q = np.random.default_rng(0).standard_normal((2, 8, 8, 3)).astype(np.float32)
    eps, pred = denoiser.predict(q, np.ones(2), np.zeros(2))  # ᾱ = 0: only the mean is known
    np.testing.assert_allclose(pred, np.broadcast_to(denoiser.from_pixels(data).mean(0), pred.shape),
                               atol=1e-5)
    np.testing.assert_allclose(eps, q)


def test_ideal_denoiser_rejects_images_outside_zero_one():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        IdealDenoiser(random_images(2) * 255)


def test_ideal_denoiser_step_costs_a_few_milliseconds():
    """16 queries against 1,000 images at 32×32: one matmul each way, no Python loop."""
    denoiser = IdealDenoiser(random_images(1000, size=32))
    q = np.random.default_rng(0).standard_normal((16, 32, 32, 3)).astype(np.float32)
    rates = np.full(16, 0.8, np.float32), np.full(16, 0.6, np.float32)
    denoiser.predict(q, *rates)
    times = []
    for _ in range(7):
        start = time.perf_counter()
        denoiser.predict(q, *rates)
        times.append(time.perf_counter() - start)
    assert np.median(times) < 0.05  # measured about 3 ms on 2 cores; generous for a busy CPU


# ---------------------------------------------------------------------------------------
# Partial denoising
# ---------------------------------------------------------------------------------------


def test_noisy_start_uses_the_table_entry_of_start_step():
    schedule = make_schedule("linear")
    x0, eps = arr(0.5), arr(1.0)
    a = schedule.alphas_cumprod[499]
    np.testing.assert_allclose(noisy_start(x0, eps, schedule, 499),
                               math.sqrt(a) * 0.5 + math.sqrt(1 - a), rtol=1e-6)
    n, s = make_schedule("offset_cosine").rates(0.5)
    np.testing.assert_allclose(noisy_start(x0, eps, make_schedule("offset_cosine"), 0.5, "continuous"),
                               s * 0.5 + n, rtol=1e-6)
    with pytest.raises(ValueError, match="0-based table index"):
        noisy_start(x0, eps, schedule, 1000)


def test_partial_denoising_from_start_step_returns_the_noised_image():
    data = procedural_flowers(10, 32, seed=3)
    denoiser = IdealDenoiser(data)
    schedule = make_schedule("linear")
    x0 = denoiser.from_pixels(data[[2, 7]])
    eps = np.random.default_rng(0).standard_normal(x0.shape).astype(np.float32)
    x_t = noisy_start(x0, eps, schedule, 400)
    steps = run_trajectory(denoiser, schedule, x_t, 10, start_step=400)
    assert len(steps) == 10 and steps[0].t == 400 and steps[-1].t_prev == CLEAN_END
    assert steps[0].alpha_cumprod_t == schedule.alphas_cumprod[400]
    np.testing.assert_array_equal(steps[0].x_t, x_t)
    np.testing.assert_allclose(denoiser.to_pixels(steps[-1].x0_pred), data[[2, 7]], atol=1e-4)


def test_partial_denoising_on_the_continuous_grid():
    schedule = make_schedule("offset_cosine")
    grid = sampling_grid(schedule, 5, "continuous", start_step=0.5)
    np.testing.assert_allclose(grid.t, [0.5, 0.4, 0.3, 0.2, 0.1])
    np.testing.assert_allclose(grid.t_prev, [0.4, 0.3, 0.2, 0.1, 0.0], atol=1e-12)
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        sampling_grid(schedule, 5, "continuous", start_step=1.5)


def test_start_step_bounds_the_number_of_steps():
    with pytest.raises(ValueError, match="between 1 and the 11 steps"):
        sampling_grid(make_schedule("linear"), 20, "trailing", start_step=10)


# ---------------------------------------------------------------------------------------
# Spherical interpolation
# ---------------------------------------------------------------------------------------


def test_slerp_endpoints_follow_the_books_form():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 4, 4, 3)).astype(np.float32)
    out = slerp(a, b, np.linspace(0, 1, 11))
    assert out.shape == (11, 4, 4, 3)
    np.testing.assert_allclose(out[0], b, atol=1e-6)  # s = 0: b
    np.testing.assert_allclose(out[-1], a, atol=1e-6)  # s = 1: a
    np.testing.assert_allclose(out[5], (a + b) * math.sqrt(0.5), rtol=1e-5)


def test_slerp_keeps_the_norm_of_orthogonal_inputs():
    rng = np.random.default_rng(1)
    a = rng.standard_normal(300)
    b = rng.standard_normal(300)
    b -= (a @ b) / (a @ a) * a  # make b ⊥ a
    b *= np.linalg.norm(a) / np.linalg.norm(b)  # with the same norm
    s = np.linspace(0, 1, 11)
    norms = np.linalg.norm(slerp(a, b, s), axis=1)
    np.testing.assert_allclose(norms, np.linalg.norm(a), rtol=1e-5)
    # A straight line would shrink to 1/√2 of the norm halfway.
    assert np.linalg.norm(0.5 * a + 0.5 * b) == pytest.approx(np.linalg.norm(a) / math.sqrt(2))


def test_samplers_import_numpy_only():
    code = ("import sys, core.samplers; print(sorted(m for m in sys.modules if m.split('.')[0] "
            "in ('streamlit', 'tensorflow', 'keras', 'torch', 'jax')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"

