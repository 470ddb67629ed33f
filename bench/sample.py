"""Benchmark: seconds per DDIM step for 16 images, the book's network at 32 and 64 px.

Run `python bench/sample.py`; it prints one JSON object. One step = one network call
through `KerasDenoiser.predict` (a `tf.function`, no XLA) plus `ddim_step` in numpy,
as `core.samplers.trajectory` runs it. In the same run, the same step with the network
called eagerly (`network(..., training=False)` outside any tf.function), as a ratio.
Speed does not depend on the weights, so an untrained network is timed.
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

import numpy as np  # noqa: E402

from core.data import procedural_flowers  # noqa: E402
from core.diffusion import DiffusionModel  # noqa: E402
from core.samplers import ddim_step  # noqa: E402

IMAGES = 16
STEPS = 20
TARGET_S_AT_64 = 0.12


def step_seconds(predict, x, a_t=0.5, a_prev=0.6) -> float:
    rates = (np.full(IMAGES, np.sqrt(1 - a_t), np.float32), np.full(IMAGES, np.sqrt(a_t), np.float32))
    predict(x, *rates)  # trace / warm up
    times = []
    for _ in range(STEPS):
        start = time.perf_counter()
        eps, x0 = predict(x, *rates)
        ddim_step(x, np.asarray(eps), a_t, a_prev, x0_pred=np.asarray(x0))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    result = {"images": IMAGES, "network": "book (1,953,507 parameters)", "sizes": {}}
    for size in (32, 64):
        model = DiffusionModel(image_size=size, unet="book")
        model.adapt(procedural_flowers(64, size=size))
        denoiser = model.as_denoiser()
        x = np.random.default_rng(0).standard_normal((IMAGES, size, size, 3)).astype(np.float32)

        def eager(x_t, noise_rates, signal_rates):
            n = noise_rates.reshape(-1, 1, 1, 1)
            s = signal_rates.reshape(-1, 1, 1, 1)
            eps = model.ema_network([x_t, n**2], training=False)
            return eps, (x_t - n * np.asarray(eps)) / s

        graph_s = step_seconds(denoiser.predict, x)
        eager_s = step_seconds(eager, x)
        result["sizes"][f"{size}px"] = {"seconds_per_step": round(graph_s, 4),
                                       "eager_seconds_per_step": round(eager_s, 4),
                                       "speedup_over_eager": round(eager_s / graph_s, 2)}
    result["target_64px_s"] = TARGET_S_AT_64
    result["meets_target_at_64px"] = result["sizes"]["64px"]["seconds_per_step"] <= TARGET_S_AT_64
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
