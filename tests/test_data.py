"""Specifications for core/data.py: the procedural flowers and loading user images.

Every test makes its own data (Pillow, in memory or in tmp_path): nothing is downloaded
and no binary file is shipped.
"""

from __future__ import annotations

import io
import pickle
import struct
import sys
import warnings
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from core import data
from core.data import (
    MAX_FLOWER_SIZE,
    MAX_PIXELS,
    MAX_UPLOAD_BYTES,
    MIN_FLOWER_SIZE,
    ImageLoadError,
    center_crop_resize,
    flower_grid,
    load_image,
    procedural_flowers,
)

# ---------------------------------------------------------------------------------------
# Helpers that make test images
# ---------------------------------------------------------------------------------------


def encode(img: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **options)
    return buf.getvalue()


def noise_image(width=64, height=48, seed=0) -> Image.Image:
    """Random RGB pixels: they compress badly, so cutting the file loses real data."""
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def png_with_header_size(width: int, height: int) -> bytes:
    """A valid 1x1 PNG whose IHDR claims another size (with a correct CRC)."""
    png = encode(Image.new("RGB", (1, 1)), "PNG")
    at = png.index(b"IHDR")
    body = struct.pack(">II", width, height) + png[at + 12 : at + 17]
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + body))
    return png[: at + 4] + body + crc + png[at + 21 :]


def three_bands(width=200, height=100) -> Image.Image:
    """Left third red, middle third green, right third blue."""
    a = np.zeros((height, width, 3), dtype=np.uint8)
    third = width // 3
    a[:, :third, 0] = 255
    a[:, third : width - third, 1] = 255
    a[:, width - third :, 2] = 255
    return Image.fromarray(a)


def load_error(source, **kwargs) -> ImageLoadError:
    with pytest.raises(ImageLoadError) as info:
        load_image(source, **kwargs)
    return info.value


# ---------------------------------------------------------------------------------------
# Procedural flowers
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [32, 64, 256])
def test_procedural_flowers_have_nhwc_float32_shape_in_unit_range(size):
    n = 3 if size == 256 else 8
    images = procedural_flowers(n, size=size, seed=1)
    assert images.shape == (n, size, size, 3)
    assert images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert np.isfinite(images).all()


def test_procedural_flowers_accept_every_size_at_the_edges_of_the_range():
    assert procedural_flowers(1, size=MIN_FLOWER_SIZE).shape[1] == 32
    assert procedural_flowers(1, size=33).shape[1:3] == (33, 33)
    assert procedural_flowers(1, size=MAX_FLOWER_SIZE).shape[1] == 256


def test_procedural_flowers_are_seeded_and_deterministic():
    a = procedural_flowers(16, size=32, seed=7)
    b = procedural_flowers(16, size=32, seed=7)
    np.testing.assert_array_equal(a, b)


def test_procedural_flower_i_does_not_depend_on_how_many_are_asked_for():
    np.testing.assert_array_equal(
        procedural_flowers(5, seed=3)[2], procedural_flowers(10, seed=3)[2]
    )
    # Also across parameter blocks and painting chunks.
    many = procedural_flowers(600, size=32, seed=3)
    for i in (0, 63, 64, 255, 256, 599):
        np.testing.assert_array_equal(many[i], procedural_flowers(i + 1, size=32, seed=3)[i])


def test_procedural_flowers_differ_between_seeds():
    a = procedural_flowers(8, seed=0)
    b = procedural_flowers(8, seed=1)
    assert np.abs(a - b).mean() > 0.05


def test_procedural_flowers_are_varied_in_colour():
    images = procedural_flowers(64, size=32, seed=0)
    mean_colours = images.mean(axis=(1, 2))  # (64, 3)
    assert mean_colours.std(axis=0).min() > 0.04
    # Petal colours vary even more than whole-image means: compare the ring around
    # the centre where petals are.
    petals = images[:, 10:22, 10:22].mean(axis=(1, 2))
    assert petals.std(axis=0).min() > 0.08


