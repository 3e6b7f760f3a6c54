"""SIFT/RootSIFT extraction and conv5 dense descriptors."""

import cv2
import numpy as np
import pytest
import skimage.data

from features.backbones import build_backbone
from features.dense import conv5_features
from features.images import resize_long_side, to_gray
from features.local import SIFT_DIM, LocalFeatures, extract_sift, inverted_polarity, root_sift


@pytest.fixture(scope="module")
def camera() -> np.ndarray:
    return skimage.data.camera()  # 512 x 512 uint8 grayscale photograph


@pytest.fixture(scope="module")
def random_lite0():
    return build_backbone("efficientnet-lite0", weights=None)


def test_root_sift_is_non_negative_unit_norm_hellinger():
    rng = np.random.default_rng(0)
    sift = rng.integers(0, 256, size=(20, SIFT_DIM)).astype(np.float32)
    sift[3] = 0
    rooted = root_sift(sift)
    assert rooted.dtype == np.float32 and (rooted >= 0).all()
    norms = np.linalg.norm(rooted, axis=1)
    np.testing.assert_allclose(np.delete(norms, 3), 1.0, rtol=1e-5)
    assert norms[3] == 0  # an empty histogram stays zero instead of NaN
    # Euclidean distance of RootSIFT is the Hellinger distance of L1-normalised SIFT.
    p, q = sift[0] / sift[0].sum(), sift[1] / sift[1].sum()
    hellinger = np.sum((np.sqrt(p) - np.sqrt(q)) ** 2)
    assert np.sum((rooted[0] - rooted[1]) ** 2) == pytest.approx(hellinger, rel=1e-4)


def test_sift_returns_plain_arrays(camera):
    features = extract_sift(camera, max_keypoints=300)
    assert isinstance(features, LocalFeatures) and 100 < len(features) <= 300
    assert features.keypoints.shape == (len(features), 4)
    assert features.descriptors.shape == (len(features), SIFT_DIM)
    assert features.keypoints.dtype == features.descriptors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(features.descriptors, axis=1), 1.0, rtol=1e-4)
    x, y, size, angle = features.keypoints.T
    assert (x >= 0).all() and (x < 512).all() and (y >= 0).all() and (y < 512).all()
    assert (size > 0).all() and (angle >= 0).all() and (angle < 360).all()
    raw = extract_sift(camera, max_keypoints=300, root=False)
    assert raw.descriptors.max() > 1  # OpenCV's raw SIFT, not RootSIFT
    np.testing.assert_allclose(root_sift(raw.descriptors), features.descriptors, atol=1e-6)


def test_keypoint_cap_keeps_the_strongest(camera):
    many = extract_sift(camera, max_keypoints=5000)
    few = extract_sift(camera, max_keypoints=50)
    assert len(few) == 50 < len(many)
    # Both lists are sorted strongest first, so the cap is a prefix of the long list.
    strongest = {tuple(np.round(k, 2)) for k in many.keypoints[:50]}
    kept = {tuple(np.round(k, 2)) for k in few.keypoints}
    assert len(strongest & kept) >= 48  # ties in response may swap a pair at the edge


def test_colour_float_and_resized_input_map_back_to_the_input_frame(camera):
    # The same photo at twice the size, in float RGB: extraction shrinks it back to 512
    # pixels, and the keypoints must come back in the big image's frame (about 2x).
    big = cv2.resize(np.dstack([camera] * 3), (1024, 1024), interpolation=cv2.INTER_CUBIC)
    small = extract_sift(camera, max_keypoints=200, max_side=512)
    large = extract_sift(big.astype(np.float32), max_keypoints=200, max_side=512)
    expected = (small.keypoints[:, :2] + 0.5) * 2 - 0.5
    distances = np.linalg.norm(large.keypoints[:, None, :2] - expected[None], axis=2)
    nearest = distances.argmin(axis=1)
    matched = distances.min(axis=1) < 1.0
    assert matched.mean() > 0.5
    ratios = large.keypoints[matched, 2] / small.keypoints[nearest[matched], 2]
    assert np.median(ratios) == pytest.approx(2.0, rel=0.05)


