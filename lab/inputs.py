"""Shared page pieces: the image picker (built-in flowers or an upload) and
cached constructors. Everything here is numpy; nothing imports TensorFlow."""

from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from core.data import ImageLoadError, load_image, procedural_flowers
from core.forward import sample_noise, to_model_range
from core.schedules import Schedule, make_schedule
from lab.i18n import labels, t
from lab.state import Param, int_in, one_of

GALLERY_SIZE = 8
# A seed whose first eight flowers show the variety of the data set.
GALLERY_SEED = 2024
UPLOAD_TYPES = ["png", "jpg", "jpeg", "webp"]
SOURCES = ["builtin", "upload"]
# Numbers of diffusion steps offered on every page (one list, so T carries over).
T_CHOICES = [10, 20, 50, 100, 250, 500, 1000, 2000, 4000]
# URL settings of the picker; a page using it adds these to its own.
PICKER_PARAMS = [Param("source", "builtin", one_of(SOURCES)),
                 Param("flower", 0, int_in(0, GALLERY_SIZE - 1))]


@st.cache_resource(show_spinner=False)
def schedule(name: str, T: int, zero_terminal_snr: bool = False, **params) -> Schedule:
    """Schedules are immutable and small: build each once per server."""
    return make_schedule(name, T, zero_terminal_snr=zero_terminal_snr, **params)


@st.cache_data(show_spinner=False, max_entries=8)
def gallery(size: int) -> np.ndarray:
    """The built-in flowers offered in the picker, (GALLERY_SIZE, size, size, 3) in [0, 1]."""
    return procedural_flowers(GALLERY_SIZE, size=size, seed=GALLERY_SEED)


@st.cache_data(show_spinner=False, max_entries=16)
def noise(shape: tuple, seed: int) -> np.ndarray:
    return sample_noise(shape, seed)


@st.cache_data(show_spinner=False, max_entries=8)
def _decode(data: bytes, size: int) -> np.ndarray:
    return load_image(data, size=size)


def image_picker(page: str, size: int) -> tuple[np.ndarray, str]:
    """Let the user pick x0: a built-in flower or an uploaded image.

    Returns the image on the model's scale [-1, 1] and a short key naming it
    (for caches). A bad upload shows a clear message and the previous good
    image stays; the last good upload is kept for the whole session.
    """
    source = st.radio(t("picker.source"), SOURCES, horizontal=True,
                      format_func=labels("picker.source"), key="source",
                      persist_state="session")
    kept_upload = f"_{page}_upload"
    if source == "upload":
        uploaded = st.file_uploader(t("picker.upload"), type=UPLOAD_TYPES,
                                    help=t("picker.upload_help"), key=f"{page}_uploader")
        if uploaded is not None:
            data = uploaded.getvalue()
            try:
                _decode(data, size)
                st.session_state[kept_upload] = (uploaded.name, data)
            except ImageLoadError as err:
                st.error(t(f"error.image.{err.code}", name=uploaded.name, **err.params))
        if kept_upload in st.session_state:
            name, data = st.session_state[kept_upload]
            st.caption(t("picker.using_upload", name=name))
            key = "upload:" + hashlib.sha1(data).hexdigest()[:12]
            return to_model_range(_decode(data, size)), key
        st.info(t("picker.no_upload"))

    flowers = gallery(size)
    st.image(list(gallery(64)), width=56, caption=[str(i + 1) for i in range(GALLERY_SIZE)])
    index = st.radio(t("picker.flower"), list(range(GALLERY_SIZE)), horizontal=True,
                     format_func=lambda i: str(i + 1), key="flower",
                     persist_state="session", label_visibility="collapsed")
    return to_model_range(flowers[index]), f"flower:{index}"
