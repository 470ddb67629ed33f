"""The Sampling explorer page (app_pages/explorer.py), driven through Streamlit's AppTest.

Most tests pick the ideal denoiser over 100 flowers (numpy, milliseconds per step); one
runs the pretrained Keras model with small settings.
"""

import json
import re
import subprocess
import sys

import numpy as np
import pytest
from streamlit.runtime.memory_media_file_storage import _calculate_file_id

from conftest import (ROOT, app_with_broken_model, english_sentences, no_exceptions,
                      open_app, texts)
from core.data import procedural_flowers
from core.forward import sample_noise
from core.samplers import IdealDenoiser, sample
from core.schedules import make_schedule
from lab.images import png_bytes

STEP_COUNTS = [1, 2, 3, 5, 10, 20, 50, 100]
TIMING = re.compile(r"^\d+ ms$|^\d+\.\d\d s$")
IDEAL = "ideal:100"


@pytest.fixture
def explorer():
    """The explorer page with a chosen model already selected on the first run."""
    def make(model=IDEAL, **query):
        return open_app("explorer", session={"model": model}, **query)
    return make


def png_url(img01: np.ndarray) -> str:
    """The URL Streamlit serves these exact PNG bytes under (a hash of the content)."""
    return f"/mock/media/{_calculate_file_id(png_bytes(img01), 'image/png')}.png"


def step_grid(at):
    """The step grid's columns: header, timing caption and the image element of each."""
    headers = [m.value for m in at.markdown if re.fullmatch(r"\*\*\d+ steps?\*\*", m.value)]
    timings = [c.value for c in at.caption if TIMING.match(c.value)]
    images = at.image[:len(headers)]
    return headers, timings, images


def interpolation(at):
    return [img for img in at.image if len(img.captions) == 1 and img.captions[0]
            and (img.captions[0].startswith("seed") or re.fullmatch(r"\d\.\d\d", img.captions[0]))]


def test_step_grid_has_a_column_per_step_count_with_its_time(explorer):
    at = explorer()
    no_exceptions(at)
    headers, timings, images = step_grid(at)
    assert headers == ["**1 step**"] + [f"**{n} steps**" for n in STEP_COUNTS[1:]]
    assert len(timings) == 8
    # Three seeds per column by default, all different pictures.
    assert [len(img.value) for img in images] == [3] * 8
    assert len(set(images[5].value)) == 3
    # One step gives a blurry average; a hundred give a clean training flower.
    assert images[0].value != images[-1].value
    # The 100-step sample of seed 0 is what core.samplers makes from the same noise.
    ideal = IdealDenoiser(procedural_flowers(100, size=32, seed=0))
    noise = sample_noise((32, 32, 3), 0)[None]
    expected = sample(ideal, make_schedule("offset_cosine"), noise, 100, spacing="continuous")
    assert images[-1].value[0] == png_url(expected[0])


def test_rows_and_spacing_change_the_grid(explorer):
    at = explorer(ex_rows="1")
    assert [len(img.value) for img in step_grid(at)[2]] == [1] * 8
    continuous = step_grid(at)[2][1].value
    at.selectbox(key="ex_spacing").set_value("leading").run()
    no_exceptions(at)
    assert step_grid(at)[2][1].value != continuous
    assert at.query_params["ex_spacing"] in ("leading", ["leading"])


def test_interpolation_has_eleven_images_whose_ends_are_the_two_seeds_samples(explorer):
    at = explorer(ex_rows="2")
    no_exceptions(at)
    path = interpolation(at)
    assert len(path) == 11
    assert path[0].captions == ["seed 0"] and path[-1].captions == ["seed 1"]
    assert [p.captions[0] for p in path[1:-1]] == [f"{s:.2f}" for s in np.linspace(0, 1, 11)[1:-1]]
    # The ends are the 20-step samples of seeds 0 and 1: the grid's 20-step column
    # shows them, and core.samplers makes the same pictures from each noise alone.
    column_20 = step_grid(at)[2][STEP_COUNTS.index(20)].value
    assert path[0].value[0] == column_20[0] and path[-1].value[0] == column_20[1]
    ideal = IdealDenoiser(procedural_flowers(100, size=32, seed=0))
    for seed, image in ((0, path[0]), (1, path[-1])):
        noise = sample_noise((32, 32, 3), seed)[None]
        expected = sample(ideal, make_schedule("offset_cosine"), noise, 20, spacing="continuous")
        assert image.value[0] == png_url(expected[0])
    # The chart: spherical mixing keeps the noise's size, a straight line shrinks it.
    norms = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    slerp_norm, lerp_norm = np.array(norms[0]["y"]), np.array(norms[1]["y"])
    assert np.ptp(slerp_norm) < 0.05 and abs(lerp_norm[20] - slerp_norm[20] / np.sqrt(2)) < 0.05


def test_interpolation_follows_its_settings(explorer):
    at = explorer(ex_a="5", ex_b="9", ex_points="5")
    path = interpolation(at)
    assert len(path) == 5
    assert path[0].captions == ["seed 5"] and path[-1].captions == ["seed 9"]
    at.slider(key="ex_points").set_value(7).run()
    assert len(interpolation(at)) == 7


