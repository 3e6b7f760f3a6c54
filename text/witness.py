"""What the text read on one region says about bands: its spans looked up as band names.

A band name on merch is rarely one clean line: it shares the line with a tour title
("METALLICA WORLD TOUR"), or is stacked over two lines ("IRON" / "MAIDEN"). So every run
of up to `max_words` consecutive words of a line, every whole line and every two
consecutive lines joined is looked up, and each name keeps the best span that named it.
Where a whole line (or two joined) nearly spells a name but not quite, the names it was
looked up as are read again off the recogniser's posteriors (text/lexicon.py): a letter
misread may still be the frame's second choice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from text.lexicon import read_similarities, spelling
from text.lookup import NameHit, NameIndex
from text.ocr import TextLine


@dataclass(frozen=True)
class Span:
    """Text looked up as one name: the words, the box around their lines, the lowest
    recognition confidence among those lines and, for whole lines, their posteriors one
    after the other (`TextLine.posteriors`; None for a run of words)."""

    text: str
    box: tuple[float, float, float, float]
    ocr_score: float
    posteriors: np.ndarray | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class NameEvidence:
    """A name the region's text reads as (`hit`) and the span that read it."""

    hit: NameHit
    span: Span


def spans(lines: Sequence[TextLine], max_words: int = 3, max_spans: int = 32) -> list[Span]:
    """The spans of `lines` worth a lookup, without repeats, at most `max_spans`."""
    found: dict[str, Span] = {}

    def add(text: str, parts: Sequence[TextLine], whole: bool) -> None:
        if text not in found and len(found) < max_spans:
            frames = [part.posteriors for part in parts]
            posteriors = np.vstack(frames) if whole and all(f is not None for f in frames) else None
            found[text] = Span(text, _union([part.box for part in parts]), min(part.score for part in parts),
                               posteriors)

    for line in lines:
        add(line.text, [line], whole=True)
    for first, second in zip(lines, lines[1:], strict=False):
        add(f"{first.text} {second.text}", [first, second], whole=True)
    for line in lines:
        words = line.text.split()
        for size in range(1, min(max_words, len(words) - 1) + 1):
            for start in range(len(words) - size + 1):
                add(" ".join(words[start:start + size]), [line], whole=False)
    return list(found.values())


def named_bands(index: NameIndex, lines: Sequence[TextLine], limit: int = 5,
                reread_below: float = 0.0) -> list[NameEvidence]:
    """The names the text of `lines` may be, each with its best span, best first. A whole
    line whose best name is under `reread_below` similar has its names read again
    (`reread`)."""
    best: dict[tuple[int, ...], NameEvidence] = {}
    region_spans = spans(lines)
    looked_up = index.lookup_many([span.text for span in region_spans], limit)
    for span, hits in zip(region_spans, looked_up, strict=True):
        if hits and hits[0].similarity < reread_below and span.posteriors is not None:
            hits = reread(index, span.posteriors, hits)
        for hit in hits:
            known = best.get(hit.band_ids)
            if known is None or hit.similarity > known.hit.similarity:
                best[hit.band_ids] = NameEvidence(hit, span)
    return sorted(best.values(), key=lambda evidence: -evidence.hit.similarity)[:limit]


def reread(index: NameIndex, posteriors: np.ndarray, hits: Sequence[NameHit]) -> list[NameHit]:
    """`hits` each at the higher of its similarity and how well `posteriors` spell its
    name (text/lexicon.py), best first."""
    read = read_similarities(posteriors, [spelling(index.normalize(hit.name)) for hit in hits])
    raised = [replace(hit, similarity=max(hit.similarity, round(similarity, 4)))
              for hit, similarity in zip(hits, read, strict=True)]
    return sorted(raised, key=lambda hit: -hit.similarity)


def _union(boxes: Sequence[tuple[float, float, float, float]]) -> tuple[float, float, float, float]:
    corners = list(zip(*boxes, strict=True))
    return min(corners[0]), min(corners[1]), max(corners[2]), max(corners[3])
