"""The running app in a real browser: streamlit run + headless Chromium (Playwright).

AppTest (the other test files) runs the scripts without a frontend; this file
checks what a learner actually gets: the pages render without an exception
box, the t slider drives the image and the URL, charts are drawn, the Chinese
page is Chinese, and a deep link opened first on a fresh server still runs
the entry script (sidebar language switch and navigation).

Screenshots land in test-artifacts/ (git-ignored) for a human to look at.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
STARTUP_TIMEOUT_S = 60
STEP_TIMEOUT_MS = 30_000
VIEWPORT = {"width": 1400, "height": 1000}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
EXCEPTION = '[data-testid="stException"]'


# --- the server ---------------------------------------------------------------

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _streamlit_server():
    """A fresh `streamlit run` of the app on a free port; yields its base URL."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
         "--server.port", str(port), "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited with {proc.returncode}:\n{proc.stdout.read()}")
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.read().decode().strip() == "ok":
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit did not answer /_stcore/health within "
                            f"{STARTUP_TIMEOUT_S} s")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


@pytest.fixture(scope="module")
def server():
    with _streamlit_server() as base:
        yield base


@pytest.fixture
def fresh_server():
    """A server no browser has talked to yet (for first-request behaviour)."""
    with _streamlit_server() as base:
        yield base


# --- the browser --------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    executable = (os.environ.get("CHROMIUM") or shutil.which("chromium")
                  or shutil.which("chromium-browser") or None)
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=VIEWPORT)
    pg = context.new_page()
    pg.set_default_timeout(STEP_TIMEOUT_MS)
    yield pg
    context.close()


@pytest.fixture(scope="module", autouse=True)
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)


# --- helpers ------------------------------------------------------------------

def wait_until_idle(page) -> None:
    """Wait until the script (or fragment) run has finished and its output is drawn.

    The app reports its script state on stApp, and shows the "Running..."
    status widget while it runs. Elements whose frontend code is loaded lazily
    (plotly charts, images, metrics, select sliders) stay grey skeletons for a
    second or two after the run ends: wait for those as well.
    """
    expect(page.locator('[data-testid="stApp"]')).to_have_attribute(
        "data-test-script-state", "notRunning", timeout=STEP_TIMEOUT_MS)
    expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(
        0, timeout=STEP_TIMEOUT_MS)
    expect(page.locator('[data-testid="stSkeleton"]')).to_have_count(
        0, timeout=STEP_TIMEOUT_MS)


def open_page(page, url: str, title: str) -> None:
    page.goto(url)
    # Whichever comes first: the page's title, or an exception box (fail fast, with its text).
    expect(page.locator(f"h1, {EXCEPTION}").first).to_be_visible(timeout=STEP_TIMEOUT_MS)
    assert_no_exception(page)
    expect(page.locator("h1").first).to_contain_text(title, timeout=STEP_TIMEOUT_MS)
    wait_until_idle(page)
    # An unknown URL path still runs the default page, behind a "Page not found" dialog.
    expect(page.get_by_role("dialog").filter(has_text="Page not found")).to_have_count(0)


def assert_no_exception(page) -> None:
    boxes = page.locator(EXCEPTION)
    assert boxes.count() == 0, boxes.all_inner_texts()


def snap(page, name: str) -> None:
    """A full-page screenshot. Streamlit scrolls inside its own container, not
    the document, so full_page alone would stop at the viewport: grow the
    viewport to the content for the shot, then put it back."""
    height = page.evaluate(
        "() => Math.max(...['stMain', 'stAppViewContainer', 'stSidebarContent']"
        ".map(id => document.querySelector(`[data-testid='${id}']`))"
        ".filter(Boolean).map(el => el.scrollHeight), document.body.scrollHeight)")
    tall = height > VIEWPORT["height"]
    if tall:
        page.set_viewport_size({"width": VIEWPORT["width"], "height": int(height) + 40})
        page.wait_for_timeout(500)  # let plotly re-lay out to the new viewport
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    if tall:
        page.set_viewport_size(VIEWPORT)


def xt_caption(page, t: int):
    """The caption under x_t: "x_250: the noisy image", or with a subscript, "x₂₅₀: ..."."""
    sub = str(t).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))
    return page.get_by_text(re.compile(rf"^\s*x(_{t}|{sub}): the noisy image\s*$"))


# --- tests --------------------------------------------------------------------

