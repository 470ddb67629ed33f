"""lab/: URL settings parsing and the pure figure builders."""

import numpy as np
import plotly.graph_objects as go
import pytest

from core.schedules import make_schedule
from lab import figures
from lab.state import Param, flag, int_in, one_of, some_of


@pytest.mark.parametrize("param, raw, expected", [
    (Param("t", 250, int_in(0, 1000)), "700", 700),
    (Param("t", 250, int_in(0, 1000)), "1001", None),
    (Param("t", 250, int_in(0, 1000)), "-1", None),
    (Param("t", 250, int_in(0, 1000)), "7.5", None),
    (Param("t", 250, int_in(0, 1000)), "1e999", None),
    (Param("T", 1000, one_of([10, 1000])), "10", 10),
    (Param("T", 1000, one_of([10, 1000])), "11", None),
    (Param("s", [], some_of(["linear", "cosine"])), "cosine,linear,cosine", ["cosine", "linear"]),
    (Param("s", [], some_of(["linear", "cosine"])), "cosine,evil", None),
    (Param("z", False, flag), "1", True),
    (Param("z", False, flag), "yes", None),
    (Param("t", 250, int_in(0, 1000)), None, None),
])
def test_url_values_parse_or_are_ignored(param, raw, expected):
    assert param.read(raw) == expected


def test_pixel_histogram_is_a_density_with_the_normal_curve():
    x = np.random.default_rng(0).standard_normal(200_000)
    spec = figures.pixel_histogram({"x": x}, normal_label="N", title="T", x_label="v")
    fig = go.Figure(spec)  # validates the spec, as st.plotly_chart does
    bars, curve = fig.data
    width = bars.width
    assert sum(bars.y) * width == pytest.approx(1.0, abs=0.01)
    # The histogram of N(0, 1) draws lies on the N(0, 1) density.
    peak = np.interp(0.0, bars.x, bars.y)
    assert peak == pytest.approx(1 / np.sqrt(2 * np.pi), rel=0.05)
    assert curve.name == "N"


def test_schedule_curves_plot_each_quantity_against_t_over_T():
    s = make_schedule("cosine", T=50)
    fig = figures.schedule_curves({"cos": s}, titles=["a", "b", "c", "d"], x_label="t / T")
    assert len(fig.data) == 4
    np.testing.assert_allclose(fig.data[0].y, s.alphas_cumprod)
    np.testing.assert_allclose(fig.data[3].y, s.log_snr)
    assert fig.data[0].x[0] == pytest.approx(1 / 50) and fig.data[0].x[-1] == 1.0


def test_noising_animation_has_one_frame_per_step_and_play_controls():
    frames = [np.full((8, 8, 3), v, np.float32) for v in (0.0, 0.5, 1.0)]
    fig = figures.noising_animation(frames, [0, 5, 10], play="Play", pause="Pause", step_label="t")
    assert [f.name for f in fig.frames] == ["0", "5", "10"]
    assert [b.label for b in fig.layout.updatemenus[0].buttons] == ["▶ Play", "❚❚ Pause"]
    assert len(fig.layout.sliders[0].steps) == 3
