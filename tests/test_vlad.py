"""Codebooks, VLAD, PCA-whitening and fusion: maths checked by hand on tiny cases."""

import numpy as np
import pytest
from sklearn.base import clone

from features.codebook import Codebook, nearest_centroid, sample_descriptors
from features.fusion import fuse
from features.normalize import l2_normalize, signed_sqrt
from features.pca import PcaWhitening
from features.vlad import VladEncoder, vlad_encode

# Two centroids and three 2-D descriptors, small enough to do by hand:
#   c0 = (0, 0), c1 = (4, 0)
#   x1 = (1, 0): |x1-c0|^2 = 1, |x1-c1|^2 = 9   -> c0, residual (1, 0)
#   x2 = (0, 2): |x2-c0|^2 = 4, |x2-c1|^2 = 20  -> c0, residual (0, 2)
#   x3 = (5, 1): |x3-c0|^2 = 26, |x3-c1|^2 = 2  -> c1, residual (1, 1)
# Residual sums: cluster 0 = (1, 2), cluster 1 = (1, 1), raw v = (1, 2, 1, 1), |v| = sqrt(7).
CENTROIDS = np.array([[0.0, 0.0], [4.0, 0.0]], np.float32)
DESCRIPTORS = np.array([[1.0, 0.0], [0.0, 2.0], [5.0, 1.0]], np.float32)


def test_nearest_centroid_by_hand():
    assert nearest_centroid(DESCRIPTORS, CENTROIDS).tolist() == [0, 0, 1]


def test_thesis_vlad_is_residual_sums_with_global_l2():
    # (1, 2, 1, 1) / sqrt(7)
    expected = np.array([1, 2, 1, 1]) / np.sqrt(7)
    vector = vlad_encode(DESCRIPTORS, CENTROIDS, intra_norm=False, power_norm=False)
    np.testing.assert_allclose(vector, expected, rtol=1e-6)
    assert vector.dtype == np.float32


def test_intra_normalised_vlad_by_hand():
    # Cluster sums normalised alone: (1, 2)/sqrt(5) and (1, 1)/sqrt(2); the concatenation
    # has norm sqrt(2), so v = (1/sqrt5, 2/sqrt5, 1/sqrt2, 1/sqrt2) / sqrt(2)
    #                        = (0.3162, 0.6325, 0.5, 0.5).
    expected = np.array([1 / np.sqrt(5), 2 / np.sqrt(5), 1 / np.sqrt(2), 1 / np.sqrt(2)])
    expected /= np.sqrt(2)
    vector = vlad_encode(DESCRIPTORS, CENTROIDS, intra_norm=True, power_norm=False)
    np.testing.assert_allclose(vector, expected, rtol=1e-6)


def test_improved_vlad_by_hand():
    # After intra-norm: (0.4472, 0.8944, 0.7071, 0.7071); signed sqrt:
    # (0.6687, 0.9457, 0.8409, 0.8409); squares sum to 0.4472+0.8944+2*0.7071 = 2.7558,
    # so the result is that divided by sqrt(2.7558) = 1.6601: (0.4028, 0.5697, 0.5066, 0.5066).
    intra = np.array([1 / np.sqrt(5), 2 / np.sqrt(5), 1 / np.sqrt(2), 1 / np.sqrt(2)])
    expected = np.sqrt(intra) / np.sqrt(intra.sum())
    vector = vlad_encode(DESCRIPTORS, CENTROIDS)
    np.testing.assert_allclose(vector, expected, rtol=1e-6)
    np.testing.assert_allclose(vector, [0.4028, 0.5697, 0.5066, 0.5066], atol=1e-4)


def test_power_norm_keeps_sign_and_damps_large_components():
    # Residual sums can be negative: x = (-3, 0) against c0 = (0, 0) gives (-3, 0).
    vector = vlad_encode(np.array([[-3.0, 0.0], [4.0, 9.0]], np.float32), CENTROIDS,
                         intra_norm=False, power_norm=True)
    # raw (-3, 0, 0, 9) -> signed sqrt (-1.732, 0, 0, 3) -> / sqrt(12)
    np.testing.assert_allclose(vector, np.array([-np.sqrt(3), 0, 0, 3]) / np.sqrt(12), rtol=1e-6)
    np.testing.assert_allclose(signed_sqrt(np.array([-4.0, 0.0, 9.0])), [-2.0, 0.0, 3.0])


def test_intra_norm_gives_every_visited_cluster_equal_weight():
    rng = np.random.default_rng(1)
    centroids = rng.normal(size=(4, 8)).astype(np.float32)
    descriptors = rng.normal(size=(50, 8)).astype(np.float32) * 5
    vector = vlad_encode(descriptors, centroids, intra_norm=True, power_norm=False)
    visited = np.unique(nearest_centroid(descriptors, centroids))
    block_norms = np.linalg.norm(vector.reshape(4, 8), axis=1)
    np.testing.assert_allclose(block_norms[visited], 1 / np.sqrt(len(visited)), rtol=1e-5)
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-6)


def test_empty_descriptor_set_encodes_as_zero_vector():
    vector = vlad_encode(np.zeros((0, 2), np.float32), CENTROIDS)
    assert vector.shape == (4,) and not vector.any()


def test_vlad_rejects_wrong_descriptor_width():
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        vlad_encode(np.zeros((3, 5), np.float32), CENTROIDS)


def _blobs(seed, n_images=6, per_image=40, dim=8):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(5, dim)) * 10
    return [(centres[rng.integers(0, 5, per_image)] + rng.normal(size=(per_image, dim)))
            .astype(np.float32) for _ in range(n_images)]


