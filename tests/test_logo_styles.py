"""Logo styles of the generator (data/logos.py LOGO_STYLES): legible logos are read by the
shipped OCR model and named, illegible ones are not; each band's style is drawn from the
configured shares and written to the dataset folder."""

import numpy as np
import pytest

from data.catalogue import REAL_STYLE
from data.check import check_dataset
from data.dataset import load_dataset, read_logo_styles
from data.imaging import to_uint8
from data.logos import design_logo, render_reference
from data.names import unique_names
from data.synth import SynthConfig, generate, make_catalogue
from retrieval.normalize import name_key
from tests.conftest import skip_or_fail
from text.lookup import NameIndex
from text.ocr import load_reader, ocr_available
from text.witness import named_bands

PER_STYLE = 6


def _named_from_reference(style: str) -> int:
    """How many of PER_STYLE references drawn in `style` the OCR model and the name
    lookup name alone (the text witness's `alone` similarity, 0.9) as their own band."""
    names = unique_names(np.random.default_rng(11), PER_STYLE * 3)
    index = NameIndex(list(enumerate(names, start=1)), normalize=name_key)
    reader = load_reader()
    named = 0
    for band in range(PER_STYLE):
        rng = np.random.default_rng(500 + band)
        image = to_uint8(render_reference(design_logo(names[band], rng, style), rng))
        found = named_bands(index, reader.read(image))
        named += bool(found) and found[0].hit.band_ids == (band + 1,) and found[0].hit.similarity >= 0.9
    return named


@pytest.fixture(scope="module")
def _ocr():
    if not ocr_available():
        skip_or_fail("the OCR model wheel rapidocr-onnxruntime is not installed (make installs it)")


def test_legible_logos_are_read_and_named(_ocr):
    assert _named_from_reference("legible") >= PER_STYLE - 1


def test_illegible_logos_are_not_read(_ocr):
    assert _named_from_reference("illegible") <= 1


def test_a_style_draws_the_same_design_for_the_same_seed_and_refuses_unknown_styles():
    for style in ("legible", "display", "illegible"):
        first = design_logo("Frozen Throne", np.random.default_rng(3), style)
        again = design_logo("Frozen Throne", np.random.default_rng(3), style)
        assert np.array_equal(first.ink, again.ink)
    with pytest.raises(ValueError, match="style"):
        design_logo("Frozen Throne", np.random.default_rng(3), "gothic")


def test_styles_follow_the_configured_shares():
    catalogue = make_catalogue(SynthConfig(bands=1000, photos=1, seed=4, real_logos=0.0,
                                           legible_logos=0.3, illegible_logos=0.2))
    shares = {style: catalogue.logo_styles.count(style) / len(catalogue.logo_styles)
              for style in ("legible", "illegible", "display")}
    assert shares == pytest.approx({"legible": 0.3, "illegible": 0.2, "display": 0.5}, abs=0.04)
    plain = make_catalogue(SynthConfig(bands=200, photos=1, seed=4, real_logos=0.0,
                                       legible_logos=0.0, illegible_logos=0.0))
    assert set(plain.logo_styles) == {"display"}


def test_real_designs_are_marked_real():
    catalogue = make_catalogue(SynthConfig(bands=300, photos=1, seed=4, real_logos=0.5))
    if not any(catalogue.real_logos):
        skip_or_fail("no real logo designs (../shared/train-real/logos)")
    for logo, style in zip(catalogue.real_logos, catalogue.logo_styles, strict=True):
        assert (style == REAL_STYLE) == (logo is not None)


def test_shares_are_validated():
    with pytest.raises(ValueError, match="legible_logos"):
        SynthConfig(legible_logos=0.7, illegible_logos=0.5)
    with pytest.raises(ValueError, match="legible_logos"):
        SynthConfig(legible_logos=-0.1)


def test_the_dataset_folder_records_every_bands_style(tmp_path):
    generate(tmp_path / "ds", SynthConfig(bands=10, photos=2, seed=6, workers=1, real_logos=0.0,
                                          legible_logos=0.5, illegible_logos=0.5))
    report = check_dataset(tmp_path / "ds")
    assert report.ok, report.problems
    styles = read_logo_styles(tmp_path / "ds")
    assert set(styles) == {int(band["band_id"]) for band in load_dataset(tmp_path / "ds").bands}
    assert set(styles.values()) == {"legible", "illegible"}
    assert report.counts["logos_legible"] + report.counts["logos_illegible"] == 10


def test_logo_sheet_shows_a_row_per_style_and_check_names_a_bad_style(tmp_path):
    import cv2

    from data.preview import logo_sheet

    root = tmp_path / "ds"
    generate(root, SynthConfig(bands=12, photos=1, seed=2, workers=1, real_logos=0.0,
                               legible_logos=0.4, illegible_logos=0.3))
    sheet = cv2.imread(str(logo_sheet(root, tmp_path / "logos.png", per_style=3, size=200)))
    assert sheet.shape == (4 * 100, 3 * 200, 3)  # legible, display, illegible, real (empty)
    assert sheet[300:].max() == 32  # no real designs: the last row is padding only
    styles = root / "logo_styles.csv"
    styles.write_text(styles.read_text().replace("legible", "gothic", 1))
    assert any("style 'gothic'" in problem for problem in check_dataset(root).problems)
    (root / "logo_styles.csv").unlink()
    with pytest.raises(ValueError, match="logo_styles.csv"):
        logo_sheet(root, tmp_path / "none.png")
