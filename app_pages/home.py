"""Home: what a diffusion model does, a button that makes flowers, and a card per page.

TensorFlow is imported only when "Generate flowers" is clicked (lab.models loads
Keras lazily), so the page opens as fast as the numpy-only pages.
"""

import io
import secrets
import time

import numpy as np
import streamlit as st

from core import forward
from core.data import flower_grid, procedural_flowers
from core.samplers import IdealDenoiser, trajectory
from core.schedules import make_schedule
from lab import inputs, models
from lab.i18n import t
from lab.images import png_bytes

# The picture: a built-in flower noised at these steps (1-based, core.forward),
# and the reverse process from fresh noise through the same steps.
PICTURE_STEPS = (0, 250, 500, 750, 1000)
PICTURE_SIZE = 64
PICTURE_FLOWER = 2          # a gallery flower that reads well at every noise level
PICTURE_NOISE_SEED = 7
PICTURE_REVERSE_SEED = 2    # fresh noise for the reverse row
PICTURE_IDEAL_FLOWERS = 100
PICTURE_STEPS_REVERSE = 20
ROW_SCALE = 2               # 64 px tiles drawn at 128 px: the browser only ever shrinks them
ROW_GAP = 56                # room for an arrow between two tiles
ROW_LABEL_BAND = 30         # "t = 250" under each tile
ROW_FONT_PX = 19
LABEL_RGB = (95, 107, 110)
ARROW_RGB = (59, 122, 120)  # the theme's primary colour
# Generate: the book's sampler on the pretrained model.
GENERATE_COUNT = 16
GENERATE_STEPS = 20
PRETRAINED_SIZE = 32        # image size of the shipped model (assets/models/flowers32)
GRID_COLS = 4
GRID_SCALE = 4              # 32 px tiles shown as 128 px: crisp squares in any browser
# Every st.image below passes output_format="PNG": by default Streamlit re-encodes an RGB
# image as JPEG, which smears noise.
MAX_SEED = 2**31 - 1
RESULT = "_home_flowers"    # session_state: the last generated grid
NEXT_SEED = "_home_next_seed"  # session_state: the noise the next click denoises

CARDS = [  # (page file, nav string, icon), as in streamlit_app.py
    ("app_pages/forward.py", "nav.forward", "🌫️"),
    ("app_pages/schedules.py", "nav.schedules", "📉"),
    ("app_pages/reverse.py", "nav.reverse", "🔁"),
    ("app_pages/explorer.py", "nav.explorer", "🧭"),
    ("app_pages/anatomy.py", "nav.anatomy", "🧬"),
]


@st.cache_data(show_spinner=False, max_entries=1)
def picture() -> tuple[bytes, bytes]:
    """The forward strip (x0 ... x_T) and the reverse strip (x0 ... x_T, run right to left).

    The reverse row is a real sampling run: 20 DDIM steps of the ideal denoiser of
    100 built-in flowers (numpy only), from fresh noise. With trailing spacing over
    T = 1000 its steps land exactly on 750, 500 and 250.
    """
    sched = make_schedule("offset_cosine", 1000)
    x0 = forward.to_model_range(inputs.gallery(PICTURE_SIZE)[PICTURE_FLOWER])
    eps = forward.sample_noise(x0.shape, PICTURE_NOISE_SEED)
    steps = np.array(PICTURE_STEPS)
    noised = forward.add_noise(np.repeat(x0[None], len(steps), 0),
                               np.repeat(eps[None], len(steps), 0), steps, sched)
    ahead = [forward.to_pixel_range(x) for x in noised]

    denoiser = IdealDenoiser(procedural_flowers(PICTURE_IDEAL_FLOWERS, size=PICTURE_SIZE))
    x_T = forward.sample_noise((1, PICTURE_SIZE, PICTURE_SIZE, 3), PICTURE_REVERSE_SEED)
    states = {sched.T: x_T[0]}  # keyed by 1-based step, like core.forward
    for step in trajectory(denoiser, sched, x_T, steps=PICTURE_STEPS_REVERSE, spacing="trailing"):
        states[int(step.t_prev) + 1] = step.x_prev[0]
    back = [forward.to_pixel_range(states[s]) for s in PICTURE_STEPS]
    labels = [f"t = {s}" for s in PICTURE_STEPS]
    return row_png(ahead, labels, "→"), row_png(back, labels, "←")


