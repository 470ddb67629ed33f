"""Benchmark: the cost of one move of the t slider on the Forward process page.

Run `python bench/forward.py`; it prints one JSON object. A slider move reruns only
the page's step fragment, which does exactly what `slider_update` does here: x_t,
three PNGs, the histogram figure (serialised as Streamlit sends it), and the
step-by-step chain resumed from its nearest checkpoint with its own histogram,
PNG and statistics. The same moves with the chain run from step 0 each time (no
checkpoints) are timed in the same run, as the ratio `chain_checkpoint_speedup`.
Last, the time from `streamlit run` to a healthy server.

Timings live here, never in tests. Each figure is the median over a drag of the
slider (t = 300, 310, ..., 490), after one warm-up move.
"""

from __future__ import annotations

import json
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import plotly.io as pio  # noqa: E402
import plotly.tools  # noqa: E402

from core import forward  # noqa: E402
from core.data import procedural_flowers  # noqa: E402
from core.schedules import make_schedule  # noqa: E402
from lab import figures  # noqa: E402
from lab.images import png_bytes  # noqa: E402

SIZES = (64, 128, 256)
DRAG = range(300, 500, 10)  # the t values of one drag
TARGET_MS_AT_128 = 30.0


def chart(spec: dict) -> str:
    """What st.plotly_chart does with a figure spec: validate it, then serialise it."""
    return pio.to_json(plotly.tools.return_figure_from_figure_or_data(spec, True), validate=False)


def slider_update(x0, eps, sched, t, checkpoints):
    """Everything the page's fragment computes for one value of t."""
    a = forward.alpha_bar(sched, t)
    x_t = forward.add_noise(x0, eps, t, sched)
    for img in (x0, eps, x_t):
        png_bytes(forward.to_pixel_range(img))
    chart(figures.pixel_histogram({"x0": x0, "xt": x_t}, "N", "title", "x"))
    x_chain = forward.forward_chain(x0, sched, t, seed=1, checkpoints=checkpoints)
    r_one = forward.standardised_residual(x_t, x0, a)
    r_chain = forward.standardised_residual(x_chain, x0, a)
    png_bytes(forward.to_pixel_range(x_chain))
    chart(figures.pixel_histogram({"one": r_one, "chain": r_chain}, "N", "title", "x"))
    forward.pixel_stats(x_t), forward.pixel_stats(r_one)
    forward.pixel_stats(x_chain), forward.pixel_stats(r_chain)


def drag_ms(x0, eps, sched, keep_checkpoints: bool) -> float:
    checkpoints: dict = {}
    slider_update(x0, eps, sched, DRAG[0], checkpoints)  # warm-up, fills the checkpoints
    times = []
    for t in DRAG:
        if not keep_checkpoints:
            checkpoints = {}
        start = time.perf_counter()
        slider_update(x0, eps, sched, t, checkpoints)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def part_ms(fn, repeats=20) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats * 1000


def app_start_seconds() -> float:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = s.getsockname()[1]
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
         "--server.headless", "true"], cwd=ROOT, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - start < 60:
            try:
                with urllib.request.urlopen(f"http://localhost:{port}/_stcore/health", timeout=1) as r:
                    if r.read() == b"ok":
                        return time.perf_counter() - start
            except OSError:
                time.sleep(0.05)
        return float("nan")
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    sched = make_schedule("linear")
    result = {"machine": f"{platform.machine()}, {platform.python_version()}", "sizes": {}}
    for size in SIZES:
        x0 = forward.to_model_range(procedural_flowers(1, size=size, seed=0)[0])
        eps = forward.sample_noise(x0.shape, 0)
        x_t = forward.add_noise(x0, eps, 400, sched)
        update = drag_ms(x0, eps, sched, keep_checkpoints=True)
        no_checkpoints = drag_ms(x0, eps, sched, keep_checkpoints=False)
        result["sizes"][f"{size}px"] = {
            "slider_update_ms": round(update, 2),
            "parts_ms": {
                "x_t": round(part_ms(lambda: forward.add_noise(x0, eps, 400, sched)), 3),
                "png_one_image": round(part_ms(lambda: png_bytes(forward.to_pixel_range(x_t))), 3),
                "histogram_figure_json": round(part_ms(lambda: chart(
                    figures.pixel_histogram({"a": x0, "b": x_t}, "N", "t", "x"))), 3),
            },
            "slider_update_without_chain_checkpoints_ms": round(no_checkpoints, 2),
            "chain_checkpoint_speedup": round(no_checkpoints / update, 1),
        }
    at_128 = result["sizes"]["128px"]["slider_update_ms"]
    result["target_128px_ms"] = TARGET_MS_AT_128
    result["meets_target_at_128px"] = at_128 < TARGET_MS_AT_128
    result["app_start_to_healthy_s"] = round(app_start_seconds(), 2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
