"""PCA-whitening of global vectors (VLAD) to a small dimension, then L2.

Why: a 65,536-D VLAD vector is slow to search and its dimensions are strongly correlated;
projecting on the leading principal components and whitening them (unit variance each)
keeps most of the retrieval accuracy at a few hundred dimensions and down-weights the
co-occurrences that make unrelated images look alike (Jegou & Chum, ECCV 2012).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.utils.validation import check_is_fitted

from features.codebook import check_int, check_seed
from features.normalize import l2_normalize


class PcaWhitening(BaseEstimator, TransformerMixin):
    """sklearn PCA (optionally whitened) followed by L2 normalisation.

    A small gallery has fewer informative directions than `n_components`: centred data of
    n samples spans at most n - 1 of them, and whitening a direction of zero variance
    would blow up noise. So the fitted dimension is ``n_components_ = min(n_components,
    n_samples - 1, n_features)``; check it when building an index from few references.
    """

    def __init__(self, n_components: int = 256, whiten: bool = True,
                 random_state: int | None = 0):
        self.n_components = n_components
        self.whiten = whiten
        self.random_state = random_state

    def fit(self, vectors: np.ndarray, y=None) -> PcaWhitening:
        """Fit on (n_samples, n_features) vectors; needs at least two samples."""
        n_components = check_int("n_components", self.n_components, 1)
        if not isinstance(self.whiten, bool):
            raise ValueError(f"whiten must be True or False, got {self.whiten!r}")
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) < 2:
            raise ValueError(f"need (n_samples >= 2, n_features) vectors, got {vectors.shape}")
        self.n_components_ = min(n_components, len(vectors) - 1, vectors.shape[1])
        self.pca_ = PCA(n_components=self.n_components_, whiten=self.whiten,
                        random_state=check_seed(self.random_state)).fit(vectors)
        self.n_features_in_ = vectors.shape[1]
        return self

    def transform(self, vectors: np.ndarray) -> np.ndarray:
        """(n, n_components_) float32 unit vectors."""
        check_is_fitted(self, "pca_")
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.n_features_in_:
            raise ValueError(f"expected (n, {self.n_features_in_}) vectors, got {vectors.shape}")
        return l2_normalize(self.pca_.transform(vectors))
