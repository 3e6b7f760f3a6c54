"""Nearest-reference search over unit global vectors: BallTree (the thesis) and faiss.

Both searchers take L2-normalised vectors and answer with cosine similarities (for unit
vectors, ``cos = 1 - d^2 / 2``) and row numbers, best first, so the rest of the
pipeline does not care which one ran.

- `BallTreeSearch`: scikit-learn's BallTree, exact, as in the thesis. On 65,536-D VLAD
  vectors it prunes almost nothing and costs about a linear scan; kept for fidelity.
- `FaissSearch`: inner-product search with faiss. ``"flat"`` is exact and stores each
  vector whole (float32); ``"sq8"`` scans every vector scalar-quantised to one byte per
  dimension (512-D = 512 bytes, ranking all but unchanged); ``"ivf-sq8"`` adds inverted
  lists over k-means cells and scales to millions of references, answering in
  milliseconds (benchmarks/bench_ann.py). ``"sq4"`` and ``"ivf-sq4"`` take half a byte per
  dimension, at some cost in recall against exact search. ``"auto"`` picks sq8 below
  `AUTO_IVF_MIN` vectors, ivf-sq8 above. New vectors are appended with `add`, never retraining the
  quantiser (values outside the trained range are clipped), so `kyb index add` stays
  cheap.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.neighbors import BallTree
from sklearn.utils.validation import check_is_fitted

from features.codebook import check_int

INDEX_TYPES = ("auto", "flat", "sq8", "ivf-sq8", "sq4", "ivf-sq4")
#: Below this many vectors a full scan is as fast as inverted lists, and exact.
AUTO_IVF_MIN = 50_000


def check_vectors(vectors: np.ndarray, dimension: int | None = None) -> np.ndarray:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or (dimension is not None and vectors.shape[1] != dimension):
        want = f"(n, {dimension})" if dimension is not None else "(n, d)"
        raise ValueError(f"expected {want} vectors, got {vectors.shape}")
    return vectors


class BallTreeSearch(BaseEstimator):
    """Exact Euclidean search with sklearn's BallTree; `leaf_size` as in BallTree.

    Similarities are the exact inner products, recovered from the distances and the
    vectors' norms: for unit vectors that is ``1 - d**2 / 2``, and a zero vector (an image
    with no local features) is similar to nothing, as VLAD's docstring promises, instead
    of being the nearest neighbour (distance 1) of every query whose true match lies
    further than that.
    """

    def __init__(self, leaf_size: int = 40):
        self.leaf_size = leaf_size

    def fit(self, vectors: np.ndarray, y=None) -> BallTreeSearch:
        vectors = check_vectors(vectors)
        self.tree_ = BallTree(vectors, leaf_size=check_int("leaf_size", self.leaf_size, 1))
        self.squared_norms_ = np.einsum("ij,ij->i", vectors, vectors)
        self.zero_vectors_ = int(np.count_nonzero(self.squared_norms_ < 1e-12))
        self.n_vectors_, self.dimension_ = vectors.shape
        return self

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(similarities, rows), each (n_queries, min(k, n_vectors)), best first."""
        check_is_fitted(self, "tree_")
        queries = check_vectors(queries, self.dimension_)
        k = min(check_int("k", k, 1), self.n_vectors_)
        # Zero vectors may crowd the nearest k: ask for as many more as there are.
        distances, rows = self.tree_.query(queries, k=min(k + self.zero_vectors_, self.n_vectors_))
        query_norms = np.einsum("ij,ij->i", queries, queries)[:, None]
        similarities = (query_norms + self.squared_norms_[rows] - distances ** 2) / 2.0
        order = np.argsort(-similarities, axis=1, kind="stable")[:, :k]
        return (np.take_along_axis(similarities, order, axis=1).astype(np.float32),
                np.take_along_axis(rows, order, axis=1).astype(np.int64))

    def reconstruct(self, rows: np.ndarray) -> np.ndarray:
        """The stored vectors of `rows`, (len(rows), dimension_) float32."""
        check_is_fitted(self, "tree_")
        return np.asarray(self.tree_.data, np.float32)[np.asarray(rows, np.int64)]


