"""Vector normalisations used by VLAD, PCA-whitening and fusion."""

from __future__ import annotations

import numpy as np


def l2_normalize(vectors: np.ndarray, axis: int = -1, eps: float = 1e-12) -> np.ndarray:
    """Unit L2 norm along `axis`, as float32; zero vectors stay zero (not NaN)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=axis, keepdims=True)
    return vectors / np.maximum(norms, eps)


def signed_sqrt(vectors: np.ndarray) -> np.ndarray:
    """Power normalisation with alpha 1/2: sign(x) * sqrt(|x|).

    Damps the "burstiness" of repeated structures (a logo's repeated letters), which
    otherwise dominate a VLAD vector's similarity.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    return np.sign(vectors) * np.sqrt(np.abs(vectors))
