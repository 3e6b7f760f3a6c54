"""Text reading (text/ocr.py): the shipped PP-OCR models read a rendered band name,
offline, within their bounds. The model wheel is part of the set-up (`make`), so a
missing one skips only on a developer's machine and fails under CI."""

import socket

import matplotlib
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from tests.conftest import skip_or_fail
from text.ocr import ReaderConfig, TextReader, box_quad, load_reader, ocr_available, reading_order

FONT = f"{matplotlib.get_data_path()}/fonts/ttf/DejaVuSans-Bold.ttf"


@pytest.fixture(scope="module", autouse=True)
def _models():
    if not ocr_available():
        skip_or_fail("the OCR model wheel rapidocr-onnxruntime is not installed (make installs it)")


def printed(lines: list[str], size: int = 48, ink=(20, 20, 20), paper=(235, 225, 210)) -> np.ndarray:
    """The lines drawn one under the other on a plain ground, as (H, W, 3) uint8 RGB."""
    font = ImageFont.truetype(FONT, size)
    width = 40 + size * max(len(line) for line in lines)
    image = Image.new("RGB", (width, 40 + int(size * 1.6) * len(lines)), paper)
    draw = ImageDraw.Draw(image)
    for row, line in enumerate(lines):
        draw.text((20, 20 + int(size * 1.6) * row), line, font=font, fill=ink)
    return np.asarray(image)


def test_reads_a_band_name_with_no_network(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    reader = TextReader(ReaderConfig())
    lines = reader.read(printed(["METALLICA"]))
    assert [line.text for line in lines] == ["METALLICA"]
    assert lines[0].score > 0.8


def test_lines_come_in_reading_order_with_boxes_in_input_pixels():
    image = printed(["IRON", "MAIDEN"], ink=(240, 240, 240), paper=(15, 15, 15))
    lines = load_reader().read(image)
    assert [line.text for line in lines] == ["IRON", "MAIDEN"]
    height, width = image.shape[:2]
    for line in lines:
        x1, y1, x2, y2 = line.box
        assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height
    assert lines[0].box[3] <= lines[1].box[1] + 5


def test_words_of_one_line_found_apart_keep_their_order_however_their_tops_differ():
    """"Toraator" and "Serpent" side by side, the second word's top 2 px higher, then a
    line below: rows by centre, each row left to right."""
    first, second = box_quad((0, 16, 100, 46)), box_quad((110, 14, 200, 44))
    below = box_quad((0, 60, 200, 90))
    assert [q[0, 0] for q in reading_order([below, second, first])] == [0, 110, 0]
    assert reading_order([below, second, first])[2] is below


def test_text_boxes_are_bounded_and_images_are_read_together():
    reader = TextReader(ReaderConfig(max_boxes=2))
    crowded, plain = printed(["ONE", "TWO", "THREE", "FOUR"]), np.full((64, 64, 3), 200, np.uint8)
    results = reader.read_many([crowded, plain])
    assert len(results) == 2 and len(results[0]) == 2 and results[1] == []


def test_the_reader_is_loaded_once_per_process():
    assert load_reader() is load_reader()
