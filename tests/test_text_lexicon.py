"""Names read again off the recogniser's posteriors (text/lexicon.py, text/witness.py):
frames built by hand, so each case says exactly what the network saw."""

import numpy as np

from retrieval.normalize import name_key
from text.lexicon import read_similarities, spelling
from text.lookup import NameIndex
from text.ocr import LATIN, TextLine, latin_folding
from text.witness import named_bands


def frames(*choices: dict[str, float]) -> np.ndarray:
    """Latin posteriors, one frame per dict of letter -> probability, the rest of each
    frame on the blank, with a blank frame between letters (as CTC emits them)."""
    rows = []
    for choice in choices:
        row = np.zeros(1 + len(LATIN), np.float32)
        for letter, probability in choice.items():
            row[1 + LATIN.index(letter)] = probability
        row[0] = 1 - row.sum()
        rows += [row, np.eye(1 + len(LATIN), dtype=np.float32)[0]]
    return np.stack(rows)


def spelled(word: str, sure: float = 0.95) -> list[dict[str, float]]:
    return [{letter: sure} for letter in word]


def read_similarity(posteriors: np.ndarray, letters: np.ndarray) -> float:
    """One name's similarity, aligned beside two others (padding must not change it)."""
    return read_similarities(posteriors, [spelling("x"), letters, spelling("a much longer name")])[1]


def test_the_recognisers_classes_fold_to_latin_letters_whatever_their_case_or_accent():
    matrix = latin_folding(["blank", "A", "a", "\u00e9", "\u7c73", " ", "0"])
    assert matrix.sum(axis=1).tolist() == [1] * 7
    assert matrix.argmax(axis=1).tolist() == [0, 1, 1, 1 + LATIN.index("e"), 0, 0, 1 + LATIN.index("0")]


def test_a_line_that_decodes_as_the_name_reads_it_at_one():
    assert read_similarity(frames(*spelled("metallica")), spelling("metallica")) == 1.0


def test_look_alike_characters_read_as_each_other_at_no_cost():
    assert read_similarity(frames(*spelled("meta11ica")), spelling("metallica")) == 1.0


def test_a_misread_letter_still_reads_the_name_where_it_was_the_frames_second_choice():
    seen = spelled("ir") + [{"p": 0.55, "o": 0.40}] + spelled("ncoffin")  # decoded "IRPNCOFFIN"
    second_choice = read_similarity(frames(*seen), spelling("iron coffin"))
    ruled_out = read_similarity(frames(*spelled("irpncoffin")), spelling("iron coffin"))
    assert second_choice > 0.95 > ruled_out


def test_a_letter_the_line_does_not_show_or_one_too_many_reads_low():
    """Far below the string similarity of the decoded text to those names (0.95)."""
    line = frames(*spelled("septouvath"))
    assert read_similarity(line, spelling("septouvath")) == 1.0
    assert read_similarity(line, spelling("sepouvath")) < 0.75   # the line shows a T more
    assert read_similarity(line, spelling("septouvaath")) < 0.75  # the line lacks an A


def test_a_name_longer_than_the_line_has_frames_reads_nothing():
    assert read_similarity(frames({"a": 0.9}), spelling("abcdef")) == 0.0


def test_names_aligned_together_read_as_each_read_alone():
    line = frames(*spelled("ir"), {"p": 0.55, "o": 0.40}, *spelled("ncoffin"))
    names = [spelling(name) for name in ("iron coffin", "irpncoffin", "coffin", "")]
    together = read_similarities(line, names)
    assert together == [read_similarities(line, [letters])[0] for letters in names]
    assert together[3] == 0.0 and together[1] == 1.0


def test_a_whole_line_that_nearly_reads_a_name_is_read_again_off_its_posteriors():
    index = NameIndex([(1, "The Iron Coffin"), (2, "The Dying Coffin"), (3, "Iron Maiden")],
                      normalize=name_key)
    seen = spelled("their") + [{"p": 0.55, "o": 0.40}] + [{"q": 0.6, "n": 0.35}] + spelled("coffin")
    line = TextLine((0, 0, 100, 20), "THEIRPQCOFFIN", 0.8, frames(*seen))
    decoded_only = named_bands(index, [line])
    reread = named_bands(index, [line], reread_below=0.9)
    assert decoded_only[0].hit.band_ids == (1,) and decoded_only[0].hit.similarity < 0.9
    assert reread[0].hit.band_ids == (1,) and reread[0].hit.similarity > 0.9
    rival = next(evidence.hit.similarity for evidence in reread if evidence.hit.band_ids == (2,))
    assert rival < 0.85
