"""`unknown` calibrated on a gallery of references alone (what a scrape gives): renditions
of its own references, each also with its band left out, and windows of no object."""

import shutil

import numpy as np
import pytest

from data.art import fabric_texture
from data.cover_renditions import render_cover_photo
from data.image_io import read_image
from data.imaging import to_uint8
from matching.build import build_bundle
from matching.presets import preset
from matching.self_calibration import KNOWN_SHARE
from tests.index_support import LEARNED_LOGO_PATH, TINY

#: Paths good enough to tell a logo or a cover from a wall: the default's descriptors
#: (the logo path without its slow renditions and verification).
CONFIGS = {"logo": LEARNED_LOGO_PATH, "album": preset("default")["album"]}


@pytest.fixture(scope="module")
def gallery_only(small_dataset, tmp_path_factory):
    """The small dataset's references and bands, without any photo."""
    root = tmp_path_factory.mktemp("gallery") / "dataset"
    root.mkdir()
    for name in ("bands.csv", "albums.csv", "references.csv"):
        if (small_dataset / name).exists():
            shutil.copy(small_dataset / name, root / name)
    shutil.copytree(small_dataset / "references", root / "references")
    return root


@pytest.fixture(scope="module")
def self_calibrated(gallery_only, tmp_path_factory):
    return build_bundle(gallery_only, tmp_path_factory.mktemp("index") / "bundle", "small", configs=CONFIGS,
                        progress=False)


def test_a_gallery_without_photos_calibrates_itself(self_calibrated):
    for kind in ("logo", "album"):
        outcome = self_calibrated.calibration[kind]
        assert outcome["calibrated"] and outcome["source"] == "gallery renditions", outcome
        assert outcome["known"] > 0 and outcome["absent_crops"] > 0
        # Made-up examples: the stated probability holds for an even mix, not their counts'.
        assert self_calibrated.index.rejectors[kind].known_share == KNOWN_SHARE


def test_the_self_calibrated_index_accepts_its_bands_and_rejects_what_is_no_band(self_calibrated, dataset):
    """Photographed covers of the gallery are named; bare cloth showing no logo or cover is
    answered unknown (an uncalibrated index names a band for each)."""
    index = self_calibrated.index
    covers = [ref for ref in dataset.references if ref.kind == "album"]
    photos = [render_cover_photo(read_image(dataset.reference_path(ref)), np.random.default_rng([7, i]))
              for i, ref in enumerate(covers)]
    answers = index.query_many(photos, "album", 5)
    named = [a.band_id == ref.band_id for a, ref in zip(answers, covers, strict=True)]
    assert np.mean(named) >= 0.7
    # Bare cloth, a detector's box on a plain part of a shirt. (Windows of the photo library
    # would not do here: this dataset's covers are painted from those very photographs.)
    rng = np.random.default_rng(11)
    windows = [to_uint8(np.clip(fabric_texture(rng, 240, 200, rng.uniform(0.05, 0.9, 3).astype(np.float32)),
                                0, 1)) for _ in range(20)]
    for kind, at_least in (("logo", 16), ("album", 16)):
        verdicts = [result.verdict for result in index.query_many(windows, kind, 5)]
        assert verdicts.count("unknown") >= at_least, (kind, verdicts)


def test_photo_calibration_is_refused_where_there_are_no_photos(gallery_only, tmp_path):
    with pytest.raises(ValueError, match="no annotated photos"):
        build_bundle(gallery_only, tmp_path / "bundle", "tiny", configs=TINY, calibration="photos",
                     progress=False)
