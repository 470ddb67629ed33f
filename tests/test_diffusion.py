"""DiffusionModel: rates, parametrisations, EMA, training metrics and configuration."""

import json
import math

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from core.data import procedural_flowers  # noqa: E402
from core.diffusion import (  # noqa: E402
    PREDICT_ZERO_BASELINE,
    BinnedMean,
    DiffusionModel,
    KerasDenoiser,
    ema_decay_at,
    prediction_target,
    split_prediction,
)
from core.schedules import SCHEDULE_NAMES, make_schedule  # noqa: E402

# A 22k-parameter U-Net (two levels, one block each): traces and trains in seconds.
MICRO = {"widths": (8, 16), "block_depth": 1, "bottleneck_width": 16}
TRAIN_STEPS = 200
BATCH = 16


def flowers16(n, seed=0):
    """Procedural flowers painted at 32 px (their minimum) and averaged down to 16 px."""
    return procedural_flowers(n, 32, seed=seed).reshape(n, 16, 2, 16, 2, 3).mean(axis=(2, 4))


def batches(images, repeat=False):
    ds = tf.data.Dataset.from_tensor_slices(images)
    if repeat:
        ds = ds.shuffle(len(images), seed=0).repeat()
    return ds.batch(BATCH, drop_remainder=True)


@pytest.fixture(scope="module")
def trained():
    """One micro model: a first step on 16 flowers, then a short run (one trace only)."""
    keras.utils.set_random_seed(0)
    images = flowers16(640)
    train, val = images[:512], images[512:]
    model = DiffusionModel(16, unet=MICRO)
    model.adapt(train)
    model.compile(optimizer=keras.optimizers.AdamW(2e-3, weight_decay=1e-4))
    before = [w.numpy() for w in model.network.weights]
    first = model.fit(batches(train[:16]), epochs=1, verbose=0, shuffle=False)
    after_one = {"network": [w.numpy() for w in model.network.weights],
                 "ema": [w.numpy() for w in model.ema_network.weights]}
    run = model.fit(batches(train, repeat=True), steps_per_epoch=TRAIN_STEPS, epochs=1,
                    verbose=0, shuffle=False)
    val_logs = model.evaluate(val, batch_size=128, verbose=0, return_dict=True)
    return {"model": model, "before": before, "after_one": after_one, "first": first.history,
            "run": run.history, "val": val_logs}


# --- EMA ------------------------------------------------------------------------------


def test_ema_network_starts_as_an_exact_copy_of_the_network():
    model = DiffusionModel(16, unet=MICRO)
    pairs = list(zip(model.network.weights, model.ema_network.weights))
    assert len(pairs) == len(model.network.weights) > 0
    for w, ema in pairs:
        np.testing.assert_array_equal(ema.numpy(), w.numpy())
    assert any(np.any(w.numpy() != 0) for w, _ in pairs)  # not trivially equal zeros
    # The EMA is averaged, never trained: the optimizer must not see it.
    assert model.ema_network.trainable_weights == []
    assert len(model.trainable_weights) == len(model.network.trainable_weights)


def test_ema_decay_warms_up_from_0_1_to_its_final_value():
    assert ema_decay_at(0) == pytest.approx(0.1)
    assert ema_decay_at(10) == pytest.approx(0.55)
    assert ema_decay_at(1000) == pytest.approx(1001 / 1010)
    assert ema_decay_at(10**6) == 0.999
    assert ema_decay_at(10**6, max_decay=0.99) == 0.99
    tf_values = ema_decay_at(tf.constant([0, 10, 1000, 10**6]))
    np.testing.assert_allclose(tf_values.numpy(), [0.1, 0.55, 1001 / 1010, 0.999], rtol=1e-6)


def test_first_train_step_averages_with_decay_0_1_and_copies_batchnorm_stats(trained):
    model = trained["model"]
    before, after = trained["before"], trained["after_one"]
    for w, old, new, ema in zip(model.network.weights, before, after["network"], after["ema"]):
        if w.trainable:
            np.testing.assert_allclose(ema, 0.1 * old + 0.9 * new, rtol=1e-5, atol=1e-7)
        else:  # BatchNorm moving statistics: copied from the network
            np.testing.assert_array_equal(ema, new)
    changed = [not np.array_equal(o, n) for o, n in zip(before, after["network"])]
    assert any(changed)


# --- noise rates ----------------------------------------------------------------------


@pytest.mark.parametrize("name", SCHEDULE_NAMES)
@pytest.mark.parametrize("zero_terminal_snr", [False, True])
def test_tf_rates_equal_schedule_rates(name, zero_terminal_snr):
    model = DiffusionModel(16, unet=MICRO, schedule=name, T=1000,
                           schedule_params={"zero_terminal_snr": zero_terminal_snr})
    sched = make_schedule(name, 1000, zero_terminal_snr=zero_terminal_snr)
    rng = np.random.default_rng(0)
    t = np.concatenate([np.linspace(0, 1, 1001), rng.uniform(0, 1, 500)]).astype(np.float32)
    noise, signal = model.rates(tf.constant(t))
    expected_noise, expected_signal = sched.rates(t.astype(np.float64))
    np.testing.assert_allclose(noise.numpy(), expected_noise, atol=1e-6, rtol=0)
    np.testing.assert_allclose(signal.numpy(), expected_signal, atol=1e-6, rtol=0)


