"""Model bundles: a trained `DiffusionModel` saved as a folder, safely.

A bundle is a directory `<name>/` with two files:

* `model.keras`: `model.save()` (networks, EMA, normaliser, optimizer state);
* `metadata.json`: what the lab shows without loading TensorFlow (architecture,
  schedule, image size, loss, prediction, normaliser statistics, training history,
  data set, creation time, library versions, format version) and a fingerprint of
  the weights and outputs, checked after loading.

Saving is atomic: the bundle is written into a hidden sibling folder and renamed into
place, so a crash never leaves half a bundle. Loading refuses anything it cannot
trust with one `BundleError` whose `.code` the app translates (like
`core.data.ImageLoadError`). Zips are for download and upload, and are checked for
zip slip and zip bombs before anything is written.

`read_metadata`, the zip functions and `BundleError` need no TensorFlow; only
`save_bundle` and `load_bundle` import it.
"""

from __future__ import annotations

import io
import json
import math
import os
import platform
import re
import shutil
import stat
import tempfile
import uuid
import warnings
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

__all__ = [
    "FORMAT_VERSION", "MODEL_FILE", "METADATA_FILE", "MAX_BUNDLE_BYTES", "MAX_ZIP_ENTRIES",
    "BundleError", "save_bundle", "load_bundle", "read_metadata", "bundle_to_zip",
    "bundle_from_zip",
]

FORMAT = "diffusion-lab-bundle"
# Bump when metadata.json changes incompatibly; older labs then refuse newer bundles.
FORMAT_VERSION = 1
MODEL_FILE = "model.keras"
METADATA_FILE = "metadata.json"
# Written by `python -m core.train` after a run: what the model makes from fixed noise.
SAMPLES_FILE = "samples.png"
# The book's net is about 31 MB on disk (network, EMA and two Adam slots); this leaves
# room for wider nets while refusing a zip bomb.
MAX_BUNDLE_BYTES = 256 * 2**20
# A bundle zip holds 2 files and maybe a folder entry; a few more allows for what
# archivers add (__MACOSX/, .DS_Store), which are skipped.
MAX_ZIP_ENTRIES = 8
IGNORED_ZIP_ENTRIES = ("__MACOSX/", ".DS_Store")
ZIP_CHUNK_BYTES = 2**20
# After loading, the outputs on a fixed probe input must match those saved, to this
# tolerance (loose enough for a different CPU's float rounding, tight for real damage).
PROBE_SEED = 1234
PROBE_NOISE_RATE = 0.6
PROBE_RTOL = 1e-3
PROBE_ATOL = 1e-4
REQUIRED_KEYS = ("format_version", "architecture", "image_size", "channels", "unet",
                 "schedule", "loss", "prediction", "normalizer", "fingerprint")
_RESERVED_KEYS = REQUIRED_KEYS + ("format", "created", "versions", "history", "dataset",
                                  "unet_preset", "parameters", "ema_decay")


class BundleError(ValueError):
    """A model bundle the lab cannot use, with a `.code` the app translates.

    `.code` is one of `CODES`; `.params` holds what a translated message may show.
    The English message (`str(err)`) already tells the user what to do.
    """

    CODES = ("not_bundle", "corrupt", "wrong_architecture", "wrong_image_size", "version",
             "too_large")

    def __init__(self, code: str, message: str, **params):
        if code not in self.CODES:
            raise ValueError(f"unknown BundleError code {code!r}")
        super().__init__(message)
        self.code = code
        self.params = params

    def __reduce__(self):
        # Keeps the error intact across processes (the trainer runs in a child process).
        return (type(self), (self.code, self.args[0]), {"params": self.params})


def _not_bundle(path, detail="") -> BundleError:
    return BundleError(
        "not_bundle",
        f"{Path(path).name or path} is not a model bundle: a bundle is a folder (or a .zip of "
        f"one) holding {MODEL_FILE} and {METADATA_FILE}. Choose a model saved by Diffusion Lab.",
        path=str(path), detail=detail)