def test_small_crops_are_enlarged_to_min_side_and_map_back(camera):
    small = cv2.resize(camera, (64, 64), interpolation=cv2.INTER_AREA)
    native = extract_sift(small, max_keypoints=500)
    enlarged = extract_sift(small, max_keypoints=500, min_side=256)
    assert len(enlarged) > 2 * max(1, len(native))
    x, y = enlarged.keypoints[:, 0], enlarged.keypoints[:, 1]
    assert (x > -0.5).all() and (x < 63.5).all() and (y > -0.5).all() and (y < 63.5).all()
    # An image already past min_side is left as it is.
    np.testing.assert_array_equal(extract_sift(camera, 200, min_side=256).keypoints,
                                  extract_sift(camera, 200).keypoints)


@pytest.mark.parametrize("root", [True, False])
def test_the_inverted_polarity_equals_sift_of_the_inverted_image(camera, root):
    extracted = extract_sift(255 - camera, max_keypoints=300, root=root)
    derived = inverted_polarity(extract_sift(camera, max_keypoints=300, root=root))
    assert len(derived) == len(extracted) == 300
    # The same keypoints, half a turn round (ties at the keypoint cap may swap a few).
    matched = 0
    for point, descriptor in zip(derived.keypoints, derived.descriptors, strict=True):
        turn = np.abs((extracted.keypoints[:, 3] - point[3] + 180.0) % 360.0 - 180.0)
        placed = np.abs(extracted.keypoints[:, :3] - point[:3]).max(axis=1) < 1e-3
        same = np.flatnonzero(placed & (turn < 0.5))
        if len(same):
            matched += 1
            scale = 1.0 if root else float(np.linalg.norm(descriptor))
            assert min(np.linalg.norm(extracted.descriptors[same] - descriptor, axis=1)) <= 0.01 * scale
    assert matched >= 0.97 * len(derived)
    # Not the identity: an unpermuted descriptor does not match the inverted image's.
    plain = extract_sift(camera, max_keypoints=300, root=root)
    assert np.abs(plain.descriptors - derived.descriptors).max() > 0.1 * np.abs(plain.descriptors).max()


def test_flat_image_has_no_keypoints():
    features = extract_sift(np.full((64, 80, 3), 128, np.uint8))
    assert features.keypoints.shape == (0, 4) and features.descriptors.shape == (0, SIFT_DIM)


def test_image_helpers():
    image = np.zeros((300, 600, 3), np.uint8)
    assert to_gray(image).shape == (300, 600)
    resized, scale = resize_long_side(image, 150)
    assert resized.shape == (75, 150, 3) and scale == pytest.approx(0.25)
    assert resize_long_side(image, 1000)[1] == 1.0  # never enlarges
    with pytest.raises(ValueError):
        extract_sift(np.zeros((2, 3, 5)))


def test_conv5_dense_descriptors_shapes_and_positions(random_lite0):
    image = np.random.default_rng(0).integers(0, 256, (200, 300, 3)).astype(np.uint8)
    single = conv5_features(random_lite0, image, max_side=None)
    # ceil(200 / 32) x ceil(300 / 32) = 7 x 10 cells of 1280 channels
    assert single.descriptors.shape == (70, 1280) and single.keypoints.shape == (70, 4)
    np.testing.assert_allclose(single.keypoints[0], [15.5, 15.5, 32.0, -1.0])
    np.testing.assert_allclose(single.keypoints[1, :2], [47.5, 15.5])  # row-major cells
    norms = np.linalg.norm(single.descriptors, axis=1)
    assert np.all((np.abs(norms - 1) < 1e-4) | (norms == 0))

    multi = conv5_features(random_lite0, image, scales=(1.0, 0.5), max_side=150)
    # max_side 150 halves the image to 100 x 150 (4 x 5 cells of 64 input pixels), and
    # the 0.5 scale makes 50 x 75 (2 x 3 cells of 128 input pixels).
    assert len(multi) == 20 + 6
    np.testing.assert_allclose(multi.keypoints[0], [31.5, 31.5, 64.0, -1.0], atol=1e-4)
    np.testing.assert_allclose(multi.keypoints[20], [63.5, 63.5, 128.0, -1.0], atol=1e-4)


def test_conv5_grayscale_ignores_colour(random_lite0):
    image = np.random.default_rng(1).integers(0, 256, (64, 64, 3)).astype(np.uint8)
    gray = conv5_features(random_lite0, image, grayscale=True)
    replicated = conv5_features(random_lite0, np.dstack([to_gray(image)] * 3))
    np.testing.assert_allclose(gray.descriptors, replicated.descriptors, atol=1e-5)
    with pytest.raises(ValueError, match="scales"):
        conv5_features(random_lite0, image, scales=(1.0, 0.0))
