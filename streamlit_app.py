"""Diffusion Lab: see every moving part of a denoising diffusion model."""

import streamlit as st

from lab.i18n import LANGUAGES, t

st.set_page_config(page_title="Diffusion Lab", page_icon="🌸", layout="wide")

with st.sidebar:
    st.radio("Language / 语言", list(LANGUAGES), format_func=LANGUAGES.get, horizontal=True,
             key="lang", bind="query-params", persist_state="session")

pages = [
    st.Page("pages/forward.py", title=t("nav.forward"), icon="🌫️", url_path="forward",
            default=True),
    st.Page("pages/schedules.py", title=t("nav.schedules"), icon="📉", url_path="schedules"),
]
page = st.navigation(pages)

with st.sidebar:
    st.caption(t("sidebar.about"))

page.run()