def _corrupt(path, detail) -> BundleError:
    return BundleError(
        "corrupt",
        f"The model bundle {Path(path).name or path} is damaged ({detail}). "
        "Save or download it again; if it came from an upload, upload the original zip.",
        path=str(path), detail=detail)


def _too_large(size: int, limit: int = MAX_BUNDLE_BYTES) -> BundleError:
    size_text, limit_text = f"{size / 2**20:.1f} MB", f"{limit / 2**20:g} MB"
    return BundleError(
        "too_large",
        f"The model bundle is {size_text} unpacked; the limit is {limit_text}. "
        "Upload a bundle saved by Diffusion Lab (a few tens of MB).",
        size=size_text, limit=limit_text, bytes=size, max_bytes=limit)


# ---------------------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------------------


def save_bundle(model, path, metadata: dict | None = None, history=None,
                dataset: dict | None = None, include_optimizer: bool = True) -> Path:
    """Save `model` (a core.diffusion.DiffusionModel) as the bundle folder `path`.

    metadata: extra JSON entries (must not reuse the lab's own keys).
    history: a keras History or its `.history` dict. dataset: a JSON description.
    include_optimizer=False writes a model for sampling only, about half the size
    (no Adam moments): what a shipped, pretrained bundle needs. Training it further
    starts a fresh optimizer.
    An existing bundle at `path` is replaced only once the new one is complete.
    """
    path = Path(path)
    if not include_optimizer:
        slim = type(model).from_config(model.get_config())
        slim.set_weights(model.get_weights())
        model = slim
    if path.exists() and not _replaceable(path):
        raise FileExistsError(
            f"{path} exists and is not a model bundle; choose another name or folder")
    meta = _build_metadata(model, metadata, history, dataset)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.saving-", dir=path.parent))
    try:
        with warnings.catch_warnings():
            # Keras 3.15 converts variables with np.array(x), which numpy 2.4 flags once
            # per weight; the file is fine, the hundreds of warnings are only noise.
            warnings.filterwarnings("ignore", category=DeprecationWarning,
                                    message="__array__ implementation doesn't accept a copy")
            model.save(staging / MODEL_FILE)
        _write_metadata(staging / METADATA_FILE, meta)
        _replace_dir(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return path


def _replaceable(path: Path) -> bool:
    """Only an empty folder or an earlier bundle may be overwritten, never a user's folder."""
    if not path.is_dir() or path.is_symlink():
        return False
    names = {p.name for p in path.iterdir()}
    return not names or names <= {MODEL_FILE, METADATA_FILE, SAMPLES_FILE}


def _replace_dir(new: Path, target: Path) -> None:
    """Move `new` to `target` with renames only; the old target goes aside first and
    comes back if the move fails, so `target` is always a complete bundle or absent."""
    aside = None
    if target.exists():
        aside = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(target, aside)
    try:
        os.replace(new, target)
    except BaseException:
        if aside is not None:
            os.replace(aside, target)
        raise
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


def _write_metadata(path: Path, meta: dict) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2, allow_nan=False, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())


