"""The home page (app_pages/home.py), driven through Streamlit's AppTest.

The home page is the default page, so app() with no page opens it, as "/" does.
"""

import io
import json
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, english_sentences, no_exceptions, texts

PAGES = {"forward", "schedules", "reverse", "explorer", "anatomy"}
TIMING = re.compile(r"Made in \*\*(\d+\.\d\d) s\*\* \(20 denoising steps\)\.")
GRID_CAPTION = re.compile(r"16 flowers denoised from noise seed (\d+)")
NOISE_CAPTION = re.compile(r"16 noise images x₁₀₀₀ \(seed (\d+)\): the button turns them into "
                           r"flowers\.")
GRID_TILES, TILE, GAP, SCALE = 4, 32, 2, 4
GRID_PX = (GRID_TILES * TILE + (GRID_TILES - 1) * GAP) * SCALE
STRIP_TILE, STRIP_GAP, STRIP_BAND = 128, 56, 30
STRIP_W, STRIP_H = 5 * STRIP_TILE + 4 * STRIP_GAP, STRIP_TILE + STRIP_BAND


@pytest.fixture
def media(monkeypatch):
    """Every file the app hands to the media manager, as (bytes, mimetype), in order."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    added = []
    original = MediaFileManager.add

    def add(self, path_or_data, mimetype, *args, **kwargs):
        added.append((path_or_data, mimetype))
        return original(self, path_or_data, mimetype, *args, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add", add)
    return added


def captions(at) -> list[str]:
    return [c for img in at.image for c in img.captions if c]


def _strips(media) -> list[Image.Image]:
    """The picture's two strips: 5 tiles of 64 px drawn at 128 px, 56 px apart."""
    return [img for img in (Image.open(io.BytesIO(data)) for data, mime in media
                            if mime == "image/png") if img.size == (STRIP_W, STRIP_H)]


def _tiles(strip: Image.Image) -> list[np.ndarray]:
    rgb = np.asarray(strip.convert("RGB"), dtype=np.float32) / 255
    step = STRIP_TILE + STRIP_GAP
    return [rgb[:STRIP_TILE:2, i * step: i * step + STRIP_TILE:2] for i in range(5)]


def roughness(img: np.ndarray) -> float:
    """Mean difference between neighbouring pixels: small for a flower, large for noise."""
    return float(np.abs(np.diff(img, axis=1)).mean())


def test_home_explains_forward_and_reverse_with_real_images(app, media):
    at = app()
    no_exceptions(at)
    assert at.title[0].value == "🌸 Diffusion Lab"
    assert "**Forward process**" in texts(at) and "**Reverse process**" in texts(at)
    # Exact pixels: PNG, never Streamlit's default JPEG, which would smear the noise.
    assert len(at.image) == 3
    assert all(url.endswith(".png") for img in at.image for url in img.value)
    forward_strip, reverse_strip = _strips(media)
    ahead, back = _tiles(forward_strip), _tiles(reverse_strip)
    # Forward, t = 0 ... 1000 left to right: a smooth flower dissolves into noise.
    rough = [roughness(x) for x in ahead]
    assert rough == sorted(rough) and rough[-1] > 5 * rough[0]
    # Reverse, drawn under it with x_T on the right: noise on the right, a clean flower on
    # the left, and another flower than the one noised above (fresh noise, new image).
    rough = [roughness(x) for x in back]
    assert rough == sorted(rough) and rough[-1] > 5 * rough[0]
    assert np.abs(back[0] - ahead[0]).mean() > 0.05
    # Arrows between the tiles: the forward ones point right, the reverse ones left.
    for strip, pointing in ((forward_strip, "right"), (reverse_strip, "left")):
        alpha = np.asarray(strip)[:, :, 3]
        gap = alpha[:STRIP_TILE, STRIP_TILE: STRIP_TILE + STRIP_GAP] > 0
        cols = gap.sum(axis=0)  # the head is the tall end of the arrow
        tall = np.flatnonzero(cols == cols.max())
        assert (tall.mean() > STRIP_GAP / 2) == (pointing == "right")
    assert not at.button(key="generate").value
    # Before any click, the Generate panel shows the noise it will start from.
    assert NOISE_CAPTION.fullmatch(at.image[2].captions[0])
    noise = _grid(media)
    assert roughness(noise[:TILE * SCALE:SCALE, :TILE * SCALE:SCALE] / 255) > 0.2


def test_home_has_a_card_linking_to_each_page(app):
    at = app()
    links = {link.proto.page: link.value for link in at.page_link}
    assert set(links) == PAGES
    assert links["forward"] == "**Forward process**"
    assert links["anatomy"] == "**Model anatomy**"
    cards = " ".join(c.value for c in at.caption)
    for phrase in ("dissolve into noise", "offset cosine", "Step through sampling",
                   "spherical interpolation", "sinusoidal embedding"):
        assert phrase in cards