def row_png(images01, labels, arrow: str) -> bytes:
    """One strip: the images left to right, an arrow between each pair ("→" or "←"),
    a label under each. One image scales with the window as a whole, where a row of
    columns would squeeze and wrap on a narrow one."""
    from PIL import Image, ImageDraw, ImageFont

    tile, gap, band = PICTURE_SIZE * ROW_SCALE, ROW_GAP, ROW_LABEL_BAND
    strip = Image.new("RGBA", (len(images01) * tile + (len(images01) - 1) * gap, tile + band))
    draw = ImageDraw.Draw(strip)
    font = ImageFont.load_default(size=ROW_FONT_PX)
    mid = tile // 2
    for i, (img, label) in enumerate(zip(images01, labels)):
        x = i * (tile + gap)
        pixels = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
        strip.paste(Image.fromarray(pixels).resize((tile, tile), Image.NEAREST), (x, 0))
        draw.text((x + tile / 2, tile + band / 2), label, fill=LABEL_RGB, font=font, anchor="mm")
        if i + 1 < len(images01):  # shaft and head, pointing the way the process runs
            x0, x1 = x + tile + gap * 0.2, x + tile + gap * 0.8
            tip, tail = (x1, x0) if arrow == "→" else (x0, x1)
            head = 12 if arrow == "→" else -12
            draw.line([(tail, mid), (tip - head, mid)], fill=ARROW_RGB, width=4)
            draw.polygon([(tip, mid), (tip - head, mid - 9), (tip - head, mid + 9)], fill=ARROW_RGB)
    buf = io.BytesIO()
    strip.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def noise_preview(seed: int) -> np.ndarray:
    """The 16 noise images generate() starts from for this seed (numpy, no TensorFlow):
    DiffusionModel.generate draws them with the same call."""
    return np.random.default_rng(seed).standard_normal(
        (GENERATE_COUNT, PRETRAINED_SIZE, PRETRAINED_SIZE, 3), dtype=np.float32)


def grid_png(images01: np.ndarray) -> bytes:
    grid = flower_grid(images01, GRID_COLS)
    return png_bytes(grid.repeat(GRID_SCALE, axis=0).repeat(GRID_SCALE, axis=1))


def generate(seed: int) -> None:
    """Sample the pretrained model: 16 flowers from the noise of `seed`, timed."""
    start = time.perf_counter()
    try:
        model, _ = models.keras_model(str(models.PRETRAINED))
    except Exception as err:  # noqa: BLE001  (a missing or damaged asset: say so, no traceback)
        st.session_state[RESULT] = {"error": str(err)}
        return
    loaded = time.perf_counter()
    images = model.generate(GENERATE_COUNT, steps=GENERATE_STEPS, seed=seed)
    done = time.perf_counter()
    st.session_state[RESULT] = {"images": np.asarray(images), "seed": seed,
                                "seconds": done - loaded, "load_seconds": loaded - start}


# Layout: the two panels and the cards are flex items that wrap onto new rows on a
# narrow window rather than squeeze (the flex bases below). The strips of the picture
# are drawn at twice the size they are shown, so they are shrunk smoothly; card titles
# wrap rather than end in "Sampling explo…".
CSS = """
.st-key-home_top {align-items: stretch;}
.st-key-home_top > div:nth-child(1) {flex: 5 1 30rem;}
.st-key-home_top > div:nth-child(2) {flex: 3 1 18rem;}
.st-key-home_picture [data-testid="stImage"] img {image-rendering: auto; border-radius: 0;}
.st-key-home_make [data-testid="stImage"] {max-width: 30rem; margin: 0 auto;}
.st-key-home_cards {align-items: stretch;}
.st-key-home_cards > div {flex: 1 1 8rem; max-width: 24rem;}
.st-key-home_cards [data-testid="stPageLink-NavLink"] * {white-space: normal !important;
    overflow: visible !important; text-overflow: clip !important;}
"""
st.html(f"<style>{CSS}</style>")
st.title(f"🌸 {t('home.title')}")
st.markdown(t("home.tagline"))

top = st.container(horizontal=True, gap="medium", key="home_top")
with top.container(border=True, key="home_picture"):
    st.subheader(t("home.picture_title"))
    ahead, back = picture()
    st.markdown(t("home.forward_label"))
    st.image(ahead, width="stretch", output_format="PNG")
    st.markdown(t("home.reverse_label"))
    st.image(back, width="stretch", output_format="PNG")
    st.caption(t("home.picture_note"))

with top.container(border=True, key="home_make"):
    st.subheader(t("home.generate_title"))
    st.markdown(t("home.generate_intro"))
    if NEXT_SEED not in st.session_state:
        st.session_state[NEXT_SEED] = secrets.randbelow(MAX_SEED)
    if st.button(t("home.generate"), type="primary", icon="🌸", key="generate"):
        with st.spinner(t("home.generating")):
            generate(st.session_state[NEXT_SEED])
        st.session_state[NEXT_SEED] = secrets.randbelow(MAX_SEED)  # each click: new noise
    result = st.session_state.get(RESULT)
    if result is None:  # before the first click: the noise the model will start from
        seed = st.session_state[NEXT_SEED]
        st.image(grid_png(forward.to_pixel_range(noise_preview(seed))), width="stretch",
                 caption=t("home.noise_caption", seed=seed), output_format="PNG")
    elif "error" in result:
        st.error(t("home.model_error", error=result["error"]))
    else:
        st.image(grid_png(result["images"]), caption=t("home.grid_caption", seed=result["seed"]),
                 width="stretch", output_format="PNG")
        st.markdown(t("home.timing", seconds=f"{result['seconds']:.2f}"))
        if result["load_seconds"] > 0.05:
            st.caption(t("home.timing_load", seconds=f"{result['load_seconds']:.1f}"))

st.subheader(t("home.pages_title"))
cards = st.container(horizontal=True, key="home_cards")
for path, nav, icon in CARDS:
    with cards.container(border=True, key=f"home_card_{path.split('/')[-1][:-3]}"):
        st.page_link(path, label=f"**{t(nav)}**", icon=icon)
        st.caption(t(f"home.card.{path.split('/')[-1][:-3]}"))
