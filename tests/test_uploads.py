"""lab/uploads.py: uploaded training images and zips of them, read safely."""

import io
import stat
import zipfile

import numpy as np

from conftest import png_bytes
from lab import uploads


def _png(seed=0, size=20):
    return png_bytes(np.random.default_rng(seed).integers(0, 255, (size, size, 3), np.uint8))


def _zip(entries) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries:
            if isinstance(name, zipfile.ZipInfo):
                zf.writestr(name, data)
            else:
                zf.writestr(name, data)
    return buf.getvalue()


def test_loose_files_mixed_good_and_bad_keep_the_good_ones():
    s = uploads.read_uploads([("a.png", _png(1)), ("notes.txt", b"hello there"),
                              ("b.png", _png(2)), ("empty.png", b"")], size=16)
    assert s.count == 2 and s.images.shape == (2, 16, 16, 3)
    assert s.names == ["a.png", "b.png"]
    assert s.not_images == ["notes.txt"]
    assert s.failed == [("empty.png", "empty")]


def test_zip_slip_symlink_and_non_images_are_refused_but_good_images_used():
    link = zipfile.ZipInfo("flowers/link.png")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    data = _zip([("flowers/1.png", _png(1)), ("../evil.png", _png(2)),
                 ("/abs/evil.png", _png(3)), ("flowers/readme.txt", b"not an image"),
                 (link, b"/etc/passwd"), ("flowers/2.png", _png(4)),
                 ("__MACOSX/flowers/._1.png", b"junk")])
    s = uploads.read_uploads([("set.zip", data)], size=16)
    assert s.count == 2
    assert sorted(s.names) == ["set.zip/flowers/1.png", "set.zip/flowers/2.png"]
    assert len(s.unsafe) == 3 and all("evil" in u or "link" in u for u in s.unsafe)
    assert s.not_images == ["set.zip/flowers/readme.txt"]
    assert s.refused == []


def test_zip_bomb_is_refused_before_decompressing():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.png", b"\0" * 5_000_000)  # compresses to a few kB
    s = uploads.read_uploads([("bomb.zip", buf.getvalue()), ("ok.png", _png())], size=16,
                             max_zip_bytes=1_000_000)
    assert s.refused == [("bomb.zip", "too_large")]
    assert s.names == ["ok.png"]  # the other file of the same upload is still used


def test_zip_with_lying_sizes_never_decompresses_more_than_declared():
    data = bytearray(_zip([("a.png", b"\0" * 200_000)]))
    # A zip that declares a tiny size: patch the central directory's uncompressed size.
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 24:cd + 28] = (10).to_bytes(4, "little")
    members, unsafe = uploads.zip_members(bytes(data), max_bytes=1000)
    assert [len(content) for _, content in members] and all(
        len(content) <= 1000 for _, content in members)
    s = uploads.read_uploads([("lie.zip", bytes(data))], size=8, max_zip_bytes=1000)
    assert s.count == 0 and s.problems == 1


def test_too_many_files_is_refused():
    data = _zip([(f"{i}.png", _png(i, 8)) for i in range(12)])
    s = uploads.read_uploads([("many.zip", data)], size=8, max_files=10)
    assert s.refused == [("many.zip", "too_many")] and s.count == 0
    s = uploads.read_uploads([("many.zip", data)], size=8, max_files=12)
    assert s.count == 12 and not s.refused


def test_not_a_zip_at_all():
    s = uploads.read_uploads([("x.zip", b"PK\x03\x04 broken")], size=8)
    assert s.refused == [("x.zip", "bad_zip")] and s.count == 0


def test_unsafe_names():
    for bad in ("../a.png", "a/../../b.png", "/etc/x.png", "C:\\x.png", "a\\..\\b.png"):
        assert uploads.unsafe_name(bad), bad
    for good in ("a.png", "dir/a.png", "a..b.png"):
        assert not uploads.unsafe_name(good), good