def test_offset_cosine_rates_are_the_books_closed_form():
    model = DiffusionModel(16, unet=MICRO)
    t = np.linspace(0, 1, 11, dtype=np.float32)
    noise, signal = model.rates(t)
    angle = math.acos(0.95) + t.astype(np.float64) * (math.acos(0.02) - math.acos(0.95))
    np.testing.assert_allclose(signal.numpy(), np.cos(angle), atol=1e-7)
    np.testing.assert_allclose(noise.numpy(), np.sin(angle), atol=1e-7)


def test_schedule_params_reach_the_schedule():
    model = DiffusionModel(16, unet=MICRO, schedule="linear", T=200,
                           schedule_params={"beta_end": 0.03})
    assert model.schedule.T == 200 and model.schedule.params["beta_end"] == 0.03


# --- parametrisations -----------------------------------------------------------------


@pytest.mark.parametrize("prediction", ["eps", "v"])
def test_true_target_gives_back_x0_and_eps(prediction):
    rng = np.random.default_rng(1)
    x0 = rng.standard_normal((6, 4, 4, 3))
    eps = rng.standard_normal((6, 4, 4, 3))
    noise, signal = make_schedule("cosine").rates(np.linspace(0.05, 0.95, 6))
    noise, signal = noise.reshape(-1, 1, 1, 1), signal.reshape(-1, 1, 1, 1)
    x_t = signal * x0 + noise * eps
    target = prediction_target(prediction, x0, eps, noise, signal)
    if prediction == "v":
        np.testing.assert_allclose(target, signal * eps - noise * x0)
    eps_pred, x0_pred = split_prediction(prediction, target, x_t, noise, signal)
    np.testing.assert_allclose(eps_pred, eps, atol=1e-12)
    np.testing.assert_allclose(x0_pred, x0, atol=1e-9)


@pytest.mark.parametrize("prediction", ["eps", "v"])
def test_denoise_applies_the_parametrisation_to_the_network_output(prediction):
    model = DiffusionModel(16, unet=MICRO, prediction=prediction)
    # Make the EMA network output a known constant per channel.
    bias = np.array([0.3, -0.2, 0.1], np.float32)
    model.ema_network.get_layer("output_conv").bias.assign(bias)
    x_t = np.random.default_rng(2).standard_normal((3, 16, 16, 3)).astype(np.float32)
    n = np.array([0.2, 0.6, 0.9], np.float32)
    s = np.sqrt(1 - n**2).astype(np.float32)
    eps_pred, x0_pred = (np.asarray(a) for a in model.denoise(x_t, n, s))
    n4, s4 = n.reshape(-1, 1, 1, 1), s.reshape(-1, 1, 1, 1)
    if prediction == "eps":
        expected = (np.broadcast_to(bias, x_t.shape), (x_t - n4 * bias) / s4)
    else:
        expected = (s4 * bias + n4 * x_t, s4 * x_t - n4 * bias)
    np.testing.assert_allclose(eps_pred, expected[0], atol=1e-5)
    np.testing.assert_allclose(x0_pred, expected[1], atol=1e-5)
    # Rates as (N, 1, 1, 1) give the same; the raw network (use_ema=False) outputs zeros.
    again = model.denoise(x_t, n4, s4)[1]
    np.testing.assert_allclose(np.asarray(again), x0_pred, atol=1e-6)
    raw_eps = np.asarray(model.denoise(x_t, n, s, use_ema=False)[0])
    assert np.all(raw_eps == 0.0) if prediction == "eps" else np.allclose(raw_eps, n4 * x_t)


def test_denoiser_protocol_wraps_denoise_in_numpy(trained):
    model = trained["model"]
    denoiser = model.as_denoiser()
    assert isinstance(denoiser, KerasDenoiser) and denoiser is model.as_denoiser()
    assert denoiser.image_shape == (16, 16, 3)
    pixels = flowers16(4, seed=5)
    x = denoiser.from_pixels(pixels)
    np.testing.assert_allclose(denoiser.to_pixels(x), pixels, atol=1e-5)
    n = np.array([0.1, 0.4, 0.7, 0.99], np.float32)
    s = np.sqrt(1 - n**2)
    eps_pred, x0_pred = denoiser.predict(x, n, s)
    assert eps_pred.dtype == np.float32 and x0_pred.shape == x.shape
    ref_eps, ref_x0 = model.denoise(x, n, s)
    np.testing.assert_allclose(eps_pred, ref_eps, atol=1e-5)
    np.testing.assert_allclose(x0_pred, ref_x0, atol=1e-4)
    assert denoiser.predict(x[:1], n[:1], s[:1])[0].shape == (1, 16, 16, 3)  # any batch
    with pytest.raises(ValueError, match="one rate per image"):
        denoiser.predict(x, n[:2], s[:2])
    with pytest.raises(ValueError, match="shape"):
        denoiser.predict(x[..., :1], n, s)


