"""core.forward: one-shot noising and the Markov chain agree with the formulas and each other."""

import numpy as np
import pytest

from core import forward
from core.schedules import make_schedule


@pytest.fixture(scope="module")
def linear():
    return make_schedule("linear")


def test_add_noise_is_the_reparameterisation_formula(linear):
    rng = np.random.default_rng(0)
    x0 = rng.uniform(-1, 1, (8, 8, 3)).astype(np.float32)
    eps = rng.standard_normal((8, 8, 3)).astype(np.float32)
    a = linear.alphas_cumprod[499]
    np.testing.assert_allclose(forward.add_noise(x0, eps, 500, linear),
                               np.sqrt(a) * x0 + np.sqrt(1 - a) * eps, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(forward.add_noise(x0, eps, 0, linear), x0)


def test_add_noise_takes_one_step_per_image_of_a_batch(linear):
    x0 = np.ones((3, 4, 4, 3), np.float32)
    eps = np.zeros_like(x0)
    out = forward.add_noise(x0, eps, np.array([0, 1, 1000]), linear)
    np.testing.assert_allclose(out[:, 0, 0, 0], np.sqrt([1.0, linear.alphas_cumprod[0],
                                                         linear.alphas_cumprod[-1]]), rtol=1e-6)


def test_one_shot_statistics_over_many_draws(linear):
    """E[x_t] = sqrt(ᾱ)·x0 and Var[x_t] = 1 − ᾱ, pixel by pixel."""
    x0 = np.full((2000, 4, 4, 3), 0.6, np.float32)
    eps = forward.sample_noise(x0.shape, seed=3)
    x_t = forward.add_noise(x0, eps, 300, linear)
    a = linear.alphas_cumprod[299]
    assert x_t.mean() == pytest.approx(np.sqrt(a) * 0.6, abs=0.01)
    assert x_t.var() == pytest.approx(1 - a, rel=0.02)


@pytest.mark.parametrize("name", ["linear", "cosine", "offset_cosine"])
def test_chain_and_one_shot_agree_in_distribution(name):
    sched = make_schedule(name, T=200)
    x0 = forward.to_model_range(np.random.default_rng(0).uniform(0, 1, (64, 64, 3)))
    for t in (1, 50, 200):
        a = forward.alpha_bar(sched, t)
        x_chain = forward.forward_chain(x0, sched, t, seed=5)
        r = forward.standardised_residual(x_chain, x0, a)
        assert abs(r.mean()) < 0.03, (t, r.mean())
        assert r.std() == pytest.approx(1.0, abs=0.03), t


def test_chain_is_seeded_and_resumes_from_checkpoints_exactly(linear):
    x0 = forward.to_model_range(np.random.default_rng(1).uniform(0, 1, (16, 16, 3)))
    direct = forward.forward_chain(x0, linear, 180, seed=7)
    np.testing.assert_array_equal(direct, forward.forward_chain(x0, linear, 180, seed=7))
    assert not np.array_equal(direct, forward.forward_chain(x0, linear, 180, seed=8))
    checkpoints: dict = {}
    forward.forward_chain(x0, linear, 400, seed=7, checkpoints=checkpoints)
    assert min(checkpoints) == forward.CHAIN_CHECKPOINT_EVERY
    assert len(checkpoints) == 400 // forward.CHAIN_CHECKPOINT_EVERY
    np.testing.assert_allclose(forward.forward_chain(x0, linear, 180, seed=7,
                                                     checkpoints=checkpoints), direct, atol=1e-6)


def test_chain_keeps_a_bounded_number_of_checkpoints():
    """Memory per session stays bounded however long the chain is."""
    long = make_schedule("cosine", T=4000)
    checkpoints: dict = {}
    forward.forward_chain(np.zeros((2, 2, 3), np.float32), long, 4000, seed=0,
                          checkpoints=checkpoints)
    assert len(checkpoints) == forward.CHAIN_MAX_CHECKPOINTS


def test_chain_works_on_a_batch(linear):
    x0 = np.zeros((5, 8, 8, 3), np.float32)
    out = forward.forward_chain(x0, linear, 10, seed=0)
    assert out.shape == x0.shape and out.dtype == np.float32
    assert not np.array_equal(out[0], out[1])


@pytest.mark.parametrize("t", [-1, 1001, 2.5])
def test_steps_outside_zero_to_T_are_refused(linear, t):
    x0 = np.zeros((2, 2, 3), np.float32)
    with pytest.raises(ValueError, match="from 0 to T=1000"):
        forward.add_noise(x0, x0, t, linear)


def test_noise_is_reproducible_from_the_seed():
    np.testing.assert_array_equal(forward.sample_noise((4, 4, 3), 9), forward.sample_noise((4, 4, 3), 9))
    assert not np.array_equal(forward.sample_noise((4, 4, 3), 9), forward.sample_noise((4, 4, 3), 10))


def test_model_and_pixel_ranges_round_trip():
    x = np.linspace(0, 1, 11, dtype=np.float32)
    np.testing.assert_allclose(forward.to_pixel_range(forward.to_model_range(x)), x, atol=1e-7)
    assert forward.to_pixel_range(np.array([-3.0, 3.0])).tolist() == [0.0, 1.0]
