"""Benchmark: how fast the procedural flowers are painted.

Run `python bench/data.py`; it prints one JSON object. Timings live here, never in
tests, because test machines vary. Each case is run REPEATS times and the best time is
kept: the minimum is the least noisy estimate of what the code itself costs.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

# Run from anywhere: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from core.data import procedural_flowers  # noqa: E402

# (number of images, size in pixels): the data set a live-training run uses, the book's
# 64 px, and a handful of big images for the gallery.
CASES = ((10_000, 32), (1_000, 64), (16, 256))
REPEATS = 3
SEED = 0


def time_case(n: int, size: int) -> dict:
    """Best-of-REPEATS seconds to paint n flowers of size x size, and images/s."""
    procedural_flowers(min(n, 8), size=size, seed=SEED)  # warm-up: imports, caches
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        procedural_flowers(n, size=size, seed=SEED)
        best = min(best, time.perf_counter() - start)
    return {
        "n": n,
        "size": size,
        "seconds": round(best, 4),
        "images_per_s": round(n / best, 1),
    }


def main() -> None:
    results = {f"flowers_{size}px_x{n}": time_case(n, size) for n, size in CASES}
    report = {
        "benchmark": "core.data.procedural_flowers",
        "repeats": REPEATS,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        **results,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