def test_codebook_is_deterministic_for_a_seed():
    sets = _blobs(0)
    first = Codebook(n_clusters=5, sample_size=150, random_state=3).fit(sets).cluster_centers_
    again = Codebook(n_clusters=5, sample_size=150, random_state=3).fit(sets).cluster_centers_
    other = Codebook(n_clusters=5, sample_size=150, random_state=4).fit(sets).cluster_centers_
    np.testing.assert_array_equal(first, again)
    assert first.shape == (5, 8) and first.dtype == np.float32
    assert not np.array_equal(first, other)


def test_sample_descriptors_draws_without_replacement_across_images():
    sets = [np.arange(i * 10, i * 10 + 10, dtype=np.float32)[:, None] for i in range(4)]
    sample = sample_descriptors(sets, 15, seed=0)
    assert sample.shape == (15, 1)
    assert len(np.unique(sample)) == 15 and set(sample.ravel()) <= set(range(40))
    np.testing.assert_array_equal(sample_descriptors(sets, 15, seed=0), sample)
    assert len(sample_descriptors(sets, 100, seed=0)) == 40


@pytest.mark.parametrize("params", [{"n_clusters": 0}, {"n_clusters": 2.5},
                                    {"n_clusters": True}, {"random_state": -1},
                                    {"sample_size": 1, "n_clusters": 4}])
def test_codebook_validates_parameters(params):
    with pytest.raises(ValueError):
        Codebook(**params).fit(_blobs(0))


def test_codebook_needs_enough_descriptors():
    with pytest.raises(ValueError, match="cannot make 64 clusters"):
        Codebook(n_clusters=64).fit([np.zeros((10, 4), np.float32)])


def test_vlad_encoder_is_a_sklearn_estimator():
    sets = _blobs(0)
    encoder = VladEncoder(n_clusters=5, sample_size=200, random_state=0)
    assert encoder.get_params()["n_clusters"] == 5
    assert clone(encoder).get_params() == encoder.get_params()
    vectors = encoder.fit_transform(sets + [np.zeros((0, 8), np.float32)])
    assert vectors.shape == (7, 40) and vectors.dtype == np.float32
    assert encoder.dimension == 40
    np.testing.assert_allclose(np.linalg.norm(vectors[:6], axis=1), 1.0, rtol=1e-5)
    assert not vectors[6].any()  # the empty set
    # transform is vlad_encode against the fitted centroids
    centroids = encoder.codebook_.cluster_centers_
    np.testing.assert_allclose(vectors[0], vlad_encode(sets[0], centroids), rtol=1e-6)
    # an image matches itself best
    assert np.argmax(vectors[:6] @ vectors[2]) == 2


def test_vlad_encoder_rejects_bad_input_and_parameters():
    sets = _blobs(0)
    with pytest.raises(ValueError, match="list of per-image"):
        VladEncoder(n_clusters=5).fit(np.zeros((100, 8), np.float32))
    with pytest.raises(ValueError, match="intra_norm"):
        VladEncoder(n_clusters=5, intra_norm="yes").fit(sets)
    encoder = VladEncoder(n_clusters=5).fit(sets)
    with pytest.raises(ValueError, match="fitted on 8"):
        encoder.transform([np.zeros((3, 4), np.float32)])


def test_pca_whitening_reduces_whitens_and_normalises():
    rng = np.random.default_rng(0)
    vectors = (rng.normal(size=(60, 40)) * np.linspace(10, 0.1, 40)).astype(np.float32)
    whitening = PcaWhitening(n_components=8).fit(vectors)
    projected = whitening.transform(vectors)
    assert projected.shape == (60, 8) and projected.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(projected, axis=1), 1.0, rtol=1e-5)
    raw = whitening.pca_.transform(vectors)  # before the final L2: unit variance each
    np.testing.assert_allclose(raw.var(axis=0, ddof=1), 1.0, rtol=1e-3)


def test_pca_whitening_caps_components_for_small_galleries():
    vectors = np.random.default_rng(0).normal(size=(10, 40)).astype(np.float32)
    whitening = PcaWhitening(n_components=256).fit(vectors)
    assert whitening.n_components_ == 9
    assert whitening.transform(vectors).shape == (10, 9)
    with pytest.raises(ValueError):
        PcaWhitening(n_components=0).fit(vectors)


def test_fuse_weights_the_parts_cosines():
    rng = np.random.default_rng(0)
    a1, a2 = rng.normal(size=(2, 16))
    b1, b2 = rng.normal(size=(2, 5))
    cos_a = float(l2_normalize(a1) @ l2_normalize(a2))
    cos_b = float(l2_normalize(b1) @ l2_normalize(b2))
    for weight in (0.0, 0.3, 0.5, 1.0):
        f1, f2 = fuse(a1, b1, weight), fuse(a2, b2, weight)
        assert f1.shape == (21,) and np.linalg.norm(f1) == pytest.approx(1.0, abs=1e-6)
        expected = ((1 - weight) ** 2 * cos_a + weight ** 2 * cos_b) / (
            (1 - weight) ** 2 + weight ** 2)
        assert float(f1 @ f2) == pytest.approx(expected, abs=1e-5)


def test_fuse_rows_and_zero_parts():
    a = np.array([[3.0, 4.0], [0.0, 0.0]])
    b = np.array([[0.0, 2.0], [1.0, 0.0]])
    fused = fuse(a, b, weight=0.5)
    # row 0: (0.6, 0.8) and (0, 1), both halved, re-normalised by 1/sqrt(0.5)
    np.testing.assert_allclose(fused[0], np.array([0.6, 0.8, 0.0, 1.0]) / np.sqrt(2), rtol=1e-6)
    # row 1: the zero SIFT part stays zero, the other part carries the whole vector
    np.testing.assert_allclose(fused[1], [0.0, 0.0, 1.0, 0.0])
    with pytest.raises(ValueError):
        fuse(a, b, weight=1.5)
