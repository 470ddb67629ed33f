"""core.schedules: the tables equal the published ones, and every way of asking agrees."""

import math

import numpy as np
import pytest

from core.schedules import (SCHEDULE_NAMES, book_linear_rates, key_numbers, make_schedule,
                            offset_cosine_signal_rate)


def test_linear_matches_ddpm_table():
    s = make_schedule("linear")
    assert s.T == 1000
    np.testing.assert_allclose(s.betas, np.linspace(1e-4, 0.02, 1000), rtol=1e-9, atol=1e-12)
    # The well-known DDPM figure: alpha_bar at the last step is about 4.04e-5.
    assert s.alphas_cumprod[-1] == pytest.approx(4.0358e-5, rel=1e-3)


def test_cosine_matches_nichol_dhariwal_table():
    s = make_schedule("cosine")

    def f(t):
        return np.cos((t + 0.008) / 1.008 * np.pi / 2) ** 2

    i = np.arange(1000)
    # Without the cap the product telescopes to f(t) / f(0) (Nichol & Dhariwal eq. 17).
    np.testing.assert_allclose(s.alphas_cumprod[:-1], f((i[:-1] + 1) / 1000) / f(0), rtol=1e-9)
    # The last beta is capped at 0.999.
    assert s.betas[-1] == pytest.approx(0.999)
    assert np.all(s.betas <= 0.999 + 1e-12)


def test_scaled_linear_is_linear_in_sqrt_beta_like_stable_diffusion():
    s = make_schedule("scaled_linear")
    root = np.sqrt(s.betas)
    assert s.betas[0] == pytest.approx(0.00085)
    assert s.betas[-1] == pytest.approx(0.012)
    np.testing.assert_allclose(np.diff(root), np.diff(root)[0], rtol=1e-6)
    assert s.alphas_cumprod[-1] == pytest.approx(4.66e-3, rel=1e-2)


def test_sigmoid_betas_follow_logistic_curve_over_minus_6_to_6():
    s = make_schedule("sigmoid", T=500)
    x = np.linspace(-6, 6, 500)
    np.testing.assert_allclose(s.betas, 1e-4 + (0.02 - 1e-4) / (1 + np.exp(-x)), rtol=1e-9)
    # sigmoid(x) + sigmoid(-x) = 1, so the betas are symmetric around the middle.
    np.testing.assert_allclose(s.betas + s.betas[::-1], 0.02 + 1e-4, rtol=1e-9)


def test_offset_cosine_rates_equal_the_books_formula():
    s = make_schedule("offset_cosine")
    t = np.random.default_rng(1).uniform(0, 1, 257)
    start, end = math.acos(0.95), math.acos(0.02)
    noise, signal = s.rates(t)
    np.testing.assert_allclose(signal, np.cos(start + t * (end - start)), rtol=1e-12)
    np.testing.assert_allclose(noise, np.sin(start + t * (end - start)), rtol=1e-9)
    # It never reaches zero signal (pitfall P6) nor full signal.
    assert s.rates(1.0)[1] == pytest.approx(0.02)
    assert s.rates(0.0)[1] == pytest.approx(0.95)


@pytest.mark.parametrize("name", SCHEDULE_NAMES)
@pytest.mark.parametrize("zero_snr", [False, True])
def test_signal_squared_plus_noise_squared_is_one(name, zero_snr):
    s = make_schedule(name, T=200, zero_terminal_snr=zero_snr)
    np.testing.assert_allclose(s.signal_rates**2 + s.noise_rates**2, 1.0, atol=1e-12)
    noise, signal = s.rates(np.linspace(0, 1, 101))
    np.testing.assert_allclose(signal**2 + noise**2, 1.0, atol=1e-12)


@pytest.mark.parametrize("name", SCHEDULE_NAMES)
def test_rates_do_not_depend_on_batch_order_or_size(name):
    """Pitfall P1: a shuffled batch must get the same rates as the ordered grid."""
    s = make_schedule(name)
    t = np.random.default_rng(0).uniform(0, 1, 64)
    perm = np.random.default_rng(1).permutation(64)
    noise, signal = s.rates(t)
    noise_p, signal_p = s.rates(t[perm])
    np.testing.assert_array_equal(signal_p, signal[perm])
    np.testing.assert_array_equal(noise_p, noise[perm])
    for i in (0, 17, 63):
        assert s.rates(t[i : i + 1])[1][0] == signal[i]
        assert float(s.rates(float(t[i]))[1]) == signal[i]


