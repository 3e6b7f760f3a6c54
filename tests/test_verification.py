"""Geometric verification: real overlaps pass, unrelated images and cheap tricks do not."""

import cv2
import numpy as np
import pytest
import skimage.data

from features.local import LocalFeatures, extract_sift
from matching.geometry import GeometricVerifier, mutual_matches, placement_agreement, plausible_homography


@pytest.fixture(scope="module")
def cover() -> np.ndarray:
    return skimage.data.astronaut()  # 512 x 512 RGB photograph standing in for a cover


def warp(image: np.ndarray, homography: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.warpPerspective(image, homography, size, borderMode=cv2.BORDER_CONSTANT,
                               borderValue=(40, 40, 40))


def test_accepts_a_warped_copy_and_rejects_an_unrelated_image(cover):
    verifier = GeometricVerifier()
    reference = extract_sift(cover, max_keypoints=500)
    # A perspective view at 60% scale, slightly rotated, with JPEG-like blur.
    homography = np.array([[0.55, 0.08, 40], [-0.05, 0.6, 30], [2e-4, 1e-4, 1]])
    photo = cv2.GaussianBlur(warp(cover, homography, (420, 400)), (3, 3), 0)
    result = verifier.verify(extract_sift(photo), reference, (512, 512))
    assert result.inliers >= 40
    corner = cv2.perspectiveTransform(np.array([[[512.0, 512.0]]]), result.homography)[0, 0]
    expected = cv2.perspectiveTransform(np.array([[[512.0, 512.0]]]), homography)[0, 0]
    assert np.linalg.norm(corner - expected) < 6

    unrelated = extract_sift(skimage.data.coffee())
    assert verifier.verify(unrelated, reference, (512, 512)).inliers < 8


def test_mutual_matches_are_one_to_one():
    rng = np.random.default_rng(0)
    reference = rng.random((30, 16)).astype(np.float32)
    # The query repeats reference row 3 five times: only one copy can be its mutual match.
    query = np.concatenate([np.repeat(reference[3:4], 5, axis=0), reference[10:20] + 0.001])
    rows, ref_rows = mutual_matches(query, reference, ratio=0.9)
    assert len(set(rows.tolist())) == len(rows) and len(set(ref_rows.tolist())) == len(ref_rows)
    assert (ref_rows == 3).sum() == 1
    assert set(range(10, 20)) <= set(ref_rows.tolist())
    empty = mutual_matches(np.zeros((0, 16), np.float32), reference)
    assert len(empty[0]) == len(empty[1]) == 0


def test_repeated_keypoints_cannot_fake_inliers(cover):
    """One strong feature copied at one position many times must count once at most."""
    reference = extract_sift(cover, max_keypoints=300)
    copies = 60
    keypoints = np.repeat(reference.keypoints[:1], copies, axis=0)
    keypoints[:, 3] = np.linspace(0, 359, copies)  # same place, many orientations
    fake = LocalFeatures(keypoints, np.repeat(reference.descriptors[:1], copies, axis=0))
    assert GeometricVerifier().verify(fake, reference, (512, 512)).inliers <= 1


@pytest.mark.parametrize("homography, plausible", [
    (np.eye(3), True),
    (np.array([[0.3, 0.05, 10], [0.02, 0.35, 5], [1e-4, 0, 1]]), True),
    (np.array([[-1.0, 0, 500], [0, 1, 0], [0, 0, 1]]), False),       # mirror image
    (np.array([[1.0, 0, 0], [0, 1, 0], [-0.003, 0, 1]]), False),     # corners behind the camera
    (np.array([[20.0, 0, 0], [0, 20, 0], [0, 0, 1]]), False),        # 20x larger
    (np.array([[1.0, 0, 0], [0, 0.05, 0], [0, 0, 1]]), False),       # squashed flat (shear/anisotropy)
    (np.zeros((3, 3)), False),
    (None, False),
])
def test_plausible_homography(homography, plausible):
    assert plausible_homography(homography, 500, 500) is plausible


def test_folded_quadrilateral_is_refused():
    # Maps the unit square's corners to a bow-tie: (0,0)->(0,0), (w,0)->(w,h), (w,h)->(w,0), (0,h)->(0,h).
    source = np.array([[0, 0], [100, 0], [100, 100], [0, 100]], np.float32)
    target = np.array([[0, 0], [100, 100], [100, 0], [0, 100]], np.float32)
    homography = cv2.getPerspectiveTransform(source, target)
    assert not plausible_homography(homography, 100, 100)


@pytest.mark.parametrize("params", [{"ratio": 0}, {"ratio": 1.5}, {"reprojection": -1},
                                    {"max_iters": 0}, {"min_scale": 0}])
def test_verifier_validates_parameters(params):
    with pytest.raises(ValueError):
        GeometricVerifier(**params)


def test_count_matches_agrees_with_the_matches_verification_uses(cover):
    verifier = GeometricVerifier()
    reference = extract_sift(cover, max_keypoints=300)
    photo = warp(cover, np.array([[0.7, 0.05, 20], [-0.04, 0.7, 25], [1e-4, 0, 1]]), (400, 400))
    query = extract_sift(photo, max_keypoints=300)
    count = verifier.count_matches(query, reference)
    assert count == len(mutual_matches(query.descriptors, reference.descriptors, verifier.ratio)[0])
    assert count >= 40
    unrelated = extract_sift(skimage.data.coffee(), max_keypoints=300)
    assert verifier.count_matches(unrelated, reference) < count / 4


def test_placement_agreement_by_hand():
    reference, crop = (100.0, 50.0), (300.0, 400.0)  # crop diagonal 500: tolerance 25 px
    shifted = np.array([[1, 0, 10], [0, 1, 0], [0, 0, 1]], np.float64)
    assert placement_agreement([np.eye(3), np.eye(3)], reference, crop) == pytest.approx(1.0)
    # Every corner 10 px apart: exp(-10 / 25).
    assert placement_agreement([np.eye(3), shifted], reference, crop) == pytest.approx(np.exp(-0.4))
    assert placement_agreement([np.eye(3), None], reference, crop) == 0.0
    assert placement_agreement([np.eye(3)], reference, crop) == 0.0


def test_two_fits_of_one_warped_copy_agree(cover):
    """Two fits of the same warped copy (sharp and blurred, as two views are) place the
    reference alike; the ground truth placed elsewhere does not agree with them."""
    verifier = GeometricVerifier()
    homography = np.array([[0.8, 0.1, 20], [-0.05, 0.9, 15], [1e-4, 0, 1]], np.float64)
    warped = warp(cover, homography, (512, 512))
    reference = extract_sift(cover, 500)
    fits = [verifier.verify(extract_sift(image, 500), reference, (512, 512)).homography
            for image in (warped, cv2.GaussianBlur(warped, (0, 0), 1.5))]
    assert placement_agreement(fits, (512, 512), (512, 512)) > 0.8
    elsewhere = np.array([[0.4, 0, 256], [0, 0.4, 256], [0, 0, 1]], np.float64) @ homography
    assert placement_agreement([fits[0], elsewhere], (512, 512), (512, 512)) < 0.05
