"""The Reverse denoising page (app_pages/reverse.py), driven through Streamlit's AppTest.

Most tests sample with the ideal denoiser over 100 procedural flowers (numpy only, a
few ms per step); two use the pretrained Keras model with few steps.
"""

import io
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import APP, ROOT, english_sentences, no_exceptions, texts
from core.data import procedural_flowers
from core.forward import to_pixel_range
from core.samplers import IdealDenoiser, noisy_start
from core.schedules import make_schedule
from lab import reverse_view as rv
from lab.images import to_uint8
from lab.inputs import GALLERY_SEED, GALLERY_SIZE

IDEAL = "ideal:100"


@pytest.fixture
def page(monkeypatch):
    """The Reverse page with a chosen model (the ideal denoiser unless told otherwise).

    AppTest drops its media store after each run, so files (images, downloads) and
    deferred downloads are recorded here as they are added."""
    from streamlit.runtime.media_file_manager import MediaFileManager
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    from streamlit.testing.v1 import AppTest

    load, defer = MemoryMediaFileStorage.load_and_get_id, MediaFileManager.add_deferred

    def recording_load(self, path_or_data, mimetype, kind, filename=None):
        file_id = load(self, path_or_data, mimetype, kind, filename)
        MEDIA[file_id] = path_or_data
        return file_id

    def recording_defer(self, data_callable, *args, **kwargs):
        file_id = defer(self, data_callable, *args, **kwargs)
        DEFERRED[file_id] = data_callable
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", recording_load)
    monkeypatch.setattr(MediaFileManager, "add_deferred", recording_defer)

    def make(model=IDEAL, **query):
        at = AppTest.from_file(APP, default_timeout=180)
        at.session_state["model"] = model
        for key, value in query.items():
            at.query_params[key] = str(value)
        at.switch_page("app_pages/reverse.py")
        at.run()
        return at

    return make


MEDIA: dict[str, bytes] = {}
DEFERRED: dict[str, object] = {}


def media(url) -> bytes:
    url = url[0] if isinstance(url, list) else url
    return MEDIA[url.rsplit("/", 1)[-1].split(".")[0]]


def picture(url: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(media(url))).convert("RGB"))


def step_images(at) -> dict[str, np.ndarray]:
    """The four images of the step viewer, by their caption's start."""
    out = {}
    for img in at.image:
        caption = img.captions[0] if img.captions else ""
        for name, prefix in (("x_t", "x_t,"), ("eps", "ε̂"), ("x0", "x̂₀"), ("x_prev", "x_t'")):
            if caption.startswith(prefix):
                out[name] = picture(img.value)
    return out


def latex(at) -> str:
    return " ".join(e.value for e in at.latex)


def step_heading(at) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**Step "))


def trajectory(at) -> rv.Trajectory:
    (run,) = [r for r in at.session_state["_reverse_runs"].values()][-1:]
    return run["traj"]


def test_a_step_shows_x_t_eps_x0_and_x_prev_with_the_numbers_filled_in(page):
    at = page()
    no_exceptions(at)
    assert at.title[0].value.startswith("Reverse denoising")
    assert set(step_images(at)) == {"x_t", "eps", "x0", "x_prev"}
    # The book's sampler: continuous t from 1 to 0 in 20 steps, offset cosine (signal 0.02 at t = 1).
    assert step_heading(at) == "**Step 1 of 20**"
    assert r"t = 1.000 \;\to\; t' = 0.950" in latex(at)
    assert r"\sqrt{\bar\alpha_t} = 0.0200" in latex(at)
    assert r"\sigma = 0.0000" in latex(at)
    assert "x_{0.950} = " in latex(at)
    assert "computed once" in texts(at)
    # All 8 images' x̂0 in a small grid, the shown one marked.
    grid = next(img for img in at.image if len(img.captions) == 8)
    assert grid.captions[0] == "▶ 1" and grid.captions[7] == "8"
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert [d["name"] for d in chart["data"]] == ["change from the previous step",
                                                  "distance to the final image", "this step"]
    assert chart["data"][2]["x"] == [1] and chart["layout"]["shapes"][0]["x0"] == 1


