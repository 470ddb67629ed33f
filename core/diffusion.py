"""The book's diffusion model as a Keras model: training step, EMA and denoising.

`DiffusionModel` follows chapter 8 of Generative Deep Learning (2nd ed.) and the
keras.io DDIM example, with the lab's fixes:

* noise rates come from `core.schedules` (any schedule, continuous time t in [0, 1]),
  computed element by element in TensorFlow (pitfall P1);
* the EMA network starts as an exact copy of the network and its decay warms up
  (pitfall P5), so a short live run already samples well;
* the network predicts ε (the book, Ho et al. 2020 eq. 14) or v = √ᾱ·ε − √(1−ᾱ)·x0
  (Salimans & Ho 2022, §4), with MAE (the book) or MSE;
* training reports the noise loss per noise level (`n_loss_bin_k`), so the lab can
  show which noise levels are hard.

The network is conditioned on the noise variance only, never on t or a schedule, so
`denoise` is schedule-free and a trained model can be sampled with another schedule.
`as_denoiser()` wraps it for core.samplers (numpy in, numpy out).
"""

from __future__ import annotations

import math
import types

import keras
import numpy as np
import tensorflow as tf

from core.samplers import sample
from core.schedules import make_schedule, offset_cosine_signal_rate
from core.unet import build_unet, check_image_size, feature_layer_names, unet_kwargs

# The book: AdamW with a small weight decay, and an EMA of the weights for sampling.
LEARNING_RATE = 1e-3
WEIGHT_DECAY = 1e-4
EMA_DECAY = 0.999
# Noise losses are also reported for this many equal bins of t in [0, 1].
NOISE_BINS = 10
LOSSES = ("mae", "mse")
PREDICTIONS = ("eps", "v")
# The book's deterministic DDIM sampler takes 20 steps by default.
GENERATE_STEPS = 20
# What an untrained (all-zero) network scores on unit Gaussian noise (pitfall P7):
# E|ε| = √(2/π) for MAE, E[ε²] = 1 for MSE.
PREDICT_ZERO_BASELINE = {"mae": math.sqrt(2.0 / math.pi), "mse": 1.0}


def ema_decay_at(step, max_decay: float = EMA_DECAY):
    """EMA decay after `step` optimizer updates: min(max_decay, (1 + n) / (10 + n)).

    The warm-up (as in diffusers' EMAModel) lets the average follow the fast early
    changes instead of clinging to the initial weights (pitfall P5): 0.1 at n = 0,
    0.55 at n = 10, 0.991 at n = 1000. Works on Python numbers and tensors alike.
    """
    if isinstance(step, (int, float, np.number)):
        return min(max_decay, (1.0 + step) / (10.0 + step))
    step = tf.cast(step, tf.float32)
    return tf.minimum(tf.cast(max_decay, tf.float32), (1.0 + step) / (10.0 + step))


def prediction_target(prediction: str, x0, noises, noise_rates, signal_rates):
    """What the network learns to output: ε, or v = s·ε − n·x0 (Salimans & Ho 2022, eq. 9
    in their notation v = α·ε − σ·x)."""
    if prediction == "eps":
        return noises
    return signal_rates * noises - noise_rates * x0


def split_prediction(prediction: str, pred, x_t, noise_rates, signal_rates):
    """Turn the network's output into (eps_pred, x0_pred), given x_t = s·x0 + n·ε.

    ε-prediction: x̂0 = (x_t − n·ε̂) / s (the book; divides by s, pitfall P6).
    v-prediction: ε̂ = s·v̂ + n·x_t and x̂0 = s·x_t − n·v̂ (uses s² + n² = 1, no
    division, so it stays finite at zero terminal SNR).
    Works on tensors and numpy arrays alike.
    """
    if prediction == "eps":
        return pred, (x_t - noise_rates * pred) / signal_rates
    return signal_rates * pred + noise_rates * x_t, signal_rates * x_t - noise_rates * pred


def _per_image(loss: str, a, b):
    """Per-image mean absolute (or squared) error, shape (N,)."""
    diff = a - b
    err = tf.abs(diff) if loss == "mae" else tf.square(diff)
    return tf.reduce_mean(err, axis=[1, 2, 3])