def test_home_in_chinese(app):
    at = app(lang="zh")
    no_exceptions(at)
    assert at.title[0].value == "🌸 扩散实验室"
    assert "**前向过程**" in texts(at) and "**反向过程**" in texts(at)
    assert captions(at)[0].startswith("16 幅噪声图像 x₁₀₀₀（种子 ")
    assert {link.value for link in at.page_link} == {
        "**前向过程**", "**噪声调度**", "**反向去噪**", "**采样探索**", "**模型解剖**"}
    assert at.button(key="generate").label == "生成花朵"
    # No English sentence left over on the Chinese page (as in test_i18n; names aside).
    shown = "\n".join([texts(at), *captions(at), *(link.value for link in at.page_link),
                       at.button(key="generate").label])
    assert english_sentences(shown) == []


def _grid(media) -> np.ndarray:
    [grid] = [np.asarray(Image.open(io.BytesIO(data))) for data, mime in media
              if mime == "image/png" and Image.open(io.BytesIO(data)).size == (GRID_PX, GRID_PX)]
    return grid


def test_generate_shows_sixteen_new_flowers_and_the_time_it_took(app, media):
    at = app()
    [noise_seed] = NOISE_CAPTION.fullmatch(captions(at)[0]).groups()
    noise = _grid(media)
    media.clear()
    at.button(key="generate").click().run()
    no_exceptions(at)
    assert not at.error
    grid = _grid(media)
    # 4 × 4 tiles of 32 px, shown 4× larger, separated by white lines.
    step = (TILE + GAP) * SCALE
    for k in range(1, GRID_TILES):
        assert (grid[k * step - GAP * SCALE: k * step] == 255).all()
        assert (grid[:, k * step - GAP * SCALE: k * step] == 255).all()
    tiles = [grid[r * step: r * step + TILE * SCALE, c * step: c * step + TILE * SCALE]
             for r in range(GRID_TILES) for c in range(GRID_TILES)]
    assert all(tile.std() > 10 for tile in tiles)  # pictures, not blank or flat squares
    assert len({tile.tobytes() for tile in tiles}) == 16
    # Flowers are smooth where the noise they came from was not.
    assert roughness(grid.astype(np.float32)) < roughness(noise.astype(np.float32)) / 3
    # They were denoised from the very noise shown before the click.
    [seed] = [GRID_CAPTION.fullmatch(c).group(1) for c in captions(at) if GRID_CAPTION.fullmatch(c)]
    assert seed == noise_seed
    [timing] = [m.value for m in at.markdown if TIMING.fullmatch(m.value)]
    assert 0 < float(TIMING.fullmatch(timing).group(1)) < 60
    assert not any(NOISE_CAPTION.fullmatch(c) for c in captions(at))

    # Another click: new noise, new flowers.
    media.clear()
    at.button(key="generate").click().run()
    no_exceptions(at)
    [seed2] = [GRID_CAPTION.fullmatch(c).group(1) for c in captions(at) if GRID_CAPTION.fullmatch(c)]
    assert seed2 != seed
    assert not np.array_equal(_grid(media), grid)
    assert len([m for m in at.markdown if TIMING.fullmatch(m.value)]) == 1

    # The flowers stay when the language changes (no new sample, same seed).
    at.session_state["lang"] = "zh"
    at.run()
    no_exceptions(at)
    assert f"由噪声种子 {seed2} 去噪得到的 16 朵花" in captions(at)
    assert any(m.value.startswith("用时 **") for m in at.markdown)


def test_generate_without_the_pretrained_model_says_so(app, monkeypatch, tmp_path):
    monkeypatch.setattr("lab.models.PRETRAINED", tmp_path / "missing")
    at = app()
    at.button(key="generate").click().run()
    no_exceptions(at)
    assert len(at.error) == 1
    assert at.error[0].value.startswith("The pretrained model cannot be loaded: missing is "
                                        "not a model bundle")


SCRIPT = r"""
import json, sys
from streamlit.testing.v1 import AppTest
def heavy():
    return sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
at = AppTest.from_file("streamlit_app.py", default_timeout=120)
at.run()
assert not at.exception, [e.message for e in at.exception]
assert at.title[0].value.endswith("Diffusion Lab")
before = heavy()
at.button(key="generate").click().run()
assert not at.exception, [e.message for e in at.exception]
print(json.dumps({"before": before, "after": heavy()[:3]}))
"""


def test_home_leaves_tensorflow_unimported_until_generate():
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["before"] == []
    assert "tensorflow" in result["after"] or "keras" in result["after"]
