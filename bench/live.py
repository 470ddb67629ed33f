"""Benchmark: live training with the Train-live page's defaults.

Run `python bench/live.py`; it prints one JSON object and writes the sample grids to
bench/results/ (git-ignored; the 5-minute grid is copied to assets/ for the README).

1. Images/s inside the app's worker process (lab.jobs.TrainingJob) against the same
   training in this process (core.training.Trainer), same settings, one after the
   other; rates are measured between progress reports after the first, so the
   one-off start-up (TensorFlow import, tracing) is left out. Target ratio >= 0.9.
2. With the default settings, the validation n_loss of the EMA network and a 4 x 4
   sample grid from a fixed noise after 1, 3 and 5 minutes of training.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from core.training import TrainConfig  # noqa: E402

RATIO_SECONDS = 45
CHECKPOINTS_MIN = (1, 3, 5)
RESULTS = ROOT / "bench" / "results"


def rate(progress: list[dict], batch_size: int) -> float:
    """Images/s between the first and the last progress report."""
    first, last = progress[0], progress[-1]
    return (last["step"] - first["step"]) * batch_size / (last["elapsed_s"] - first["elapsed_s"])


def worker_rate(config: TrainConfig) -> float:
    from lab.jobs import TrainingJob

    with tempfile.TemporaryDirectory() as out:
        job = TrainingJob({**config.to_dict(), "max_minutes": None,
                           "max_steps": None}, out, name="bench")
        job.start()
        progress, started = [], None
        while True:
            for event in job.poll():
                if event["type"] == "progress":
                    progress.append(event)
                    started = started or time.perf_counter()
            if started and time.perf_counter() - started > RATIO_SECONDS:
                break
            if job.state in ("done", "failed", "diverged"):
                break
            time.sleep(0.2)
        job.close(timeout=10)
    return rate(progress[1:], config.batch_size)


def in_process_rate(config: TrainConfig) -> float:
    from core.training import Trainer

    progress: list[dict] = []
    cfg = TrainConfig(**{**config.to_dict(), "max_minutes": None, "max_steps": None})
    trainer = Trainer(cfg, on_progress=progress.append)
    start = time.perf_counter()

    def stop_after(report):
        progress.append(report)
        if len(progress) > 1 and time.perf_counter() - start > RATIO_SECONDS + 15:
            trainer.request_stop()

    trainer.on_progress = stop_after
    trainer.run()
    return rate(progress[1:], cfg.batch_size)


def quality_over_time(config: TrainConfig) -> dict:
    import keras
    import numpy as np
    from PIL import Image

    from core.data import flower_grid
    from core.training import Trainer, make_dataset

    RESULTS.mkdir(parents=True, exist_ok=True)
    cfg = TrainConfig(**{**config.to_dict(), "max_minutes": max(CHECKPOINTS_MIN),
                         "max_steps": None})
    trainer = Trainer(cfg)
    val = make_dataset(trainer.val_images, cfg.batch_size, flip=False, seed=cfg.seed,
                       training=False)
    results = {}
    pending = list(CHECKPOINTS_MIN)

    class AtMinutes(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            minutes = (time.perf_counter() - self.start) / 60
            if pending and minutes >= pending[0] - 1e-3:
                mark = pending.pop(0)
                metrics = trainer.model.evaluate(val, verbose=0, return_dict=True)
                grid = flower_grid(trainer.snapshot(), cols=4)
                path = RESULTS / f"live-{mark}min.png"
                Image.fromarray((np.clip(grid, 0, 1) * 255 + 0.5).astype(np.uint8)).resize(
                    (grid.shape[1] * 4, grid.shape[0] * 4), Image.NEAREST).save(path)
                results[f"{mark}_min"] = {"step": trainer.step,
                                          "val_n_loss": round(float(metrics["n_loss"]), 4),
                                          "grid": str(path.relative_to(ROOT))}

    trainer.extra_callbacks = [AtMinutes()]
    trainer.run()
    return results


def main() -> None:
    config = TrainConfig(num_images=10_000)  # the page's defaults: tiny, 32 px, lr 2e-3, batch 32
    result = {"settings": {k: config.to_dict()[k] for k in
                           ("preset", "image_size", "learning_rate", "batch_size", "num_images")}}
    inside = worker_rate(config)
    outside = in_process_rate(config)
    result["images_per_s_worker"] = round(inside, 1)
    result["images_per_s_in_process"] = round(outside, 1)
    result["ratio_worker_to_in_process"] = round(inside / outside, 3)
    result["quality"] = quality_over_time(config)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
