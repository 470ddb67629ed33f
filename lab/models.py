"""The model picker: which denoiser the sampling pages talk to.

Choices, in the sidebar of every page that samples:
* the pretrained flowers shipped in assets/ (the default);
* models trained in this session (the training page adds them to
  ``st.session_state[SESSION_MODELS]``, a dict label -> bundle folder);
* a bundle the user uploads (a .zip made by the lab's download button);
* the ideal denoiser over a small set of procedural flowers: no training, no
  TensorFlow, and it shows what a perfect model of its training set does.

TensorFlow is imported only when a Keras model is actually used, so picking the
ideal denoiser keeps a page light. A bad upload shows a clear message and the
previous choice stays.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from core.data import procedural_flowers
from core.samplers import IdealDenoiser
from core.schedules import Schedule, make_schedule
from lab.i18n import t

ROOT = Path(__file__).resolve().parents[1]
PRETRAINED = ROOT / "assets" / "models" / "flowers32"
SESSION_MODELS = "trained_models"      # session_state key: {label: bundle folder}
UPLOADED_MODELS = "_uploaded_models"   # session_state key: {label: bundle folder}
IDEAL_SIZES = (100, 1000)              # procedural flowers the ideal denoiser knows
IDEAL_IMAGE_SIZE = 32
IDEAL_SEED = 0
IDEAL_SCHEDULE = ("offset_cosine", 1000)
_UPLOAD_DIR = Path(tempfile.gettempdir()) / "diffusion-lab-uploads"


@dataclass(frozen=True)
class ModelChoice:
    key: str          # stable id: "pretrained", "ideal:1000", "session:<label>", "upload:<sha>"
    label: str        # what the picker shows
    kind: str         # "keras" or "ideal"
    image_size: int
    path: str | None = None   # bundle folder for Keras models


def _choices() -> list[ModelChoice]:
    out = [ModelChoice("pretrained", t("models.pretrained"), "keras", 32, str(PRETRAINED))]
    for label, path in st.session_state.get(SESSION_MODELS, {}).items():
        out.append(ModelChoice(f"session:{label}", t("models.session", name=label), "keras",
                               _image_size(path), str(path)))
    for label, path in st.session_state.get(UPLOADED_MODELS, {}).items():
        out.append(ModelChoice(f"upload:{label}", t("models.uploaded", name=label), "keras",
                               _image_size(path), str(path)))
    for n in IDEAL_SIZES:
        out.append(ModelChoice(f"ideal:{n}", t("models.ideal", n=n), "ideal", IDEAL_IMAGE_SIZE))
    return out


def _image_size(path) -> int:
    from core.checkpoints import read_metadata  # numpy only: no TensorFlow

    return int(read_metadata(path)["image_size"])


def model_picker() -> ModelChoice:
    """Draw the picker in the sidebar and return the chosen model."""
    choices = {c.key: c for c in _choices()}
    if st.session_state.get("model") not in choices:
        st.session_state["model"] = "pretrained"
    with st.sidebar:
        st.selectbox(t("models.pick"), list(choices), format_func=lambda k: choices[k].label,
                     key="model", help=t("models.pick_help"))
        with st.expander(t("models.upload_title")):
            upload = st.file_uploader(t("models.upload"), type=["zip"], key="model_upload",
                                      help=t("models.upload_help"))
            if upload is not None:
                _accept_upload(upload)
    choices = {c.key: c for c in _choices()}  # an upload may have added one
    return choices.get(st.session_state["model"], choices["pretrained"])


def _accept_upload(upload) -> None:
    from core.checkpoints import BundleError, bundle_from_zip, load_bundle

    data = upload.getvalue()
    digest = hashlib.sha1(data).hexdigest()[:10]
    uploaded = st.session_state.setdefault(UPLOADED_MODELS, {})
    label = f"{Path(upload.name).stem} ({digest[:6]})"
    if label in uploaded:
        return
    folder = None
    try:
        folder = bundle_from_zip(data, _UPLOAD_DIR, name=f"{Path(upload.name).stem}-{digest}")
        load_bundle(folder)  # the whole check: architecture, weights, probe outputs
    except BundleError as err:
        st.error(t(f"models.error.{err.code}", name=upload.name))
        if folder is not None:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
        return
    uploaded[label] = str(folder)
    st.session_state["model"] = f"upload:{label}"
    st.success(t("models.upload_ok", name=upload.name))


@st.cache_resource(show_spinner=False, max_entries=4)
def keras_model(path: str):
    """Load a bundle once per server (TensorFlow is imported here, on first use)."""
    from core.checkpoints import load_bundle

    model, meta = load_bundle(path)
    return model, meta


@st.cache_resource(show_spinner=False)
def ideal_denoiser(n: int) -> IdealDenoiser:
    return IdealDenoiser(procedural_flowers(n, size=IDEAL_IMAGE_SIZE, seed=IDEAL_SEED))


def denoiser_and_schedule(choice: ModelChoice) -> tuple[object, Schedule]:
    """The chosen model as a core.samplers Denoiser, with the schedule it was trained on."""
    if choice.kind == "ideal":
        return ideal_denoiser(int(choice.key.split(":")[1])), make_schedule(*IDEAL_SCHEDULE)
    model, _ = keras_model(choice.path)
    return model.as_denoiser(), model.schedule
