"""Training a DiffusionModel: data pipeline, budget, progress, stop, divergence.

One `Trainer` serves the command line (`python -m core.train`), the lab's live
training worker and the tests. It reports through plain callables so the
caller decides where progress goes (a progress bar, a queue to the app, a list
in a test):

    trainer = Trainer(TrainConfig(image_size=32, preset="tiny", max_steps=500),
                      on_progress=print)
    result = trainer.run()          # -> TrainResult(reason="budget", steps=500, ...)

What it guarantees:
* a stop request (``trainer.request_stop()`` or a ``stop_event``) is honoured
  after the current step;
* a NaN or Inf loss stops the run and puts back the last good weights
  (``reason="diverged"``), so nothing trained before the blow-up is lost;
* a budget in steps and/or minutes;
* ``done`` is reported from a callback at the last step, not after ``fit()``
  returns (which can take seconds, REFERENCE.md platform facts).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import tensorflow as tf
import keras

from core.data import procedural_flowers
from core.diffusion import DiffusionModel
from core.samplers import sample

# What the measurements in REFERENCE.md found best for a live run on 2 CPU
# cores: the tiny net, lr 2e-3, batch 32 (same images/s as 64, twice the updates).
DEFAULT_PRESET = "tiny"
DEFAULT_LEARNING_RATE = 2e-3
DEFAULT_BATCH_SIZE = 32
WEIGHT_DECAY = 1e-4
PROGRESS_EVERY_S = 1.0
GOOD_WEIGHTS_EVERY = 25   # steps between copies of weights known to be finite
VALIDATION_FRACTION = 0.05
MAX_VALIDATION_IMAGES = 512
SNAPSHOT_IMAGES = 16
SNAPSHOT_STEPS = 20      # DDIM steps for a snapshot grid


@dataclass
class TrainConfig:
    """Everything that defines a run; JSON-able, stored in the bundle metadata."""

    image_size: int = 32
    preset: str = DEFAULT_PRESET
    schedule: str = "offset_cosine"
    loss: str = "mae"
    prediction: str = "eps"
    learning_rate: float = DEFAULT_LEARNING_RATE
    batch_size: int = DEFAULT_BATCH_SIZE
    ema_decay: float = 0.999
    data: str = "procedural"       # "procedural" or a folder of images
    num_images: int = 10_000       # procedural flowers to generate
    flip: bool = True
    seed: int = 0
    max_steps: int | None = None
    max_minutes: float | None = None
    epochs: int | None = None
    steps_per_epoch: int | None = None
    snapshot_every: int | None = None  # steps; None: no snapshots

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainResult:
    reason: str                     # "budget", "epochs", "stopped" or "diverged"
    steps: int
    seconds: float
    history: dict = field(default_factory=dict)
    message: str = ""


def load_training_images(config: TrainConfig) -> tuple[np.ndarray, str]:
    """The images to train on, in [0, 1], and a one-line description."""
    if config.data == "procedural":
        images = procedural_flowers(config.num_images, size=config.image_size, seed=config.seed)
        return images, f"procedural flowers: {len(images)} images, {config.image_size} px, seed {config.seed}"
    images = load_image_folder(config.data, config.image_size)
    return images, f"folder {config.data}: {len(images)} images, {config.image_size} px (centre crop)"


def load_image_folder(folder: str | Path, image_size: int) -> np.ndarray:
    """Every image under a folder (e.g. the Oxford 102 flowers), centre-cropped
    to a square (never squashed) and resized, as an array in [0, 1]."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder of images; give --data procedural or a folder")
    ds = keras.utils.image_dataset_from_directory(
        folder, labels=None, image_size=(image_size, image_size), crop_to_aspect_ratio=True,
        batch_size=256, shuffle=False, interpolation="area")
    images = np.concatenate([batch.numpy() for batch in ds], axis=0) / 255.0
    if len(images) == 0:
        raise ValueError(f"no PNG, JPEG, GIF or BMP images found under {folder}")
    return images.astype(np.float32)


