"""The ranking step of a query: candidates, their order, and the answer a query gives.

A query's shortlist becomes `Candidate`s; verified paths put candidates with at least
`min_inliers` inliers first (by inliers), then the rest by similarity; the best
reference of each band is kept (`best_per_band`), and the answer is a `MatchResult`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Candidate:
    """One reference on a query's ranking; `inliers` is None where it was not verified.

    A verified candidate also keeps, for the open-set rejector, the one-to-one `matches`
    its inliers were fitted among (both summed over the views) and, on paths verified on
    two views, their fits' `view_agreement` (`matching.geometry.placement_agreement`).
    On paths that fuse two global parts, every candidate keeps its `part_similarity`.
    """

    ref_id: int
    band_id: int
    album_id: int | None
    similarity: float
    inliers: int | None = None
    matches: int | None = None
    view_agreement: float | None = None
    part_similarity: float | None = None   # on the first fused part (`KindPath.scores_parts`)

    def to_json(self) -> dict:
        return {"ref_id": self.ref_id, "band_id": self.band_id, "album_id": self.album_id,
                "score": round(self.similarity, 4), "inliers": self.inliers}


@dataclass
class MatchResult:
    """A query's answer: the best reference of each of the top bands, best first.

    `verified` says whether the best candidate passed geometric verification (at least
    its path's `min_inliers` inliers); always False on paths that do not verify.
    `probability` is the calibrated probability that the best band is right (None where
    the kind is not calibrated).
    """

    kind: str
    candidates: list[Candidate]
    verdict: str
    confidence: float | None               # the rejector's score (what its threshold cuts)
    timings_ms: dict[str, float] = field(default_factory=dict)
    features: np.ndarray | None = None     # the rejector's input, kept for calibration
    verified: bool = False
    probability: float | None = None       # calibrated probability that the top band is right

    @property
    def band_id(self) -> int | None:
        """The answered band, or None for ``unknown``."""
        return self.candidates[0].band_id if self.verdict == "match" and self.candidates else None

    def to_json(self) -> dict:
        return {"kind": self.kind, "verdict": self.verdict,
                "confidence": None if self.confidence is None else round(self.confidence, 4),
                "matches": [c.to_json() for c in self.candidates],
                "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()}}


def order_by_inliers(candidates: Sequence[Candidate], min_inliers: int) -> list[Candidate]:
    """Candidates with at least `min_inliers` inliers first, by inliers, then the rest by
    similarity (a stable sort: ties keep their order)."""
    return sorted(candidates, key=lambda c: (-(c.inliers or 0) if (c.inliers or 0) >= min_inliers else 0,
                                             -c.similarity))


def best_per_band(candidates: Sequence[Candidate]) -> list[Candidate]:
    """The first candidate of each band, in order."""
    seen, ranking = set(), []
    for candidate in candidates:
        if candidate.band_id not in seen:
            seen.add(candidate.band_id)
            ranking.append(candidate)
    return ranking
