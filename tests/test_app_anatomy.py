"""The Model anatomy page (app_pages/anatomy.py) and its figure builders (lab/anatomy_view.py)."""

import base64
import json

import numpy as np
import pytest

from conftest import app_with_broken_model, english_sentences, no_exceptions, open_app, texts
from lab import anatomy_view

IDEAL = "ideal:100"
BOOK = {"widths": [32, 64, 96], "block_depth": 2, "bottleneck_width": 128,
        "embedding_dims": 32, "embedding_max_frequency": 1000.0}
TINY = {**BOOK, "widths": [16, 32, 64], "bottleneck_width": 64}


@pytest.fixture
def anatomy():
    """The anatomy page with a chosen model already selected on the first run."""
    def make(model="pretrained", **query):
        return open_app("anatomy", session={"model": model}, **query)
    return make


def charts(at):
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def heatmap_z(at) -> np.ndarray:
    """The z values of the embedding heatmap (Plotly sends numpy arrays as base64)."""
    trace = next(d for spec in charts(at) for d in spec["data"] if d["type"] == "heatmap")
    z = trace["z"]
    if isinstance(z, dict):
        flat = np.frombuffer(base64.b64decode(z["bdata"]), dtype=np.dtype(z["dtype"]))
        return flat.reshape([int(s) for s in str(z["shape"]).split(",")])
    return np.asarray(z, dtype=np.float32)


def diagram(at) -> dict:
    return next(spec for spec in charts(at)
                if any(s.get("name", "").startswith("skip:")
                       for s in spec["layout"].get("shapes", [])))


def metrics(at) -> list[str]:
    return [m.value for m in at.metric]


def feature_tiles(at):
    return [img for img in at.image if img.captions and img.captions[0] == "ch 0"]


# ---------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------


def test_pretrained_tiny_model_has_653763_parameters_and_its_own_diagram(anatomy):
    at = anatomy()
    no_exceptions(at)
    assert metrics(at) == ["653,763", "652,099", "1,664"]
    fig = diagram(at)
    skips = [a["text"] for a in fig["layout"]["annotations"]
             if a.get("name", "").startswith("skip_label:")]
    assert skips == ["skip: 2×16 ch", "skip: 2×32 ch", "skip: 2×64 ch"]
    boxes = {a["name"]: a["text"] for a in fig["layout"]["annotations"]
             if a.get("name", "").startswith("box:")}
    assert "64 ch<br>4×4" in boxes["box:mid"] and "32→16" in boxes["box:down0"]
    table = at.dataframe[0].value
    assert list(table.columns) == ["layer", "type", "output shape", "parameters"]
    assert table["parameters"].sum() == 653_763
    assert table.set_index("layer").loc["mid_res1_add", "output shape"] == "(4, 4, 64)"


def test_book_preset_has_1953507_parameters(anatomy):
    at = anatomy(an_net="book")
    no_exceptions(at)
    assert metrics(at) == ["1,953,507", "1,950,627", "2,880"]
    table = at.dataframe[0].value.set_index("layer")
    assert table.loc["mid_res1_add", "output shape"] == "(8, 8, 128)"  # 64 px, 3 levels
    assert table.loc["noise_embedding", "type"] == "SinusoidalEmbedding"
    at.radio(key="an_net").set_value("tiny").run()
    assert metrics(at)[0] == "653,763"
    assert at.query_params["an_net"] in ("tiny", ["tiny"])


def test_ideal_denoiser_shows_the_books_network_and_says_it_has_no_layers(anatomy):
    at = anatomy(IDEAL)
    no_exceptions(at)
    assert "The ideal denoiser is a formula over its training images" in at.info[0].value
    assert metrics(at)[0] == "1,953,507"
    assert "has no layers and so no feature maps" in at.info[1].value
    assert feature_tiles(at) == []


def test_embedding_heatmap_follows_dimension_and_frequency_and_matches_the_keras_layer(anatomy):
    from core.unet import SinusoidalEmbedding

    at = anatomy(IDEAL)
    z32 = heatmap_z(at)
    assert z32.shape == (32, anatomy_view.HEATMAP_POINTS)
    at.select_slider(key="an_dims").set_value(64).run()
    z64 = heatmap_z(at)
    assert z64.shape == (64, anatomy_view.HEATMAP_POINTS)
    v = np.linspace(0.0, 1.0, anatomy_view.HEATMAP_POINTS, dtype=np.float32)
    layer = SinusoidalEmbedding(64, 1.0, 1000.0)
    keras_z = np.asarray(layer(v.reshape(-1, 1, 1, 1))).reshape(len(v), 64).T
    np.testing.assert_allclose(z64, keras_z, atol=2e-4)
    at.select_slider(key="an_freq").set_value(10).run()
    z_slow = heatmap_z(at)
    assert z_slow.shape == (64, anatomy_view.HEATMAP_POINTS) and not np.allclose(z_slow, z64)
    keras_slow = np.asarray(SinusoidalEmbedding(64, 1.0, 10.0)(v.reshape(-1, 1, 1, 1)))
    np.testing.assert_allclose(z_slow, keras_slow.reshape(len(v), 64).T, atol=2e-4)
    assert "pairing it with the cosine" in texts(at)