def test_next_previous_first_last_and_the_slider_move_through_the_steps(page):
    at = page(rev_steps=6)
    first = step_images(at)
    assert at.button(key="rev_first").disabled and at.button(key="rev_previous").disabled

    at.button(key="rev_next").click().run()
    no_exceptions(at)
    assert at.slider(key="rev_step").value == 2
    assert step_heading(at) == "**Step 2 of 6**"
    assert r"t = 0.833 \;\to\; t' = 0.667" in latex(at)
    second = step_images(at)
    assert not np.array_equal(second["x_t"], first["x_t"])
    # x_t of step 2 is x_{t-1} of step 1.
    np.testing.assert_array_equal(second["x_t"], first["x_prev"])
    assert at.query_params["rev_step"] in ("2", ["2"])

    at.button(key="rev_previous").click().run()
    assert at.slider(key="rev_step").value == 1
    np.testing.assert_array_equal(step_images(at)["x_t"], first["x_t"])

    at.button(key="rev_last").click().run()
    assert at.slider(key="rev_step").value == 6
    assert at.button(key="rev_next").disabled and at.button(key="rev_last").disabled
    assert r"t = 0.167 \;\to\; t' = 0.000" in latex(at)

    at.button(key="rev_first").click().run()
    assert at.slider(key="rev_step").value == 1

    at.slider(key="rev_step").set_value(4).run()
    no_exceptions(at)
    assert step_heading(at) == "**Step 4 of 6**"
    assert r"t = 0.500 \;\to\; t' = 0.333" in latex(at)


def test_stepping_never_calls_the_model(page, monkeypatch):
    calls = []
    predict = IdealDenoiser.predict

    def counting(self, *args):
        calls.append(1)
        return predict(self, *args)

    monkeypatch.setattr(IdealDenoiser, "predict", counting)
    at = page(rev_steps=5)
    assert len(calls) == 5 and at.session_state["_reverse_computed"] == 1
    at.button(key="rev_next").click().run()
    at.button(key="rev_last").click().run()
    at.slider(key="rev_step").set_value(2).run()
    at.selectbox(key="rev_image").set_value(3).run()
    at.radio(key="lang").set_value("zh").run()
    no_exceptions(at)
    assert len(calls) == 5 and at.session_state["_reverse_computed"] == 1
    # A setting that changes the run does compute again, once.
    at.slider(key="rev_n").set_value(3).run()
    assert len(calls) == 10 and at.session_state["_reverse_computed"] == 2


def test_choosing_another_image_shows_its_pictures(page):
    at = page(rev_steps=4, rev_n=3)
    before = step_images(at)
    at.selectbox(key="rev_image").set_value(3).run()
    no_exceptions(at)
    after = step_images(at)
    assert not np.array_equal(before["x_t"], after["x_t"])
    grid = next(img for img in at.image if len(img.captions) == 3)
    assert grid.captions == ["1", "2", "▶ 3"]


def test_ddpm_disables_eta_and_eta_changes_the_result(page):
    at = page(rev_steps=5, rev_eta="0.5")
    assert not at.slider(key="rev_eta").disabled
    assert r"\sigma = 0.0000" not in latex(at)          # η > 0: fresh noise
    with_eta = step_images(at)["x_prev"]

    at.slider(key="rev_eta").set_value(0.0).run()
    assert r"\sigma = 0.0000" in latex(at)
    assert not np.array_equal(step_images(at)["x_prev"], with_eta)

    at.radio(key="rev_sampler").set_value("ddpm").run()  # η stays 0.5 in the widget
    no_exceptions(at)
    assert at.slider(key="rev_eta").disabled
    assert "η applies to DDIM only" in texts(at)
    assert r"\alpha = \bar\alpha_t/\bar\alpha_{t'}" in latex(at)   # the posterior mean
    assert trajectory(at).sampler == "ddpm" and trajectory(at).eta == 0.0
    # DDPM ignores η: the η left in the widget does not change its run.
    plain = page(rev_steps=5, rev_sampler="ddpm")
    np.testing.assert_array_equal(trajectory(plain).final, trajectory(at).final)


def test_partial_denoising_starts_from_the_chosen_flower_noised_to_t(page):
    at = page(rev_start="flower", rev_flower=2, rev_start_t=300, rev_spacing="trailing",
              rev_steps=10, rev_n=2, rev_seed=5)
    no_exceptions(at)
    # Trailing over the first 300 table steps: 300, 270, ..., 30, then the clean end.
    assert r"t = 300 \;\to\; t' = 270" in latex(at)
    # x_t at step 1 is exactly the flower noised to t = 300 with the seed's noise.
    sched = make_schedule("offset_cosine", 1000)
    flower = procedural_flowers(GALLERY_SIZE, size=32, seed=GALLERY_SEED)[2]
    noise = rv.initial_noise(2, (32, 32, 3), 5)
    x = noisy_start(np.repeat((flower * 2 - 1)[None], 2, 0), noise, sched, 299, "trailing")
    np.testing.assert_array_equal(step_images(at)["x_t"], to_uint8(to_pixel_range(x[0])))

    at.button(key="rev_last").click().run()
    assert r"t = 30 \;\to\; t' = 0" in latex(at)


