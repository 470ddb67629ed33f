"""The pretrained flowers shipped in assets/: they load offline and make flowers, not noise."""


import numpy as np
import pytest

from conftest import ROOT
from core.checkpoints import load_bundle, read_metadata
from core.data import procedural_flowers
from core.samplers import sample

BUNDLE = ROOT / "assets" / "models" / "flowers32"


@pytest.fixture(scope="module")
def bundle():
    return load_bundle(BUNDLE, expect_image_size=32)


def total_variation(images):
    """Mean absolute difference between neighbouring pixels: ~0.5 for noise."""
    return float(np.abs(np.diff(images, axis=1)).mean() + np.abs(np.diff(images, axis=2)).mean())


def centre_contrast(images):
    """How much the middle (where a flower is) differs from the border (background)."""
    centre = images[:, 11:21, 11:21].mean(axis=(1, 2))
    border = np.concatenate([images[:, :4].reshape(len(images), -1, 3),
                             images[:, -4:].reshape(len(images), -1, 3)], axis=1).mean(axis=1)
    return float(np.abs(centre - border).sum(axis=1).mean())


def test_pretrained_bundle_is_small_and_documents_its_training():
    size = sum(f.stat().st_size for f in BUNDLE.iterdir())
    assert size < 10 * 2**20
    meta = read_metadata(BUNDLE)
    assert meta["image_size"] == 32
    assert meta["steps"] > 1000 and meta["wall_time_s"] > 60
    val = [v for v in meta["history"]["val_n_loss"] if v is not None]
    # Far below the predict-zero baseline of MAE, sqrt(2/pi) = 0.798 (pitfall P7).
    assert val[-1] < 0.2
    assert (BUNDLE / "samples.png").is_file()


def test_pretrained_model_generates_flowers_not_noise(bundle):
    model, _ = bundle
    noise = np.random.default_rng(7).standard_normal((16, 32, 32, 3)).astype(np.float32)
    images = sample(model.as_denoiser(), model.schedule, noise, steps=20, spacing="continuous")
    flowers = procedural_flowers(256, size=32, seed=99)
    # Smooth like the flowers (noise is ~0.5), with something in the middle.
    assert total_variation(images) < 2.0 * total_variation(flowers)
    assert total_variation(images) < 0.2
    assert centre_contrast(images) > 0.5 * centre_contrast(flowers)
    # Sixteen different pictures, not one memorised image.
    flat = images.reshape(16, -1)
    assert np.min(np.abs(flat[:, None] - flat[None]).mean(axis=2) + np.eye(16)) > 0.02
