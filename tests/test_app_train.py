"""Train live page: a real run in a worker process, driven through AppTest.

The fragment that polls the job only runs when the test calls at.run() again
(REFERENCE.md platform facts), so the tests rerun with short sleeps. Every job
a test started is closed in teardown, so no worker outlives the test.
"""

import io
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, no_exceptions, png_bytes, texts

PAGE = str(ROOT / "app_pages" / "train.py")
JOB, RUN = "_train_job", "_train_run"


@pytest.fixture
def page():
    from streamlit.testing.v1 import AppTest

    made = []

    def make():
        at = AppTest.from_file(PAGE, default_timeout=120)
        at.run()
        no_exceptions(at)
        made.append(at)
        return at

    yield make
    for at in made:
        job = at.session_state[JOB] if JOB in at.session_state else None
        if job is not None:
            job.close(timeout=10)
            assert not job.is_alive()


def start(at, steps=20, count=64, lr=None):
    at.number_input(key="tr_count").set_value(count)
    at.radio(key="tr_budget").set_value("steps").run()
    at.number_input(key="tr_steps").set_value(steps)
    if lr is not None:
        at.select_slider(key="tr_lr").set_value(lr)
    at.button(key="tr_start").click().run()
    no_exceptions(at)
    assert at.session_state[JOB] is not None


def wait(at, until, timeout=240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(1.0)
        at.run()
        no_exceptions(at)
        if until(at):
            return
    raise AssertionError(f"timed out; job {at.session_state[JOB]!r}; page: {texts(at)[-800:]}")


def finished(at):
    return at.session_state[JOB].state in ("done", "diverged", "failed")


def test_defaults_mirror_core_training():
    import core.training as training
    from core.diffusion import LOSSES, PREDICTIONS
    from core.unet import PRESETS

    import ast

    tree = ast.parse((ROOT / "app_pages" / "train.py").read_text())
    consts = {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body
              if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
              and node.targets[0].id.isupper() and isinstance(node.value, (ast.Constant, ast.Tuple))
              and all(isinstance(e, ast.Constant) for e in getattr(node.value, "elts", []))}
    assert consts["DEFAULT_PRESET"] == training.DEFAULT_PRESET
    assert consts["DEFAULT_LEARNING_RATE"] == training.DEFAULT_LEARNING_RATE
    assert consts["DEFAULT_BATCH_SIZE"] == training.DEFAULT_BATCH_SIZE
    assert consts["DEFAULT_EMA"] == training.TrainConfig().ema_decay
    assert consts["LOSSES"] == tuple(LOSSES)
    assert consts["PREDICTIONS"] == tuple(PREDICTIONS)
    assert consts["PRESETS"] == tuple(PRESETS)


def test_a_short_run_finishes_and_joins_the_picker(page):
    at = page()
    start(at, steps=20)
    wait(at, lambda a: len(a.session_state[RUN]["progress"]) > 0 or finished(a))
    assert finished(at) or any("Step" in str(p.proto.text) for p in at.get("progress"))
    wait(at, finished)
    run = at.session_state[RUN]
    assert at.session_state[JOB].state == "done", texts(at)
    assert "budget was reached after 20 steps" in texts(at)
    assert run["progress"][-1]["step"] == 20
    assert run["snapshots"], "a snapshot every 10 steps"
    models = at.session_state["trained_models"]
    assert (Path(models[run["name"]]) / "metadata.json").exists()
    assert any(b.label.startswith("Download the model") for b in at.get("download_button"))
    # The settings are editable again and a new run can start.
    assert not at.button(key="tr_start").disabled


def test_stop_ends_the_run_and_keeps_the_weights(page):
    at = page()
    start(at, steps=100_000)
    wait(at, lambda a: a.session_state[JOB].step > 0 or finished(a))
    assert at.button(key="tr_start").disabled  # one run per session
    at.button(key="tr_stop").click().run()
    wait(at, finished)
    assert at.session_state[JOB].state == "done"
    assert at.session_state[JOB].result["reason"] == "stopped"
    assert "Stopped at step" in texts(at)
    assert at.session_state[RUN]["name"] in at.session_state["trained_models"]


def test_an_absurd_learning_rate_diverges_with_a_clear_message(page):
    at = page()
    start(at, steps=200, lr=100.0)
    wait(at, finished)
    assert at.session_state[JOB].state == "diverged"
    assert "the last good weights were kept" in texts(at)
    assert "Lower the learning rate" in texts(at)


def test_a_bad_zip_says_what_was_refused_and_uses_the_good_images(page):
    at = page()
    at.radio(key="tr_source").set_value("upload").run()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(3):
            img = np.random.default_rng(i).integers(0, 255, (40, 40, 3), np.uint8)
            zf.writestr(f"flowers/{i}.png", png_bytes(img))
        zf.writestr("../../escape.png", png_bytes(np.zeros((8, 8, 3), np.uint8)))
        zf.writestr("flowers/notes.txt", b"just text")
    at.file_uploader(key="tr_upload").upload("mine.zip", buf.getvalue(),
                                               "application/zip").run()
    no_exceptions(at)
    text = texts(at)
    assert "Using **3** images" in text
    assert "1 not images" in text and "1 zip entries refused as unsafe" in text
    assert "3 images, 32×32 px" in text
    assert not at.button(key="tr_start").disabled
