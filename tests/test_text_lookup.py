"""Band-name lookup of OCR text (text/lookup.py) over a roster of realistic size: the
hand tests of issue 24 on 200,000 generated names plus a few real ones."""

import numpy as np
import pytest

from data.names import unique_names
from retrieval.normalize import name_key
from text.lookup import NameIndex, skeleton

REAL = [(186, "Cannibal Corpse"), (125, "Metallica"), (4, "Cannabis Corpse"), (151, "Obituary"),
        (7, "Iron Maiden"), (1, "Death"), (2, "Death"), (3, "DEATH"), (9, "The")]


@pytest.fixture(scope="module")
def index() -> NameIndex:
    names = unique_names(np.random.default_rng(3), 200_000)
    return NameIndex([*enumerate(names, start=1000), *REAL], normalize=name_key)


def test_ocr_confusions_fold_to_one_skeleton():
    assert skeleton(name_key("METALL1CA")) == skeleton(name_key("Metallica"))
    assert skeleton(name_key("C0RN")) == skeleton(name_key("com"))
    assert skeleton(name_key("Mötley  Crüe.")) == skeleton(name_key("motley-crue")) == "motieycrue"


def test_a_misread_with_a_confused_digit_finds_the_band_first(index):
    best = index.lookup("METALL1CA")[0]
    assert (best.band_ids, best.similarity) == ((125,), 1.0)


def test_a_partial_misread_finds_the_band_in_the_top_three(index):
    hits = index.lookup("CANNIBAIN", limit=3)
    assert (186,) in [hit.band_ids for hit in hits]


def test_dropped_letters_still_find_the_band(index):
    assert index.lookup("BIuARY")[0].band_ids == (151,)
    assert index.lookup("IRONMAIDN")[0].band_ids == (7,)


def test_a_name_shared_by_three_bands_lists_all_three(index):
    best = index.lookup("Death")[0]
    assert sorted(best.band_ids) == [1, 2, 3]
    assert best.needs_corroboration


def test_common_words_and_short_names_need_corroboration(index):
    assert index.lookup("the")[0].needs_corroboration
    assert not index.lookup("Metallica")[0].needs_corroboration


def test_unrelated_text_scores_low(index):
    assert index.lookup("Printing Functions")[0].similarity < 0.8
    assert index.lookup("x") == []
