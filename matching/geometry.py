"""Geometric verification: does a reference really appear in the crop?

A global vector says two images look alike; verification checks that many local
features of the reference land where one plane-to-plane mapping (a homography) puts
them. Three guards keep the inlier count honest (ARCHITECTURE.md, "What we already know
about real photos"):

- one-to-one matches: mutual nearest neighbours that also pass Lowe's ratio test, so one
  repeated keypoint (a logo's repeated letter, SIFT's duplicate keypoints at several
  orientations) cannot vote many times;
- inliers are counted as distinct positions in both images;
- the homography must be plausible: finite and not degenerate, no mirror, scale and shear
  within bounds, and the reference's outline must project to a convex quadrilateral.
  RANSAC on a handful of junk matches often returns a wild homography that folds the
  plane; such a fit scores zero inliers.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import cv2
import numpy as np

from features.local import LocalFeatures

#: Smallest number of matches RANSAC can fit a homography to.
MIN_MATCHES = 4


@dataclass(frozen=True)
class Verification:
    """Outcome for one (crop, reference) pair: `inliers` is 0 when no plausible fit exists."""

    inliers: int
    matches: int
    homography: np.ndarray | None = None


def mutual_matches(query: np.ndarray, reference: np.ndarray,
                   ratio: float = 0.85) -> tuple[np.ndarray, np.ndarray]:
    """Indices (query_rows, reference_rows) of one-to-one matches between descriptor sets.

    A pair is kept when each is the other's nearest neighbour (squared Euclidean) and the
    query's nearest reference is clearly nearer than its second nearest (distance ratio
    below `ratio`). Both inputs are (N, D) float arrays; either may be empty.
    """
    if len(query) == 0 or len(reference) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    query = np.asarray(query, np.float32)
    reference = np.asarray(reference, np.float32)
    distances = (np.einsum("ij,ij->i", query, query)[:, None] - 2.0 * query @ reference.T
                 + np.einsum("ij,ij->i", reference, reference)[None, :])
    np.maximum(distances, 0.0, out=distances)
    nearest = np.argmin(distances, axis=1)
    rows = np.arange(len(query))
    best = distances[rows, nearest]
    mutual = np.argmin(distances, axis=0)[nearest] == rows
    if reference.shape[0] > 1:
        # The second nearest is the nearest once the nearest is masked (cheaper than a partition).
        distances[rows, nearest] = np.inf
        passes_ratio = best < (ratio ** 2) * distances.min(axis=1)
    else:
        passes_ratio = np.ones(len(query), bool)
    keep = passes_ratio & mutual
    return rows[keep], nearest[keep]


def _outline(width: float, height: float) -> np.ndarray:
    """The corners of a (width x height) image, clockwise from the origin, as (4, 2) float64."""
    return np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float64)


def plausible_homography(homography: np.ndarray | None, width: float, height: float,
                         max_scale: float = 8.0, min_scale: float = 0.02,
                         max_anisotropy: float = 6.0) -> bool:
    """Whether `homography` (reference -> crop) maps the reference's (width x height)
    rectangle to something a camera could have seen: a convex, non-mirrored quadrilateral
    whose local scale lies in [min_scale, max_scale] and whose shear (ratio of the local
    linear map's singular values) is at most `max_anisotropy`."""
    if homography is None or not np.all(np.isfinite(homography)) or abs(homography[2, 2]) < 1e-12:
        return False
    h = homography / homography[2, 2]
    ones = np.ones((4, 1))
    projected = np.hstack([_outline(width, height), ones]) @ h.T
    if np.any(projected[:, 2] <= 1e-9):  # a corner maps behind the camera
        return False
    quad = projected[:, :2] / projected[:, 2:]
    edges = np.roll(quad, -1, axis=0) - quad
    following = np.roll(edges, -1, axis=0)
    turns = edges[:, 0] * following[:, 1] - edges[:, 1] * following[:, 0]
    # Image axes point right and down, so an unmirrored convex outline turns the same way
    # (positive cross products) at every corner; a fold, a mirror or a collapse does not.
    if not np.all(turns > 0):
        return False
    # The linear part at the reference's centre: the Jacobian of the projective map.
    centre = np.array([width / 2, height / 2, 1.0])
    w = h[2] @ centre
    mapped = (h[:2] @ centre) / w
    jacobian = (h[:2, :2] - np.outer(mapped, h[2, :2])) / w
    singular = np.linalg.svd(jacobian, compute_uv=False)
    if singular[1] <= 0:
        return False
    scale = float(np.sqrt(singular[0] * singular[1]))
    return bool(min_scale <= scale <= max_scale and singular[0] / singular[1] <= max_anisotropy)


def distinct_count(points: np.ndarray, cell: float = 1.0) -> int:
    """Number of distinct positions among (N, 2) points, rounded to `cell` pixels."""
    if len(points) == 0:
        return 0
    return len(np.unique(np.floor(points / cell).astype(np.int64), axis=0))


@dataclass(frozen=True)
class GeometricVerifier:
    """RANSAC homography verification with the guards of the module docstring.

    Parameters: `ratio` of the ratio test, `reprojection` threshold of RANSAC in crop
    pixels, `max_iters` and `confidence` of RANSAC, and the plausibility bounds of
    `plausible_homography`.
    """

    ratio: float = 0.85
    reprojection: float = 5.0
    max_iters: int = 2000
    confidence: float = 0.999
    max_scale: float = 8.0
    min_scale: float = 0.02
    max_anisotropy: float = 6.0

    def __post_init__(self):
        for name in ("ratio", "confidence"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or not 0 < value <= 1:
                raise ValueError(f"{name} must lie in (0, 1], got {value!r}")
        for name in ("reprojection", "max_scale", "min_scale", "max_anisotropy"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or value <= 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if not isinstance(self.max_iters, numbers.Integral) or self.max_iters < 1:
            raise ValueError(f"max_iters must be a positive integer, got {self.max_iters!r}")

    def count_matches(self, query: LocalFeatures, reference: LocalFeatures) -> int:
        """One-to-one matches alone, without the RANSAC fit: the cheap test (about a
        millisecond on a few hundred keypoints a side) that picks which of a long
        shortlist deserve `verify`."""
        return len(mutual_matches(query.descriptors, reference.descriptors, self.ratio)[0])

    def verify(self, query: LocalFeatures, reference: LocalFeatures,
               reference_size: tuple[float, float]) -> Verification:
        """Verify `reference` (with its image's (width, height)) against the crop `query`."""
        query_rows, reference_rows = mutual_matches(query.descriptors, reference.descriptors,
                                                    self.ratio)
        matches = len(query_rows)
        if matches < MIN_MATCHES:
            return Verification(0, matches)
        source = reference.keypoints[reference_rows, :2].astype(np.float32)
        target = query.keypoints[query_rows, :2].astype(np.float32)
        homography, mask = cv2.findHomography(source, target, cv2.USAC_MAGSAC, self.reprojection,
                                              maxIters=self.max_iters, confidence=self.confidence)
        if mask is None or not plausible_homography(homography, *reference_size, self.max_scale,
                                                    self.min_scale, self.max_anisotropy):
            return Verification(0, matches)
        inlier = mask.ravel().astype(bool)
        inliers = min(distinct_count(source[inlier]), distinct_count(target[inlier]))
        return Verification(inliers, matches, homography)


def placement_agreement(homographies: list[np.ndarray | None], reference_size: tuple[float, float],
                        crop_size: tuple[float, float], tolerance: float = 0.05) -> float:
    """How well independent fits of one (reference, crop) pair agree on where the
    reference lies in the crop: exp(-d / (tolerance * crop diagonal)), with d the mean
    distance between the reference's corners as each pair of fits projects them (1: the
    same placement; 0 where any fit is missing).

    Why: the views of a logo (grayscale SIFT and the ink map's) are matched and fitted
    apart, so a reference that is really in the crop is placed the same way by both,
    while a fit to a few chance matches (letters shared with another band's logo in the
    same font) lands each view's reference somewhere else.
    """
    if len(homographies) < 2 or any(h is None for h in homographies):
        return 0.0
    corners = _outline(*reference_size).reshape(-1, 1, 2)
    placed = [cv2.perspectiveTransform(corners, np.asarray(h, np.float64)).reshape(-1, 2)
              for h in homographies]
    distances = [np.linalg.norm(a - b, axis=1).mean() for i, a in enumerate(placed) for b in placed[i + 1:]]
    return float(np.exp(-np.mean(distances) / (tolerance * np.hypot(*crop_size))))
