"""Search back-ends, the global encoder's persistence and the open-set rejector."""

import json
import warnings

import numpy as np
import pytest

from features.encode import GlobalEncoder
from features.extract import Extraction, Extractor, gem_pool
from features.images import polarity_normalised
from features.local import LocalFeatures
from features.normalize import l2_normalize
from matching.openset import OpenSetRejector, feature_names, rank_features
from matching.presets import PathConfig
from matching.search import BallTreeSearch, FaissSearch, make_searcher


def unit_vectors(n, d, seed=0):
    return l2_normalize(np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32))


def test_balltree_and_faiss_agree_on_a_small_set():
    gallery, queries = unit_vectors(300, 32), unit_vectors(20, 32, seed=1)
    tree_sims, tree_rows = BallTreeSearch().fit(gallery).search(queries, 5)
    flat_sims, flat_rows = FaissSearch(index_type="flat").fit(gallery).search(queries, 5)
    np.testing.assert_array_equal(tree_rows, flat_rows)
    np.testing.assert_allclose(tree_sims, flat_sims, atol=1e-5)
    exact = queries @ gallery.T
    np.testing.assert_allclose(flat_sims[:, 0], exact.max(axis=1), atol=1e-5)


def test_balltree_similarity_is_the_inner_product_so_a_zero_vector_matches_nothing():
    # A reference without local features encodes as zero: at distance 1 from every unit
    # query it would be the nearest neighbour of any query whose match has cosine < 0.5.
    rng = np.random.default_rng(3)
    references = l2_normalize(rng.normal(size=(20, 16)).astype(np.float32))
    references[5] = 0.0
    query = l2_normalize(references[7] + 1.6 * l2_normalize(rng.normal(size=16).astype(np.float32)))
    similarities, rows = BallTreeSearch().fit(references).search(query[None], k=3)
    assert rows[0, 0] == 7 and 5 not in rows[0]
    np.testing.assert_allclose(similarities[0], references[rows[0]] @ query, atol=1e-5)
    assert float(references[7] @ query) < 0.5  # the case where distance 1 would have won


def test_ivf_index_adds_without_retraining_and_survives_saving_and_mapping(tmp_path):
    gallery = unit_vectors(2000, 16)
    searcher = FaissSearch(index_type="ivf-sq8", nlist=16, nprobe=16).fit(gallery)
    centroids = searcher.index_.quantizer.reconstruct_n(0, 16).copy()
    extra = unit_vectors(10, 16, seed=5)
    searcher.add(extra)
    assert searcher.n_vectors_ == 2010
    np.testing.assert_array_equal(searcher.index_.quantizer.reconstruct_n(0, 16), centroids)
    _, rows = searcher.search(extra, 1)
    assert rows[:, 0].tolist() == list(range(2000, 2010))
    (tmp_path / "ann.faiss").write_bytes(searcher.to_bytes())
    for mapped in (False, True):
        restored = FaissSearch.from_file(tmp_path / "ann.faiss", nprobe=16, mapped=mapped)
        np.testing.assert_array_equal(restored.search(extra, 3)[1], searcher.search(extra, 3)[1])
        np.testing.assert_array_equal(restored.reconstruct(np.arange(3)), searcher.reconstruct(np.arange(3)))
    with pytest.raises(ValueError, match="mapped read-only"):
        restored.add(extra)


@pytest.mark.parametrize("make", [lambda: BallTreeSearch(), lambda: FaissSearch(index_type="flat"),
                                  lambda: FaissSearch(index_type="sq8"),
                                  lambda: FaissSearch(index_type="ivf-sq8", nlist=16, nprobe=16)])
def test_every_searcher_gives_back_its_stored_vectors(make):
    """The rejector reads a fused vector's parts back from the searcher: what comes back
    must be the stored vector (within the quantiser's step for SQ8), in the asked order,
    after new vectors were added too."""
    gallery = unit_vectors(600, 16)
    searcher = make().fit(gallery)
    rows = np.array([5, 599, 0, 42])
    tolerance = 1e-6 if isinstance(searcher, BallTreeSearch) or searcher.index_type == "flat" else 0.02
    np.testing.assert_allclose(searcher.reconstruct(rows), gallery[rows], atol=tolerance)
    if isinstance(searcher, FaissSearch):
        extra = unit_vectors(3, 16, seed=9)
        searcher.add(extra)
        np.testing.assert_allclose(searcher.reconstruct(np.array([601, 3])), np.stack([extra[1], gallery[3]]),
                                   atol=tolerance)