def _as_rate_column(rates, batch):
    """Rates given as a scalar, (N,) or (N, 1, 1, 1) -> float32 (N, 1, 1, 1)."""
    rates = tf.reshape(tf.cast(rates, tf.float32), (-1, 1, 1, 1))
    return tf.broadcast_to(rates, tf.stack([batch, 1, 1, 1]))


@keras.saving.register_keras_serializable(package="diffusion_lab")
class BinnedMean(keras.metrics.Metric):
    """Mean of a per-sample value within each of `bins` groups, e.g. the noise loss
    for t in [0, 0.1), [0.1, 0.2), ... Keeps a sum and a count per bin across batches,
    so a bin that a batch missed does not drag its average down; a bin that no batch
    reached reports NaN ("no data"), not 0.
    """

    def __init__(self, bins=NOISE_BINS, prefix="n_loss_bin_", name="n_loss_bins", **kwargs):
        super().__init__(name=name, **kwargs)
        self.bins = int(bins)
        self.prefix = prefix
        self.totals = self.add_variable(shape=(self.bins,), initializer="zeros", name="totals")
        self.counts = self.add_variable(shape=(self.bins,), initializer="zeros", name="counts")

    def update_state(self, values, bin_ids, sample_weight=None):
        values = tf.reshape(tf.cast(values, tf.float32), (-1,))
        bin_ids = tf.reshape(tf.cast(bin_ids, tf.int32), (-1,))
        self.totals.assign_add(tf.math.unsorted_segment_sum(values, bin_ids, self.bins))
        self.counts.assign_add(
            tf.math.unsorted_segment_sum(tf.ones_like(values), bin_ids, self.bins))

    def result(self):
        means = tf.where(self.counts > 0, self.totals / tf.maximum(self.counts, 1.0),
                         tf.constant(float("nan")))
        return {f"{self.prefix}{k}": means[k] for k in range(self.bins)}

    def get_config(self):
        return {**super().get_config(), "bins": self.bins, "prefix": self.prefix}


