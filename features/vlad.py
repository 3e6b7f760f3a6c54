"""VLAD: a set of local descriptors as one fixed-length vector (Jegou et al. 2010).

For each codebook centroid c_k, VLAD sums the residuals x - c_k of the descriptors whose
nearest centroid is c_k and concatenates the k sums: a (k * D) vector, compared with a
dot product. Two variants:

- the thesis: residual sums, then global L2 (``intra_norm=False, power_norm=False``;
  k=512 on 128-D SIFT gives 65,536 dimensions);
- improved (the default; Arandjelovic & Zisserman, "All about VLAD", 2013): each
  cluster's sum L2-normalised on its own (intra-normalisation, so a few bursty clusters
  cannot dominate), then the signed square root, then global L2.

An empty descriptor set (a crop where SIFT found nothing) encodes as the zero vector: it
is similar to nothing, rather than an error in the middle of indexing a gallery.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from features.codebook import Codebook, check_descriptor_sets, nearest_centroid
from features.normalize import l2_normalize, signed_sqrt


def vlad_encode(descriptors: np.ndarray, centroids: np.ndarray, intra_norm: bool = True,
                power_norm: bool = True) -> np.ndarray:
    """The VLAD vector (k * D,) float32 of one (N, D) descriptor array; see module doc."""
    centroids = np.asarray(centroids, dtype=np.float32)
    n_clusters, dim = centroids.shape
    descriptors = np.asarray(descriptors, dtype=np.float32)
    if descriptors.ndim != 2 or descriptors.shape[1] != dim:
        raise ValueError(f"expected (N, {dim}) descriptors, got {descriptors.shape}")
    if len(descriptors) == 0:
        return np.zeros(n_clusters * dim, np.float32)
    labels = nearest_centroid(descriptors, centroids)
    sums = np.zeros((n_clusters, dim), np.float32)
    np.add.at(sums, labels, descriptors)
    residuals = sums - np.bincount(labels, minlength=n_clusters)[:, None] * centroids
    if intra_norm:
        residuals = l2_normalize(residuals, axis=1)
    vector = residuals.ravel()
    if power_norm:
        vector = signed_sqrt(vector)
    return l2_normalize(vector)


class VladEncoder(BaseEstimator, TransformerMixin):
    """Fit a k-means codebook on descriptor sets, then VLAD-encode descriptor sets.

    ``VladEncoder(n_clusters=512, intra_norm=False, power_norm=False)`` is the thesis's
    encoder; the default is the improved one with a smaller k. The codebook parameters
    (`sample_size`, `batch_size`, `max_iter`, `n_init`, `random_state`) are those of
    `features.codebook.Codebook`. Fitted: ``codebook_`` and ``n_features_in_``.
    """

    def __init__(self, n_clusters: int = 64, intra_norm: bool = True, power_norm: bool = True,
                 sample_size: int = 100_000, batch_size: int = 4096, max_iter: int = 100,
                 n_init: int = 3, random_state: int | None = 0):
        self.n_clusters = n_clusters
        self.intra_norm = intra_norm
        self.power_norm = power_norm
        self.sample_size = sample_size
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.n_init = n_init
        self.random_state = random_state

    def fit(self, descriptor_sets: Sequence[np.ndarray], y=None) -> VladEncoder:
        """Fit the codebook on a list of per-image (N_i, D) descriptor arrays."""
        for name in ("intra_norm", "power_norm"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        self.codebook_ = Codebook(
            n_clusters=self.n_clusters, sample_size=self.sample_size,
            batch_size=self.batch_size, max_iter=self.max_iter, n_init=self.n_init,
            random_state=self.random_state,
        ).fit(descriptor_sets)
        self.n_features_in_ = self.codebook_.n_features_in_
        return self

    @property
    def dimension(self) -> int:
        """Length of the VLAD vectors: k * D."""
        check_is_fitted(self, "codebook_")
        return self.codebook_.cluster_centers_.size

    def transform(self, descriptor_sets: Sequence[np.ndarray]) -> np.ndarray:
        """(n_sets, k * D) float32 VLAD vectors, one row per descriptor array."""
        check_is_fitted(self, "codebook_")
        sets = check_descriptor_sets(descriptor_sets, self.n_features_in_)
        centroids = self.codebook_.cluster_centers_
        if not sets:
            return np.zeros((0, centroids.size), np.float32)
        return np.stack([vlad_encode(descriptors, centroids, self.intra_norm, self.power_norm)
                         for descriptors in sets])