def test_procedural_flowers_are_all_different_images():
    images = procedural_flowers(64, size=32, seed=0).reshape(64, -1)
    distances = np.abs(images[:, None] - images[None]).mean(axis=-1)
    off_diagonal = distances[~np.eye(64, dtype=bool)]
    assert off_diagonal.min() > 0.03


def test_procedural_flowers_have_a_flower_in_the_middle():
    """The centre of an image differs from its own corners (a subject on a background)."""
    images = procedural_flowers(64, size=32, seed=0)
    centre = images[:, 12:20, 12:20].mean(axis=(1, 2))
    corners = np.stack(
        [images[:, :4, :4], images[:, :4, -4:], images[:, -4:, :4], images[:, -4:, -4:]]
    ).mean(axis=(0, 2, 3))
    contrast = np.abs(centre - corners).sum(axis=-1)
    assert np.median(contrast) > 0.25
    # Backgrounds are soft: neighbouring corner pixels barely differ.
    corner = images[:, :6, :6]
    assert np.abs(np.diff(corner, axis=1)).mean() < 0.03


def test_procedural_flowers_look_the_same_at_every_size():
    """Parameters do not depend on the size: a flower downscaled from 128 px matches
    the same flower painted at 32 px."""
    small = procedural_flowers(4, size=32, seed=5)
    big = procedural_flowers(4, size=128, seed=5)
    shrunk = big.reshape(4, 32, 4, 32, 4, 3).mean(axis=(2, 4))
    assert np.abs(shrunk - small).mean() < 0.03
    assert np.abs(shrunk - procedural_flowers(4, size=32, seed=6)).mean() > 0.05


@pytest.mark.parametrize("size", [0, 16, 31, 257, 512])
def test_procedural_flowers_reject_sizes_outside_32_to_256(size):
    with pytest.raises(ValueError, match="32 to 256"):
        procedural_flowers(2, size=size)


@pytest.mark.parametrize("bad", [{"n": 0}, {"n": -3}, {"n": 2.5}, {"size": 32.0}, {"size": True}])
def test_procedural_flowers_reject_bad_counts_and_non_integer_sizes(bad):
    kwargs = {"n": 2, "size": 32, **bad}
    with pytest.raises(ValueError):
        procedural_flowers(**kwargs)


def test_flower_grid_tiles_a_batch_with_gaps():
    images = np.zeros((5, 4, 6, 3), dtype=np.float32)
    grid = flower_grid(images, cols=3)
    gap = data.GRID_GAP_PX
    assert grid.shape == (2 * 4 + gap, 3 * 6 + 2 * gap, 3)
    assert grid[:4, :6].max() == 0.0  # first tile
    assert (grid[:, 6 : 6 + gap] == data.GRID_GAP_VALUE).all()  # a gap column
    assert (grid[4 + gap :, 2 * (6 + gap) :] == data.GRID_GAP_VALUE).all()  # missing 6th tile


def test_flower_grid_rejects_a_single_image():
    with pytest.raises(ValueError, match="batch"):
        flower_grid(np.zeros((4, 4, 3)), cols=2)


def test_core_data_imports_no_tensorflow_keras_or_streamlit():
    source = open(data.__file__, encoding="utf-8").read()
    for name in ("tensorflow", "keras", "streamlit"):
        assert f"import {name}" not in source and f"from {name}" not in source


# ---------------------------------------------------------------------------------------
# Loading user images: formats and modes
# ---------------------------------------------------------------------------------------


def test_load_image_reads_png_rgb_exactly():
    img = noise_image()
    out = load_image(encode(img, "PNG"))
    assert out.shape == (48, 64, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out, np.asarray(img) / 255.0, atol=1e-6)


def test_load_image_composites_transparent_rgba_over_white():
    a = np.zeros((4, 4, 4), dtype=np.uint8)
    a[..., 0] = 255  # red...
    a[..., 3] = 255  # ...and opaque
    a[0, 0] = (0, 0, 0, 0)  # but one fully transparent black pixel
    a[0, 1] = (0, 0, 0, 128)  # and one half-transparent black pixel
    out = load_image(encode(Image.fromarray(a, "RGBA"), "PNG"))
    np.testing.assert_allclose(out[0, 0], [1, 1, 1])
    np.testing.assert_allclose(out[0, 1], [127 / 255] * 3, atol=1e-6)
    np.testing.assert_allclose(out[1, 1], [1, 0, 0])