def _json_number(x):
    """A float for JSON; NaN and infinities (a diverged loss, an empty noise bin)
    become null, and a null read back from an earlier bundle stays null."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _clean_history(history) -> dict:
    history = getattr(history, "history", history) or {}
    if not isinstance(history, dict):
        raise ValueError("history must be a keras History or a dict of lists of numbers")
    return {str(k): [_json_number(v) for v in np.ravel(np.asarray(values, dtype=object))]
            for k, values in history.items()}


def _check_json(label: str, value):
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as err:
        raise ValueError(f"{label} must be JSON-serialisable (numbers, strings, lists, dicts): "
                         f"{err}") from None


def _build_metadata(model, metadata, history, dataset) -> dict:
    import keras
    import tensorflow as tf

    from core.unet import PRESETS, unet_kwargs

    config = model.get_config()
    unet = unet_kwargs(config["unet"])
    sched = model.schedule
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "architecture": {"class_name": type(model).__name__,
                         "config": _check_json("model config", config)},
        "image_size": model.image_size,
        "channels": model.channels,
        "unet": {**unet, "widths": list(unet["widths"])},
        "unet_preset": next((n for n in PRESETS if unet_kwargs(n) == unet), None),
        "parameters": int(model.network.count_params()),
        "schedule": {"name": sched.name, "params": dict(sched.params), "T": sched.T,
                     "zero_terminal_snr": sched.zero_terminal_snr},
        "loss": model.loss_name,
        "prediction": model.prediction,
        "ema_decay": model.ema_decay,
        "normalizer": {"mean": model.normalizer_mean.numpy().tolist(),
                       "variance": model.normalizer_variance.numpy().tolist()},
        "history": _clean_history(history),
        "dataset": _check_json("dataset", dataset),
        "versions": {"python": platform.python_version(), "keras": keras.__version__,
                     "tensorflow": tf.__version__, "numpy": np.__version__},
        "fingerprint": _fingerprint(model),
    }
    extra = _check_json("metadata", metadata or {})
    clash = sorted(set(extra) & set(_RESERVED_KEYS))
    if clash:
        raise ValueError(f"metadata keys {', '.join(clash)} are written by the lab; rename them")
    return {**meta, **extra}


def _fingerprint(model) -> dict:
    """Checksums of both networks' weights and their outputs on a fixed probe input.

    The weight sums catch weights that silently failed to load; the probe outputs
    catch anything else that would make the loaded model behave differently."""
    weights = {}
    for label, net in (("network", model.network), ("ema_network", model.ema_network)):
        values = [w.numpy().astype(np.float64) for w in net.weights]
        weights[label] = [float(sum(np.abs(v).sum() for v in values)),
                          float(sum(np.square(v).sum() for v in values))]
    return {"weights": weights, "probe": _probe(model)}


def _probe(model) -> list[float]:
    shape = (1, model.image_size, model.image_size, model.channels)
    x_t = np.random.default_rng(PROBE_SEED).standard_normal(shape).astype(np.float32)
    noise, signal = PROBE_NOISE_RATE, math.sqrt(1.0 - PROBE_NOISE_RATE**2)
    out = []
    for use_ema in (True, False):
        eps_pred, _ = model.denoise(x_t, noise, signal, use_ema=use_ema)
        eps_pred = np.asarray(eps_pred, dtype=np.float64)
        out += [float(eps_pred.mean()), float(np.abs(eps_pred).mean())]
    out += [float(np.asarray(model.normalize(np.full(shape, 0.5, np.float32))).mean())]
    return out


# ---------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------


def read_metadata(path) -> dict:
    """The metadata of the bundle at `path`, checked (no TensorFlow needed).

    Raises BundleError: "not_bundle" (no bundle there), "corrupt" (unreadable JSON or
    missing entries), "version" (saved by a newer lab).
    """
    path = Path(path)
    if not path.is_dir():
        raise _not_bundle(path, "not a folder")
    if not (path / METADATA_FILE).is_file() or not (path / MODEL_FILE).is_file():
        raise _not_bundle(path, f"missing {MODEL_FILE} or {METADATA_FILE}")
    try:
        meta = json.loads((path / METADATA_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise _corrupt(path, f"{METADATA_FILE} is not valid JSON: {err}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise _not_bundle(path, f"{METADATA_FILE} was not written by Diffusion Lab")
    version = meta.get("format_version")
    if not isinstance(version, int):
        raise _corrupt(path, "format_version is missing")
    if version > FORMAT_VERSION:
        raise BundleError(
            "version",
            f"This model bundle has format version {version}, but this Diffusion Lab reads "
            f"versions up to {FORMAT_VERSION}. Update Diffusion Lab, or save the model again "
            "with this version.",
            found=version, supported=FORMAT_VERSION)
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if missing:
        raise _corrupt(path, f"{METADATA_FILE} lacks {', '.join(missing)}")
    return meta


def describe_unet(unet: dict) -> str:
    """A short description: a preset name, or the widths and depths."""
    from core.unet import PRESETS, unet_kwargs

    kw = unet_kwargs(unet)
    for name in PRESETS:
        if unet_kwargs(name) == kw:
            return f"'{name}' (widths {'/'.join(map(str, kw['widths']))}, bottleneck " \
                   f"{kw['bottleneck_width']})"
    return (f"widths {'/'.join(map(str, kw['widths']))}, bottleneck {kw['bottleneck_width']}, "
            f"block depth {kw['block_depth']}, embedding {kw['embedding_dims']}")


def load_bundle(path, expect_image_size: int | None = None, expect_unet=None):
    """Load a bundle: returns (model, metadata).

    expect_image_size / expect_unet (a preset name or build_unet dict): refuse a
    model that does not fit where it will be used. Every problem is a BundleError:
    "not_bundle", "corrupt", "version", "wrong_image_size", "wrong_architecture".
    The loaded model is checked to reproduce the outputs recorded when it was saved.
    """
    path = Path(path)
    meta = read_metadata(path)
    found_size = meta["image_size"]
    if expect_image_size is not None and found_size != expect_image_size:
        raise BundleError(
            "wrong_image_size",
            f"This model makes {found_size}×{found_size} images, but {expect_image_size}×"
            f"{expect_image_size} is needed here. Choose a model trained at {expect_image_size} "
            f"px, or set the image size to {found_size}.",
            expected=expect_image_size, found=found_size)

    import keras

    import core.diffusion  # noqa: F401  (registers DiffusionModel and its layers)
    from core.unet import unet_kwargs

    try:
        found_unet = unet_kwargs(meta["unet"])
    except (ValueError, TypeError) as err:
        raise _corrupt(path, f"its U-Net description is invalid: {err}") from None
    if expect_unet is not None and unet_kwargs(expect_unet) != found_unet:
        expected, found = describe_unet(unet_kwargs(expect_unet)), describe_unet(found_unet)
        raise BundleError(
            "wrong_architecture",
            f"This model's U-Net is {found}, but {expected} is needed here. Choose a model "
            "trained with that network, or change the network setting to match this model.",
            expected=expected, found=found)

    try:
        model = keras.saving.load_model(path / MODEL_FILE, safe_mode=True)
    except Exception as err:  # noqa: BLE001  (a damaged zip/h5 fails in many ways)
        raise _corrupt(path, f"{MODEL_FILE} cannot be loaded: {type(err).__name__}") from None
    if not isinstance(model, core.diffusion.DiffusionModel):
        raise _corrupt(path, f"{MODEL_FILE} holds a {type(model).__name__}, not a DiffusionModel")
    if _check_json("model config", model.get_config()) != meta["architecture"].get("config"):
        raise _corrupt(path, f"{METADATA_FILE} does not describe the model in {MODEL_FILE}")
    _verify_fingerprint(path, model, meta["fingerprint"])
    return model, meta


def _verify_fingerprint(path, model, saved) -> None:
    now = _fingerprint(model)
    try:
        for label in ("network", "ema_network"):
            if not np.allclose(now["weights"][label], saved["weights"][label], rtol=1e-9, atol=0):
                raise _corrupt(path, f"the {label} weights differ from those saved")
        if not np.allclose(now["probe"], saved["probe"], rtol=PROBE_RTOL, atol=PROBE_ATOL):
            raise _corrupt(path, "the loaded model's outputs differ from those saved")
    except (KeyError, TypeError, ValueError) as err:
        if isinstance(err, BundleError):
            raise
        raise _corrupt(path, "its fingerprint is missing or invalid") from None


# ---------------------------------------------------------------------------------------
# Zips for download and upload
# ---------------------------------------------------------------------------------------


def bundle_to_zip(path) -> bytes:
    """The bundle at `path` as zip bytes, its two files inside a folder named like it."""
    path = Path(path)
    read_metadata(path)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in (METADATA_FILE, MODEL_FILE):
            zf.write(path / name, f"{path.name}/{name}")
    return buf.getvalue()


def _unsafe_name(name: str) -> bool:
    """Absolute paths, drive letters and '..' would write outside the folder (zip slip)."""
    parts = re.split(r"[\\/]", name)
    return (name.startswith(("/", "\\")) or bool(re.match(r"^[A-Za-z]:", name))
            or any(p == ".." for p in parts))


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _safe_folder_name(name: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-")
    return name[:64] or "model"


def bundle_from_zip(data: bytes, dest_dir, name: str | None = None) -> Path:
    """Unpack an uploaded bundle zip into a new folder under `dest_dir`; returns its path.

    Accepts the two bundle files at the top of the zip or inside one folder. Refuses
    (BundleError "not_bundle") anything that is not such a zip, entries that would
    escape the folder (zip slip), links, or more than MAX_ZIP_ENTRIES entries, and
    ("too_large") more than MAX_BUNDLE_BYTES, counted while unpacking so a lying
    header does not help. An existing folder is never overwritten: "name-2", ...
    Call `load_bundle` on the result to check the model itself.
    """
    data = bytes(data)
    if len(data) > MAX_BUNDLE_BYTES:
        raise _too_large(len(data))
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _not_bundle("upload", "not a zip file") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ZIP_ENTRIES:
            raise _not_bundle("upload", f"the zip holds {len(infos)} entries")
        for info in infos:
            if _unsafe_name(info.filename) or _is_symlink(info):
                raise _not_bundle("upload", f"unsafe entry {info.filename!r}")
        if sum(info.file_size for info in infos) > MAX_BUNDLE_BYTES:
            raise _too_large(sum(info.file_size for info in infos))
        members, folder = _bundle_members(infos)

        dest_dir = Path(dest_dir)
        dest_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".upload-", dir=dest_dir))
        try:
            budget = MAX_BUNDLE_BYTES
            for filename, info in members.items():
                budget -= _extract(zf, info, staging / filename, budget)
            read_metadata(staging)
            target = _unique(dest_dir, _safe_folder_name(name or folder or "model"))
            os.replace(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return target


def _bundle_members(infos) -> tuple[dict, str]:
    """Find model.keras and metadata.json, at the top or together in one folder."""
    files = {i.filename.replace("\\", "/"): i for i in infos if not i.is_dir()
             and not any(part in i.filename for part in IGNORED_ZIP_ENTRIES)}
    folders = {name.rpartition("/")[0] for name in files}
    folder = folders.pop() if len(folders) == 1 else None
    if folder is not None and "/" not in folder:
        prefix = f"{folder}/" if folder else ""
        if set(files) == {prefix + MODEL_FILE, prefix + METADATA_FILE}:
            return {f: files[prefix + f] for f in (MODEL_FILE, METADATA_FILE)}, folder
    raise _not_bundle("upload", f"the zip does not hold just {MODEL_FILE} and {METADATA_FILE}")


def _extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: int) -> int:
    """Copy one entry, counting real bytes against `budget`; returns the bytes written."""
    written = 0
    try:
        with zf.open(info) as src, open(target, "wb") as dst:
            while chunk := src.read(ZIP_CHUNK_BYTES):
                written += len(chunk)
                if written > budget:
                    raise _too_large(MAX_BUNDLE_BYTES - budget + written)
                dst.write(chunk)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as err:
        if isinstance(err, BundleError):
            raise
        raise _corrupt("upload", f"{info.filename} cannot be unpacked") from None
    return written


def _unique(dest_dir: Path, name: str) -> Path:
    target, n = dest_dir / name, 2
    while target.exists():
        target, n = dest_dir / f"{name}-{n}", n + 1
    return target