def test_too_many_steps_for_a_partial_start_is_a_clear_message(page):
    at = page(rev_start="flower", rev_start_t=30, rev_spacing="trailing", rev_steps=50)
    no_exceptions(at)
    assert len(at.error) == 1
    assert "**50 steps do not fit.**" in at.error[0].value and "at most 30" in at.error[0].value
    assert step_images(at) == {}
    # The continuous grid has no such limit.
    at.selectbox(key="rev_spacing").set_value("continuous").run()
    no_exceptions(at)
    assert not at.error and step_heading(at) == "**Step 1 of 50**"


def test_a_shared_url_restores_the_view(page):
    at = page(rev_sampler="ddpm", rev_steps=12, rev_spacing="linspace", rev_seed=3, rev_n=4,
              rev_step=5, rev_image=2, lang="zh")
    no_exceptions(at)
    assert at.radio(key="rev_sampler").value == "ddpm"
    assert at.number_input(key="rev_steps").value == 12
    assert at.selectbox(key="rev_spacing").value == "linspace"
    assert at.number_input(key="rev_seed").value == 3
    assert at.slider(key="rev_n").value == 4
    assert at.slider(key="rev_step").value == 5
    assert at.selectbox(key="rev_image").value == 2
    assert any(m.value == "**第 5 步，共 12 步**" for m in at.markdown)
    # linspace(999, 0, 12): the 5th timestep is round(999 - 4·999/11) = 636, i.e. t = 637.
    assert r"t = 637 \;\to\;" in latex(at)


def test_bad_url_values_are_ignored(page):
    at = page(rev_sampler="euler", rev_steps="0", rev_eta="nan", rev_spacing="karras",
              rev_n="99", rev_seed="-4", rev_start="moon", rev_start_t="1e9", rev_step="banana",
              rev_image="x")
    no_exceptions(at)
    assert at.radio(key="rev_sampler").value == "ddim"
    assert at.number_input(key="rev_steps").value == 20
    assert at.slider(key="rev_eta").value == 0.0
    assert at.selectbox(key="rev_spacing").value == "continuous"
    assert at.slider(key="rev_n").value == 8
    assert at.number_input(key="rev_seed").value == 0
    assert at.radio(key="rev_start").value == "noise"
    assert at.slider(key="rev_step").value == 1
    # A step beyond the run is brought back to its last step.
    at = page(rev_steps=5, rev_step=400)
    no_exceptions(at)
    assert at.slider(key="rev_step").value == 5


def test_long_runs_keep_evenly_spaced_steps_and_step_between_them(page, monkeypatch):
    monkeypatch.setattr(rv, "MAX_TRAJECTORY_BYTES", 4 * 2 * 32 * 32 * 3 * 10)  # 10 steps of 2
    at = page(rev_steps=30, rev_n=2)
    no_exceptions(at)
    kept = [int(k) + 1 for k in trajectory(at).kept]
    assert len(kept) == 10 and kept[0] == 1 and kept[-1] == 30
    assert "10 evenly spaced steps of 30" in texts(at)
    at.button(key="rev_next").click().run()
    no_exceptions(at)
    assert at.select_slider(key="rev_step").value == kept[1]
    assert step_heading(at) == f"**Step {kept[1]} of 30**"


def test_the_gif_has_a_frame_per_step_and_the_png_is_the_final_grid(page):
    at = page(rev_steps=6, rev_n=3)
    gif_button = at.download_button(key="rev_gif")
    gif = Image.open(io.BytesIO(DEFERRED[gif_button.proto.deferred_file_id]()))
    assert gif.format == "GIF"
    assert gif.n_frames == 6 + 1  # the start, then one frame per step
    # 3 tiles of 32 px in one row with 1 px gaps, enlarged 4 times, and a progress bar.
    assert gif.size == ((3 * 32 + 2) * 4, 32 * 4 + rv.GRID_GAP + rv.GIF_BAR_PX)
    gif.seek(6)
    last = np.asarray(gif.convert("RGB"))
    final = trajectory(at).final
    assert np.abs(last[:128:4, :128:4].astype(int) - final[0]).mean() < 8  # the result, ~lossless

    png = Image.open(io.BytesIO(media(at.download_button(key="rev_png").proto.url)))
    assert png.format == "PNG" and png.size == (3 * 64 + 2 * 2, 64)
    np.testing.assert_array_equal(np.asarray(png.convert("RGB"))[:64, :64],
                                  final[0].repeat(2, 0).repeat(2, 1))

    animation = json.loads(at.get("plotly_chart")[-1].proto.spec)
    assert [f["name"] for f in animation["frames"]] == [str(k) for k in range(7)]