def test_a_fused_encoder_gives_its_first_part_back():
    """The rejector's part features read a fused, unprojected vector's learned part: the
    cosines on it must be those of the learned vectors themselves, whatever the other
    part; a projected fusion mixes the parts, so it refuses."""
    rng = np.random.default_rng(4)
    extractions = [Extraction(10, 10, learned=rng.standard_normal(8).astype(np.float32),
                              gem=rng.standard_normal(20).astype(np.float32)) for _ in range(6)]
    encoder = GlobalEncoder(parts=["learned", "gem"], fusion_weight=0.4, projection=None).fit(extractions)
    assert encoder.separable
    references = encoder.transform(extractions[1:])
    learned = l2_normalize(np.stack([e.learned for e in extractions]))
    np.testing.assert_allclose(encoder.first_part_similarities(extractions[0], references),
                               learned[1:] @ learned[0], atol=1e-6)
    projected = GlobalEncoder(parts=["learned", "gem"], projection="svd", components=4).fit(extractions)
    assert not projected.separable
    with pytest.raises(ValueError, match="cannot be read back"):
        projected.first_part_similarities(extractions[0], projected.transform(extractions[1:]))


def test_search_validates_inputs():
    searcher = FaissSearch().fit(unit_vectors(10, 8))
    with pytest.raises(ValueError):
        searcher.search(unit_vectors(2, 9), 3)
    assert searcher.search(unit_vectors(1, 8), 50)[1].shape == (1, 10)  # k capped at the gallery
    with pytest.raises(ValueError):
        FaissSearch(index_type="hnsw").fit(unit_vectors(10, 8))
    with pytest.raises(ValueError):
        make_searcher("annoy", {})


