"""Train a diffusion model from the command line; the bundle it writes opens in the lab.

    python -m core.train --data procedural --image-size 32 --preset tiny --epochs 10 \\
        --out models/flowers32
    python -m core.train --data ~/data/oxford102 --image-size 64 --preset book --epochs 50 \\
        --batch-size 64 --schedule offset_cosine --out models/flowers64 --strategy mirrored
    python -m core.train ... --out models/flowers64 --resume      # continue from the last epoch

--strategy mirrored trains on every GPU of one machine (tf.distribute.MirroredStrategy);
multi_worker trains across machines (MultiWorkerMirroredStrategy), each started with its
TF_CONFIG environment variable; only the chief writes checkpoints. --batch-size is the
global batch, split across replicas.

Each epoch writes the bundle (model.keras + metadata.json) atomically to --out; at the
end, samples.png (16 images from a fixed noise) goes into it. TensorBoard logs go next
to it, to <out>-logs (`tensorboard --logdir models/flowers64-logs`): a bundle folder is
replaced whole at each save, so it holds nothing else.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import fields
from pathlib import Path

STRATEGIES = ("default", "mirrored", "multi_worker")


def parse_args(argv=None) -> argparse.Namespace:
    from core.schedules import SCHEDULE_NAMES

    p = argparse.ArgumentParser(prog="python -m core.train", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="procedural",
                   help="'procedural' (built-in flowers) or a folder of images")
    p.add_argument("--num-images", type=int, default=10_000,
                   help="procedural flowers to generate (default 10,000)")
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--preset", default="tiny", help="U-Net preset: tiny, small or book")
    p.add_argument("--schedule", default="offset_cosine", choices=SCHEDULE_NAMES)
    p.add_argument("--loss", default="mae", choices=("mae", "mse"))
    p.add_argument("--prediction", default="eps", choices=("eps", "v"))
    p.add_argument("--lr", type=float, default=2e-3, help="AdamW learning rate")
    p.add_argument("--batch-size", type=int, default=32, help="global batch size")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--steps-per-epoch", type=int, default=None,
                   help="default: one pass over the data")
    p.add_argument("--max-minutes", type=float, default=None, help="stop after this long")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="bundle folder to write (and resume from)")
    p.add_argument("--resume", action="store_true", help="continue from the bundle in --out")
    p.add_argument("--strategy", default="default", choices=STRATEGIES)
    p.add_argument("--slim", action="store_true",
                   help="write the final bundle without optimizer state (half the size; "
                        "for shipping a model to sample from)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p.parse_args(argv)


def make_strategy(name: str):
    import tensorflow as tf

    if name == "mirrored":
        # Every GPU; on a machine without one, every logical CPU device (how the
        # tests exercise this path with two logical CPUs).
        devices = (tf.config.list_logical_devices("GPU")
                   or tf.config.list_logical_devices("CPU"))
        return tf.distribute.MirroredStrategy(devices=[d.name for d in devices])
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise SystemExit("--strategy multi_worker needs the TF_CONFIG environment variable "
                             "describing the cluster on every machine")
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def is_chief() -> bool:
    config = json.loads(os.environ.get("TF_CONFIG", "{}"))
    task = config.get("task", {})
    return task.get("type", "chief") == "chief" or (task.get("type") == "worker"
                                                     and task.get("index", 0) == 0
                                                     and "chief" not in config.get("cluster", {}))


def main(argv=None) -> int:
    args = parse_args(argv)
    import keras

    from core.checkpoints import BundleError, load_bundle, save_bundle
    from core.training import TrainConfig, Trainer, load_training_images

    out = Path(args.out)
    config = TrainConfig(image_size=args.image_size, preset=args.preset, schedule=args.schedule,
                         loss=args.loss, prediction=args.prediction, learning_rate=args.lr,
                         batch_size=args.batch_size, data=args.data, num_images=args.num_images,
                         seed=args.seed, epochs=args.epochs, steps_per_epoch=args.steps_per_epoch,
                         max_minutes=args.max_minutes)
    try:
        images, description = load_training_images(config)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"data: {description}")

    strategy = make_strategy(args.strategy)
    print(f"strategy: {args.strategy}, replicas: {strategy.num_replicas_in_sync}")
    initial_epoch, history = 0, {}
    with strategy.scope():
        model = None
        if args.resume:
            try:
                model, meta = load_bundle(out, expect_image_size=args.image_size)
            except BundleError as err:
                print(f"error: cannot resume from {out}: {err}", file=sys.stderr)
                return 2
            initial_epoch = int(meta.get("epoch", 0))
            history = meta.get("history", {}) or {}
            saved = meta.get("train_config", {})
            config = TrainConfig(**{**{f.name: saved.get(f.name, getattr(config, f.name))
                                       for f in fields(TrainConfig)},
                                    "epochs": args.epochs, "max_minutes": args.max_minutes})
            print(f"resuming from {out} at epoch {initial_epoch}")
        trainer = Trainer(config, model=model, images=images)
    trainer.dataset_description = description

    started = time.perf_counter()

    def save(epoch, include_optimizer=True):
        if is_chief():
            save_bundle(trainer.model, out, metadata={
                "epoch": epoch, "steps": trainer.step, "train_config": config.to_dict(),
                "wall_time_s": round(time.perf_counter() - started, 1)},
                history=history, dataset=description, include_optimizer=include_optimizer)

    class SaveEachEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            for key, value in (logs or {}).items():
                history.setdefault(key, []).append(float(value))
            self.epoch = epoch + 1
            save(self.epoch)

    logs = out.parent / f"{out.name}-logs"
    saver = SaveEachEpoch()
    saver.epoch = initial_epoch
    callbacks = [saver, keras.callbacks.TensorBoard(log_dir=str(logs))]
    if not args.quiet:
        callbacks.append(keras.callbacks.ProgbarLogger())
    trainer.extra_callbacks = callbacks
    result = trainer.run(initial_epoch=initial_epoch)
    print(f"{result.reason}: {result.steps} steps in {result.seconds:.0f} s. {result.message}")
    if result.reason == "diverged":
        return 1
    if args.slim:
        save(saver.epoch, include_optimizer=False)
    if is_chief():
        write_samples(trainer, out / "samples.png")
    print(f"bundle written to {out}; TensorBoard logs in {logs}")
    return 0


def write_samples(trainer, path: Path) -> None:
    """A 4 x 4 grid of what the model makes from the run's fixed noise."""
    import numpy as np
    from PIL import Image

    from core.data import flower_grid

    grid = flower_grid(trainer.snapshot(), cols=4)
    Image.fromarray((np.clip(grid, 0, 1) * 255 + 0.5).astype(np.uint8)).save(path)


if __name__ == "__main__":
    raise SystemExit(main())
