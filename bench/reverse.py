"""Benchmark: the Reverse denoising page's two costs, as JSON.

* computing a whole 20-step trajectory of 16 images once (``lab.reverse_view.
  compute_trajectory``: the sampler, the network and the conversion of every step to
  pixels), after a warm-up run: with the pretrained model at 32 px, and with an
  untrained book-preset DiffusionModel at 64 px (adapted on procedural flowers; speed
  does not depend on the weights);
* one step change once the run is cached: what the step viewer fragment does (PNG
  encoding of x_t, ε̂, x̂0, x_{t-1} of the image shown, plus the change chart), and the
  same with the small grid of all 16 images' x̂0 and the LaTeX lines.

Run `python bench/reverse.py`. Targets: step change under 50 ms; the 20-step 32 px
trajectory of 16 images under 2 s.
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

from lab import reverse_view as rv  # noqa: E402

IMAGES = 16
STEPS = 20
REPEATS = 3
STEP_CHANGES = 50
TARGET_TRAJECTORY_S = 2.0
TARGET_STEP_CHANGE_MS = 50.0
PRETRAINED = ROOT / "assets" / "models" / "flowers32"
LABELS = ("change from the previous step", "distance to the final image", "this step")


def run(denoiser, schedule) -> rv.Trajectory:
    return rv.compute_trajectory(denoiser, schedule, n=IMAGES, steps=STEPS, sampler="ddim",
                                 eta=0.0, spacing="continuous", seed=0)


def network_seconds_per_step(denoiser) -> float:
    """The network alone, one call for 16 images: what the trajectory cannot go below."""
    x = np.random.default_rng(0).standard_normal((IMAGES, *denoiser.image_shape), np.float32)
    rates = np.full(IMAGES, 0.7, np.float32)
    denoiser.predict(x, rates, rates)
    times = []
    for _ in range(STEPS):
        start = time.perf_counter()
        denoiser.predict(x, rates, rates)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def trajectory_seconds(denoiser, schedule) -> tuple[float, rv.Trajectory]:
    traj = run(denoiser, schedule)  # warm-up: traces the graph
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        traj = run(denoiser, schedule)
        times.append(time.perf_counter() - start)
    return statistics.median(times), traj


def step_change_ms(traj: rv.Trajectory, with_grid: bool) -> float:
    """Median milliseconds of the fragment's work for one step change."""
    times = []
    for i in range(STEP_CHANGES):
        step = i % traj.steps
        start = time.perf_counter()
        p = traj.position(step)
        for arrays in (traj.x_t, traj.eps, traj.x0, traj.x_prev):
            rv.png(arrays[p, 0])
        json.dumps(rv.change_chart(traj, 0, step, LABELS, "How x̂₀ settles", "step"))
        if with_grid:
            [rv.png(x) for x in traj.x0[p]]
            rv.step_latex(traj, step)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    from core.checkpoints import load_bundle
    from core.data import procedural_flowers
    from core.diffusion import DiffusionModel

    result = {"images": IMAGES, "steps": STEPS, "sampler": "DDIM, eta 0, continuous (the book)"}
    model, _ = load_bundle(PRETRAINED)
    s32, traj32 = trajectory_seconds(model.as_denoiser(), model.schedule)
    result["trajectory_32px_pretrained_s"] = round(s32, 3)
    result["network_only_32px_s_per_step"] = round(network_seconds_per_step(model.as_denoiser()), 4)

    model64 = DiffusionModel(image_size=64, unet="book")
    model64.adapt(procedural_flowers(64, size=64))
    s64, traj64 = trajectory_seconds(model64.as_denoiser(), model64.schedule)
    result["trajectory_64px_book_untrained_s"] = round(s64, 3)
    result["network_only_64px_s_per_step"] = round(
        network_seconds_per_step(model64.as_denoiser()), 4)

    for label, traj in (("32px", traj32), ("64px", traj64)):
        result[f"step_change_{label}_ms"] = round(step_change_ms(traj, with_grid=False), 2)
        result[f"step_change_{label}_with_grid_and_latex_ms"] = round(
            step_change_ms(traj, with_grid=True), 2)
    start = time.perf_counter()
    gif = rv.gif_bytes(traj32)
    result["gif_32px_s"] = round(time.perf_counter() - start, 3)
    result["gif_32px_kib"] = round(len(gif) / 1024, 1)
    result["cached_trajectory_32px_mib"] = round(traj32.nbytes() / 2**20, 2)

    result["load_average_1min"] = round(os.getloadavg()[0], 2)  # shared CPUs skew the timings
    result["targets"] = {"trajectory_32px_s": TARGET_TRAJECTORY_S,
                         "step_change_ms": TARGET_STEP_CHANGE_MS}
    result["meets_targets"] = bool(
        s32 <= TARGET_TRAJECTORY_S
        and result["step_change_32px_with_grid_and_latex_ms"] <= TARGET_STEP_CHANGE_MS)
    print(json.dumps(result, indent=2))
    np.testing.assert_(np.all(np.isfinite(traj32.change[1:])))


if __name__ == "__main__":
    main()