def test_another_schedule_shows_two_rows_from_the_same_noise(explorer):
    at = explorer()
    no_exceptions(at)
    rows = [img for img in at.image if len(img.captions) == 6]
    assert len(rows) == 2
    assert rows[0].captions == [f"seed {s}" for s in range(6)]
    labels = [m.value for m in at.markdown if m.value.startswith("**It")
              or m.value.startswith("**Another")]
    assert labels == ["**Its own schedule: Offset cosine (the book)**",
                      "**Another schedule: Linear (DDPM)**"]
    chart = json.loads(at.get("plotly_chart")[1].proto.spec)
    assert [d["name"] for d in chart["data"]] == ["Offset cosine (the book)", "Linear (DDPM)"]
    assert "ideal denoiser is exact at every noise level" in texts(at)
    at.selectbox(key="ex_other").set_value("offset_cosine").run()
    no_exceptions(at)
    rows = [img for img in at.image if len(img.captions) == 6]
    assert rows[0].value == rows[1].value  # the same schedule twice: the same pictures
    assert "That is the model's own schedule" in texts(at)


def test_pretrained_keras_model_samples_with_its_own_and_another_schedule(explorer):
    at = explorer("pretrained", ex_rows="1", ex_steps="3", ex_points="3")
    no_exceptions(at)
    headers, timings, images = step_grid(at)
    assert len(headers) == 8 and len(timings) == 8
    assert [len(img.value) for img in images] == [1] * 8
    assert len(interpolation(at)) == 3
    rows = [img for img in at.image if len(img.captions) == 6]
    assert len(rows) == 2 and rows[0].value != rows[1].value
    # A trained network: the chart shades the noise variances it saw in training.
    chart = json.loads(at.get("plotly_chart")[1].proto.spec)
    band = chart["layout"]["shapes"][0]
    assert band["y0"] == pytest.approx(1 - 0.95**2, abs=1e-6)
    assert band["y1"] == pytest.approx(1 - 0.02**2, abs=1e-6)
    assert "This model was trained on noise variances from 0.098 to 1.000" in texts(at)


def test_a_shared_url_restores_the_settings(explorer):
    at = explorer(ex_spacing="trailing", ex_seed="4", ex_rows="2", ex_steps="10", ex_a="3",
                  ex_b="8", ex_points="5", ex_other="cosine")
    no_exceptions(at)
    assert at.selectbox(key="ex_spacing").value == "trailing"
    assert at.number_input(key="ex_seed").value == 4
    assert at.selectbox(key="ex_rows").value == 2
    assert at.slider(key="ex_steps").value == 10
    assert (at.number_input(key="ex_a").value, at.number_input(key="ex_b").value) == (3, 8)
    assert at.slider(key="ex_points").value == 5
    assert at.selectbox(key="ex_other").value == "cosine"
    assert "**Another schedule: Cosine (Nichol & Dhariwal)**" in [m.value for m in at.markdown]


def test_bad_values_in_the_url_are_ignored(explorer):
    at = explorer(ex_spacing="karras", ex_seed="-3", ex_rows="9", ex_steps="1e9", ex_a="x",
                  ex_points="banana", ex_other="../../etc")
    no_exceptions(at)
    assert at.selectbox(key="ex_spacing").value == "continuous"
    assert at.number_input(key="ex_seed").value == 0
    assert at.selectbox(key="ex_rows").value == 3
    assert at.slider(key="ex_steps").value == 20
    assert at.number_input(key="ex_a").value == 0
    assert at.slider(key="ex_points").value == 11
    assert at.selectbox(key="ex_other").value == "linear"
    assert not at.error


def test_explorer_in_chinese_has_no_english_sentences(explorer):
    at = explorer(lang="zh")
    no_exceptions(at)
    assert at.title[0].value == "采样探索"
    shown = texts(at) + "\n".join(
        [w.label for w in (*at.slider, *at.selectbox, *at.number_input)]
        + [c for img in at.image for c in img.captions])
    assert english_sentences(shown) == []
    assert "**1 步**" in [m.value for m in at.markdown]


def test_the_ideal_denoiser_needs_no_tensorflow():
    """With the ideal denoiser the whole page is numpy: it opens without TensorFlow."""
    script = (
        "import json, sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        "at = AppTest.from_file('streamlit_app.py', default_timeout=120)\n"
        "at.session_state['model'] = 'ideal:100'\n"
        "at.query_params['ex_rows'] = '1'\n"
        "at.switch_page('app_pages/explorer.py')\n"
        "at.run()\n"
        "assert not at.exception, [e.message for e in at.exception]\n"
        "assert len(at.image) > 8\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'keras'))))\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_a_model_that_no_longer_loads_gives_a_clear_message(explorer, tmp_path):
    at = app_with_broken_model(tmp_path, "explorer")
    no_exceptions(at)
    assert len(at.error) == 1 and at.error[0].value.startswith("The model could not be loaded")
    assert len(at.image) == 0
