"""The verification step of a query: which shortlist candidates get a RANSAC fit, and their inliers.

The fit itself is `matching.geometry.GeometricVerifier`; this step chooses what it is
worth spending on. A fit per candidate only pays for a few, so a path verifies the
`verify` best by similarity, or, with a `prefilter`, the `verify` of its best
`prefilter` with the most one-to-one matches (a small or blurred cover is often far
down the global ranking while still having the most matches). With `early_accept`,
the first `EARLY_CANDIDATES` are verified first, and when one of them is already
convincing the rest is skipped: most crops are easy. A candidate's inliers and matches
are summed over the path's views (the SIFT of the image and, with ``ink``, of its ink map).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from features.extract import Extraction
from features.local import LocalFeatures
from matching.geometry import placement_agreement
from matching.path import KindPath
from matching.rank import Candidate

#: Candidates verified before the prefilter on paths with `early_accept`.
EARLY_CANDIDATES = 2

#: A shortlist entry: the candidate and its vector position in the path.
Entry = tuple[Candidate, int]


def verify_shortlist(path: KindPath, refs: np.ndarray, extraction: Extraction,
                     shortlist: list[Entry]) -> None:
    """Set `inliers` (and `matches`, `view_agreement`) of the entries chosen for
    verification; `refs` is the index's id map, for the references' sizes."""
    query = verification_query(extraction, path.views)

    def verify(entries: Sequence[Entry]) -> None:
        for candidate, position in entries:
            if candidate.inliers is None:
                ref = refs[path.rows[position]]
                size = (float(ref["width"]), float(ref["height"]))
                reference = path.keypoints(position)
                fits = [path.verifier.verify(query[view], reference[view], size) for view in path.views]
                candidate.inliers = sum(fit.inliers for fit in fits)
                candidate.matches = sum(fit.matches for fit in fits)
                if len(fits) > 1:
                    candidate.view_agreement = placement_agreement(
                        [fit.homography for fit in fits], size, (extraction.width, extraction.height))

    if path.config.early_accept:
        first = shortlist[:EARLY_CANDIDATES]
        verify(first)
        if any(candidate.inliers >= path.config.early_accept for candidate, _ in first):
            return
    verify(candidates_to_verify(path, extraction, shortlist))


def candidates_to_verify(path: KindPath, extraction: Extraction, shortlist: list[Entry]) -> list[Entry]:
    """The shortlist entries to verify: the `verify` best by similarity, or with a
    prefilter the `verify` of its best `prefilter` with the most one-to-one matches
    (ties keep the similarity order)."""
    config = path.config
    if not config.prefilter:
        return shortlist[:config.verify]
    pool = shortlist[:config.prefilter]
    query = verification_query(extraction, path.views, config.prefilter_keypoints)
    counts = []
    for _, position in pool:
        reference = path.keypoints(position)
        counts.append(sum(path.verifier.count_matches(query[view], reference[view]) for view in path.views))
    order = sorted(range(len(pool)), key=lambda i: -counts[i])
    return [pool[i] for i in order[:config.verify]]


def verification_query(extraction: Extraction, views: Sequence[str],
                       strongest: int | None = None) -> dict[str, LocalFeatures]:
    """The crop's features to verify with, per view: SIFT of both polarities where there
    are two, and the ink map's; with `strongest`, only that many of each (features are
    strongest first)."""
    sift = [extraction.sift] if extraction.inverted is None else [extraction.sift, extraction.inverted.sift]
    query = {"sift": sift, "ink": [extraction.ink]}
    merged = {}
    for view in views:
        parts = [part.head(strongest) for part in query[view]] if strongest is not None else query[view]
        merged[view] = parts[0] if len(parts) == 1 else LocalFeatures(
            np.concatenate([p.keypoints for p in parts]), np.concatenate([p.descriptors for p in parts]))
    return merged