def test_deep_link_first_load_runs_the_entry_script(fresh_server, page):
    """Regression: with a pages/ folder, the first session after a server
    start ran in legacy multipage mode, so a deep link opened first skipped
    streamlit_app.py (no sidebar language switch, no navigation)."""
    open_page(page, f"{fresh_server}/schedules?steps=500", "Noise schedules compared")
    assert_no_exception(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    expect(sidebar.locator('[data-testid="stRadio"]')).to_contain_text("Language / 语言")
    nav = sidebar.locator('[data-testid="stSidebarNav"]')
    expect(nav).to_contain_text("Forward process")
    expect(nav).to_contain_text("Schedules")
    # The deep link's own setting was honoured too.
    expect(page).to_have_url(re.compile(r"[?&]steps=500(&|$)"))


def test_forward_page_in_browser(server, page):
    open_page(page, f"{server}/forward", "Forward process")
    assert_no_exception(page)
    slider = page.locator('[data-testid="stSlider"]').filter(has_text="Step t")
    thumb = slider.get_by_role("slider")
    expect(thumb).to_have_value("250")
    expect(slider.locator('[data-testid="stSliderThumbValue"]')).to_have_text("250")
    expect(xt_caption(page, 250)).to_be_visible()
    snap(page, "forward.png")

    thumb.focus()
    thumb.press("End")
    expect(thumb).to_have_value("1000")
    expect(xt_caption(page, 1000)).to_be_visible()  # the fragment reran
    expect(xt_caption(page, 250)).to_have_count(0)
    wait_until_idle(page)
    expect(page).to_have_url(re.compile(r"[?&]t=1000(&|$)"))
    assert_no_exception(page)
    snap(page, "forward-t-moved.png")


def test_schedules_page_in_browser(server, browser, page):
    open_page(page, f"{server}/schedules", "Noise schedules compared")
    assert_no_exception(page)
    # Two figures: the curves (four panels in one figure) and pitfall P1's chart.
    charts = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot')
    expect(charts.nth(1)).to_be_attached()
    assert charts.count() >= 2
    curves = charts.first
    expect(curves.locator(".cartesianlayer > .subplot")).to_have_count(4)  # the four panels drawn
    for panel in ("ᾱ = signal rate²", "1 − ᾱ = noise rate²", "β per step (log scale)",
                  "log SNR"):
        expect(curves).to_contain_text(panel)
    expect(curves.locator(".scatterlayer .trace")).not_to_have_count(0)  # and curves in them
    table = page.locator('[data-testid="stDataFrame"]')
    expect(table).to_have_count(1)
    expect(table).to_be_visible()
    expect(page.get_by_role("heading", name="Key numbers")).to_be_visible()
    snap(page, "schedules.png")

    context = browser.new_context(viewport=VIEWPORT)  # a fresh page: no shared state
    try:
        zh = context.new_page()
        zh.set_default_timeout(STEP_TIMEOUT_MS)
        open_page(zh, f"{server}/schedules?lang=zh", "噪声调度对比")
        expect(zh.locator("h1").first).to_have_text("噪声调度对比")
        assert_no_exception(zh)
        snap(zh, "schedules-zh.png")
    finally:
        context.close()


def test_reverse_page_steps_through_the_run_in_browser(server, page):
    """Next, next, next: the step counter and the pictures change, with no model call
    visible to the user as an error and no exception box."""
    open_page(page, f"{server}/reverse?rev_n=4", "Reverse denoising")
    assert_no_exception(page)
    expect(page.get_by_text("Step 1 of 20")).to_be_visible()
    main_images = page.locator('[data-testid="stMain"] [data-testid="stImage"] img')
    before = main_images.nth(0).get_attribute("src")
    snap(page, "reverse.png")
    for k in (2, 3, 4):
        page.get_by_role("button", name="Next", exact=True).click()
        expect(page.get_by_text(f"Step {k} of 20")).to_be_visible()
        wait_until_idle(page)
        assert_no_exception(page)
    assert main_images.nth(0).get_attribute("src") != before
    expect(page).to_have_url(re.compile(r"[?&]rev_step=4(&|$)"))
    snap(page, "reverse-step-4.png")


def test_home_generates_flowers_and_other_pages_open_in_browser(server, page):
    open_page(page, f"{server}/", "Diffusion Lab")
    page.get_by_role("button", name="Generate flowers").click()
    expect(page.get_by_text(re.compile(r"Made in \d"))).to_be_visible(timeout=60_000)
    wait_until_idle(page)
    assert_no_exception(page)
    snap(page, "home.png")
    for path, title, shot in (("explorer", "Sampling explorer", "explorer.png"),
                              ("anatomy", "Model anatomy", "anatomy.png")):
        open_page(page, f"{server}/{path}", title)
        assert_no_exception(page)
        snap(page, shot)


def test_train_live_page_updates_while_training_and_stops(server, page):
    """Start a run, see the progress (and loss chart) update twice, stop it."""
    open_page(page, f"{server}/train", "Train live")
    page.get_by_role("button", name="Start training").click()
    progress = page.get_by_text(re.compile(r"^Step (\d+) · "))
    expect(progress).to_be_visible(timeout=90_000)  # the worker imports TensorFlow first
    seen = set()
    deadline = time.monotonic() + 90
    while len(seen) < 3 and time.monotonic() < deadline:
        seen.add(progress.inner_text())
        page.wait_for_timeout(1000)
    assert len(seen) >= 3, seen  # the live view redrew at least twice
    expect(page.locator('[data-testid="stPlotlyChart"]').first).to_be_visible()
    assert_no_exception(page)
    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_text(re.compile(r"^Stopped at step \d+"))).to_be_visible(timeout=30_000)
    assert_no_exception(page)
    snap(page, "train.png")