def split_validation(images: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(len(images))
    n_val = min(MAX_VALIDATION_IMAGES, max(1, int(len(images) * VALIDATION_FRACTION)))
    if len(images) < 2:
        return images, images
    return images[order[n_val:]], images[order[:n_val]]


def make_dataset(images: np.ndarray, batch_size: int, flip: bool, seed: int,
                 training: bool = True) -> tf.data.Dataset:
    """Shuffled, repeated, batched, flipped, prefetched. Horizontal flips double
    the data for free (a flower mirrored is still a flower)."""
    ds = tf.data.Dataset.from_tensor_slices(images)
    if training:
        ds = ds.shuffle(min(len(images), 10_000), seed=seed, reshuffle_each_iteration=True).repeat()
    ds = ds.batch(batch_size, drop_remainder=training)
    if training and flip:
        ds = ds.map(lambda x: tf.image.random_flip_left_right(x, seed=seed),
                    num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def predict_zero_baseline(loss: str) -> float:
    """The loss of a network that outputs zeros (pitfall P7): E|ε| = √(2/π) for
    MAE, E[ε²] = 1 for MSE. A loss stuck here means nothing is being learned."""
    return math.sqrt(2.0 / math.pi) if loss == "mae" else 1.0


class _Loop(keras.callbacks.Callback):
    """One callback for progress, budget, stop requests, divergence and snapshots,
    so the order of these checks after each step is explicit."""

    def __init__(self, trainer: "Trainer"):
        super().__init__()
        self.trainer = trainer
        self.good_weights = None
        self.last_report = 0.0
        self.reason = "epochs"
        self.message = ""

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()
        self.good_weights = self.model.get_weights()
        self.reason = "epochs"
        self.recent = []       # this step's own n_loss, for the steps since the last report
        self.prev_mean = 0.0

    def on_train_batch_end(self, batch, logs=None):
        tr = self.trainer
        tr.step += 1
        loss = float(logs.get("n_loss", logs.get("loss", 0.0))) if logs else 0.0
        # Keras logs the running mean since the epoch began; undo it to get this step's
        # loss, so a live chart shows the loss now, not a curve that resets each epoch.
        self.recent.append((batch + 1) * loss - batch * self.prev_mean if batch else loss)
        self.prev_mean = loss
        if not math.isfinite(loss):
            self.model.set_weights(self.good_weights)
            self._stop("diverged", f"the loss became {loss} at step {tr.step}; the weights "
                                   f"of step {tr.good_step} were kept. Lower the learning rate.")
            return
        if tr.step % GOOD_WEIGHTS_EVERY == 0:
            self.good_weights = self.model.get_weights()
            tr.good_step = tr.step
        cfg = tr.config
        elapsed = time.perf_counter() - self.start
        if cfg.snapshot_every and tr.on_snapshot and tr.step % cfg.snapshot_every == 0:
            tr.on_snapshot(tr.step, tr.snapshot())
        budget_hit = ((cfg.max_steps is not None and tr.step >= cfg.max_steps)
                      or (cfg.max_minutes is not None and elapsed >= cfg.max_minutes * 60))
        now = time.perf_counter()
        if tr.on_progress and (now - self.last_report >= PROGRESS_EVERY_S or budget_hit):
            self.last_report = now
            report = tr.progress(logs or {}, elapsed)
            report["n_loss_recent"] = float(np.mean(self.recent))
            self.recent = []
            tr.on_progress(report)
        if tr.stop_requested():
            self._stop("stopped", f"stopped by request at step {tr.step}")
        elif budget_hit:
            self._stop("budget", f"budget reached at step {tr.step}")

    def _stop(self, reason, message):
        self.reason, self.message = reason, message
        self.model.stop_training = True


class Trainer:
    """Train a DiffusionModel under a budget, reporting through callables.

    on_progress(dict): about once a second, with step, images_per_s, eta_s,
    n_loss, i_loss and the per-noise-level losses.
    on_snapshot(step, images01): every ``config.snapshot_every`` steps, images
    sampled from a fixed noise, so a page can replay how the model learned.
    """

    def __init__(self, config: TrainConfig, model: DiffusionModel | None = None,
                 images: np.ndarray | None = None, on_progress: Callable | None = None,
                 on_snapshot: Callable | None = None, stop_event=None,
                 extra_callbacks: list | None = None):
        self.config = config
        self.on_progress = on_progress
        self.on_snapshot = on_snapshot
        self._stop = threading.Event()
        self._external_stop = stop_event
        self.extra_callbacks = extra_callbacks or []
        self.step = 0
        self.good_step = 0
        if images is None:
            images, self.dataset_description = load_training_images(config)
        else:
            self.dataset_description = f"{len(images)} images, {config.image_size} px"
        self.train_images, self.val_images = split_validation(images, config.seed)
        self.model = model or self.build_model(self.train_images)
        rng = np.random.default_rng(config.seed + 1)
        self.snapshot_noise = rng.standard_normal(
            (SNAPSHOT_IMAGES, config.image_size, config.image_size, 3)).astype(np.float32)

    def build_model(self, images: np.ndarray) -> DiffusionModel:
        cfg = self.config
        keras.utils.set_random_seed(cfg.seed)
        model = DiffusionModel(image_size=cfg.image_size, unet=cfg.preset, schedule=cfg.schedule,
                               loss=cfg.loss, prediction=cfg.prediction, ema_decay=cfg.ema_decay)
        model.adapt(images)
        model.compile(optimizer=keras.optimizers.AdamW(learning_rate=cfg.learning_rate,
                                                       weight_decay=WEIGHT_DECAY))
        return model

    def snapshot(self) -> np.ndarray:
        """Images the model makes now from the run's fixed noise (book's DDIM)."""
        return sample(self.model.as_denoiser(), self.model.schedule, self.snapshot_noise,
                      steps=SNAPSHOT_STEPS, spacing="continuous")

    def request_stop(self) -> None:
        self._stop.set()

    def stop_requested(self) -> bool:
        ext = self._external_stop
        return self._stop.is_set() or bool(ext is not None and ext.is_set())

    def progress(self, logs: dict, elapsed: float) -> dict:
        cfg = self.config
        images_per_s = self.step * cfg.batch_size / max(elapsed, 1e-9)
        remaining = []
        if cfg.max_steps is not None:
            remaining.append((cfg.max_steps - self.step) * cfg.batch_size / max(images_per_s, 1e-9))
        if cfg.max_minutes is not None:
            remaining.append(cfg.max_minutes * 60 - elapsed)
        return {"step": self.step, "images_per_s": images_per_s, "elapsed_s": elapsed,
                "eta_s": max(0.0, min(remaining)) if remaining else None,
                **{k: float(v) for k, v in logs.items()}}

    def run(self, initial_epoch: int = 0) -> TrainResult:
        cfg = self.config
        train = make_dataset(self.train_images, cfg.batch_size, cfg.flip, cfg.seed)
        val = make_dataset(self.val_images, cfg.batch_size, flip=False, seed=cfg.seed,
                           training=False)
        steps_per_epoch = cfg.steps_per_epoch or max(1, len(self.train_images) // cfg.batch_size)
        if cfg.epochs is not None:
            epochs = cfg.epochs
        else:  # a step or time budget: run "epochs" until the callback stops it
            epochs = 10**6
        loop = _Loop(self)
        start = time.perf_counter()
        history = self.model.fit(train, epochs=epochs, steps_per_epoch=steps_per_epoch,
                                 validation_data=val, initial_epoch=initial_epoch,
                                 callbacks=[loop, *self.extra_callbacks], verbose=0,
                                 shuffle=False)  # the dataset shuffles itself
        return TrainResult(reason=loop.reason, steps=self.step,
                           seconds=time.perf_counter() - start,
                           history={k: [float(v) for v in vals]
                                    for k, vals in history.history.items()},
                           message=loop.message)