def test_feature_maps_render_for_the_pretrained_model(anatomy):
    at = anatomy()
    no_exceptions(at)
    tiles = feature_tiles(at)
    assert len(tiles) == 1 and tiles[0].captions == [f"ch {k}" for k in range(16)]
    assert "**down0_res1_add** outputs 32×32 pixels × 16 channels." in texts(at)
    first = tiles[0].value
    at.selectbox(key="an_layer").set_value("mid_res0_add").run()
    no_exceptions(at)
    assert "**mid_res0_add** outputs 4×4 pixels × 64 channels." in texts(at)
    assert feature_tiles(at)[0].value != first
    at.selectbox(key="an_layer").set_value("output_conv").run()
    assert feature_tiles(at)[0].captions == ["ch 0", "ch 1", "ch 2"]
    # The embedding is one vector per image: a bar chart, not pictures.
    at.selectbox(key="an_layer").set_value("noise_embedding").run()
    no_exceptions(at)
    bars = next(d for spec in charts(at) for d in spec["data"] if d["type"] == "bar")
    assert len(bars["y"]) == 32
    # ... and equals the numpy embedding of the noise variance at t = 0.25.
    variance = 1.0 - np.cos(np.arccos(0.95) + 0.25 * (np.arccos(0.02) - np.arccos(0.95)))**2
    expected = anatomy_view.sinusoidal_embedding([variance], 32, 1000.0)[0]
    np.testing.assert_allclose(bars["y"], expected, atol=2e-3)
    before = at.image[0].value
    at.select_slider(key="an_t").set_value(0.75).run()
    assert at.image[0].value != before  # a noisier input


def test_a_shared_url_restores_the_settings(anatomy):
    at = anatomy(an_net="small", an_dims="16", an_freq="100", an_layer="up1_res0_add",
                 an_flower="3", an_t="0.6", an_seed="5")
    no_exceptions(at)
    assert at.radio(key="an_net").value == "small"
    assert at.select_slider(key="an_dims").value == 16
    assert at.select_slider(key="an_freq").value == 100
    assert at.selectbox(key="an_layer").value == "up1_res0_add"
    assert at.select_slider(key="an_flower").value == 3
    assert at.select_slider(key="an_t").value == 0.6
    assert at.number_input(key="an_seed").value == 5
    assert heatmap_z(at).shape[0] == 16


def test_bad_values_in_the_url_are_ignored(anatomy):
    at = anatomy(an_net="huge", an_dims="33", an_freq="1e9", an_layer="no_such_layer",
                 an_flower="99", an_t="0.33", an_seed="-1")
    no_exceptions(at)
    assert not at.error
    assert at.radio(key="an_net").value == "model"
    assert at.select_slider(key="an_dims").value == 32
    assert at.select_slider(key="an_freq").value == 1000
    assert at.selectbox(key="an_layer").value == "down0_res1_add"
    assert at.select_slider(key="an_flower").value == 0
    assert at.select_slider(key="an_t").value == 0.25
    assert at.number_input(key="an_seed").value == 0
    at2 = anatomy(an_layer="<script>")
    no_exceptions(at2)
    assert at2.selectbox(key="an_layer").value == "down0_res1_add"


def test_anatomy_in_chinese_has_no_english_sentences(anatomy):
    at = anatomy(lang="zh")
    no_exceptions(at)
    assert at.title[0].value == "模型解剖：U-Net 的内部"
    shown = texts(at) + "\n".join(
        [w.label for w in (*at.select_slider, *at.selectbox, *at.radio, *at.number_input)]
        + [c for img in at.image for c in img.captions]
        + [m.label for m in at.metric] + list(at.dataframe[0].value.columns))
    fig = diagram(at)
    shown += "\n".join(a["text"] for a in fig["layout"]["annotations"])
    assert english_sentences(shown) == []
    assert "跳跃：2×16 通道" in shown and "通道 0" in shown


