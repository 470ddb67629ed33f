"""Model bundles: faithful round trips, atomic saves, clear refusals, safe zips."""

import io
import json
import math
import os
import pickle
import subprocess
import sys
import zipfile
from datetime import datetime

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from conftest import ROOT  # noqa: E402

from core import checkpoints  # noqa: E402
from core.checkpoints import (  # noqa: E402
    METADATA_FILE,
    MODEL_FILE,
    BundleError,
    bundle_from_zip,
    bundle_to_zip,
    load_bundle,
    read_metadata,
    save_bundle,
)
from core.data import procedural_flowers  # noqa: E402
from core.diffusion import DiffusionModel  # noqa: E402

MICRO = {"widths": (8, 16), "block_depth": 1, "bottleneck_width": 16}
SIZE = 32


def make_model(seed=0):
    """A micro model whose networks give non-zero, different outputs (as if trained)."""
    keras.utils.set_random_seed(seed)
    model = DiffusionModel(SIZE, unet=MICRO, schedule="cosine", prediction="v")
    model.adapt(procedural_flowers(32, SIZE, seed=seed))
    model.compile()
    rng = np.random.default_rng(seed)
    for net in (model.network, model.ema_network):
        kernel = net.get_layer("output_conv").kernel
        kernel.assign(rng.normal(0, 0.1, kernel.shape).astype(np.float32))
    model.optimizer.iterations.assign(7)  # resumed training continues the EMA warm-up
    return model


@pytest.fixture(scope="module")
def model():
    return make_model()


@pytest.fixture(scope="module")
def bundle(model, tmp_path_factory):
    path = tmp_path_factory.mktemp("bundles") / "flowers"
    history = {"n_loss": [0.5, 0.3, float("nan")], "i_loss": np.array([1.0, 0.8, 0.7])}
    save_bundle(model, path, metadata={"notes": "test run"}, history=history,
                dataset={"name": "procedural_flowers", "n": 32, "size": SIZE})
    return path


def probe_outputs(model):
    x = np.random.default_rng(3).standard_normal((2, SIZE, SIZE, 3)).astype(np.float32)
    n = np.array([0.3, 0.8], np.float32)
    s = np.sqrt(1 - n**2)
    return [np.asarray(a) for use_ema in (True, False)
            for a in model.denoise(x, n, s, use_ema=use_ema)]


def copy_bundle(src, dst):
    dst.mkdir()
    for name in (MODEL_FILE, METADATA_FILE):
        (dst / name).write_bytes((src / name).read_bytes())
    return dst


def error_of(fn, *args, **kwargs) -> BundleError:
    with pytest.raises(BundleError) as err:
        fn(*args, **kwargs)
    return err.value


# --- round trip -----------------------------------------------------------------------


def test_save_load_round_trip_gives_identical_outputs_and_metadata(model, bundle):
    loaded, meta = load_bundle(bundle, expect_image_size=SIZE, expect_unet=MICRO)
    for before, after in zip(probe_outputs(model), probe_outputs(loaded)):
        np.testing.assert_array_equal(after, before)
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.normalizer_mean.numpy(), model.normalizer_mean.numpy())
    assert int(loaded.optimizer.iterations.numpy()) == 7
    assert meta["image_size"] == SIZE and meta["channels"] == 3
    assert meta["unet"] == {**MICRO, "widths": [8, 16], "embedding_dims": 32,
                            "embedding_max_frequency": 1000.0}
    assert meta["schedule"] == {"name": "cosine", "params": {"s": 0.008, "max_beta": 0.999},
                                "T": 1000, "zero_terminal_snr": False}
    assert (meta["loss"], meta["prediction"]) == ("mae", "v")
    assert meta["history"] == {"n_loss": [0.5, 0.3, None], "i_loss": [1.0, 0.8, 0.7]}
    assert meta["dataset"]["name"] == "procedural_flowers" and meta["notes"] == "test run"
    assert meta["normalizer"]["mean"] == pytest.approx(model.normalizer_mean.numpy().tolist())
    assert set(meta["versions"]) >= {"keras", "tensorflow", "numpy", "python"}
    assert meta["format_version"] == checkpoints.FORMAT_VERSION
    assert datetime.fromisoformat(meta["created"]).tzinfo is not None
    assert sorted(p.name for p in bundle.parent.iterdir()) == ["flowers"]  # no leftovers


def test_metadata_is_strict_json(bundle):
    text = (bundle / METADATA_FILE).read_text()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}"))