# --- training -------------------------------------------------------------------------


def test_binned_mean_averages_within_bins_and_reports_empty_bins_as_nan():
    metric = BinnedMean(bins=3)
    metric.update_state([1.0, 3.0, 10.0], [0, 0, 2])
    metric.update_state([5.0], [0])
    result = {k: float(v) for k, v in metric.result().items()}
    assert result["n_loss_bin_0"] == 3.0 and result["n_loss_bin_2"] == 10.0
    assert math.isnan(result["n_loss_bin_1"])
    metric.reset_state()
    assert all(math.isnan(float(v)) for v in metric.result().values())


def test_a_training_step_on_16_flowers_reports_finite_metrics(trained):
    logs = trained["first"]
    assert math.isfinite(logs["n_loss"][0]) and math.isfinite(logs["i_loss"][0])
    # eps-prediction: the training loss is the noise loss.
    assert logs["loss"][0] == pytest.approx(logs["n_loss"][0])
    bins = [logs[f"n_loss_bin_{k}"][0] for k in range(10)]
    filled = [b for b in bins if math.isfinite(b)]
    assert len(filled) >= 5 and all(b > 0 for b in filled)  # 16 images in 10 bins


def test_short_run_beats_the_predict_zero_baseline(trained):
    baseline = PREDICT_ZERO_BASELINE["mae"]
    assert baseline == pytest.approx(math.sqrt(2 / math.pi))
    val = trained["val"]
    assert val["n_loss"] < 0.75 * baseline, val
    assert math.isfinite(val["i_loss"])
    assert all(math.isfinite(val[f"n_loss_bin_{k}"]) for k in range(10))  # 128 images
    assert trained["model"].optimizer.iterations.numpy() == TRAIN_STEPS + 1


def test_v_prediction_with_mse_trains_and_reports_the_noise_loss():
    keras.utils.set_random_seed(1)
    images = flowers16(32, seed=1)
    model = DiffusionModel(16, unet=MICRO, prediction="v", loss="mse")
    model.adapt(images)
    model.compile()
    logs = model.fit(batches(images), epochs=1, verbose=0, shuffle=False).history
    assert math.isfinite(logs["n_loss"][0]) and math.isfinite(logs["loss"][0])
    assert logs["loss"][0] != pytest.approx(logs["n_loss"][0])  # v loss vs noise loss


def test_generate_returns_seeded_images_in_0_1(trained):
    model = trained["model"]
    a = model.generate(3, steps=4, seed=7)
    b = model.generate(3, steps=4, seed=7)
    c = model.generate(3, steps=4, seed=8)
    assert a.shape == (3, 16, 16, 3) and a.dtype == np.float32
    assert a.min() >= 0.0 and a.max() <= 1.0
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_features_returns_the_blocks_feature_maps(trained):
    model = trained["model"]
    x = np.zeros((2, 16, 16, 3), np.float32)
    maps = model.features(x, 0.5)
    assert maps["noise_embedding"].shape == (2, 1, 1, 32)
    assert maps["mid_res0_add"].shape == (2, 4, 4, 16)
    assert maps["output_conv"].shape == (2, 16, 16, 3)


# --- configuration --------------------------------------------------------------------


def test_config_round_trips_through_json():
    model = DiffusionModel(16, channels=3, unet=MICRO, schedule="linear",
                           schedule_params={"beta_end": 0.03}, T=500, loss="mse",
                           prediction="v", ema_decay=0.99, noise_bins=5)
    config = model.get_config()
    again = DiffusionModel.from_config(json.loads(json.dumps(config)))
    assert again.get_config() == json.loads(json.dumps(config))
    assert again.schedule.T == 500 and again.prediction == "v" and again.noise_bins == 5
    assert again.network.count_params() == model.network.count_params()
    preset = DiffusionModel(32, unet="tiny").get_config()
    assert preset["unet"] == "tiny" and preset["image_size"] == 32


def test_compile_defaults_to_the_books_adamw_without_xla():
    model = DiffusionModel(16, unet=MICRO)
    model.compile()
    opt = model.optimizer
    assert isinstance(opt, keras.optimizers.AdamW)
    assert float(opt.learning_rate) == pytest.approx(1e-3)
    assert opt.weight_decay == pytest.approx(1e-4)
    assert model.jit_compile is False and model.run_eagerly is False


@pytest.mark.parametrize("kwargs, match", [
    ({"loss": "l1"}, "loss must be one of mae, mse"),
    ({"prediction": "x0"}, "prediction must be"),
    ({"image_size": 18}, "divisible by 4"),
    ({"schedule": "quadratic"}, "unknown schedule"),
])
def test_bad_arguments_say_what_to_do(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DiffusionModel(**{"image_size": 16, "unet": MICRO, **kwargs})


def test_generate_refuses_eps_prediction_at_zero_terminal_snr():
    model = DiffusionModel(16, unet=MICRO, schedule="cosine",
                           schedule_params={"zero_terminal_snr": True})
    with pytest.raises(ValueError, match="prediction='v'"):
        model.generate(1, steps=2)
