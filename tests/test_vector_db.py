"""The vector-database searcher (issue 25): Qdrant in local mode answers the top 10 that
faiss answers, grows with `add`, reads its vectors back, and a bundle whose path searches
with it reopens with the same answers."""

import dataclasses

import numpy as np

from data.image_io import read_image
from features.normalize import l2_normalize
from matching.index import RetrievalIndex
from matching.search import FaissSearch
from matching.vector_db import QdrantSearch
from tests.index_support import TINY


def clustered(n, dimension, seed):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((100, dimension)).astype(np.float32)
    owners = rng.integers(len(centres), size=n)
    return l2_normalize(centres[owners] + 0.6 * rng.standard_normal((n, dimension)).astype(np.float32))


def recall(found, truth):
    return np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)])


def test_qdrant_answers_the_top_ten_faiss_answers():
    both = clustered(3050, 256, seed=5)
    vectors, queries = both[:3000], both[3000:]
    qdrant = QdrantSearch().fit(vectors)
    similarities, rows = qdrant.search(queries, 10)
    assert rows.shape == (50, 10) and np.all(np.diff(similarities, axis=1) <= 1e-6)
    exact_similarities, exact_rows = FaissSearch("flat").fit(vectors).search(queries, 10)
    assert recall(rows, exact_rows) >= 0.99
    np.testing.assert_allclose(similarities, exact_similarities, atol=1e-4)
    assert recall(rows, FaissSearch("sq8").fit(vectors).search(queries, 10)[1]) >= 0.95
    np.testing.assert_allclose(qdrant.reconstruct(np.array([7, 3])), vectors[[7, 3]], atol=1e-6)


def test_added_vectors_are_found_under_their_rows():
    vectors = clustered(300, 32, seed=1)
    qdrant = QdrantSearch().fit(vectors[:200]).add(vectors[200:])
    assert qdrant.n_vectors_ == 300
    _, rows = qdrant.search(vectors[[250, 10]], 1)
    assert rows[:, 0].tolist() == [250, 10]


def test_a_bundle_searching_with_qdrant_reopens_with_the_same_answers(dataset, tmp_path):
    configs = {**TINY, "album": dataclasses.replace(TINY["album"], searcher="qdrant", searcher_params={})}
    built = RetrievalIndex.build(dataset.references, dataset.root, "tiny", configs=configs, progress=False)
    built.save(tmp_path / "index")
    opened = RetrievalIndex.open(tmp_path / "index")
    assert opened.generation.manifest["paths"]["album"]["config"]["searcher"] == "qdrant"
    for ref in [r for r in dataset.references if r.kind == "album"][:3]:
        image = read_image(dataset.reference_path(ref))
        before, after = built.query(image, "album", 5), opened.query(image, "album", 5)
        assert [c.ref_id for c in after.candidates] == [c.ref_id for c in before.candidates]
        assert after.candidates[0].band_id == ref.band_id
