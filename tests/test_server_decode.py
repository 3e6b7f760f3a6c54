"""decode_image: the one place where untrusted bytes become pixels."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from retrieval.identify_api import (
    BandLookup,
    CorruptImage,
    EmptyImage,
    Identifier,
    ImageTooLarge,
    TooManyPixels,
    UnsupportedImageType,
    decode_image,
    sniff_format,
)
from retrieval.store import Store
from tests.test_server_support import (
    FixedIdentifier,
    bmp_bytes,
    bomb_png,
    encode,
    gif_bytes,
    jpeg_bytes,
    photo,
)

LIMITS = {"max_bytes": 5_000_000, "max_pixels": 4_000_000}


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
def test_decodes_each_supported_format_to_rgb_uint8(image_format):
    data = encode(photo(64, 48), image_format)
    assert sniff_format(data) == image_format
    array = decode_image(data, **LIMITS)
    assert array.shape == (48, 64, 3) and array.dtype == np.uint8
    assert array.flags.c_contiguous


@pytest.mark.parametrize("mode", ["L", "P", "CMYK", "RGBA", "LA", "I;16"])
def test_other_pixel_modes_become_rgb(mode):
    image_format = "JPEG" if mode in ("L", "CMYK") else "PNG"
    array = decode_image(encode(photo(40, 30, mode), image_format), **LIMITS)
    assert array.shape == (30, 40, 3) and array.dtype == np.uint8


def test_sixteen_bit_greyscale_is_scaled_not_clipped():
    grey = Image.fromarray(np.full((8, 8), 32768, dtype=np.uint16))
    array = decode_image(encode(grey, "PNG"), **LIMITS)
    assert 126 <= array[0, 0, 0] <= 129


def test_transparency_is_flattened_onto_white():
    # Black text on a transparent background must stay visible after flattening.
    logo = Image.new("RGBA", (20, 10), (0, 0, 0, 0))
    logo.putpixel((5, 5), (0, 0, 0, 255))
    array = decode_image(encode(logo, "PNG"), **LIMITS)
    assert tuple(array[0, 0]) == (255, 255, 255) and tuple(array[5, 5]) == (0, 0, 0)


def test_exif_orientation_is_applied():
    # A 60x20 landscape stored with orientation 6 ("rotate 90 clockwise") is 20x60 upright.
    exif = Image.Exif()
    exif[0x0112] = 6
    array = decode_image(jpeg_bytes(60, 20, exif=exif.tobytes()), **LIMITS)
    assert array.shape == (60, 20, 3)


def test_too_many_bytes_is_refused_before_anything_else():
    with pytest.raises(ImageTooLarge):
        decode_image(b"\x00" * 101, max_bytes=100, max_pixels=10)


def test_empty_input():
    with pytest.raises(EmptyImage):
        decode_image(b"", **LIMITS)


@pytest.mark.parametrize("data", [gif_bytes(), bmp_bytes(), b"hello, I am text\n",
                                  b"%PDF-1.7\n", b"RIFF\x00\x00\x00\x00WAVEfmt "])
def test_other_types_are_unsupported(data):
    with pytest.raises(UnsupportedImageType):
        decode_image(data, **LIMITS)


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
def test_truncated_images_are_corrupt(image_format):
    data = encode(photo(200, 150), image_format)
    with pytest.raises(CorruptImage):
        decode_image(data[: len(data) // 2], **LIMITS)


@pytest.mark.parametrize("data", [b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
                                  b"RIFF\x10\x00\x00\x00WEBPVP8 garbage", b"\xff\xd8\xff" + b"\xaa" * 500])
def test_signature_without_a_valid_image_is_corrupt(data):
    with pytest.raises(CorruptImage):
        decode_image(data, **LIMITS)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("side", [100_000, 10_000, 2_001])
def test_declared_bomb_is_refused_from_the_header(monkeypatch, side):
    # Refusal must come before decoding: forbid Image.load and still get the typed error.
    # 100000 px a side trips Pillow's own bomb guard in Image.open, the others ours.
    monkeypatch.setattr(Image.Image, "load", lambda self: pytest.fail("pixels were decoded"))
    with pytest.raises(TooManyPixels, match="pixels") as caught:
        decode_image(bomb_png(side, side), **LIMITS)
    assert isinstance(caught.value, CorruptImage)


def test_pixel_limit_applies_to_honest_images_too():
    with pytest.raises(TooManyPixels):
        decode_image(jpeg_bytes(300, 200), max_bytes=10**7, max_pixels=300 * 200 - 1)
    assert decode_image(jpeg_bytes(300, 200), max_bytes=10**7, max_pixels=300 * 200).shape[:2] == (200, 300)


def test_protocols_are_satisfied_by_the_double_and_the_store(tmp_path):
    assert isinstance(FixedIdentifier(), Identifier)
    with Store.open(f"sqlite:///{tmp_path / 'kyb.sqlite'}", create=True) as store:
        assert isinstance(store, BandLookup)
