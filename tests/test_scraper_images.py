"""The image store: content-addressed, deduplicated, refusing non-images and big files."""

import io
import os
import struct
import time
import zlib

import pytest
from PIL import Image

from retrieval.images import MAX_PIXELS, NotAnImage, describe_image
from scraper.images import ImageRefused, ImageStore


def encoded(fmt: str, size=(20, 10), colour="red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, fmt)
    return buffer.getvalue()


def test_images_are_stored_once_under_their_sha256(tmp_path):
    store = ImageStore(tmp_path / "img")
    first = store.add(encoded("PNG"))
    again = store.add(encoded("PNG"))
    assert first.new and not again.new and first.path == again.path
    assert first.path == tmp_path / "img" / first.facts.sha256[:2] / f"{first.facts.sha256}.png"
    assert (first.facts.width, first.facts.height) == (20, 10)
    jpeg = store.add(encoded("JPEG", colour="blue"))
    assert jpeg.path.suffix == ".jpg" and jpeg.new
    assert sorted(p.name for p in (tmp_path / "img").rglob("*")
                  if p.is_file()) == sorted([first.path.name, jpeg.path.name])


@pytest.mark.parametrize(("data", "reason"), [
    (b"<html><body>404 Not Found</body></html>", "not a decodable image"),
    (b"", "not a decodable image"),
    (encoded("PNG")[:60], "not a decodable image"),  # truncated download
    (encoded("TIFF"), "TIFF is not one of"),
])
def test_non_images_are_refused(tmp_path, data, reason):
    store = ImageStore(tmp_path)
    with pytest.raises(ImageRefused, match=reason):
        store.add(data)
    assert not any(tmp_path.rglob("*.*"))


def test_oversized_images_are_refused(tmp_path):
    with pytest.raises(ImageRefused, match="over the 100-byte cap"):
        ImageStore(tmp_path, max_bytes=100).add(encoded("PNG", size=(200, 200)))
    with pytest.raises(ImageRefused, match="pixels is more than"):
        ImageStore(tmp_path).add(bomb_png(MAX_PIXELS // 1000 + 1, 1000))


def bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` x `height` (a decompression bomb's shape)."""
    png = bytearray(encoded("PNG"))
    header = b"IHDR" + struct.pack(">II", width, height) + bytes(png[24:29])
    png[12:29] = header
    png[29:33] = struct.pack(">I", zlib.crc32(header))
    return bytes(png)


def test_describe_image_reports_true_format_not_name():
    facts = describe_image(encoded("GIF"))
    assert facts.extension == "gif" and len(facts.sha256) == 64


def test_header_only_description_skips_the_decoding():
    cut = encoded("PNG", size=(64, 64), colour="green")[:-20]  # IEND and more missing
    assert describe_image(cut, decode=False).width == 64  # local files: the header is enough
    with pytest.raises(NotAnImage):
        describe_image(cut)  # downloads: decoded and verified
    with pytest.raises(NotAnImage):
        describe_image(b"<html>error page</html>", decode=False)


def test_only_old_partial_files_are_swept(tmp_path):
    store = ImageStore(tmp_path)
    (tmp_path / "ab").mkdir()
    old, fresh = tmp_path / "ab" / ".incoming-old", tmp_path / "ab" / ".incoming-new"
    old.write_bytes(b"x")
    fresh.write_bytes(b"y")
    an_hour_ago = time.time() - 7200
    os.utime(old, (an_hour_ago, an_hour_ago))
    assert store.sweep_partial_files() == 1
    assert not old.exists() and fresh.exists()
