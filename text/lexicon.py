"""How well a line's recogniser output spells one given band name: CTC alignment scoring.

The fuzzy lookup (text/lookup.py) compares names with the one string the recogniser
decoded, its most likely letter in each frame. Where it misread a letter or two ("The
Ancent Drant" for The Ancient Tyrant), the right letters often still carry some of the
frame's probability. So a shortlisted name is aligned to the line's frames as a CTC
path (the name's letters in order, blanks between, a repeated letter split by a blank;
Viterbi), and each frame of that path is compared with the frame's most likely class. The
mean log-ratio per letter of the name, exponentiated, is a similarity in [0, 1]: 1 where
the decoded line is the name, and it falls fast for a letter the line does not show, for
a letter too many and for one missing. It scores a shortlist; the lookup still finds it.

Posteriors come from `text.ocr` folded to `LATIN` (blank and every other class in column
0); here they are folded again by the lookup's OCR confusions (O/0, I/l/1...), so a name
and a misread of it that swaps look-alike characters align at no cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from text.lookup import skeleton
from text.ocr import LATIN

#: Probabilities are floored here before logarithms (a class the network rules out).
_FLOOR = 1e-6
#: A frame at least this sure of the blank costs any path through it next to nothing.
_SURE_BLANK = 0.999


@lru_cache(maxsize=1)
def _folding() -> tuple[np.ndarray, dict[str, int]]:
    """The (1 + len(LATIN), columns) 0/1 matrix that sums look-alike letters into one
    column, and each folded letter's column."""
    letters = sorted({skeleton(ch) for ch in LATIN} - {""})
    columns = {letter: 1 + i for i, letter in enumerate(letters)}
    matrix = np.zeros((1 + len(LATIN), 1 + len(letters)), dtype=np.float32)
    matrix[0, 0] = 1
    for row, ch in enumerate(LATIN, start=1):
        folded = skeleton(ch)
        matrix[row, columns[folded] if folded else 0] = 1
    return matrix, columns


def spelling(key: str) -> np.ndarray:
    """The folded columns of a normalised name's letters, in order (spaces and
    punctuation dropped, look-alikes folded, merged pairs such as "rn" kept apart)."""
    _, columns = _folding()
    return np.array([columns[letter] for letter in skeleton(key, merge=False) if letter in columns],
                    dtype=np.int64)


def read_similarities(posteriors: np.ndarray, names: Sequence[np.ndarray]) -> list[float]:
    """How well frames of Latin `posteriors` (T x (1 + len(LATIN)), rows summing to at
    most 1) spell each of `names` (`spelling`'s columns), each in [0, 1] (module
    docstring). The names are aligned together, one pass over the frames."""
    lengths = np.array([len(letters) for letters in names], dtype=np.int64)
    if not len(names) or not lengths.max():
        return [0.0] * len(names)
    matrix, _ = _folding()
    # A run of frames that are surely blank aligns as one: only its first is kept.
    blank = posteriors[:, 0] >= _SURE_BLANK
    posteriors = posteriors[~(blank & np.roll(blank, 1) & (np.arange(len(blank)) > 0))]
    folded = np.log(np.maximum(posteriors @ matrix, _FLOOR))
    ratio = folded - folded.max(axis=1, keepdims=True)
    best = _best_paths(ratio, names, lengths)
    return [float(np.exp(score / length)) if length and len(posteriors) >= length else 0.0
            for score, length in zip(best, lengths, strict=True)]


def _best_paths(ratio: np.ndarray, names: Sequence[np.ndarray], lengths: np.ndarray) -> np.ndarray:
    """For each name, the highest sum of `ratio` along a CTC path that spells it over all
    frames (-inf where none does): states are blank, letter, blank, ... per name, padded."""
    states = np.zeros((len(names), 2 * lengths.max() + 1), dtype=np.int64)
    for row, letters in enumerate(names):
        states[row, 1:2 * len(letters):2] = letters
    used = np.arange(states.shape[1])[None, :] <= 2 * lengths[:, None]
    emitted = np.where(used[None], ratio[:, states], -np.inf)
    may_skip = np.zeros(states.shape, dtype=bool)
    may_skip[:, 3::2] = states[:, 3::2] != states[:, 1:-2:2]
    score = np.full(states.shape, -np.inf)
    score[:, :2] = emitted[0, :, :2]
    for frame in emitted[1:]:
        best = score.copy()
        best[:, 1:] = np.maximum(best[:, 1:], score[:, :-1])
        best[:, 2:] = np.where(may_skip[:, 2:], np.maximum(best[:, 2:], score[:, :-2]), best[:, 2:])
        score = best + frame
    rows = np.arange(len(names))
    return np.maximum(score[rows, 2 * lengths], score[rows, np.maximum(2 * lengths - 1, 0)])
