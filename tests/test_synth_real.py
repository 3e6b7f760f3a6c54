"""Real training material in the generator: the real-design split, the design conversion,
real designs in a dataset, and the fallback where train-real is absent."""

import csv

import numpy as np

from data.check import check_dataset
from data.dataset import load_dataset
from data.logos import render_reference
from data.real_logos import band_key, design_from_image, real_logo_designs, split_of
from data.synth import SynthConfig, generate
from data.train_real import TRAIN_REAL_ENV
from tests.conftest import shared_path


def test_the_split_of_a_band_is_pinned_and_case_blind():
    # pinned: a changed hash would silently move designs between training and validation
    assert [split_of(name) for name in ("Blink-182", "Coldplay", "Metric", "Green Day")] == [
        "train", "train", "validation", "train"]
    assert split_of("  metric ") == split_of("METRIC") == "validation"


def test_real_designs_split_by_band_into_disjoint_train_and_validation():
    shared_path("train-real", "logos.csv")
    train, validation = real_logo_designs("train"), real_logo_designs("validation")
    assert {band_key(logo.name) for logo in train}.isdisjoint(band_key(logo.name) for logo in validation)
    assert len(train) + len(validation) == len(real_logo_designs("all")) > 1000
    assert 0.10 < len(validation) / (len(train) + len(validation)) < 0.20
    assert real_logo_designs("train") == train  # the same list every time


def test_a_logo_image_becomes_ink_whatever_its_polarity_with_its_own_colours():
    light = np.zeros((60, 120, 3), np.uint8)
    light[20:40, 30:90] = (250, 40, 40)  # red ink on black
    design = design_from_image(light)
    dark = design_from_image(255 - light)  # the same shape, dark on white
    assert np.allclose(design.ink, dark.ink, atol=0.02)
    assert design.ink.max() > 0.95 and design.ink[:5].max() < 0.02
    inked = design.colours[design.ink > 0.9]
    assert np.allclose(inked.mean(axis=0), (250 / 255, 40 / 255, 40 / 255), atol=0.05)
    reference = render_reference(design, np.random.default_rng(1))
    assert reference.shape[0] > design.shape[0] and reference.dtype == np.float32


def test_real_designs_are_used_when_the_folder_exists(tmp_path):
    shared_path("train-real", "logos.csv")
    root = tmp_path / "real"
    generate(root, SynthConfig(bands=8, photos=4, seed=2, workers=1, real_logos=1.0))
    assert check_dataset(root).ok
    names = {band_key(band["name"]) for band in load_dataset(root).bands}
    train = {band_key(logo.name) for logo in real_logo_designs("train")}
    held_out = {band_key(logo.name) for logo in real_logo_designs("validation")}
    assert names <= train and names.isdisjoint(held_out)
    assert SynthConfig().real_logos > 0 and SynthConfig().real_photos


def test_without_train_real_the_generator_falls_back_and_says_so_once(tmp_path, monkeypatch, capfd,
                                                                      fresh_library):
    from data import train_real

    monkeypatch.setenv(TRAIN_REAL_ENV, str(tmp_path / "missing"))
    monkeypatch.setitem(train_real._SAID, "warned", False)
    config = SynthConfig(bands=4, photos=3, seed=1, workers=1)
    assert config.real_logos == 0 and config.real_photos is False
    generate(tmp_path / "plain", config)
    assert check_dataset(tmp_path / "plain").ok
    assert capfd.readouterr().err.count("no real training material") == 1
    with open(tmp_path / "plain" / "bands.csv", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == 4
