"""Which one of the bands that share a name ("Death": several on Metal Archives) the rest
of a photo's text points to.

A shared name read surely names no band by itself (retrieval/text_fusion.py). Other
text on the same print may decide between its bands, in this order:
- an album title read surely (`is_sure`) off a line of the same box, released by exactly
  one of them ("DEATH" over "SCREAM BLOODY GORE");
- a country or a genre printed anywhere on the photo that fits exactly one of them ("DEATH"
  and "DEATH METAL FROM USA": Death of the United States, where the other bands called
  Death play other genres in other countries).
Text read off the name's own line decides nothing: a self-titled album, or a genre that
contains the name ("DEATH METAL" read as one line).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from data.boxes import box_iou
from retrieval.normalize import name_key
from retrieval.text_stage import RegionText, TextConfig
from text.ocr import TextLine
from text.witness import NameEvidence

#: Countries as Metal Archives spells them -> how merch also prints them.
COUNTRY_ABBREVIATIONS = {"united states": ("usa",), "united kingdom": ("uk",)}


def is_sure(evidence: NameEvidence, config: TextConfig) -> bool:
    """Whether a reading is sure enough to decide by itself: similarity at least `alone`,
    neither short nor a common word."""
    return evidence.hit.similarity >= config.alone and not evidence.hit.needs_corroboration


def decided_names(region: RegionText, photo_lines: Sequence[TextLine], bands: dict[int, dict],
                  config: TextConfig) -> list[tuple[NameEvidence, str | None]]:
    """The shared names of `region`, read at `alone` similarity, that a sure album title
    read in the region (`region.titles`, `TextStage.with_titles`) or the country or genre
    in `photo_lines` narrow to one band: (the name's evidence for that band alone, the
    title that decided, or None)."""
    titles = [title for title in region.titles if is_sure(title, config)]
    found = []
    for name in region.shared_names(config.alone):
        for title in titles:
            shared = tuple(band_id for band_id in name.hit.band_ids if band_id in title.hit.band_ids)
            if len(shared) == 1 and _apart(title.span.box, name.span.box):
                found.append((_narrowed(name, shared[0]), title.hit.name))
                break
        else:
            words = _words(" ".join(line.text for line in photo_lines if _apart(line.box, name.span.box)))
            fitting = [band_id for band_id in name.hit.band_ids
                       if _mentioned(bands.get(band_id) or {}, words)]
            if len(fitting) == 1:
                found.append((_narrowed(name, fitting[0]), None))
    return found


def _mentioned(band: dict, words: str) -> bool:
    """Whether the band's country (or its usual abbreviation) or one of its genres is
    printed among `words` (`_words` form), as whole words."""
    country = _words(band.get("country") or "")
    phrases = [country, *COUNTRY_ABBREVIATIONS.get(country, ())] if country else []
    # "Death Metal (early); Progressive Death Metal (later)": each genre without its period.
    genres = re.sub(r"\([^)]*\)", "", band.get("genre") or "")
    phrases += [_words(genre) for genre in re.split(r"[;,/]", genres)]
    return any(phrase and f" {phrase} " in f" {words} " for phrase in phrases)


def _words(text: str) -> str:
    """`text` normalised (`name_key`) with every run of non-alphanumerics one space."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", name_key(text)).split())


def _narrowed(name: NameEvidence, band_id: int) -> NameEvidence:
    return NameEvidence(replace(name.hit, band_ids=(band_id,)), name.span)


def _apart(box: Sequence[float], other: Sequence[float]) -> bool:
    return box_iou(np.array([box]), np.array([other]))[0, 0] == 0
