"""Nearest-reference search in a vector database: Qdrant, beside faiss and the BallTree.

Why: one machine's faiss index stops where its memory does; a vector database shards and
replicates a collection across servers and takes writes while it serves. The same
client runs embedded (``":memory:"`` or a folder: Qdrant's local mode, exact search, for
tests and small galleries) and against a server (an ``http://`` address) in production.
The searcher answers as `matching.search`'s do: inner products of unit vectors, rows
best first. The bundle keeps the vectors (``vectors.npy``) and a reopened index loads
them into the collection again, as the BallTree path rebuilds its tree.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from features.codebook import check_int
from matching.search import check_vectors

#: Points sent to the collection per request.
UPLOAD_BATCH = 1024


class QdrantSearch(BaseEstimator):
    """Dot-product search over a Qdrant collection named `collection` at `location`
    (``":memory:"``, a folder for local mode, or a server's ``http(s)://`` address).
    Point ids are the vectors' rows. Fitted: ``client_``, ``n_vectors_``, ``dimension_``."""

    def __init__(self, location: str = ":memory:", collection: str = "references"):
        self.location = location
        self.collection = collection

    def _connect(self):
        from qdrant_client import QdrantClient

        if self.location == ":memory:":
            return QdrantClient(location=":memory:")
        if self.location.startswith(("http://", "https://")):
            return QdrantClient(url=self.location)
        return QdrantClient(path=self.location)

    def fit(self, vectors: np.ndarray, y=None) -> QdrantSearch:
        """(Re)create the collection holding `vectors` as points 0..n-1."""
        from qdrant_client import models

        vectors = check_vectors(vectors)
        self.client_ = self._connect()
        if self.client_.collection_exists(self.collection):
            self.client_.delete_collection(self.collection)
        self.client_.create_collection(self.collection, vectors_config=models.VectorParams(
            size=vectors.shape[1], distance=models.Distance.DOT))
        self.n_vectors_, self.dimension_ = 0, vectors.shape[1]
        return self.add(vectors)

    def add(self, vectors: np.ndarray) -> QdrantSearch:
        """Append vectors as points n_vectors_, n_vectors_ + 1, ..."""
        check_is_fitted(self, "client_")
        vectors = check_vectors(vectors, self.dimension_)
        ids = list(range(self.n_vectors_, self.n_vectors_ + len(vectors)))
        self.client_.upload_collection(self.collection, vectors, ids=ids, batch_size=UPLOAD_BATCH, wait=True)
        self.n_vectors_ += len(vectors)
        return self

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(similarities, rows), each (n_queries, min(k, n_vectors)), best first."""
        from qdrant_client import models

        check_is_fitted(self, "client_")
        queries = check_vectors(queries, self.dimension_)
        k = min(check_int("k", k, 1), self.n_vectors_)
        answers = self.client_.query_batch_points(self.collection, [
            models.QueryRequest(query=query.tolist(), limit=k) for query in queries])
        similarities = np.array([[point.score for point in answer.points] for answer in answers], np.float32)
        rows = np.array([[point.id for point in answer.points] for answer in answers], np.int64)
        return similarities.reshape(len(queries), -1), rows.reshape(len(queries), -1)

    def reconstruct(self, rows: np.ndarray) -> np.ndarray:
        """The stored vectors of `rows`, (len(rows), dimension_) float32."""
        check_is_fitted(self, "client_")
        wanted = [int(row) for row in np.asarray(rows).ravel()]
        records = self.client_.retrieve(self.collection, ids=wanted, with_vectors=True, with_payload=False)
        found = {record.id: record.vector for record in records}
        return np.array([found[row] for row in wanted], np.float32).reshape(len(wanted), self.dimension_)
