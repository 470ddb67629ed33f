"""core.training and the `python -m core.train` CLI: budget, stop, divergence, resume."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT

from core import training
from core.data import procedural_flowers
from core.training import TrainConfig, Trainer

SIZE = 16  # below the flowers' 32 px minimum: tests average 2x2 pixels for speed


def small_flowers(n, seed):
    big = procedural_flowers(n, size=2 * SIZE, seed=seed)
    return big.reshape(n, SIZE, 2, SIZE, 2, 3).mean(axis=(2, 4))


@pytest.fixture(scope="module")
def images():
    return small_flowers(256, seed=3)


def config(**overrides):
    base = dict(image_size=SIZE, preset="tiny", batch_size=32, seed=0)
    return TrainConfig(**{**base, **overrides})


def test_step_budget_stops_at_the_budget_and_reports_progress(images, monkeypatch):
    monkeypatch.setattr(training, "PROGRESS_EVERY_S", 0.0)
    reports = []
    result = Trainer(config(max_steps=7), images=images, on_progress=reports.append).run()
    assert result.reason == "budget" and result.steps == 7
    assert [r["step"] for r in reports] == list(range(1, 8))
    last = reports[-1]
    assert last["images_per_s"] > 0 and last["eta_s"] == 0.0
    assert np.isfinite(last["n_loss"]) and "n_loss_bin_0" in last
    # With a report every step, the step's own loss undoes Keras' running mean.
    own = [r["n_loss_recent"] for r in reports]
    means = [r["n_loss"] for r in reports]
    np.testing.assert_allclose(np.cumsum(own) / np.arange(1, 8), means, rtol=1e-4)
    assert "val_n_loss" in result.history


def test_stop_request_is_honoured_after_the_current_step(images, monkeypatch):
    monkeypatch.setattr(training, "PROGRESS_EVERY_S", 0.0)

    def stop_at_five(report):
        if report["step"] == 5:
            trainer.request_stop()

    trainer = Trainer(config(max_steps=1000), images=images, on_progress=stop_at_five)
    result = trainer.run()
    assert result.reason == "stopped" and result.steps == 5


def test_divergence_stops_and_keeps_the_last_good_weights(images):
    trainer = Trainer(config(max_steps=300, learning_rate=1e9), images=images)
    result = trainer.run()
    assert result.reason == "diverged", result
    assert "Lower the learning rate" in result.message
    weights = trainer.model.get_weights()
    assert all(np.all(np.isfinite(w)) for w in weights)


def test_snapshots_come_from_a_fixed_noise_every_n_steps(images):
    snaps = []
    trainer = Trainer(config(max_steps=6, snapshot_every=3), images=images,
                      on_snapshot=lambda step, imgs: snaps.append((step, imgs)))
    trainer.run()
    assert [s for s, _ in snaps] == [3, 6]
    for _, imgs in snaps:
        assert imgs.shape == (training.SNAPSHOT_IMAGES, SIZE, SIZE, 3)
        assert imgs.min() >= 0.0 and imgs.max() <= 1.0


def test_short_training_run_lowers_the_validation_loss():
    imgs = small_flowers(1024, seed=1)
    trainer = Trainer(config(epochs=1, steps_per_epoch=1, learning_rate=2e-3), images=imgs)
    before = trainer.run().history["val_n_loss"][-1]
    trainer.config.epochs, trainer.config.steps_per_epoch = 1, 250
    after = trainer.run().history["val_n_loss"][-1]
    assert after < before - 0.1, (before, after)
    assert after < training.predict_zero_baseline("mae") - 0.2


def test_image_folder_is_centre_cropped_not_squashed(tmp_path):
    from PIL import Image

    img = np.zeros((40, 120, 3), np.uint8)
    img[:, 40:80] = (0, 255, 0)  # a green middle third: the centre crop keeps only it
    Image.fromarray(img).save(tmp_path / "wide.png")
    out = training.load_image_folder(tmp_path, 16)
    assert out.shape == (1, 16, 16, 3)
    assert out[0, :, :, 1].mean() > 0.95 and out[0, :, :, 0].max() < 0.05


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="not a folder of images"):
        training.load_image_folder(tmp_path / "nope", 16)


def _cli(args, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "core.train", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})})


def test_cli_trains_writes_a_bundle_each_epoch_and_resumes(tmp_path):
    out = tmp_path / "flowers32"
    common = ["--data", "procedural", "--num-images", "256", "--image-size", "32",
              "--preset", "tiny", "--batch-size", "32", "--steps-per-epoch", "3", "--quiet",
              "--out", str(out)]
    first = _cli([*common, "--epochs", "2"])
    assert first.returncode == 0, first.stderr[-3000:]
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["epoch"] == 2 and len(meta["history"]["n_loss"]) == 2
    assert any((tmp_path / "flowers32-logs").iterdir())  # TensorBoard
    assert (out / "samples.png").is_file()
    second = _cli([*common, "--epochs", "3", "--resume"])
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resuming from" in second.stdout
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["epoch"] == 3 and len(meta["history"]["n_loss"]) == 3


def test_cli_refuses_to_resume_from_something_that_is_not_a_bundle(tmp_path):
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "model.keras").write_bytes(b"not a zip")
    result = _cli(["--image-size", "32", "--num-images", "64", "--out", str(tmp_path / "junk"),
                   "--resume", "--quiet"])
    assert result.returncode == 2
    assert "cannot resume" in result.stderr


MIRRORED = r"""
import sys, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from core.train import main
sys.exit(main(sys.argv[1:]))
"""


def test_mirrored_strategy_trains_on_two_logical_devices(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", MIRRORED, "--strategy", "mirrored", "--data", "procedural",
         "--num-images", "128", "--image-size", "32", "--preset", "tiny", "--batch-size", "16",
         "--steps-per-epoch", "3", "--epochs", "1", "--quiet", "--out", str(tmp_path / "m")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "replicas: 2" in result.stdout
    assert json.loads((tmp_path / "m" / "metadata.json").read_text())["steps"] == 3