# ---------------------------------------------------------------------------------------
# The figure builders
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("dims,max_frequency", [(32, 1000.0), (8, 10.0), (128, 10000.0)])
def test_numpy_embedding_equals_the_keras_layer(dims, max_frequency):
    from core.unet import SinusoidalEmbedding

    v = np.random.default_rng(0).uniform(0, 1, 64).astype(np.float32)
    ours = anatomy_view.sinusoidal_embedding(v, dims, max_frequency)
    theirs = np.asarray(SinusoidalEmbedding(dims, 1.0, max_frequency)(v.reshape(-1, 1, 1, 1)))
    assert ours.shape == (64, dims)
    np.testing.assert_allclose(ours, theirs.reshape(64, dims), atol=2e-4)


def test_embedding_rows_are_sin_then_cos_of_log_spaced_frequencies():
    e = anatomy_view.sinusoidal_embedding([0.0, 0.25], 8, 1000.0)
    np.testing.assert_allclose(e[0], [0, 0, 0, 0, 1, 1, 1, 1], atol=1e-7)
    np.testing.assert_allclose(anatomy_view.embedding_frequencies(8, 1000.0), [1, 10, 100, 1000])
    np.testing.assert_allclose(e[1, 0], np.sin(2 * np.pi * 0.25), atol=1e-6)  # f = 1
    with pytest.raises(ValueError, match="even"):
        anatomy_view.embedding_frequencies(7, 1000.0)


def _labels():
    keys = ("image", "variance", "variance_hover", "embedding", "embedding_hover", "stem",
            "stem_hover", "down", "down_hover", "mid", "mid_hover", "up", "up_hover",
            "output", "output_hover", "skip", "params", "ch")
    from lab.i18n import translate
    return {k: translate(f"anatomy.d.{k}", "en") for k in keys}


@pytest.mark.parametrize("widths", [[32, 64, 96], [16, 32], [8, 16, 32, 64]])
def test_diagram_has_a_box_per_block_and_a_skip_per_level(widths):
    config = {**BOOK, "widths": widths}
    fig = anatomy_view.unet_diagram(config, 64, 3, _labels()).to_plotly_json()
    rects = [s for s in fig["layout"]["shapes"] if s["type"] == "rect"]
    skips = [s for s in fig["layout"]["shapes"] if s.get("name", "").startswith("skip:")]
    levels = len(widths)
    assert len(rects) == 4 + 2 * levels + 1 + 1  # inputs, embedding, stem | U | output
    assert [s["name"] for s in skips] == [f"skip:down{i}>up{i}" for i in range(levels)]
    # Each skip joins a down block and the up block at the same resolution (same height).
    assert all(s["y0"] == s["y1"] for s in skips)
    edges = [a["name"] for a in fig["layout"]["annotations"]
             if a.get("name", "").startswith("edge:")]
    assert f"edge:down{levels - 1}>mid" in edges and "edge:mid>up%d" % (levels - 1) in edges
    assert "edge:up0>output" in edges


def test_layer_table_groups_add_up_to_the_total():
    from core.unet import build_unet

    table = anatomy_view.layer_table(build_unet(32, **TINY))
    assert table["total"] == 653_763
    assert sum(table["groups"].values()) == table["total"]
    assert sum(r["params"] for r in table["rows"]) == table["total"]
    assert table["groups"]["mid"] > table["groups"]["down0"]
    assert {r["group"] for r in table["rows"]} >= {"input", "embedding", "stem", "down0", "mid",
                                                   "up0", "output"}


def test_feature_tiles_stretch_each_channel_to_its_own_range():
    maps = np.zeros((4, 4, 20), np.float32)
    maps[..., 0] = np.arange(16).reshape(4, 4)
    maps[..., 1] = 7.0  # flat
    tiles, ranges = anatomy_view.feature_tiles(maps, 16)
    assert len(tiles) == 16 and tiles[0].shape == (4, 4, 3)
    assert ranges[0] == (0.0, 15.0)
    np.testing.assert_allclose(tiles[0][0, 0], anatomy_view.colormap(0.0))
    np.testing.assert_allclose(tiles[0][3, 3], anatomy_view.colormap(1.0))
    assert np.all(np.ptp(tiles[1], axis=(0, 1)) == 0.0)  # one colour
    assert len(anatomy_view.feature_tiles(maps[..., :3])[0]) == 3


def test_a_model_that_no_longer_loads_still_shows_its_architecture(tmp_path):
    at = app_with_broken_model(tmp_path, "anatomy")
    no_exceptions(at)
    assert metrics(at)[0] == "653,763"  # from the bundle's metadata
    assert len(at.error) == 1 and at.error[0].value.startswith("The model could not be loaded")
    assert feature_tiles(at) == []
