"""Band names from text read on merch: fuzzy lookup over every band name in the database.

Why an n-gram index and not a scan: a photo asks a few dozen spans of text, each against
200,000 names or more. Each name's OCR skeleton (`skeleton`) is split into character
trigrams; an inverted index (trigram -> names, a SciPy CSC matrix) counts a query's shared
trigrams for every name at once in NumPy, a Dice coefficient shortlists the best
`shortlist` names, and only those are scored exactly with rapidfuzz (C++ edit distances).
rapidfuzz alone would still compare every name; the index alone cannot tell "Metallica"
from "Metalica" well.

The skeleton folds what OCR confuses (I/l/1/|, O/0, S/5, B/8, E/3, A/4, "rn"/"m",
"vv"/"w"), drops spaces and punctuation, and is applied to names and queries alike, so
"METALL1CA" is Metallica's skeleton exactly; dropped, added and merged letters are left
to the edit distance. Names that share a skeleton (several bands called Death) form one
entry that answers with all of their bands. Very short names and common words ("the",
"tour", "live", "official") are flagged `needs_corroboration`: text alone must not name
them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process
from scipy import sparse

_CONFUSIONS = str.maketrans({"0": "o", "1": "i", "l": "i", "|": "i", "!": "i", "5": "s", "$": "s",
                             "8": "b", "3": "e", "4": "a", "@": "a", "7": "t", "9": "g", "2": "z"})
_MERGED = (("rn", "m"), ("vv", "w"))
#: Skeletons this short name nothing by text alone.
SHORT = 3
#: Words printed on merch that are also band names somewhere; as text they prove nothing.
COMMON_WORDS = frozenset({
    "the", "a", "an", "of", "and", "in", "on", "to", "for", "by", "live", "tour", "world",
    "official", "merch", "band", "music", "rock", "metal", "records", "festival", "tickets",
    "presents", "tonight", "special", "guests", "new", "album", "out", "now", "black", "death",
    "doom", "dark", "blood", "evil", "fire", "hell", "war", "night", "heavy", "thrash", "power",
    "shirt", "size", "made"})


def skeleton(key: str, merge: bool = True) -> str:
    """The OCR-folded form of an already normalised (case-folded, accent-free) text: the
    same for a name and for a misread of it that swaps look-alike characters. `merge`:
    fold letter pairs read as one letter ("rn" as "m") too."""
    folded = "".join(ch for ch in key.translate(_CONFUSIONS) if ch.isascii() and ch.isalnum())
    for pair, single in _MERGED if merge else ():
        folded = folded.replace(pair, single)
    return folded


def trigrams(folded: str) -> set[str]:
    """The character trigrams of a skeleton, with start and end marks (a short name has some)."""
    padded = f"^{folded}$"
    return {padded[i:i + 3] for i in range(len(padded) - 2)}


@dataclass(frozen=True)
class NameHit:
    """One name the text may be: every band carrying it, the name as stored (of the first
    band), the similarity in [0, 1] and whether text alone may name it."""

    band_ids: tuple[int, ...]
    name: str
    similarity: float
    needs_corroboration: bool


class NameIndex:
    """Every band name, indexed for fuzzy lookup of OCR text (module docstring)."""

    def __init__(self, bands: Iterable[tuple[int, str]], normalize: Callable[[str], str] = str.casefold,
                 shortlist: int = 64):
        """`bands`: (band_id, name) pairs; `normalize`: the text key applied to names and
        queries before folding (the band store's `name_key`); `shortlist`: names scored
        exactly per query."""
        self.normalize = normalize
        self.shortlist = shortlist
        entries: dict[str, int] = {}
        self.band_ids: list[list[int]] = []
        self.names: list[str] = []
        self.common: list[bool] = []
        for band_id, name in bands:
            key = normalize(name or "")
            folded = skeleton(key)
            if not folded:
                continue
            position = entries.setdefault(folded, len(entries))
            if position == len(self.names):
                self.band_ids.append([])
                self.names.append(name)
                self.common.append(len(folded) <= SHORT or key in COMMON_WORDS)
            self.band_ids[position].append(int(band_id))
        self.skeletons = list(entries)
        self._vocabulary: dict[str, int] = {}
        rows, columns = [], []
        for row, folded in enumerate(self.skeletons):
            for gram in trigrams(folded):
                rows.append(row)
                columns.append(self._vocabulary.setdefault(gram, len(self._vocabulary)))
        self._grams = np.bincount(np.asarray(rows, dtype=np.int64), minlength=len(self.skeletons))
        self._postings = sparse.csc_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, columns)),
            shape=(len(self.skeletons), len(self._vocabulary)))

    def __len__(self) -> int:
        """Distinct names (skeletons) indexed."""
        return len(self.skeletons)

    def lookup(self, text: str, limit: int = 5) -> list[NameHit]:
        """The names `text` most likely reads, best first, at most `limit`."""
        query = skeleton(self.normalize(text))
        if len(query) < 2:
            return []
        candidates = self._shortlist(query)
        if not len(candidates):
            return []
        choices = [self.skeletons[i] for i in candidates]
        whole = process.cdist([query], choices, scorer=fuzz.ratio)[0] / 100
        part = process.cdist([query], choices, scorer=fuzz.partial_ratio)[0] / 100
        lengths = np.array([len(choice) for choice in choices], dtype=np.float64)
        coverage = np.minimum(lengths, len(query)) / np.maximum(lengths, len(query))
        # A read may be part of a longer name ("CANNIBAIN" of Cannibal Corpse): the best
        # window counts, discounted by how little of the name (or of the read) it covers.
        similarity = np.maximum(whole, part * np.sqrt(coverage))
        order = np.argsort(-similarity, kind="stable")[:limit]
        return [NameHit(tuple(self.band_ids[candidates[i]]), self.names[candidates[i]],
                        round(float(similarity[i]), 4), self.common[candidates[i]]) for i in order]

    def lookup_many(self, texts: Sequence[str], limit: int = 5) -> list[list[NameHit]]:
        """`lookup` of each text, in order."""
        return [self.lookup(text, limit) for text in texts]

    def _shortlist(self, query: str) -> np.ndarray:
        """Indexes of the names sharing the most trigrams with `query` (Dice coefficient)."""
        columns = [self._vocabulary[gram] for gram in trigrams(query) if gram in self._vocabulary]
        if not columns:
            return np.empty(0, dtype=np.int64)
        postings = self._postings
        hits = np.concatenate([postings.indices[postings.indptr[c]:postings.indptr[c + 1]] for c in columns])
        shared = np.bincount(hits, minlength=len(self.skeletons))
        touched = np.flatnonzero(shared)
        dice = 2 * shared[touched] / (self._grams[touched] + len(trigrams(query)))
        if len(touched) > self.shortlist:
            best = np.argpartition(-dice, self.shortlist)[: self.shortlist]
            touched = touched[best]
        return touched
