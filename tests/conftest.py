"""Shared test helpers: an AppTest of the whole app, and small images made in memory."""

import io
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

APP = str(ROOT / "streamlit_app.py")


@pytest.fixture
def app():
    """A fresh AppTest session of the whole app (entry script + navigation)."""
    from streamlit.testing.v1 import AppTest

    def make(page: str | None = None, **query):
        at = AppTest.from_file(APP, default_timeout=120)
        for key, value in query.items():
            at.query_params[key] = value
        if page is not None:  # as if the user opened /page?query directly
            at.switch_page(f"app_pages/{page}.py")
        at.run()
        return at

    return make


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


def no_exceptions(at) -> None:
    assert not at.exception, [e.message for e in at.exception]
