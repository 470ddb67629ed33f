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
import shutil
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
_REFUSED_UPLOADS = "_refused_model_uploads"  # session_state key: {zip sha1: BundleError code}
IDEAL_SIZES = (100, 1000)              # procedural flowers the ideal denoiser knows
IDEAL_IMAGE_SIZE = 32
IDEAL_SEED = 0
IDEAL_SCHEDULE = ("offset_cosine", 1000)
# Models every server has, so a link can name them (?model=ideal:100); trained and
# uploaded models live in one session only.
SHAREABLE = ("pretrained", *(f"ideal:{n}" for n in IDEAL_SIZES))
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
    for prefix, key, string in (("session", SESSION_MODELS, "models.session"),
                                ("upload", UPLOADED_MODELS, "models.uploaded")):
        for label, path in st.session_state.get(key, {}).items():
            size = _image_size(path)
            if size is None:  # its folder is gone (a cleaned temp dir): leave it out
                continue
            out.append(ModelChoice(f"{prefix}:{label}", t(string, name=label), "keras",
                                   size, str(path)))
    for n in IDEAL_SIZES:
        out.append(ModelChoice(f"ideal:{n}", t("models.ideal", n=n), "ideal", IDEAL_IMAGE_SIZE))
    return out


def _image_size(path) -> int | None:
    """The bundle's image size, or None when the bundle can no longer be read."""
    from core.checkpoints import BundleError, read_metadata  # numpy only: no TensorFlow

    try:
        return int(read_metadata(path)["image_size"])
    except BundleError:
        return None


def model_picker() -> ModelChoice:
    """Draw the picker in the sidebar and return the chosen model.

    The upload is handled before the selectbox is created (a slot keeps the
    selectbox on top): a good upload selects itself by setting the widget's
    session_state key, which Streamlit only allows before the widget exists.
    persist_state="session" keeps the choice across pages without the picker.
    """
    with st.sidebar:
        slot = st.container()
        with st.expander(t("models.upload_title")):
            upload = st.file_uploader(t("models.upload"), type=["zip"], key="model_upload",
                                      help=t("models.upload_help"))
            if upload is not None:
                _accept_upload(upload)
    choices = {c.key: c for c in _choices()}
    if st.session_state.get("model") not in choices:
        # First visit: a shared link may name a model every server has.
        from_url = st.query_params.get("model")
        st.session_state["model"] = from_url if from_url in SHAREABLE else "pretrained"
    with slot:
        st.selectbox(t("models.pick"), list(choices), format_func=lambda k: choices[k].label,
                     key="model", help=t("models.pick_help"), persist_state="session")
    key = st.session_state["model"]
    if key in SHAREABLE and key != "pretrained":
        st.query_params["model"] = key
    elif "model" in st.query_params:
        del st.query_params["model"]
    return choices[key]


def _accept_upload(upload) -> None:
    """Unpack and check an uploaded bundle zip; on success select it.

    Must run before the selectbox is drawn (it sets the widget's key). A refused
    file is remembered by its hash, so the reruns that follow while it sits in
    the uploader repeat the message without unpacking and loading it again.
    """
    from core.checkpoints import BundleError, bundle_from_zip

    data = upload.getvalue()
    digest = hashlib.sha1(data).hexdigest()[:10]
    uploaded = st.session_state.setdefault(UPLOADED_MODELS, {})
    refused = st.session_state.setdefault(_REFUSED_UPLOADS, {})
    label = f"{Path(upload.name).stem} ({digest[:6]})"
    if label in uploaded:
        return
    code = refused.get(digest)
    folder = None
    if code is None:
        try:
            with st.spinner(t("models.checking", name=upload.name)):
                folder = bundle_from_zip(data, _UPLOAD_DIR,
                                         name=f"{Path(upload.name).stem}-{digest}")
                # The whole check (architecture, weights, probe outputs), and the model
                # is then cached for the pages that sample with it.
                keras_model(str(folder))
        except BundleError as err:
            code = refused[digest] = err.code
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
    if code is not None:
        st.error(t(f"models.error.{code}", name=upload.name))
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
