"""The background screen (data/background_screen.py, text/mark_screen.py): photographs with
real marks are found and left out of the photo library, so the detector never learns a real
logo as background."""

import cv2
import numpy as np

from data import background_screen
from data import photo_library as library_module
from data.train_real import TRAIN_REAL_ENV
from tests.conftest import skip_or_fail
from tests.test_text_ocr import printed
from text import mark_screen
from text.ocr import ocr_available


def _backgrounds(root, images: dict[str, np.ndarray]):
    folder = root / "backgrounds"
    folder.mkdir(parents=True)
    for name, rgb in images.items():
        cv2.imwrite(str(folder / name), rgb[:, :, ::-1])
    return folder


def _plain_photo(seed: int) -> np.ndarray:
    """A smooth colour field: a photograph of nothing in particular."""
    rng = np.random.default_rng(seed)
    small = rng.integers(40, 220, (4, 4, 3), dtype=np.uint8)
    return cv2.resize(small, (320, 240), interpolation=cv2.INTER_CUBIC)


def test_photographs_with_legible_text_or_print_classes_are_marked(tmp_path):
    if not ocr_available():
        skip_or_fail("the OCR model wheel rapidocr-onnxruntime is not installed (make installs it)")
    sign = printed(["OPEN DAILY"], size=40)
    folder = _backgrounds(tmp_path, {
        "n01_shop_sign.jpg": sign,
        "n02_meadow.jpg": _plain_photo(1),
        "n03_book_jacket.jpg": _plain_photo(2),  # a class that shows prints, text or not
    })
    assert mark_screen.screen(sorted(folder.iterdir())) == ["n01_shop_sign.jpg", "n03_book_jacket.jpg"]


def test_the_photo_library_leaves_marked_photographs_out(tmp_path, monkeypatch, fresh_library):
    _backgrounds(tmp_path, {f"n0{i}_thing.jpg": _plain_photo(i) for i in range(3)})
    listed = tmp_path / "marked.txt"
    listed.write_text("# a comment line\nn01_thing.jpg\n")
    monkeypatch.setenv(TRAIN_REAL_ENV, str(tmp_path))
    monkeypatch.setattr(background_screen, "MARKED_LIST", listed)
    assert [p.name for p in library_module.all_real_photo_files()] == ["n00_thing.jpg", "n01_thing.jpg",
                                                                         "n02_thing.jpg"]
    assert [p.name for p in library_module.real_photo_files()] == ["n00_thing.jpg", "n02_thing.jpg"]
    library = library_module.photo_library()
    assert sum(library.is_real(i) for i in range(len(library))) == 2


def test_the_shipped_list_names_real_photographs_with_marks():
    names = background_screen.marked_names()
    assert "n07248320_book_jacket.jpg" in names and "n02823428_beer_bottle.jpg" in names
    assert all(name.endswith(".jpg") for name in names) and 50 < len(names) < 400
