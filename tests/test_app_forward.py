"""The Forward process page (app_pages/forward.py), driven through Streamlit's AppTest."""

import io
import json
import math
import re

import numpy as np
from PIL import Image

from conftest import no_exceptions, png_bytes, texts


def latex_numbers(at) -> str:
    return " ".join(e.value for e in at.latex)


def test_forward_page_shows_x0_eps_xt_and_the_filled_in_equation(app):
    at = app("forward")
    no_exceptions(at)
    assert at.title[0].value.startswith("Forward process")
    captions = [c for img in at.image for c in img.captions]
    assert {"x₀: the clean image", "ε ~ N(0, I): the noise", "x₂₅₀: the noisy image"} <= set(captions)
    # Default view: linear schedule, T = 1000, t = 250: alpha_bar_250 = 0.5241.
    assert "x_{250} = 0.7239\\cdot x_0 + 0.6899\\cdot\\varepsilon" in latex_numbers(at)
    assert "0.5241" in latex_numbers(at)


def test_noise_is_shown_as_lossless_png_not_jpeg(app):
    """JPEG would smear the very noise the page is about."""
    at = app("forward")
    urls = [u for img in at.image for u in img.value]
    noisy = [u for img in at.image for u, c in zip(img.value, img.captions)
             if c.startswith(("ε", "x₂₅₀", "t = "))]
    assert noisy and all(u.endswith(".png") for u in noisy), urls


def test_moving_t_updates_images_equation_and_url(app):
    at = app("forward")
    before = at.image[3].value  # x_t
    at.slider(key="t").set_value(1000).run()
    no_exceptions(at)
    assert "x_{1000} = 0.0064\\cdot x_0 + 1.0000\\cdot\\varepsilon" in latex_numbers(at)
    assert at.image[3].value != before
    assert at.query_params["t"] in ("1000", ["1000"])
    at.slider(key="t").set_value(0).run()
    assert "x_{0} = 1.0000\\cdot x_0 + 0.0000\\cdot\\varepsilon" in latex_numbers(at)
    assert "At t = 0 there is no noise yet" in texts(at)


def test_histogram_compares_pixels_with_the_normal_density(app):
    at = app("forward")
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = [trace["name"] for trace in spec["data"]]
    assert names == ["x₀", "x₂₅₀", "N(0, 1) density"]


def test_chain_agrees_with_one_shot_in_distribution(app):
    at = app("forward", t="600")
    table = at.dataframe[0].value
    assert list(table.iloc[:, 0]) == ["one shot", "chain"]
    noise_std = table["noise std (→ 1)"].to_numpy()
    noise_mean = table["noise mean (→ 0)"].to_numpy()
    np.testing.assert_allclose(noise_std, 1.0, atol=0.03)
    np.testing.assert_allclose(noise_mean, 0.0, atol=0.03)


def test_filmstrip_spans_zero_to_T_and_animation_has_a_frame_per_step(app):
    at = app("forward", T="100")
    strip = [c for img in at.image for c in img.captions if c.startswith("t = ")]
    assert strip[0] == "t = 0" and strip[-1] == "t = 100" and len(strip) == 9
    animation = json.loads(at.get("plotly_chart")[-1].proto.spec)
    assert len(animation["frames"]) == 31
    assert animation["frames"][-1]["name"] == "100"
    assert animation["frames"][0]["data"][0]["source"].startswith("data:image/png;base64,")


def test_a_shared_url_restores_the_view(app):
    at = app("forward", schedule="cosine", T="500", t="400", size="64", seed="7", flower="3")
    no_exceptions(at)
    assert at.selectbox(key="schedule").value == "cosine"
    assert at.selectbox(key="T").value == 500
    assert at.slider(key="t").value == 400
    assert at.selectbox(key="size").value == 64
    assert at.number_input(key="seed").value == 7
    assert at.radio(key="flower").value == 3
    assert "x_{400}" in latex_numbers(at)


def test_bad_numbers_in_the_url_are_ignored(app):
    at = app("forward", schedule="karras", T="-5", t="banana", size="9999", seed="1e99")
    no_exceptions(at)
    assert at.selectbox(key="schedule").value == "linear"
    assert at.selectbox(key="T").value == 1000
    assert at.slider(key="t").value == 250
    assert at.selectbox(key="size").value == 128


def test_shrinking_T_below_t_clamps_t(app):
    at = app("forward", t="900")
    at.selectbox(key="T").set_value(100).run()
    no_exceptions(at)
    assert at.slider(key="t").value == 100


def test_changing_schedule_changes_the_numbers(app):
    at = app("forward")
    linear = latex_numbers(at)
    at.selectbox(key="schedule").set_value("offset_cosine").run()
    no_exceptions(at)
    assert latex_numbers(at) != linear
    # Offset cosine at t/T = 0.25: signal = cos(acos .95 + .25 (acos .02 - acos .95)).
    signal = math.cos(math.acos(0.95) + 0.25 * (math.acos(0.02) - math.acos(0.95)))
    assert f"x_{{250}} = {signal:.4f}\\cdot x_0" in latex_numbers(at)


def test_forward_page_in_chinese(app):
    at = app("forward", lang="zh")
    no_exceptions(at)
    assert at.title[0].value == "前向过程：从图像到噪声"
    assert "x₀：干净图像" in [c for img in at.image for c in img.captions]
    at.radio(key="lang").set_value("en").run()
    assert at.title[0].value.startswith("Forward process")


def _upload(at, name, data, mime="image/png"):
    at.radio(key="source").set_value("upload").run()
    at.file_uploader[0].upload(name, data, mime).run()
    return at


def test_forward_page_uses_an_uploaded_image(app):
    at = app("forward", size="64")
    flower = at.image[1].value
    img = np.zeros((90, 60, 3), np.uint8)
    img[:, :, 2] = 255  # a blue rectangle, centre-cropped to a square
    _upload(at, "blue.png", png_bytes(img))
    no_exceptions(at)
    assert "Using your image **blue.png**." in texts(at)
    assert at.image[0].value != flower


def test_forward_page_shows_error_for_corrupt_upload_and_keeps_the_previous_image(app):
    at = app("forward", size="64")
    good = np.full((64, 64, 3), 200, np.uint8)
    _upload(at, "good.png", png_bytes(good))
    shown = at.image[0].value
    broken = png_bytes(good)[:60]
    at.file_uploader[0].upload("broken.png", broken, "image/png").run()
    no_exceptions(at)
    assert len(at.error) == 1
    assert "**broken.png** is damaged or incomplete" in at.error[0].value
    assert "Using your image **good.png**." in texts(at)
    assert at.image[0].value == shown


def test_forward_page_refuses_an_image_with_too_many_pixels(app):
    """A decompression bomb: a tiny file that claims 60 megapixels."""
    buf = io.BytesIO()
    Image.new("1", (10_000, 6_000)).save(buf, format="PNG")
    assert len(buf.getvalue()) < 1_000_000
    at = _upload(app("forward"), "bomb.png", buf.getvalue())
    no_exceptions(at)
    assert "**bomb.png** is too large for this lab" in at.error[0].value
    assert "40 MP" in at.error[0].value


def test_forward_page_refuses_a_file_that_is_not_an_image(app):
    at = app("forward", lang="zh")
    _upload(at, "notes.png", b"these are my lecture notes, not a picture")
    no_exceptions(at)
    assert "无法将 **notes.png** 识别为图像" in at.error[0].value
    # Until a good image arrives, the built-in flower stays on screen.
    assert "尚未上传图像" in texts(at)
    assert re.search(r"x_\{250\}", latex_numbers(at))
