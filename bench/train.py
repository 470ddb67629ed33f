"""Benchmark: training throughput of the lab's DiffusionModel against the book's step.

Run `python bench/train.py`; it prints one JSON object. In one process it times:

* our `DiffusionModel.train_step` (EMA copied at start with warm-up, per-noise-level
  metrics) for the book's network at 32 and 64 px and the tiny preset at 32 px;
* a straightforward implementation of the book's training step (EMA network from
  `keras.models.clone_model`, per-weight EMA assignment loop), same network and data;
* the CPU's float32 matmul peak (a 2048² matmul), to report the fraction of peak
  the training step reaches (convolution FLOPs x 3 for forward + backward).

The two training steps are timed in alternating chunks (ROUNDS of them), so load from
other processes hits both alike; each figure is a median over the chunks.

Ratios (ours / book) are the figures to quote; absolute images/s depend on the machine.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from core.data import procedural_flowers  # noqa: E402
from core.diffusion import DiffusionModel  # noqa: E402
from core.unet import build_unet, unet_kwargs  # noqa: E402

BATCH = 64
WARMUP_STEPS = 5
TIMED_STEPS = int(os.environ.get("BENCH_STEPS", 40))
ROUNDS = 5
CASES = (("book", 32), ("book", 64), ("tiny", 32))


class BookDiffusionModel(keras.Model):
    """The book's / keras.io's training step, written the straightforward way."""

    def __init__(self, image_size, unet_args, ema=0.999):
        super().__init__()
        self.normalizer = keras.layers.Normalization()
        self.network = build_unet(image_size, **unet_args)
        self.ema_network = keras.models.clone_model(self.network)
        self.ema = ema
        self.noise_loss_tracker = keras.metrics.Mean(name="n_loss")

    def rates(self, t):
        start, end = tf.acos(0.95), tf.acos(0.02)
        angles = start + t * (end - start)
        return tf.sin(angles), tf.cos(angles)

    def train_step(self, images):
        images = self.normalizer(images, training=True)
        noises = tf.random.normal(tf.shape(images))
        t = tf.random.uniform((tf.shape(images)[0], 1, 1, 1))
        noise_rates, signal_rates = self.rates(t)
        noisy = signal_rates * images + noise_rates * noises
        with tf.GradientTape() as tape:
            pred = self.network([noisy, noise_rates**2], training=True)
            loss = tf.reduce_mean(tf.abs(noises - pred))
        grads = tape.gradient(loss, self.network.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.network.trainable_weights))
        self.noise_loss_tracker.update_state(loss)
        for weight, ema_weight in zip(self.network.weights, self.ema_network.weights):
            ema_weight.assign(self.ema * ema_weight + (1 - self.ema) * weight)
        return {"n_loss": self.noise_loss_tracker.result()}


def interleaved_images_per_second(models, images, rounds=ROUNDS) -> list[float]:
    """Time the models in alternating chunks, so a change in the machine's load
    (other processes) hits all of them alike; median images/s per model.

    Each chunk calls the compiled train function directly (what fit() runs per
    step), so fit()'s own set-up cost does not enter the figures."""
    ds = tf.data.Dataset.from_tensor_slices(images).repeat().batch(BATCH).prefetch(4)
    steps = []
    for model in models:
        model.fit(ds, steps_per_epoch=WARMUP_STEPS, epochs=1, verbose=0, shuffle=False)
        iterator = iter(ds)
        steps.append(lambda m=model, it=iterator: m.train_function(it))
    chunk = max(1, TIMED_STEPS // rounds)
    rates = [[] for _ in models]
    for _ in range(rounds):
        for k, step in enumerate(steps):
            start = time.perf_counter()
            for _ in range(chunk):
                logs = step()
            float(logs["n_loss"])  # wait for the last step to finish
            rates[k].append(chunk * BATCH / (time.perf_counter() - start))
    return [statistics.median(r) for r in rates]


def conv_flops_per_image(network: keras.Model) -> float:
    """Multiply-adds x 2 of every convolution in one forward pass."""
    flops = 0.0
    for layer in network.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            kh, kw = layer.kernel_size
            c_in = layer.input.shape[-1]
            flops += 2.0 * h * w * kh * kw * c_in * c_out
    return flops


def matmul_peak_gflops(n=2048, repeats=20) -> float:
    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    mm = tf.function(lambda x, y: tf.matmul(x, y))
    mm(a, b).numpy()
    start = time.perf_counter()
    for _ in range(repeats):
        c = mm(a, b)
    c.numpy()
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


def main() -> None:
    peak = matmul_peak_gflops()
    result = {"batch_size": BATCH, "timed_steps": TIMED_STEPS,
              "matmul_peak_gflops": round(peak, 1), "cases": {}}
    for preset, size in CASES:
        images = procedural_flowers(BATCH * 4, size=size, seed=0)
        keras.utils.set_random_seed(0)
        ours = DiffusionModel(image_size=size, unet=preset)
        ours.adapt(images)
        ours.compile(optimizer=keras.optimizers.AdamW(learning_rate=1e-3, weight_decay=1e-4))
        book = BookDiffusionModel(size, unet_kwargs(preset))
        book.normalizer.adapt(images)
        book.compile(optimizer=keras.optimizers.AdamW(learning_rate=1e-3, weight_decay=1e-4))
        ours_ips, book_ips = interleaved_images_per_second([ours, book], images)
        flops = 3 * conv_flops_per_image(ours.network)
        result["cases"][f"{preset}_{size}px"] = {
            "ours_images_per_s": round(ours_ips, 1),
            "book_step_images_per_s": round(book_ips, 1),
            "ratio_ours_to_book": round(ours_ips / book_ips, 3),
            "train_gflops_per_image": round(flops / 1e9, 3),
            "fraction_of_matmul_peak": round(ours_ips * flops / 1e9 / peak, 3),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
