"""Parts of the generator: fonts, names, logo designs, covers, augmentation, composition."""

from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage

from data import fonts
from data.art import SKIMAGE_GREY_PHOTOS, SKIMAGE_PHOTOS, without_png_profile
from data.augment import augment_reference, is_black_and_white, replace_white, skew_and_stretch
from data.compose import Item, Photo, Sheet, homography, paste, place
from data.covers import COVER_SIZE, render_cover
from data.logos import design_logo, render_reference
from data.names import band_ids, band_record, unique_names, url_slug


def rng(*seed):
    return np.random.default_rng(list(seed) or [0])


def test_fonts_are_found_and_each_draws_latin_letters():
    faces = fonts.available_fonts()
    assert faces, "matplotlib's DejaVu fonts are always there"
    assert all(face.family for face in faces)
    assert fonts.pick_font(rng(1)) == fonts.pick_font(rng(1))


def test_font_order_does_not_depend_on_where_the_environment_lives(monkeypatch, tmp_path):
    # matplotlib's DejaVu sits inside the virtual environment; its path must not decide
    # the order, or one seed draws different fonts in two checkouts.
    faces = fonts.available_fonts()
    names = [Path(face.path).name for face in faces]
    assert names == sorted(set(names))
    moved = tmp_path / "zzz-env"
    moved.mkdir()
    bundled = fonts._bundled_fallbacks()
    for path in bundled:
        (moved / path.name).write_bytes(path.read_bytes())
    monkeypatch.setattr(fonts, "_bundled_fallbacks", lambda: sorted(moved.glob("*.ttf")))
    fonts.available_fonts.cache_clear()
    try:
        assert [Path(face.path).name for face in fonts.available_fonts()] == names
    finally:
        fonts.available_fonts.cache_clear()


def test_logos_render_without_any_font_on_the_machine(monkeypatch):
    monkeypatch.setattr(fonts, "available_fonts", lambda: ())
    design = design_logo("Frozen Throne", rng(4))
    assert design.fill.max() > 0.9
    assert (design.ink > 0.5).sum() > 2000, "the fallback font still draws the name"


def test_a_design_is_deterministic_and_depends_on_the_name():
    one, again = design_logo("Grave of Oath", rng(9)), design_logo("Grave of Oath", rng(9))
    other = design_logo("Cursed Crypt", rng(9))
    assert np.array_equal(one.fill, again.fill)
    assert one.shape != other.shape or not np.array_equal(one.fill, other.fill)


def test_logo_designs_vary_in_aspect_ratio():
    ratios = [s[1] / s[0] for s in (design_logo(n, rng(i)).shape
                                    for i, n in enumerate(unique_names(rng(2), 40)))]
    assert min(ratios) < 2.0 and max(ratios) > 4.0


def test_reference_colours_do_not_identify_the_band():
    """Half or more of the references are plain black on white: colour alone cannot tell bands apart."""
    whites = 0
    for i in range(60):
        image = render_reference(design_logo("Iron Wolf", rng(1)), rng(i))
        whites += bool(np.allclose(image[0, 0], 1.0))
    assert 20 <= whites <= 45


def test_cover_is_square_and_deterministic():
    design = design_logo("Ashen Legion", rng(3))
    cover = render_cover(design, "Under the Moon", rng(5))
    assert cover.shape == (COVER_SIZE, COVER_SIZE, 3) and cover.min() >= 0 and cover.max() <= 1
    assert np.array_equal(cover, render_cover(design, "Under the Moon", rng(5)))


def test_band_records_look_like_metal_archives():
    ids = band_ids(rng(1), 100)
    assert len(set(ids)) == 100
    record = band_record(rng(1), 3540012345, "Frozen Throne")
    assert record["url"] == "https://www.metal-archives.com/bands/Frozen_Throne/3540012345"
    assert url_slug("Mötley Crüe") == "Motley_Crue"
    assert len({n.casefold() for n in unique_names(rng(5), 500)}) == 500


def test_replace_white_tints_the_background_and_keeps_the_ink():
    image = np.ones((20, 20, 3), np.float32)
    image[5:15, 5:15] = 0.0
    assert is_black_and_white(image)
    tinted = replace_white(image, rng(2))
    assert np.allclose(tinted[5:15, 5:15], 0.0)
    assert not is_black_and_white(tinted)


def test_skew_and_stretch_keep_the_whole_image():
    image = np.zeros((50, 100, 3), np.float32)
    out = skew_and_stretch(image, rng(3), skew=0.2, stretch=0.25)
    assert out.shape[1] >= 100 * 0.75 and out.shape[0] >= 50 * 0.75
    assert augment_reference(np.ones((30, 60, 3), np.float32), rng(1)).ndim == 3


def cover_sheet(side: int) -> Sheet:
    """A white square sheet carrying one annotated cover that fills it."""
    item = Item("album", 1, 1, np.ones((side, side, 3), np.float32))
    sheet = Sheet(np.ones((side, side, 3), np.float32), np.ones((side, side), np.float32))
    paste(sheet, np.ones((side, side, 3), np.float32), np.ones((side, side), np.float32), 0, 0, item)
    return sheet


def test_occlusion_shrinks_the_visible_region_of_an_object():
    photo = Photo(np.zeros((200, 200, 3), np.float32))
    place(photo, cover_sheet(50), homography((50, 50), (100, 100), 100, 0, 0, rng(0)))
    full = photo.objects[0].visible.sum()
    assert full == pytest.approx(100 * 100, rel=0.05)
    cover = Sheet(np.zeros((50, 50, 3), np.float32), np.ones((50, 50), np.float32))
    place(photo, cover, homography((50, 50), (75, 100), 50, 0, 0, rng(0)))
    assert photo.objects[0].visible.sum() == pytest.approx(full * 0.75, rel=0.05)
    assert not photo.objects[0].truncated


def test_an_object_cut_by_the_photo_border_is_truncated():
    photo = Photo(np.zeros((100, 100, 3), np.float32))
    place(photo, cover_sheet(40), homography((40, 40), (95, 50), 40, 0, 0, rng(0)))
    assert photo.objects[0].truncated


def test_photo_library_pngs_decode_as_before_without_libpng_warnings(capfd):
    folder = Path(skimage.__file__).parent / "data"
    pngs = [folder / name for name in SKIMAGE_PHOTOS + SKIMAGE_GREY_PHOTOS if name.endswith(".png")]
    assert any(b"iCCP" in path.read_bytes() for path in pngs)
    capfd.readouterr()
    for path in pngs:
        data = without_png_profile(path.read_bytes())
        assert b"iCCP" not in data
        decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert np.array_equal(decoded, cv2.imread(str(path), cv2.IMREAD_COLOR)), path.name
    assert "libpng" in capfd.readouterr().err  # from cv2.imread, the comparison's side
    for path in pngs:
        cv2.imdecode(np.frombuffer(without_png_profile(path.read_bytes()), np.uint8), cv2.IMREAD_COLOR)
    assert "libpng" not in capfd.readouterr().err