@pytest.mark.parametrize("name", SCHEDULE_NAMES)
def test_continuous_rates_land_on_the_table(name):
    s = make_schedule(name, T=100)
    noise, signal = s.rates(np.arange(1, 101) / 100)
    np.testing.assert_allclose(signal, s.signal_rates, rtol=1e-12)
    np.testing.assert_allclose(noise, s.noise_rates, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", SCHEDULE_NAMES)
def test_signal_decreases_and_snr_agrees(name):
    s = make_schedule(name)
    assert np.all(np.diff(s.alphas_cumprod) < 0)
    np.testing.assert_allclose(s.snr, s.alphas_cumprod / (1 - s.alphas_cumprod), rtol=1e-12)
    np.testing.assert_allclose(s.log_snr, np.log(s.snr), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", SCHEDULE_NAMES)
def test_zero_terminal_snr_ends_in_pure_noise_and_keeps_the_first_step(name):
    plain = make_schedule(name)
    zero = make_schedule(name, zero_terminal_snr=True)
    assert zero.alphas_cumprod[-1] == 0.0
    assert zero.snr[-1] == 0.0
    assert zero.signal_rates[0] == pytest.approx(plain.signal_rates[0], rel=1e-12)
    assert zero.rates(1.0)[1] == pytest.approx(0.0, abs=1e-12)


def test_book_linear_schedule_is_wrong_off_the_full_grid():
    """The book's code, cumprod over the given times (pitfall P1)."""
    right = make_schedule("linear")
    full = np.arange(1000) / 1000
    np.testing.assert_allclose(book_linear_rates(full)[1] ** 2, right.alphas_cumprod, rtol=0.02)
    grid = np.arange(20) / 20
    book_end = book_linear_rates(grid)[1][-1] ** 2
    assert book_end == pytest.approx(0.825, abs=1e-3)
    assert right.rates(grid[-1])[1] ** 2 < 1e-3
    t = np.random.default_rng(0).uniform(0, 1, 64)
    shuffled = book_linear_rates(t)[1] ** 2
    assert not np.allclose(shuffled, right.rates(t)[1] ** 2, atol=0.05)


def test_key_numbers_of_the_cosine_schedule():
    k = key_numbers(make_schedule("cosine"))
    # cos^2 of ((t + s)/(1 + s))·π/2 equals 1/2 at t = 0.5 - s/2 ≈ 0.496.
    assert k["t_snr_1"] == pytest.approx(0.496, abs=2e-3)
    assert k["share_snr_above_1"] == pytest.approx(k["t_snr_1"], abs=2e-3)
    assert k["alpha_bar_end"] < 1e-8


def test_offset_cosine_helper_matches_schedule():
    s = make_schedule("offset_cosine", min_signal_rate=0.1, max_signal_rate=0.9)
    np.testing.assert_allclose(s.rates(0.3)[1], offset_cosine_signal_rate(0.3, 0.1, 0.9))


@pytest.mark.parametrize("kwargs, words", [
    (dict(name="linear", T=1), "between 2 and"),
    (dict(name="linear", T=2.5), "whole number"),
    (dict(name="linear", beta_start=0.0), "strictly between 0 and 1"),
    (dict(name="linear", beta_end=1.0), "strictly between 0 and 1"),
    (dict(name="linear", beta_start=0.1, beta_end=0.01), "must not exceed"),
    (dict(name="sigmoid", beta_end=float("nan")), "strictly between 0 and 1"),
    (dict(name="cosine", max_beta=1.5), "max_beta"),
    (dict(name="offset_cosine", min_signal_rate=0.9, max_signal_rate=0.5), "min_signal_rate"),
    (dict(name="karras"), "linear, scaled_linear, cosine, offset_cosine, sigmoid"),
    (dict(name="linear", s=0.1), "takes parameters beta_start, beta_end"),
])
def test_bad_parameters_raise_a_value_error_that_says_what_is_allowed(kwargs, words):
    with pytest.raises(ValueError, match=words):
        make_schedule(**kwargs)


def test_rates_reject_times_outside_zero_one():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        make_schedule("cosine").rates([0.5, 1.2])