def test_read_metadata_needs_no_tensorflow(bundle):
    code = ("import sys; from core.checkpoints import read_metadata; "
            f"m = read_metadata({str(bundle)!r}); "
            "print(m['image_size'], 'tensorflow' in sys.modules or 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == [str(SIZE), "False"]


# --- refusals -------------------------------------------------------------------------


def test_truncated_model_file_is_refused_as_corrupt(bundle, tmp_path):
    broken = copy_bundle(bundle, tmp_path / "broken")
    data = (broken / MODEL_FILE).read_bytes()
    (broken / MODEL_FILE).write_bytes(data[: len(data) // 2])
    err = error_of(load_bundle, broken)
    assert err.code == "corrupt"
    assert "damaged" in str(err) and "again" in str(err)


def test_garbled_model_file_is_refused_as_corrupt(bundle, tmp_path):
    broken = copy_bundle(bundle, tmp_path / "garbled")
    (broken / MODEL_FILE).write_bytes(os.urandom(5000))
    assert error_of(load_bundle, broken).code == "corrupt"


def test_invalid_metadata_json_is_refused_as_corrupt(bundle, tmp_path):
    broken = copy_bundle(bundle, tmp_path / "badjson")
    (broken / METADATA_FILE).write_text('{"format": "diffusion-lab-bundle", "format_ver')
    err = error_of(load_bundle, broken)
    assert err.code == "corrupt" and "metadata.json" in str(err)


def test_weights_that_differ_from_the_fingerprint_are_refused(bundle, tmp_path):
    broken = copy_bundle(bundle, tmp_path / "tampered")
    meta = json.loads((broken / METADATA_FILE).read_text())
    meta["fingerprint"]["probe"][0] += 0.5
    (broken / METADATA_FILE).write_text(json.dumps(meta))
    err = error_of(load_bundle, broken)
    assert err.code == "corrupt" and "outputs differ" in str(err)


def test_things_that_are_not_bundles_are_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "flower.png").write_bytes(b"\x89PNG....")
    (tmp_path / "notes.txt").write_text("hello")
    for path in ("empty", "photos", "notes.txt", "missing"):
        err = error_of(load_bundle, tmp_path / path)
        assert err.code == "not_bundle", path
        assert "model.keras" in str(err) and "Diffusion Lab" in str(err)


def test_json_from_elsewhere_is_not_a_bundle(bundle, tmp_path):
    other = copy_bundle(bundle, tmp_path / "other")
    (other / METADATA_FILE).write_text('{"name": "someone else\'s model"}')
    assert error_of(read_metadata, other).code == "not_bundle"


def test_wrong_image_size_is_refused_before_loading(bundle):
    err = error_of(load_bundle, bundle, expect_image_size=64)
    assert err.code == "wrong_image_size"
    assert err.params == {"expected": 64, "found": SIZE}
    assert "32×32" in str(err) and "64" in str(err)


def test_wrong_architecture_is_refused(bundle):
    err = error_of(load_bundle, bundle, expect_unet="tiny")
    assert err.code == "wrong_architecture"
    assert "'tiny'" in err.params["expected"] and "widths 8/16" in err.params["found"]
    assert "network setting" in str(err)


def test_newer_format_version_is_refused(bundle, tmp_path):
    newer = copy_bundle(bundle, tmp_path / "newer")
    meta = json.loads((newer / METADATA_FILE).read_text())
    meta["format_version"] = checkpoints.FORMAT_VERSION + 1
    (newer / METADATA_FILE).write_text(json.dumps(meta))
    err = error_of(load_bundle, newer)
    assert err.code == "version" and "Update Diffusion Lab" in str(err)


def test_bundle_error_survives_pickling():
    err = BundleError("wrong_image_size", "msg", expected=64, found=32)
    again = pickle.loads(pickle.dumps(err))
    assert (again.code, str(again), again.params) == ("wrong_image_size", "msg", err.params)
    with pytest.raises(ValueError):
        BundleError("oops", "msg")


# --- atomic saves ---------------------------------------------------------------------


def test_failure_while_saving_leaves_the_previous_bundle_intact(model, tmp_path, monkeypatch):
    path = tmp_path / "run"
    save_bundle(model, path, metadata={"notes": "first"})
    before = {n: (path / n).read_bytes() for n in (MODEL_FILE, METADATA_FILE)}

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(checkpoints, "_write_metadata", crash)
    with pytest.raises(OSError, match="disk full"):
        save_bundle(make_model(seed=1), path, metadata={"notes": "second"})
    assert {n: (path / n).read_bytes() for n in before} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # staging folder removed
    assert load_bundle(path)[1]["notes"] == "first"


def test_failure_at_the_final_rename_restores_the_previous_bundle(model, tmp_path, monkeypatch):
    path = tmp_path / "run"
    save_bundle(model, path, metadata={"notes": "first"})
    real_replace = os.replace

    def replace(src, dst):
        if ".saving-" in os.fspath(src):  # moving the new bundle into place
            raise OSError("power cut")
        return real_replace(src, dst)

    monkeypatch.setattr(checkpoints.os, "replace", replace)
    with pytest.raises(OSError, match="power cut"):
        save_bundle(model, path, metadata={"notes": "second"})
    monkeypatch.undo()
    assert read_metadata(path)["notes"] == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_save_replaces_an_older_bundle_but_never_a_users_folder(model, tmp_path):
    path = tmp_path / "run"
    save_bundle(model, path, metadata={"notes": "first"})
    save_bundle(model, path, metadata={"notes": "second"})
    assert read_metadata(path)["notes"] == "second"
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.png").write_bytes(b"x")
    with pytest.raises(FileExistsError, match="not a model bundle"):
        save_bundle(model, tmp_path / "photos")
    assert (tmp_path / "photos" / "a.png").exists()
    with pytest.raises(ValueError, match="written by the lab"):
        save_bundle(model, tmp_path / "x", metadata={"image_size": 8})


# --- zips -----------------------------------------------------------------------------


def test_zip_round_trip(model, bundle, tmp_path):
    data = bundle_to_zip(bundle)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert sorted(zf.namelist()) == ["flowers/metadata.json", "flowers/model.keras"]
    path = bundle_from_zip(data, tmp_path / "uploads")
    assert path == tmp_path / "uploads" / "flowers"
    loaded, _ = load_bundle(path)
    for before, after in zip(probe_outputs(model), probe_outputs(loaded)):
        np.testing.assert_array_equal(after, before)
    # A second upload of the same zip never overwrites the first.
    assert bundle_from_zip(data, tmp_path / "uploads") == tmp_path / "uploads" / "flowers-2"


def test_zip_with_files_at_top_level_is_accepted(bundle, tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in (MODEL_FILE, METADATA_FILE):
            zf.write(bundle / name, name)
    path = bundle_from_zip(buf.getvalue(), tmp_path, name="my model!")
    assert path.name == "my-model" and read_metadata(path)["image_size"] == SIZE


def _zip_with(bundle, extra: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in (MODEL_FILE, METADATA_FILE):
            zf.write(bundle / name, f"flowers/{name}")
        for name, content in extra.items():
            zf.writestr(name, content)
    return buf.getvalue()


@pytest.mark.parametrize("evil", ["../evil.txt", "flowers/../../evil.txt", "/tmp/evil.txt",
                                  "C:/evil.txt", "..\\evil.txt"])
def test_zip_slip_entries_are_refused(bundle, tmp_path, evil):
    dest = tmp_path / "uploads" / "inner"
    err = error_of(bundle_from_zip, _zip_with(bundle, {evil: "pwned"}), dest)
    assert err.code == "not_bundle" and "unsafe" in err.params["detail"]
    assert not any(p.name == "evil.txt" for p in tmp_path.rglob("*"))
    assert not dest.exists() or list(dest.iterdir()) == []


def test_zip_with_many_entries_extra_files_or_no_zip_is_refused(bundle, tmp_path):
    many = _zip_with(bundle, {f"flowers/x{i}.txt": "x" for i in range(10)})
    assert error_of(bundle_from_zip, many, tmp_path).code == "not_bundle"
    extra = _zip_with(bundle, {"flowers/readme.txt": "x"})
    assert error_of(bundle_from_zip, extra, tmp_path).code == "not_bundle"
    assert error_of(bundle_from_zip, b"PK not really a zip", tmp_path).code == "not_bundle"
    assert list(tmp_path.iterdir()) == []


def test_zip_bomb_is_refused_as_too_large(bundle, tmp_path, monkeypatch):
    data = bundle_to_zip(bundle)
    monkeypatch.setattr(checkpoints, "MAX_BUNDLE_BYTES", len(data) + 10)
    # Uncompressed size above the limit (checked from the headers, then while unpacking).
    bomb = _zip_with(bundle, {})
    err = error_of(bundle_from_zip, bomb, tmp_path)
    assert err.code == "too_large" and "limit" in str(err)
    assert list(tmp_path.iterdir()) == []


def test_zip_whose_header_understates_its_size_is_refused(bundle, tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoints, "MAX_BUNDLE_BYTES", 4096)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("b/metadata.json", "{}")
        zf.writestr("b/model.keras", b"\0" * 100_000)
    data = bytearray(buf.getvalue())
    # Rewrite the declared sizes of model.keras (local and central headers) to 10 bytes.
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (i := data.find(sig, start)) >= 0:
            name_len = int.from_bytes(data[i + (26 if sig == b"PK\x03\x04" else 28):][:2], "little")
            name_at = i + (30 if sig == b"PK\x03\x04" else 46)
            if data[name_at:name_at + name_len] == b"b/model.keras":
                data[i + offset:i + offset + 4] = (10).to_bytes(4, "little")
            start = i + 4
    err = error_of(bundle_from_zip, bytes(data), tmp_path)
    # zipfile stops at the declared size and the CRC check fails: never more is written.
    assert err.code == "corrupt"
    assert list(tmp_path.iterdir()) == []


def test_uploaded_bundle_with_a_damaged_model_is_refused_on_load(bundle, tmp_path):
    damaged = _zip_with(bundle, {})
    path = bundle_from_zip(damaged, tmp_path)
    (path / MODEL_FILE).write_bytes(b"garbage")
    assert error_of(load_bundle, path).code == "corrupt"
    assert math.isfinite(read_metadata(path)["image_size"])
