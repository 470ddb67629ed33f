"""Shared test helpers: an AppTest of the whole app, and small images made in memory."""

import io
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

APP = str(ROOT / "streamlit_app.py")


def open_app(page: str | None = None, session: dict | None = None, **query):
    """A fresh AppTest session of the whole app (entry script + navigation), as if
    the user opened /page?query directly; `session` presets session_state (e.g. the
    model picker's choice) before the first run."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=180)
    for key, value in (session or {}).items():
        at.session_state[key] = value
    for key, value in query.items():
        at.query_params[key] = value
    if page is not None:
        at.switch_page(f"app_pages/{page}.py")
    at.run()
    return at


@pytest.fixture
def app():
    return open_app


def app_with_broken_model(tmp_path, page: str):
    """An AppTest on `page` whose chosen model is a session bundle with a damaged
    model.keras (its metadata intact): the page must say so, never crash."""
    import shutil

    bundle = tmp_path / "broken"
    shutil.copytree(ROOT / "assets" / "models" / "flowers32", bundle)
    (bundle / "model.keras").write_bytes(b"not a keras file")
    return open_app(page, session={"trained_models": {"broken": str(bundle)},
                                   "model": "session:broken"})


def png_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def texts(at) -> str:
    """All text a user reads on the page, joined (markdown, captions, titles, alerts, latex)."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "error",
                 "warning", "success", "latex"):
        parts += [str(e.value) for e in getattr(at, kind)]
    return "\n".join(parts)


# Names that stay English in the Chinese UI.
ENGLISH_NAMES = ("Generative Deep Learning", "Stable Diffusion", "Nichol & Dhariwal")
_ENGLISH_RUN = re.compile(r"\b[A-Za-z]{3,}(?: [A-Za-z]{2,}){3,}")


def english_sentences(text: str) -> list[str]:
    """Runs of four or more English words: on a Chinese page, a string that bypassed
    the translation table."""
    return [m.group(0) for m in _ENGLISH_RUN.finditer(text)
            if not any(name in m.group(0) for name in ENGLISH_NAMES)]


def no_exceptions(at) -> None:
    assert not at.exception, [e.message for e in at.exception]