def test_load_image_expands_grayscale_to_three_equal_channels():
    gray = Image.fromarray(np.array([[0, 51], [204, 255]], dtype=np.uint8), "L")
    out = load_image(encode(gray, "PNG"))
    assert out.shape == (2, 2, 3)
    np.testing.assert_allclose(out[..., 0], [[0, 0.2], [0.8, 1]], atol=1e-6)
    np.testing.assert_array_equal(out[..., 0], out[..., 2])


def test_load_image_composites_gray_with_alpha_over_white():
    la = Image.new("LA", (2, 1), (0, 255))
    la.putpixel((1, 0), (0, 0))
    out = load_image(encode(la, "PNG"))
    np.testing.assert_allclose(out[0, 0], [0, 0, 0])
    np.testing.assert_allclose(out[0, 1], [1, 1, 1])


def test_load_image_maps_palette_colours_and_palette_transparency():
    p = Image.new("P", (2, 1))
    p.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    p.putpixel((0, 0), 0)
    p.putpixel((1, 0), 1)
    np.testing.assert_allclose(load_image(encode(p, "PNG"))[0], [[1, 0, 0], [0, 0, 1]])
    transparent_blue = load_image(encode(p, "PNG", transparency=1))
    np.testing.assert_allclose(transparent_blue[0], [[1, 0, 0], [1, 1, 1]])


def test_load_image_scales_16_bit_grayscale_by_65535_not_255():
    a = np.array([[0, 32768, 65535]], dtype=np.uint16)
    img16 = Image.fromarray(a)
    assert img16.mode.startswith("I;16")
    out = load_image(encode(img16, "PNG"))
    np.testing.assert_allclose(out[0, :, 0], [0.0, 32768 / 65535, 1.0], atol=1e-6)
    assert abs(out[0, 1, 0] - 0.5) < 0.001


def test_load_image_scales_32_bit_integer_mode_as_16_bit():
    img = Image.fromarray(np.array([[0, 65535]], dtype=np.int32))
    assert img.mode == "I"
    out = load_image(encode(img, "TIFF"))
    np.testing.assert_allclose(out[0, :, 1], [0.0, 1.0], atol=1e-6)


def test_load_image_keeps_float_images_in_unit_range_as_they_are():
    img = Image.fromarray(np.array([[0.0, 0.25, 1.0]], dtype=np.float32))
    assert img.mode == "F"
    out = load_image(encode(img, "TIFF"))
    np.testing.assert_allclose(out[0, :, 2], [0.0, 0.25, 1.0], atol=1e-6)


def test_load_image_reads_jpeg_close_to_the_original():
    flat = Image.new("RGB", (16, 16), (200, 100, 50))
    out = load_image(encode(flat, "JPEG", quality=95))
    np.testing.assert_allclose(out.mean(axis=(0, 1)), [200 / 255, 100 / 255, 50 / 255], atol=0.02)


def test_load_image_reads_cmyk_jpeg_as_rgb():
    white = Image.new("CMYK", (8, 8), (0, 0, 0, 0))
    out = load_image(encode(white, "JPEG", quality=95))
    assert out.shape == (8, 8, 3)
    assert out.min() > 0.95


def test_load_image_reads_webp():
    flat = Image.new("RGB", (16, 16), (30, 160, 220))
    out = load_image(encode(flat, "WEBP", lossless=True))
    np.testing.assert_allclose(out[8, 8], [30 / 255, 160 / 255, 220 / 255], atol=1e-6)


def test_load_image_takes_the_first_frame_of_an_animated_gif():
    frames = [Image.new("RGB", (8, 8), c) for c in [(255, 0, 0), (0, 0, 255)]]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100)
    out = load_image(buf.getvalue())
    assert out[..., 0].mean() > 0.9 and out[..., 2].mean() < 0.1


