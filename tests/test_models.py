"""The sidebar model picker (lab/models.py), driven through a tiny AppTest script.

No page uses the picker yet, so the script below draws it alone and writes the
choice it returns. The good bundle is a real one: an untrained tiny U-Net,
adapted to a few procedural flowers and saved with core.checkpoints.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from conftest import no_exceptions, texts

BUNDLE_NAME = "tiny"


def _picker_script():
    import streamlit as st

    from lab.models import model_picker

    if not st.session_state.get("hide_picker"):  # as on a page without the picker
        choice = model_picker()
        st.text(f"choice={choice.key}|{choice.kind}|{choice.image_size}|{choice.path}")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    """An untrained tiny DiffusionModel saved as a bundle folder (seconds, no training)."""
    from core.checkpoints import save_bundle
    from core.data import procedural_flowers
    from core.diffusion import DiffusionModel

    model = DiffusionModel(32, unet="tiny")
    model.adapt(procedural_flowers(8, size=32, seed=1))
    model.compile()
    return save_bundle(model, tmp_path_factory.mktemp("bundles") / BUNDLE_NAME,
                       include_optimizer=False)


@pytest.fixture(scope="module")
def bundle_zip(bundle) -> bytes:
    from core.checkpoints import bundle_to_zip

    return bundle_to_zip(bundle)


@pytest.fixture
def upload_dir(tmp_path, monkeypatch) -> Path:
    """Uploads unpack here, not in the shared temp folder, so leftovers can be counted."""
    folder = tmp_path / "uploads"
    monkeypatch.setattr("lab.models._UPLOAD_DIR", folder)
    return folder


@pytest.fixture
def picker(upload_dir):
    def make(lang: str = "en", **state) -> AppTest:
        at = AppTest.from_function(_picker_script, default_timeout=120)
        at.session_state["lang"] = lang
        for key, value in state.items():
            at.session_state[key] = value
        at.run()
        no_exceptions(at)
        return at

    return make


def chosen(at) -> dict:
    [line] = [e.value for e in at.text if e.value.startswith("choice=")]
    key, kind, size, path = line.removeprefix("choice=").split("|")
    return {"key": key, "kind": kind, "image_size": int(size), "path": path}


def labels(at) -> list[str]:
    return list(at.selectbox(key="model").options)


def upload(at, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="model_upload").upload(name, data, "application/zip").run()
    no_exceptions(at)
    return at


def zip_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


# --- the choices ----------------------------------------------------------------


def test_default_choice_is_the_pretrained_model(picker):
    at = picker()
    from lab.models import PRETRAINED

    assert at.selectbox(key="model").value == "pretrained"
    assert labels(at)[0] == "Pretrained flowers (32 px)"
    assert chosen(at) == {"key": "pretrained", "kind": "keras", "image_size": 32,
                          "path": str(PRETRAINED)}
    assert not at.error and not at.success


def test_ideal_denoisers_are_offered_and_can_be_chosen(picker):
    at = picker()
    assert "Ideal denoiser over 100 flowers" in labels(at)
    assert "Ideal denoiser over 1000 flowers" in labels(at)
    at.selectbox(key="model").set_value("ideal:100").run()
    no_exceptions(at)
    assert chosen(at) == {"key": "ideal:100", "kind": "ideal", "image_size": 32, "path": "None"}


def test_picker_speaks_chinese(picker):
    at = picker(lang="zh")
    assert at.selectbox(key="model").label == "模型"
    assert labels(at)[0] == "预训练花朵模型（32 px）"
    assert "基于 100 朵花的理想去噪器" in labels(at)


def test_models_trained_in_this_session_appear(picker, bundle):
    at = picker(trained_models={"run 1": str(bundle)})
    assert "Trained here: run 1" in labels(at)
    assert chosen(at)["key"] == "pretrained"  # listed, not forced on the user
    at.selectbox(key="model").set_value("session:run 1").run()
    no_exceptions(at)
    assert chosen(at) == {"key": "session:run 1", "kind": "keras", "image_size": 32,
                          "path": str(bundle)}


def test_a_session_model_whose_folder_is_gone_is_left_out(picker, bundle, tmp_path):
    gone = tmp_path / "deleted-run"
    shutil.copytree(bundle, gone)
    at = picker(trained_models={"kept": str(bundle), "gone": str(gone)})
    shutil.rmtree(gone)
    at.run()
    no_exceptions(at)
    assert "Trained here: kept" in labels(at)
    assert "Trained here: gone" not in labels(at)


def test_the_choice_survives_a_page_without_the_picker(picker):
    at = picker()
    at.selectbox(key="model").set_value("ideal:1000").run()
    at.session_state["hide_picker"] = True  # another page: the picker is not drawn
    at.run()
    at.session_state["hide_picker"] = False
    at.run()
    no_exceptions(at)
    assert chosen(at)["key"] == "ideal:1000"


# --- uploads --------------------------------------------------------------------


def test_a_good_bundle_zip_is_loaded_selected_and_confirmed(picker, bundle_zip, upload_dir):
    at = upload(picker(), "tiny.zip", bundle_zip)
    assert [e.value for e in at.success] == ["**tiny.zip** loaded and selected."]
    assert not at.error
    choice = chosen(at)
    assert choice["key"].startswith("upload:tiny (") and choice["kind"] == "keras"
    assert choice["image_size"] == 32
    assert Path(choice["path"]).parent == upload_dir
    assert (Path(choice["path"]) / "model.keras").is_file()
    assert at.selectbox(key="model").value == choice["key"]
    assert any(label.startswith("Uploaded: tiny (") for label in labels(at))
    # The next rerun keeps it selected and does not load it again.
    at.run()
    no_exceptions(at)
    assert chosen(at)["key"] == choice["key"]
    assert len(list(upload_dir.iterdir())) == 1


def _corrupt_model_zip(bundle: Path) -> bytes:
    """The real metadata with a damaged model.keras (its second half is zeros)."""
    model = (bundle / "model.keras").read_bytes()
    damaged = model[: len(model) // 2] + bytes(len(model) - len(model) // 2)
    return zip_of({f"{BUNDLE_NAME}/metadata.json": (bundle / "metadata.json").read_bytes(),
                   f"{BUNDLE_NAME}/model.keras": damaged})


BAD_UPLOADS = {
    "random_bytes": (lambda bundle: np.random.default_rng(0).bytes(4096),
                     "**model.zip** is not a model bundle of this lab. The previous model "
                     "stays selected."),
    "zip_without_bundle": (lambda bundle: zip_of({"notes.txt": b"my lecture notes",
                                                  "flower.png": b"\x89PNG not really"}),
                           "**model.zip** is not a model bundle of this lab. The previous "
                           "model stays selected."),
    "corrupt_model_keras": (_corrupt_model_zip,
                            "**model.zip** is damaged and cannot be loaded. The previous model "
                            "stays selected."),
}


@pytest.mark.parametrize("case", list(BAD_UPLOADS))
def test_a_bad_upload_shows_its_error_and_keeps_the_previous_choice(picker, bundle, upload_dir,
                                                                    case):
    make, message = BAD_UPLOADS[case]
    at = picker()
    at.selectbox(key="model").set_value("ideal:100").run()
    before = labels(at)
    upload(at, "model.zip", make(bundle))
    assert [e.value for e in at.error] == [message]
    assert not at.success
    assert chosen(at)["key"] == "ideal:100"
    assert labels(at) == before
    assert not upload_dir.exists() or not any(upload_dir.iterdir())  # nothing left behind
    # Choosing another model still works while the bad file sits in the uploader.
    at.selectbox(key="model").set_value("pretrained").run()
    no_exceptions(at)
    assert chosen(at)["key"] == "pretrained"
    assert [e.value for e in at.error] == [message]  # still said, not checked again


def test_a_bad_upload_after_a_good_one_keeps_the_uploaded_model(picker, bundle, bundle_zip):
    at = upload(picker(), "tiny.zip", bundle_zip)
    good = chosen(at)["key"]
    upload(at, "broken.zip", _corrupt_model_zip(bundle))
    assert [e.value for e in at.error] == [
        "**broken.zip** is damaged and cannot be loaded. The previous model stays selected."]
    assert chosen(at)["key"] == good


def test_upload_errors_are_translated(picker):
    at = upload(picker(lang="zh"), "model.zip", b"not a zip at all")
    assert [e.value for e in at.error] == ["**model.zip** 不是本实验室的模型包。仍使用之前的模型。"]
    assert chosen(at)["key"] == "pretrained"
    assert "Traceback" not in texts(at)


def test_a_shared_link_names_the_model_and_unknown_names_are_ignored(app):
    at = app("reverse", model="ideal:100", rev_n="2", rev_steps="3")
    assert not at.exception
    assert at.selectbox(key="model").value == "ideal:100"
    assert at.query_params["model"] in ("ideal:100", ["ideal:100"])
    at = app("reverse", model="session:someone-elses", rev_n="2", rev_steps="3")
    assert not at.exception
    assert at.selectbox(key="model").value == "pretrained"
    assert "model" not in at.query_params
