"""k-means visual codebooks, trained on a random sample of local descriptors.

A gallery holds far more descriptors than k-means needs (thousands of references times
up to a thousand keypoints each), so the codebook is fitted on a uniform random sample,
drawn without concatenating all descriptors first. Everything random derives from
`random_state`, so the same descriptors and seed give the same centroids.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.cluster import MiniBatchKMeans
from sklearn.utils.validation import check_is_fitted


def check_int(name: str, value, minimum: int) -> int:
    """Validate an integer hyper-parameter (bools are not integers here)."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_seed(value) -> int | None:
    if value is not None:
        check_int("random_state", value, 0)
    return value


def check_descriptor_sets(descriptor_sets: Sequence[np.ndarray],
                          n_features: int | None = None) -> list[np.ndarray]:
    """A list of (N_i, D) float32 arrays with one D (N_i may be 0), or a ValueError."""
    if isinstance(descriptor_sets, np.ndarray) and descriptor_sets.ndim == 2:
        raise ValueError("expected a list of per-image descriptor arrays, got one 2-D array; "
                         "wrap it in a list")
    sets = [np.asarray(descriptors, dtype=np.float32) for descriptors in descriptor_sets]
    dims = {descriptors.shape[1] for descriptors in sets if descriptors.ndim == 2}
    if any(descriptors.ndim != 2 for descriptors in sets) or len(dims) > 1:
        raise ValueError(f"descriptor arrays must be 2-D with one width, got "
                         f"{sorted({d.shape for d in sets})[:4]}")
    if n_features is not None and dims and dims != {n_features}:
        raise ValueError(f"descriptors have {dims.pop()} dimensions, fitted on {n_features}")
    return sets


def sample_descriptors(sets: Sequence[np.ndarray], size: int, seed: int | None) -> np.ndarray:
    """Up to `size` rows drawn uniformly without replacement from all `sets`."""
    counts = np.array([len(descriptors) for descriptors in sets])
    total = int(counts.sum())
    if total <= size:
        return np.concatenate(sets)
    chosen = np.sort(np.random.default_rng(seed).choice(total, size=size, replace=False))
    starts = np.concatenate([[0], np.cumsum(counts)])
    owner = np.searchsorted(starts, chosen, side="right") - 1
    return np.concatenate([sets[i][chosen[owner == i] - starts[i]] for i in np.unique(owner)])


def nearest_centroid(descriptors: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Index of the nearest centroid (squared Euclidean) for each descriptor row."""
    # |x - c|^2 = |x|^2 - 2 x.c + |c|^2; |x|^2 does not change the argmin.
    scores = descriptors @ centroids.T * -2.0 + np.einsum("kd,kd->k", centroids, centroids)
    return np.argmin(scores, axis=1)


class Codebook(BaseEstimator):
    """k-means centroids of local descriptors (MiniBatchKMeans on a random sample).

    Parameters: `n_clusters` (k), `sample_size` (most descriptors used for fitting),
    `batch_size`, `max_iter` and `n_init` of MiniBatchKMeans, `random_state` (int seed,
    or None for a fresh one each fit). Fitted: ``cluster_centers_`` (k, D) float32.
    """

    def __init__(self, n_clusters: int = 64, sample_size: int = 100_000, batch_size: int = 4096,
                 max_iter: int = 100, n_init: int = 3, random_state: int | None = 0):
        self.n_clusters = n_clusters
        self.sample_size = sample_size
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.n_init = n_init
        self.random_state = random_state

    def fit(self, descriptor_sets: Sequence[np.ndarray], y=None) -> Codebook:
        """Fit on a list of per-image (N_i, D) descriptor arrays."""
        n_clusters = check_int("n_clusters", self.n_clusters, 1)
        sample_size = check_int("sample_size", self.sample_size, n_clusters)
        seed = check_seed(self.random_state)
        sets = check_descriptor_sets(descriptor_sets)
        sample = sample_descriptors(sets, sample_size, seed) if sets else np.zeros((0, 0))
        if len(sample) < n_clusters:
            raise ValueError(f"{len(sample)} descriptors cannot make {n_clusters} clusters")
        kmeans = MiniBatchKMeans(
            n_clusters=n_clusters, batch_size=check_int("batch_size", self.batch_size, 1),
            max_iter=check_int("max_iter", self.max_iter, 1),
            n_init=check_int("n_init", self.n_init, 1), random_state=seed,
        ).fit(sample)
        self.cluster_centers_ = kmeans.cluster_centers_.astype(np.float32)
        self.n_features_in_ = sample.shape[1]
        return self

    def predict(self, descriptors: np.ndarray) -> np.ndarray:
        """Nearest-centroid index of each row of one (N, D) descriptor array."""
        check_is_fitted(self, "cluster_centers_")
        (descriptors,) = check_descriptor_sets([descriptors], self.n_features_in_)
        return nearest_centroid(descriptors, self.cluster_centers_)