def _extractions(n, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        sift = LocalFeatures(rng.random((40, 4)).astype(np.float32),
                             l2_normalize(rng.random((40, 128)).astype(np.float32)))
        out.append(Extraction(100, 100, sift=sift, gem=l2_normalize(rng.random(64).astype(np.float32))))
    return out


def test_encoder_state_round_trip_gives_identical_vectors():
    refs, queries = _extractions(30), _extractions(5, seed=1)
    encoder = GlobalEncoder(parts=["sift_vlad", "gem"], sift_clusters=4, projection="pca-whiten",
                            components=16, sample_size=500).fit(refs)
    restored = GlobalEncoder.from_state(encoder.get_params(), encoder.state())
    assert restored.dimension_ == encoder.dimension_ == 16
    np.testing.assert_allclose(restored.transform(queries), encoder.transform(queries), atol=1e-5)
    plain = GlobalEncoder(parts=["gem"], projection=None).fit(refs)
    assert GlobalEncoder.from_state(plain.get_params(), plain.state()).dimension_ == 64


@pytest.mark.parametrize("params", [{"parts": ["sift_vlad", "gem", "conv5_vlad"]}, {"parts": ["hog"]},
                                    {"fusion_weight": 2.0}, {"components": 0}])
def test_encoder_validates_parameters(params):
    with pytest.raises(ValueError):
        GlobalEncoder(**params).fit(_extractions(4))


def test_extractor_parameters_round_trip_and_are_validated():
    extractor = Extractor(sift="rootsift", conv5_sizes=(224,), gem_sizes=[224, 320])
    config = PathConfig(extractor=extractor, encoder={"parts": ["gem"]})
    assert PathConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    with pytest.raises(ValueError, match="unknown extractor"):
        PathConfig(extractor={"sift": "rootsift", "colour": True}, encoder={})
    for bad in ({"sift": "surf"}, {"gem_sizes": [8]}, {"gem_p": 0.5}, {"sift_keypoints": 0},
                {"sift": "sift", "sift_min_side": 700}, {"sift": "sift", "sift_min_side": -1},
                {"gem_shared": True}, {"gem_shared": True, "learned": "shipped", "gem_sizes": [224]}):
        with pytest.raises(ValueError):
            Extractor(**bad)


def test_gem_lies_between_mean_and_max_and_polarity_puts_ink_dark():
    cells = np.array([[1.0, 0.0], [3.0, 4.0]], np.float32)
    pooled = gem_pool(cells, p=3.0)
    assert np.all(pooled >= cells.mean(axis=0) - 1e-6) and np.all(pooled <= cells.max(axis=0) + 1e-6)
    np.testing.assert_allclose(gem_pool(cells, p=1.0), cells.mean(axis=0), rtol=1e-5)
    light_ink = np.zeros((50, 80), np.uint8)
    light_ink[20:30, 20:60] = 255
    normalised = polarity_normalised(light_ink)
    assert normalised[0, 0] == 255 and normalised[25, 40] == 0
    dark_ink = 255 - light_ink
    np.testing.assert_array_equal(polarity_normalised(dark_ink), dark_ink)


def test_polarity_leaves_a_sliver_with_no_inside_as_it_is_without_a_warning():
    sliver = np.array([[0, 255, 0, 255]], np.uint8)  # one row: all border
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(polarity_normalised(sliver), sliver)


def test_rank_features_by_hand():
    # best 0.9, next band 0.6, rest (0.6, 0.5, 0.4): mean 0.5, std 0.0816
    features = rank_features(np.array([0.9, 0.6, 0.5, 0.4]))
    assert features[0] == pytest.approx(0.3)
    assert features[1] == pytest.approx(0.4 / (np.std([0.6, 0.5, 0.4]) + 1e-3))
    assert features[-1] == pytest.approx(0.9) and len(features) == len(feature_names(0))
    # Verified: the top band by inliers need not be the most similar (0.6 < 0.9 here).
    with_inliers = rank_features(np.array([0.6, 0.9, 0.5]), np.array([40, 5, 0]), np.array([50, 30, 2]))
    assert with_inliers[2] == pytest.approx(np.log1p(40))
    assert with_inliers[3] == pytest.approx(np.log1p(40) - np.log1p(5))
    assert with_inliers[4] == pytest.approx(40 / 50)
    assert with_inliers[5] == pytest.approx(np.log1p(1))  # one band was more similar
    assert with_inliers[-1] == pytest.approx(0.6)  # the similarity of the band ranked first
    assert len(with_inliers) == len(feature_names(1))
    unmatched = rank_features(np.array([0.9, 0.6]), np.array([0, 0]), np.array([0, 0]), view_agreement=0.25)
    assert unmatched[4] == 0.0 and unmatched[5] == 0.0 and unmatched[6] == 0.25 and unmatched[7] == 0.9
    assert len(unmatched) == len(feature_names(2))
    with pytest.raises(ValueError, match="matches"):
        rank_features(np.array([0.9, 0.6]), np.array([4, 0]))
    # First-part similarities, in the ranking's order (not their own): the margin is over
    # the best other band, 0.7 here, not the next one.
    parted = rank_features(np.array([0.9, 0.6, 0.5]), part_similarities=np.array([0.5, 0.3, 0.7]))
    names = feature_names(0, part_scored=True)
    assert len(parted) == len(names) and names[-3:] == ("part_margin", "part_z", "similarity")
    assert parted[-3] == pytest.approx(-0.2)
    assert parted[-2] == pytest.approx((0.5 - 0.5) / (0.2 + 1e-3))
    assert parted[-1] == pytest.approx(0.9)


def test_rejector_accepts_answers_that_stand_out_and_round_trips():
    rng = np.random.default_rng(0)
    known = np.r_[np.ones(400, bool), np.zeros(100, bool)]
    correct = known & (rng.random(500) < 0.95)
    # Correct answers stand out (large margin and z), the rest do not.
    X = np.where(correct[:, None], rng.normal([0.3, 6.0], 0.1, (500, 2)),
                 rng.normal([0.05, 2.0], 0.1, (500, 2)))
    rejector = OpenSetRejector().fit(X, known, correct)
    accepted = rejector.accept(X)
    assert np.mean(~accepted[correct]) <= 0.01
    assert np.mean(~accepted[~known]) > 0.95
    restored = OpenSetRejector.from_json(rejector.to_json())
    np.testing.assert_allclose(restored.confidence(X), rejector.confidence(X))
    assert restored.threshold_ == rejector.threshold_
    with pytest.raises(ValueError, match="known and of unknown"):
        OpenSetRejector().fit(X[:400], known[:400], correct[:400])

