"""Late fusion of two global descriptors (the thesis's SIFT-VLAD + conv5-VLAD)."""

from __future__ import annotations

import numpy as np

from features.normalize import l2_normalize


def fuse(a: np.ndarray, b: np.ndarray, weight: float = 0.5) -> np.ndarray:
    """Concatenate L2-normalised `a` and `b` scaled by (1 - weight) and weight, then L2.

    Works on single vectors or on (n, d) rows. Because both parts are unit vectors, the
    dot product of two fused vectors is a weighted mean of the parts' cosines,
    ``((1-w)^2 cos_a + w^2 cos_b) / ((1-w)^2 + w^2)``: `weight` 0 is `a` alone, 1 is `b`
    alone, 0.5 weighs them equally, whatever their dimensions. A zero part (no
    descriptors) stays zero, so it adds nothing to any similarity.
    """
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must lie in [0, 1], got {weight}")
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    if a.ndim != b.ndim or a.shape[:-1] != b.shape[:-1]:
        raise ValueError(f"cannot fuse shapes {a.shape} and {b.shape}")
    fused = np.concatenate([(1.0 - weight) * l2_normalize(a), weight * l2_normalize(b)], axis=-1)
    return l2_normalize(fused)


def leading_part(fused: np.ndarray, dimension: int) -> np.ndarray:
    """The first part back from `fuse`d vectors: their first `dimension` entries, L2
    normalised again (the part's unit vector, or that of a mean of such parts)."""
    return l2_normalize(np.asarray(fused, np.float32)[..., :dimension])