def test_load_image_applies_exif_orientation():
    wide = Image.new("RGB", (20, 10), (0, 128, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    out = load_image(encode(wide, "JPEG", exif=exif))
    assert out.shape == (20, 10, 3)


def test_load_image_accepts_bytes_paths_and_file_objects(tmp_path):
    payload = encode(noise_image(8, 8), "PNG")
    path = tmp_path / "flower.png"
    path.write_bytes(payload)

    class Upload:  # the parts of Streamlit's UploadedFile that matter
        def getvalue(self):
            return payload

    expected = load_image(payload)
    for source in (bytearray(payload), path, str(path), io.BytesIO(payload), Upload()):
        np.testing.assert_array_equal(load_image(source), expected)
    with open(path, "rb") as f:
        np.testing.assert_array_equal(load_image(f), expected)


# ---------------------------------------------------------------------------------------
# Loading user images: crop and resize
# ---------------------------------------------------------------------------------------


def test_load_image_centre_crops_instead_of_squashing():
    # The centre 100x100 of red|green|blue thirds is 16 px red, 68 px green, 16 px blue;
    # squashing would keep a third of each.
    out = load_image(encode(three_bands(200, 100), "PNG"), size=32)
    assert out.shape == (32, 32, 3)
    red, green, blue = out.mean(axis=(0, 1))
    assert green > 0.6
    assert red < 0.2 and blue < 0.2
    # Centred: the thin red and blue strips left at the edges are equally wide.
    assert out[:, 0, 0].min() > 0.8 and out[:, -1, 2].min() > 0.8
    assert abs(red - blue) < 0.01


def test_center_crop_resize_crops_tall_images_to_the_middle_too():
    tall = np.asarray(three_bands(200, 100).transpose(Image.Transpose.ROTATE_90)) / 255.0
    out = center_crop_resize(tall, 16)
    assert out.shape == (16, 16, 3) and out.dtype == np.float32
    assert out[..., 1].mean() > 0.6
    assert out[8, :, 1].min() > 0.9  # the middle row is green from edge to edge


def test_center_crop_resize_stays_in_unit_range_and_keeps_flat_colour():
    flat = np.full((90, 60, 3), 0.25, dtype=np.float32)
    flat[:, :, 2] = 1.0
    out = center_crop_resize(flat, 17)
    assert out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_allclose(out, np.broadcast_to([0.25, 0.25, 1.0], out.shape), atol=1e-4)


def test_load_image_shrinks_a_large_jpeg_to_the_requested_size():
    big = Image.fromarray(np.full((800, 1200, 3), (10, 200, 30), dtype=np.uint8))
    out = load_image(encode(big, "JPEG", quality=90), size=64)
    assert out.shape == (64, 64, 3)
    np.testing.assert_allclose(out.mean(axis=(0, 1)), [10 / 255, 200 / 255, 30 / 255], atol=0.03)


# ---------------------------------------------------------------------------------------
# Loading user images: errors
# ---------------------------------------------------------------------------------------


def test_load_image_rejects_empty_bytes_with_empty_code():
    assert load_error(b"").code == "empty"


@pytest.mark.parametrize(
    "payload",
    [
        np.random.default_rng(0).bytes(600),
        b"petal, stem, leaf\n" * 40,
    ],
    ids=["random-bytes", "text"],
)
def test_load_image_rejects_non_images_with_not_image_code(payload):
    err = load_error(payload)
    assert err.code == "not_image"
    assert "PNG" in str(err)  # the message says what to upload instead


def test_load_image_rejects_a_zip_with_not_image_code():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("flower.txt", "not a picture" * 50)
    assert load_error(buf.getvalue()).code == "not_image"


def test_load_image_rejects_truncated_png_with_corrupt_code():
    png = encode(noise_image(), "PNG")
    err = load_error(png[: len(png) // 2])
    assert err.code == "corrupt"
    assert "again" in str(err)  # tells the user what to do


def test_load_image_rejects_truncated_jpeg_with_corrupt_code():
    jpeg = encode(noise_image(), "JPEG", quality=95)
    assert load_error(jpeg[: len(jpeg) // 2]).code == "corrupt"


def test_load_image_reports_a_png_cut_inside_its_header_as_corrupt():
    png = encode(noise_image(), "PNG")
    assert load_error(png[:20]).code == "corrupt"


def test_load_image_rejects_zero_size_dimensions_as_corrupt():
    assert load_error(png_with_header_size(0, 10)).code == "corrupt"


def test_load_image_detects_truncation_even_if_pillow_was_told_to_allow_it(monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    png = encode(noise_image(), "PNG")
    assert load_error(png[: len(png) // 2]).code == "corrupt"
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # put back as it was


def test_loading_leaves_pillow_and_warning_settings_unchanged():
    filters = list(warnings.filters)
    png = encode(noise_image(), "PNG")
    load_image(png)
    load_error(png[:100])
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    assert warnings.filters == filters


def test_load_image_rejects_too_many_pixels_from_the_header_before_decoding():
    # 8000 x 6000 = 48 MP is above MAX_PIXELS but below Pillow's own bomb limit; the
    # file holds one pixel of data, so decoding it would fail as "corrupt" instead.
    err = load_error(png_with_header_size(8000, 6000))
    assert err.code == "too_large"
    assert err.params["pixels"] == 48_000_000
    assert err.params["max_pixels"] == MAX_PIXELS
    # Ready-to-show texts for the translated message.
    assert err.params["size"] == "8000 x 6000, 48.0 MP"
    assert err.params["limit"] == "40 MP"


def test_load_image_turns_pillow_decompression_bombs_into_too_large():
    err = load_error(png_with_header_size(20_000, 20_000))
    assert err.code == "too_large"
    assert err.params["max_pixels"] == MAX_PIXELS
    assert err.params["pixels"] == 400_000_000


def test_load_image_honours_a_lower_max_pixels():
    err = load_error(encode(noise_image(64, 48), "PNG"), max_pixels=1000)
    assert err.code == "too_large"
    assert err.params["pixels"] == 64 * 48 and err.params["max_pixels"] == 1000


def test_load_image_rejects_files_over_the_upload_limit_as_too_large(tmp_path):
    payload = b"\x89PNG\r\n\x1a\n" + bytes(MAX_UPLOAD_BYTES)
    err = load_error(payload)
    assert err.code == "too_large"
    assert err.params["kind"] == "bytes" and err.params["max_bytes"] == MAX_UPLOAD_BYTES
    assert err.params["limit"] == "20 MB" and err.params["size"] == "20.0 MB"
    path = tmp_path / "huge.png"
    path.write_bytes(payload)
    assert load_error(path).code == "too_large"


def test_load_image_reports_a_missing_codec_as_unsupported(monkeypatch):
    # Simulate a Pillow build without a JPEG decoder.
    monkeypatch.delattr(Image.core, "jpeg_decoder")
    err = load_error(encode(noise_image(), "JPEG"))
    assert err.code == "unsupported"
    assert "PNG" in str(err)


@pytest.mark.parametrize(
    "payload",
    [b"", b"plain text", png_with_header_size(0, 10), png_with_header_size(8000, 6000)],
    ids=["empty", "not_image", "corrupt", "too_large"],
)
def test_image_load_error_params_fill_a_message_template_next_to_the_file_name(payload):
    """The app formats its translated message with `name=..., **err.params`: params must
    not clash with `name`, and a too_large message can show {size} and {limit}."""
    err = load_error(payload)
    assert "name" not in err.params
    if err.code == "too_large":
        text = "{name} is too large: use an image under {limit} (it was {size})."
        assert "40 MP" in text.format(name="a.png", **err.params)


def test_image_load_error_is_a_value_error_that_survives_pickling():
    err = load_error(png_with_header_size(8000, 6000))
    assert isinstance(err, ValueError)
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.code, copy.params, str(copy)) == (err.code, err.params, str(err))


def test_load_image_rejects_a_text_mode_file_object_with_type_error(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("hello")
    with open(path, encoding="utf-8") as f, pytest.raises(TypeError):
        load_image(f)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