@keras.saving.register_keras_serializable(package="diffusion_lab")
class DiffusionModel(keras.Model):
    """A denoising diffusion model (Ho et al. 2020) trained in continuous time like the
    book, sampled with DDIM (Song et al. 2021).

    image_size, channels: the images it learns (square, divisible by 2**levels).
    unet: a preset name of core.unet.PRESETS ("tiny", "small", "book") or a dict of
        build_unet arguments.
    schedule, schedule_params, T: passed to core.schedules.make_schedule; the noise
        rates for t ~ U(0, 1) come from it (schedule_params may hold zero_terminal_snr).
    loss: "mae" (the book) or "mse". prediction: "eps" (the book) or "v".
    ema_decay: the EMA's final decay; noise_bins: bins of t for `n_loss_bin_k`.

    Images go in as [0, 1] pixels; `adapt()` fits the per-channel normaliser first.
    """

    def __init__(self, image_size, channels=3, unet="book", schedule="offset_cosine",
                 schedule_params=None, T=1000, loss="mae", prediction="eps",
                 ema_decay=EMA_DECAY, noise_bins=NOISE_BINS, **kwargs):
        super().__init__(**kwargs)
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
        if prediction not in PREDICTIONS:
            raise ValueError(
                f"prediction must be 'eps' (predict the noise, the book) or 'v', got {prediction!r}"
            )
        if not 0.0 <= float(ema_decay) < 1.0:
            raise ValueError(f"ema_decay must lie in [0, 1), e.g. 0.999; got {ema_decay}")
        if isinstance(noise_bins, bool) or int(noise_bins) != noise_bins or noise_bins < 1:
            raise ValueError(f"noise_bins must be a whole number >= 1, got {noise_bins!r}")
        net_kwargs = unet_kwargs(unet)
        image_size = check_image_size(image_size, len(net_kwargs["widths"]))
        schedule_params = dict(schedule_params or {})
        # Everything get_config returns, in JSON types (a preset stays a name).
        self._init_config = types.MappingProxyType({
            "image_size": image_size, "channels": int(channels),
            "unet": unet if isinstance(unet, str) else {**net_kwargs,
                                                        "widths": list(net_kwargs["widths"])},
            "schedule": schedule, "schedule_params": schedule_params, "T": int(T),
            "loss": loss, "prediction": prediction, "ema_decay": float(ema_decay),
            "noise_bins": int(noise_bins),
        })
        self.image_size = image_size
        self.channels = int(channels)
        self.loss_name = loss
        self.prediction = prediction
        self.ema_decay = float(ema_decay)
        self.noise_bins = int(noise_bins)
        self.unet_config = types.MappingProxyType(net_kwargs)
        self.schedule = make_schedule(schedule, T, **schedule_params)
        self._set_up_rates()

        shape = (None, image_size, image_size, self.channels)
        self.normalizer = keras.layers.Normalization(axis=-1, name="normalizer")
        self.normalizer.build(shape)
        self.network = build_unet(image_size, self.channels, **net_kwargs, name="network")
        self.ema_network = build_unet(image_size, self.channels, **net_kwargs, name="ema_network")
        # A fresh build has new random weights (pitfall P5): start the EMA as an exact
        # copy. It is never trained by the optimizer, only averaged.
        self.ema_network.set_weights(self.network.get_weights())
        self.ema_network.trainable = False
        # The EMA update pairs the two weight lists by position: make sure they match.
        for weight, ema_weight in zip(self.network.weights, self.ema_network.weights):
            if weight.path != ema_weight.path or weight.shape != ema_weight.shape:
                raise RuntimeError(f"EMA network weight {ema_weight.path} does not match "
                                   f"{weight.path}; please report this Keras incompatibility")

        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.noise_loss_tracker = keras.metrics.Mean(name="n_loss")
        self.image_loss_tracker = keras.metrics.Mean(name="i_loss")
        self.noise_loss_bins = BinnedMean(self.noise_bins, name="n_loss_bins")
        # Caches that must stay invisible to Keras saving (a namespace is not walked).
        self._caches = types.SimpleNamespace(denoisers={}, features={})
        self.built = True

    # ----------------------------------------------------------------------------
    # Configuration
    # ----------------------------------------------------------------------------

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable,
                **{k: (dict(v) if isinstance(v, dict) else v)
                   for k, v in self._init_config.items()}}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def compile(self, optimizer=None, jit_compile=False, **kwargs):
        """Like keras.Model.compile, with the book's optimiser as default:
        AdamW(learning_rate=1e-3, weight_decay=1e-4). XLA is off by default (slower
        on CPUs, REFERENCE.md); the train step runs as a TF graph."""
        if optimizer is None:
            optimizer = keras.optimizers.AdamW(learning_rate=LEARNING_RATE,
                                               weight_decay=WEIGHT_DECAY)
        kwargs.pop("loss", None)  # the loss is fixed by the model's `loss` argument
        super().compile(optimizer=optimizer, jit_compile=jit_compile, **kwargs)
        # Build the optimizer's slots now, so a saved model always holds the full
        # optimizer state and loads without "skipping optimizer variables" warnings.
        if not self.optimizer.built:
            self.optimizer.build(self.trainable_variables)

    def compile_from_config(self, config):
        """Recompile a loaded model, so its saved optimizer state (step count included,
        which drives the EMA warm-up) is restored and training can resume."""
        self.compile(**keras.saving.deserialize_keras_object(config))

    @property
    def metrics(self):
        # Listed here so Keras resets them at each epoch and reports them.
        return [self.loss_tracker, self.noise_loss_tracker, self.image_loss_tracker,
                self.noise_loss_bins]

    # ----------------------------------------------------------------------------
    # Data scale
    # ----------------------------------------------------------------------------

    def adapt(self, images01, batch_size=256):
        """Fit the per-channel normaliser (mean, variance) on images in [0, 1]:
        a numpy array (N, H, W, C) or a tf.data.Dataset of such batches."""
        if isinstance(images01, np.ndarray):
            if images01.ndim != 4 or images01.shape[1:] != (self.image_size, self.image_size,
                                                             self.channels):
                raise ValueError(
                    f"adapt expects images of shape (N, {self.image_size}, {self.image_size}, "
                    f"{self.channels}), got {images01.shape}")
            if images01.size and (images01.min() < 0.0 or images01.max() > 1.0):
                raise ValueError("adapt expects pixels scaled to [0, 1]; divide 8-bit images "
                                 "by 255 first")
            images01 = tf.data.Dataset.from_tensor_slices(
                images01.astype(np.float32)).batch(batch_size)
        self.normalizer.adapt(images01)

    @property
    def normalizer_mean(self):
        return self.normalizer.adapt_mean

    @property
    def normalizer_variance(self):
        return self.normalizer.adapt_variance

    def _std(self):
        # The same floor as keras' Normalization, so normalize/denormalize invert.
        return tf.maximum(tf.sqrt(tf.convert_to_tensor(self.normalizer.adapt_variance)),
                          keras.backend.epsilon())

    def normalize(self, images01):
        """[0, 1] pixels -> model space (zero mean, unit variance per channel).

        Reads the normaliser's variables (not keras' cached constants), so a traced
        train step always uses the current statistics, even after a later adapt()."""
        mean = tf.convert_to_tensor(self.normalizer.adapt_mean)
        return (tf.cast(images01, tf.float32) - mean) / self._std()

    def denormalize(self, x):
        """Model space -> [0, 1] pixels, clipped."""
        mean = tf.convert_to_tensor(self.normalizer.adapt_mean)
        return tf.clip_by_value(mean + tf.cast(x, tf.float32) * self._std(), 0.0, 1.0)

    # ----------------------------------------------------------------------------
    # Noise rates
    # ----------------------------------------------------------------------------

    def _set_up_rates(self):
        """Precompute what `rates` needs so it equals `self.schedule.rates` (numpy)."""
        sched = self.schedule
        self._closed_form = sched.name == "offset_cosine"
        if self._closed_form:
            lo = sched.params["min_signal_rate"]
            hi = sched.params["max_signal_rate"]
            self._start_angle = math.acos(hi)
            self._end_angle = math.acos(lo)
            self._zt_rescale = None
            if sched.zero_terminal_snr:
                # The affine map core.schedules applied to its table (Lin et al. 2023).
                table = np.sqrt(offset_cosine_signal_rate(np.arange(1, sched.T + 1) / sched.T,
                                                          lo, hi) ** 2)
                first, last = float(table[0]), float(table[-1])
                self._zt_rescale = (last, first / (first - last))
        else:
            # alpha_bar on the grid t = j / T, j = 0..T (j = 0: the clean image).
            self._alpha_bar_table = np.concatenate([[1.0], sched.alphas_cumprod])

    def rates(self, diffusion_times):
        """(noise_rates, signal_rates), float32, for a tensor of times t in [0, 1].

        Element-wise and equal to `self.schedule.rates(t)` (to float32 precision):
        the book's closed form cos/sin of a linearly moving angle for offset_cosine,
        otherwise ᾱ linearly interpolated on the table [1] + alphas_cumprod at t·T.
        """
        t = tf.cast(diffusion_times, tf.float64)
        if self._closed_form:
            signal = tf.cos(self._start_angle + t * (self._end_angle - self._start_angle))
            if self._zt_rescale is not None:
                last, scale = self._zt_rescale
                signal = tf.clip_by_value((signal - last) * scale, 0.0, 1.0)
            noise = tf.sqrt(tf.clip_by_value(1.0 - signal**2, 0.0, 1.0))
        else:
            T = self.schedule.T
            table = tf.constant(self._alpha_bar_table, tf.float64)
            position = t * T
            i0 = tf.clip_by_value(tf.floor(position), 0.0, T - 1.0)
            frac = position - i0
            i0 = tf.cast(i0, tf.int32)
            a0, a1 = tf.gather(table, i0), tf.gather(table, i0 + 1)
            alpha_bar = a0 + frac * (a1 - a0)
            noise, signal = tf.sqrt(1.0 - alpha_bar), tf.sqrt(alpha_bar)
        return tf.cast(noise, tf.float32), tf.cast(signal, tf.float32)

    # ----------------------------------------------------------------------------
    # Denoising
    # ----------------------------------------------------------------------------

    def call(self, inputs, training=False):
        """The raw network output for [noisy_images, noise_variances] (ε̂ or v̂)."""
        return self.network(inputs, training=training)

    def denoise(self, noisy_images, noise_rates, signal_rates, training=False, use_ema=True):
        """Split x_t (model space) into (eps_pred, x0_pred) at the given noise levels.

        Rates: one per image, shaped (N,), (N, 1, 1, 1), or a scalar for all. Only
        noise_rate² reaches the network, so this works with any schedule.
        """
        x_t = tf.cast(noisy_images, tf.float32)
        batch = tf.shape(x_t)[0]
        noise_rates = _as_rate_column(noise_rates, batch)
        signal_rates = _as_rate_column(signal_rates, batch)
        network = self.ema_network if use_ema else self.network
        pred = network([x_t, noise_rates**2], training=training)
        return split_prediction(self.prediction, pred, x_t, noise_rates, signal_rates)

    def features(self, x_t, noise_variances, layer_names=None, use_ema=True) -> dict:
        """Intermediate feature maps {layer name: numpy array} for a "model anatomy" view.

        x_t: (N, H, W, C) in model space; noise_variances: (N,) or a scalar.
        layer_names: default `feature_layer_names(network)` (embedding, every residual
        block, output)."""
        network = self.ema_network if use_ema else self.network
        names = tuple(layer_names or feature_layer_names(network))
        key = (use_ema, names)
        if key not in self._caches.features:
            outputs = [network.get_layer(n).output for n in names]
            self._caches.features[key] = keras.Model(network.inputs, outputs)
        x_t = np.asarray(x_t, np.float32)
        variances = np.broadcast_to(np.asarray(noise_variances, np.float32).reshape(-1, 1, 1, 1),
                                    (len(x_t), 1, 1, 1))
        maps = self._caches.features[key]([x_t, variances], training=False)
        maps = maps if isinstance(maps, (list, tuple)) else [maps]
        return {n: np.asarray(m) for n, m in zip(names, maps)}

    def as_denoiser(self, use_ema=True) -> "KerasDenoiser":
        """The model behind core.samplers' `Denoiser` protocol (numpy in, numpy out).
        Cached, so its compiled graph is reused."""
        if use_ema not in self._caches.denoisers:
            self._caches.denoisers[use_ema] = KerasDenoiser(self, use_ema=use_ema)
        return self._caches.denoisers[use_ema]

    def generate(self, num_images, steps=GENERATE_STEPS, seed=0, use_ema=True) -> np.ndarray:
        """Sample images in [0, 1] with the book's deterministic DDIM (η = 0).

        Time runs from t = 1 to 0 in `steps` equal steps; at each step x_t is split
        into (ε̂, x̂0) and remixed with the next step's rates (Song et al. 2021, eq. 12
        with σ = 0). For other samplers and schedules see core.samplers.
        """
        if self.prediction == "eps" and self.schedule.rates(1.0)[1] == 0.0:
            raise ValueError(
                "this schedule has zero signal at t = 1 (zero terminal SNR), where an "
                "eps-predicting model cannot recover x0; train with prediction='v', or use "
                "core.samplers and start one step in")
        denoiser = self.as_denoiser(use_ema)
        noise = np.random.default_rng(seed).standard_normal(
            (int(num_images), *denoiser.image_shape), dtype=np.float32)
        return sample(denoiser, self.schedule, noise, steps=steps, spacing="continuous")

    # ----------------------------------------------------------------------------
    # Training
    # ----------------------------------------------------------------------------

    def _noisy_batch(self, data):
        """Normalise a batch of [0, 1] images and noise it at random times t ~ U(0, 1)."""
        images = data[0] if isinstance(data, (tuple, list)) else data
        x0 = self.normalize(images)
        batch = tf.shape(x0)[0]
        times = tf.random.uniform((batch, 1, 1, 1), 0.0, 1.0)
        noises = tf.random.normal(tf.shape(x0))
        noise_rates, signal_rates = self.rates(times)
        x_t = signal_rates * x0 + noise_rates * noises
        return x0, noises, times, x_t, noise_rates, signal_rates

    def _report(self, loss, x0, noises, times, x_t, noise_rates, signal_rates, pred):
        eps_pred, x0_pred = split_prediction(self.prediction, pred, x_t, noise_rates,
                                             signal_rates)
        noise_losses = _per_image(self.loss_name, noises, eps_pred)
        bins = tf.minimum(tf.cast(tf.floor(tf.reshape(times, (-1,)) * self.noise_bins), tf.int32),
                          self.noise_bins - 1)
        self.loss_tracker.update_state(loss)
        self.noise_loss_tracker.update_state(noise_losses)
        self.image_loss_tracker.update_state(_per_image("mae", x0, x0_pred))
        self.noise_loss_bins.update_state(noise_losses, bins)
        logs = {}
        for metric in self.metrics:
            result = metric.result()
            logs.update(result if isinstance(result, dict) else {metric.name: result})
        return logs

    def _update_ema(self):
        """One EMA step for all weights, inside the compiled train step. BatchNorm's
        moving statistics are not trained, so they are copied, not averaged."""
        decay = ema_decay_at(self.optimizer.iterations - 1, self.ema_decay)
        for weight, ema_weight in zip(self.network.weights, self.ema_network.weights):
            if weight.trainable:
                ema_weight.assign(decay * ema_weight + (1.0 - decay) * weight)
            else:
                ema_weight.assign(weight)

    def train_step(self, data):
        """One AdamW step on the noise (or v) loss, then the EMA update.

        No data augmentation here (flips belong to the data pipeline)."""
        x0, noises, times, x_t, noise_rates, signal_rates = self._noisy_batch(data)
        target = prediction_target(self.prediction, x0, noises, noise_rates, signal_rates)
        with tf.GradientTape() as tape:
            pred = self.network([x_t, noise_rates**2], training=True)
            loss = tf.reduce_mean(_per_image(self.loss_name, target, pred))
        weights = self.network.trainable_weights
        grads = tape.gradient(loss, weights)
        self.optimizer.apply_gradients(zip(grads, weights))
        self._update_ema()
        return self._report(loss, x0, noises, times, x_t, noise_rates, signal_rates, pred)

    def test_step(self, data):
        """The same losses for the EMA network (the one that samples), no updates."""
        x0, noises, times, x_t, noise_rates, signal_rates = self._noisy_batch(data)
        target = prediction_target(self.prediction, x0, noises, noise_rates, signal_rates)
        pred = self.ema_network([x_t, noise_rates**2], training=False)
        loss = tf.reduce_mean(_per_image(self.loss_name, target, pred))
        return self._report(loss, x0, noises, times, x_t, noise_rates, signal_rates, pred)


