"""Reading training images a user uploads: image files, or a zip of images.

Everything here is user input. Each file is read with core.data.load_image, so a
bad file gets the same error codes as everywhere else in the lab; a problem with
one file never throws away the good files of the same upload. A zip is read
in memory and never extracted to disk; still, entries that would escape a folder
(absolute paths, '..'), symlinks, too many entries and too many uncompressed
bytes (a zip bomb) are refused before anything is decompressed, and the bytes
actually decompressed are counted too (a zip can lie about its sizes).

No Streamlit here: the page turns an ``UploadSummary`` into translated messages.
"""

from __future__ import annotations

import io
import re
import stat
import zipfile
from dataclasses import dataclass, field

import numpy as np

from core.data import MAX_UPLOAD_BYTES, ImageLoadError, load_image

MAX_FILES = 2_000                    # images in one upload (files plus zip entries)
MAX_ZIP_BYTES = 256 * 2**20          # total uncompressed size of one zip
IGNORED = ("__MACOSX/", ".DS_Store", "Thumbs.db", "desktop.ini")


class UploadError(ValueError):
    """A whole upload refused (a zip bomb, too many files, not a zip at all)."""

    CODES = ("bad_zip", "too_many", "too_large")

    def __init__(self, code: str, message: str, **params):
        super().__init__(message)
        self.code = code
        self.params = params


@dataclass
class UploadSummary:
    images: np.ndarray                          # (n, size, size, 3) float32 in [0, 1]
    names: list[str] = field(default_factory=list)        # the files used, in order
    failed: list[tuple[str, str]] = field(default_factory=list)  # (name, ImageLoadError code)
    not_images: list[str] = field(default_factory=list)   # skipped: not an image
    unsafe: list[str] = field(default_factory=list)       # refused zip entries (slip, symlink)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (upload name, UploadError code)

    @property
    def count(self) -> int:
        return len(self.names)

    @property
    def problems(self) -> int:
        return len(self.failed) + len(self.not_images) + len(self.unsafe) + len(self.refused)


def unsafe_name(name: str) -> bool:
    """Absolute paths, drive letters and '..' would point outside the folder (zip slip)."""
    parts = re.split(r"[\\/]", name)
    return (name.startswith(("/", "\\")) or bool(re.match(r"^[A-Za-z]:", name))
            or any(p == ".." for p in parts))


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _ignored(name: str) -> bool:
    return any(part in name for part in IGNORED) or name.rsplit("/", 1)[-1].startswith("._")


def is_zip(name: str, data: bytes) -> bool:
    return name.lower().endswith(".zip") or data[:4] == b"PK\x03\x04"


def zip_members(data: bytes, max_files: int = MAX_FILES,
                max_bytes: int = MAX_ZIP_BYTES) -> tuple[list[tuple[str, bytes]], list[str]]:
    """The files in a zip as (name, bytes), and the names of the entries refused as unsafe.

    Raises UploadError for a file that is not a zip, more than ``max_files`` entries,
    or more than ``max_bytes`` uncompressed (declared or actually decompressed).
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as err:
        raise UploadError("bad_zip", f"not a readable zip file ({err})") from None
    files = [i for i in infos if not i.is_dir() and not _ignored(i.filename)]
    if len(files) > max_files:
        raise UploadError("too_many", f"the zip holds {len(files)} files; the limit is "
                          f"{max_files}", count=len(files), limit=max_files)
    unsafe = [i.filename for i in files if unsafe_name(i.filename) or _is_symlink(i)]
    safe = [i for i in files if i.filename not in unsafe]
    declared = sum(i.file_size for i in safe)
    if declared > max_bytes:
        raise UploadError("too_large", f"the zip unpacks to {declared} bytes; the limit is "
                          f"{max_bytes}", size=declared, limit=max_bytes)
    out, total = [], 0
    with zf:
        for info in safe:
            per_file = min(max_bytes - total, MAX_UPLOAD_BYTES) + 1
            try:
                with zf.open(info) as fh:
                    content = fh.read(per_file)
            except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError,
                    EOFError, ValueError):
                content = b"\x00corrupt"  # load_image will call it what it is
            total += len(content)
            if total > max_bytes:  # sizes in the zip were lies: a bomb
                raise UploadError("too_large", "the zip unpacks to more than the limit",
                                  size=total, limit=max_bytes)
            out.append((info.filename, content))
    return out, unsafe


def read_uploads(files, size: int, max_files: int = MAX_FILES,
                 max_zip_bytes: int = MAX_ZIP_BYTES) -> UploadSummary:
    """Read uploaded files (pairs (name, bytes), or objects with .name and .getvalue())
    into training images of size x size (centre crop). Never raises for bad input."""
    summary = UploadSummary(images=np.zeros((0, size, size, 3), np.float32))
    images = []
    budget = max_files
    for item in files:
        name, data = item if isinstance(item, tuple) else (item.name, item.getvalue())
        if is_zip(name, data):
            try:
                members, unsafe = zip_members(data, max_files=budget, max_bytes=max_zip_bytes)
            except UploadError as err:
                summary.refused.append((name, err.code))
                continue
            summary.unsafe += [f"{name}: {u}" for u in unsafe]
            members = [(f"{name}/{m}", d) for m, d in members]
        else:
            members = [(name, data)]
        for member, content in members:
            if budget <= 0:
                summary.refused.append((member, "too_many"))
                break
            try:
                images.append(load_image(content, size=size))
            except ImageLoadError as err:
                if err.code == "not_image":
                    summary.not_images.append(member)
                else:
                    summary.failed.append((member, err.code))
                continue
            summary.names.append(member)
            budget -= 1
    if images:
        summary.images = np.stack(images).astype(np.float32)
    return summary
