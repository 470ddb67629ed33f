"""Diffusion Lab: see every moving part of a denoising diffusion model.

The pages live in app_pages/, not pages/: while a folder named pages/ exists,
Streamlit runs the first session after a server start in its legacy
multipage mode, so a shared deep link (/schedules?...) opened first would
skip this script (no sidebar, no language switch).
"""

import streamlit as st

from lab.i18n import LANGUAGES, t
from lab.state import Param, one_of, publish, restore

st.set_page_config(page_title="Diffusion Lab", page_icon="🌸", layout="wide")
# Small images are enlarged by the browser: keep each pixel a crisp square, so
# the noise a learner looks at is the noise the model sees.
st.html("<style>[data-testid='stImage'] img, [data-testid='stImageContainer'] img "
        "{image-rendering: pixelated;}</style>")

LANGUAGE = [Param("lang", "en", one_of(LANGUAGES))]
restore(LANGUAGE)
with st.sidebar:
    st.radio("Language / 语言", list(LANGUAGES), format_func=LANGUAGES.get, horizontal=True,
             key="lang", persist_state="session")

pages = [
    # The default page is served at "/" (Streamlit ignores its url_path).
    st.Page("app_pages/home.py", title=t("nav.home"), icon="🌸", default=True),
    st.Page("app_pages/forward.py", title=t("nav.forward"), icon="🌫️", url_path="forward"),
    st.Page("app_pages/schedules.py", title=t("nav.schedules"), icon="📉", url_path="schedules"),
    st.Page("app_pages/reverse.py", title=t("nav.reverse"), icon="🔁", url_path="reverse"),
    st.Page("app_pages/explorer.py", title=t("nav.explorer"), icon="🧭", url_path="explorer"),
    st.Page("app_pages/anatomy.py", title=t("nav.anatomy"), icon="🧬", url_path="anatomy"),
    st.Page("app_pages/train.py", title=t("nav.train"), icon="🏋️", url_path="train"),
]
page = st.navigation(pages)

with st.sidebar:
    st.caption(t("sidebar.about"))

publish(LANGUAGE, page=False)
page.run()