class KerasDenoiser:
    """A `DiffusionModel` seen through core.samplers' `Denoiser` protocol.

    `predict` runs one traced TF graph (network + x0 computation, no XLA) per call,
    for any batch size; the numbers in and out are numpy float32 in model space.
    """

    def __init__(self, model: DiffusionModel, use_ema: bool = True):
        self.model = model
        self.use_ema = bool(use_ema)
        self.image_shape = (model.image_size, model.image_size, model.channels)
        self._predict = tf.function(
            self._predict_graph, reduce_retracing=True, jit_compile=False,
            input_signature=[tf.TensorSpec((None, *self.image_shape), tf.float32),
                             tf.TensorSpec((None,), tf.float32),
                             tf.TensorSpec((None,), tf.float32)])

    def _predict_graph(self, x_t, noise_rates, signal_rates):
        return self.model.denoise(x_t, noise_rates, signal_rates, training=False,
                                  use_ema=self.use_ema)

    def predict(self, x_t, noise_rates, signal_rates):
        """(eps_pred, x0_pred) for x_t (N, H, W, C) at rates of shape (N,) (or one for all)."""
        x_t = np.asarray(x_t, dtype=np.float32)
        if x_t.ndim != 4 or x_t.shape[1:] != self.image_shape:
            raise ValueError(f"x_t must have shape (N, {', '.join(map(str, self.image_shape))}), "
                             f"got {x_t.shape}")
        n = len(x_t)
        rates = []
        for label, r in (("noise_rates", noise_rates), ("signal_rates", signal_rates)):
            r = np.asarray(r, dtype=np.float32).reshape(-1)
            if r.size == 1:
                r = np.repeat(r, n)
            if r.size != n:
                raise ValueError(f"{label} needs one rate per image ({n}), got {r.size}")
            rates.append(r)
        eps_pred, x0_pred = self._predict(x_t, *rates)
        return eps_pred.numpy(), x0_pred.numpy()

    def to_pixels(self, x) -> np.ndarray:
        """Model space -> [0, 1] pixels, clipped."""
        return self.model.denormalize(np.asarray(x, np.float32)).numpy()

    def from_pixels(self, images01) -> np.ndarray:
        """[0, 1] pixels -> model space."""
        return self.model.normalize(np.asarray(images01, np.float32)).numpy()