def test_chinese_page_has_no_english_sentences(page):
    at = page(rev_start="flower", rev_sampler="ddpm", lang="zh")
    no_exceptions(at)
    assert at.title[0].value == "反向去噪：从噪声到花朵，一步一步"
    shown = texts(at) + "\n".join(
        [w.label for w in (*at.slider, *at.selectbox, *at.radio, *at.number_input,
                           *at.button, *at.download_button)]
        + [w.help or "" for w in (*at.slider, *at.selectbox, *at.radio, *at.number_input)]
        + [c for img in at.image for c in img.captions])
    assert english_sentences(shown) == []
    assert "第 1 步，共 20 步" in shown


def test_pretrained_model_gives_finite_flowers_and_steps_after_a_rerun(page):
    at = page(model="pretrained", rev_steps=3, rev_n=2)
    no_exceptions(at)
    assert not at.error
    traj = trajectory(at)
    assert np.all(np.isfinite(traj.change[1:])) and np.all(np.isfinite(traj.distance))
    assert traj.final.std() > 10  # a picture, not a flat grey
    at.button(key="rev_next").click().run()  # Keras was reset after the last run
    no_exceptions(at)
    assert step_heading(at) == "**Step 2 of 3**"


# ---------------------------------------------------------------------------------------
# lab/reverse_view.py on its own
# ---------------------------------------------------------------------------------------


class _NoiseNet:
    """An ε-predicting stand-in for a Keras model (what predicts_noise looks for)."""

    image_shape = (8, 8, 3)
    model = type("M", (), {"prediction": "eps"})()

    def predict(self, x, noise_rates, signal_rates):
        eps = np.zeros_like(x)
        return eps, x / signal_rates.reshape(-1, 1, 1, 1)

    to_pixels = staticmethod(to_pixel_range)

    @staticmethod
    def from_pixels(images01):
        return images01 * 2 - 1


def test_zero_terminal_snr_with_an_eps_model_is_refused_before_any_step():
    sched = make_schedule("linear", 1000, zero_terminal_snr=True)
    with pytest.raises(rv.SettingsError) as err:
        rv.compute_trajectory(_NoiseNet(), sched, n=1, steps=5, sampler="ddim", eta=0.0,
                              spacing="trailing", seed=0)
    assert err.value.code == "zero_snr"
    # One step in (a flower at t < T), it samples.
    traj = rv.compute_trajectory(_NoiseNet(), sched, n=1, steps=5, sampler="ddim", eta=0.0,
                                 spacing="trailing", seed=0, start_image01=np.full((8, 8, 3), .5),
                                 start_t=900)
    assert traj.steps == 5


def test_a_model_that_returns_nan_gets_a_message_not_a_traceback():
    class Broken(_NoiseNet):
        def predict(self, x, noise_rates, signal_rates):
            return np.full_like(x, np.nan), np.full_like(x, np.nan)

    with pytest.raises(rv.SettingsError) as err:
        rv.compute_trajectory(Broken(), make_schedule("cosine", 1000), n=1, steps=3,
                              sampler="ddim", eta=0.0, spacing="continuous", seed=0)
    assert err.value.code == "not_finite" and err.value.params == {"step": 1}


def test_gif_frames_stay_distinct_and_long_runs_are_subsampled():
    traj = rv.compute_trajectory(_NoiseNet(), make_schedule("cosine", 1000), n=1, steps=150,
                                 sampler="ddim", eta=0.0, spacing="trailing", seed=0)
    gif = Image.open(io.BytesIO(rv.gif_bytes(traj)))
    assert gif.n_frames == rv.GIF_MAX_FRAMES  # not merged, though late frames look alike


def test_reverse_page_with_the_ideal_denoiser_leaves_tensorflow_unimported():
    script = r"""
import json, sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("streamlit_app.py", default_timeout=120)
at.session_state["model"] = "ideal:100"
at.query_params["rev_steps"] = "3"
at.switch_page("app_pages/reverse.py")
at.run()
assert not at.exception, [e.message for e in at.exception]
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))))
"""
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_a_single_step_run_has_no_slider_and_no_way_forward(page):
    at = page(rev_steps=1, rev_n=1)
    no_exceptions(at)
    assert step_heading(at) == "**Step 1 of 1**"
    assert not [s for s in at.slider if s.key == "rev_step"]
    assert at.button(key="rev_next").disabled and at.button(key="rev_first").disabled
    assert r"t = 1.000 \;\to\; t' = 0.000" in latex(at)