class FaissSearch(BaseEstimator):
    """Inner-product search with faiss (see the module docstring for `index_type`).

    `nlist` is the number of IVF cells (0: about 4 * sqrt(n), at least 16), `nprobe` the
    cells visited per query. Fitted: ``index_`` (a faiss index), ``n_vectors_``,
    ``dimension_``.
    """

    def __init__(self, index_type: str = "auto", nlist: int = 0, nprobe: int = 32):
        self.index_type = index_type
        self.nlist = nlist
        self.nprobe = nprobe

    def _resolved_type(self, n_vectors: int) -> str:
        if self.index_type not in INDEX_TYPES:
            raise ValueError(f"index_type must be one of {INDEX_TYPES}, got {self.index_type!r}")
        if self.index_type == "auto":
            return "ivf-sq8" if n_vectors >= AUTO_IVF_MIN else "sq8"
        return self.index_type

    def fit(self, vectors: np.ndarray, y=None) -> FaissSearch:
        """Build (and for IVF, train) the index on `vectors`."""
        import faiss

        vectors = check_vectors(vectors)
        n_vectors, dimension = vectors.shape
        check_int("nlist", self.nlist, 0)
        check_int("nprobe", self.nprobe, 1)
        index_type = self._resolved_type(n_vectors)
        if index_type == "flat":
            index = faiss.IndexFlatIP(dimension)
        elif index_type in ("sq8", "sq4"):
            index = faiss.IndexScalarQuantizer(dimension, _quantiser_type(index_type),
                                               faiss.METRIC_INNER_PRODUCT)
            index.train(vectors)
        else:
            nlist = self.nlist or max(16, int(4 * math.sqrt(n_vectors)))
            quantizer = faiss.IndexFlatIP(dimension)
            index = faiss.IndexIVFScalarQuantizer(quantizer, dimension, nlist,
                                                  _quantiser_type(index_type),
                                                  faiss.METRIC_INNER_PRODUCT)
            index.train(vectors)
        index.add(vectors)
        self._set_index(index)
        return self

    def _set_index(self, index, mapped: bool = False) -> None:
        import faiss

        if isinstance(index, faiss.IndexIVF):
            index.nprobe = self.nprobe
        self.index_ = index
        self.n_vectors_, self.dimension_ = index.ntotal, index.d
        self.mapped_ = mapped

    def add(self, vectors: np.ndarray) -> FaissSearch:
        """Append vectors (rows n_vectors_, n_vectors_ + 1, ...) without retraining."""
        check_is_fitted(self, "index_")
        if self.mapped_:
            raise ValueError("this index is mapped read-only; open the bundle unmapped to add to it")
        self.index_.add(check_vectors(vectors, self.dimension_))
        self.n_vectors_ = self.index_.ntotal
        return self

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(similarities, rows), each (n_queries, min(k, n_vectors)), best first."""
        check_is_fitted(self, "index_")
        queries = check_vectors(queries, self.dimension_)
        k = min(check_int("k", k, 1), self.n_vectors_)
        similarities, rows = self.index_.search(queries, k)
        return similarities.astype(np.float32), rows.astype(np.int64)

    def reconstruct(self, rows: np.ndarray) -> np.ndarray:
        """The stored vectors of `rows` (as quantised), (len(rows), dimension_) float32.
        An IVF index gets the direct map this needs at its first call."""
        import faiss

        check_is_fitted(self, "index_")
        if isinstance(self.index_, faiss.IndexIVF) and not self.index_.direct_map.type:
            self.index_.make_direct_map()
        return self.index_.reconstruct_batch(np.ascontiguousarray(rows, np.int64)).astype(np.float32)

    def to_bytes(self) -> bytes:
        import faiss

        check_is_fitted(self, "index_")
        return faiss.serialize_index(self.index_).tobytes()

    @classmethod
    def from_file(cls, path: str | Path, nprobe: int = 32, mapped: bool = False) -> FaissSearch:
        """The index saved at `path`; `mapped` maps its codes read-only instead of reading
        them: processes serving one bundle then share one copy in the page cache, and a
        million references open at once. A mapped index refuses `add`."""
        import faiss

        flags = (faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY) if mapped else 0
        searcher = cls(nprobe=nprobe)
        searcher._set_index(faiss.read_index(str(path), flags), mapped)
        return searcher


def _quantiser_type(index_type: str) -> int:
    """faiss's scalar quantiser of an ``sq8``/``sq4`` type (with or without ``ivf-``)."""
    import faiss

    return faiss.ScalarQuantizer.QT_4bit if index_type.endswith("sq4") else faiss.ScalarQuantizer.QT_8bit


def make_searcher(kind: str, params: dict):
    """The searcher a preset names (``"balltree"``, ``"faiss"`` or ``"qdrant"``,
    `matching.vector_db`) with its parameters."""
    if kind == "balltree":
        return BallTreeSearch(**params)
    if kind == "faiss":
        return FaissSearch(**params)
    if kind == "qdrant":
        from matching.vector_db import QdrantSearch  # it imports this module

        return QdrantSearch(**params)
    raise ValueError(f"unknown searcher {kind!r}; choose 'balltree', 'faiss' or 'qdrant'")


def best_positions(searcher: BallTreeSearch | FaissSearch, vectors: np.ndarray,
                   k: int) -> list[tuple[int, float]]:
    """(row, similarity) of the best `k` rows for one or several query vectors of the
    same crop, best first; with several, a row keeps its best similarity over them."""
    similarities, rows = searcher.search(vectors, k)
    best: dict[int, float] = {}
    for row_similarities, row_positions in zip(similarities, rows, strict=True):
        for similarity, position in zip(row_similarities.tolist(), row_positions.tolist(), strict=True):
            if position >= 0 and similarity > best.get(position, -np.inf):
                best[position] = similarity
    return sorted(best.items(), key=lambda item: -item[1])[:k]
