"""SIFT and RootSIFT local features as plain arrays.

Plain NumPy data rather than ``cv2.KeyPoint`` objects, so features pickle, stack and
travel to the index and to geometric verification without OpenCV types. Keypoint
coordinates are in the pixel frame of the image passed in, whatever resizing was done
for extraction, so matches map straight onto the photo.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from features.images import rescale, resize_long_side, to_gray, to_uint8

SIFT_DIM = 128
#: Where each SIFT dimension goes when the image's grey levels are inverted. A SIFT
#: descriptor is a 4 x 4 grid of cells of 8 orientation bins, laid out relative to the
#: keypoint's orientation. Inverting the image negates every gradient: the keypoints stay
#: where they are and turn half a turn, gradients turn with them (the bins stay put),
#: and the grid, laid out in the turned frame, is read from its opposite corner.
_HALF_TURN = np.array([((3 - row) * 4 + (3 - column)) * 8 + orientation
                       for row in range(4) for column in range(4) for orientation in range(8)])


@dataclass(frozen=True)
class LocalFeatures:
    """Keypoints (N, 4) float32 as x, y, size, angle, and descriptors (N, D) float32.

    ``angle`` is in degrees as OpenCV gives it; -1 where a descriptor has no orientation
    (dense CNN cells), OpenCV's own "not applicable" value.
    """

    keypoints: np.ndarray
    descriptors: np.ndarray

    def __post_init__(self):
        if self.keypoints.ndim != 2 or self.keypoints.shape[1] != 4:
            raise ValueError(f"keypoints must be (N, 4), got {self.keypoints.shape}")
        if self.descriptors.ndim != 2 or len(self.descriptors) != len(self.keypoints):
            raise ValueError(f"descriptors {self.descriptors.shape} do not match "
                             f"{len(self.keypoints)} keypoints")

    def __len__(self) -> int:
        return len(self.keypoints)

    def head(self, count: int) -> LocalFeatures:
        """The first `count` features (the strongest, for features from `extract_sift`)."""
        return LocalFeatures(self.keypoints[:count], self.descriptors[:count])


def inverted_polarity(features: LocalFeatures) -> LocalFeatures:
    """`extract_sift` of the same image with its grey levels inverted (255 - image),
    derived instead of extracted again (SIFT or RootSIFT alike; see `_HALF_TURN`). Why:
    a query of both polarities paid for a second SIFT extraction of every crop, which
    this gives at the cost of a copy; it equals that extraction but for rounding."""
    points = features.keypoints.copy()
    points[:, 3] = (points[:, 3] + 180.0) % 360.0
    return LocalFeatures(points, features.descriptors[:, _HALF_TURN])


def root_sift(descriptors: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """RootSIFT (Arandjelovic & Zisserman 2012): L1-normalise each row, then square root.

    Euclidean distance between RootSIFT vectors is the Hellinger kernel on the original
    histograms, which matches better than L2 on raw SIFT. Rows end up non-negative with
    unit L2 norm; an all-zero row stays zero.
    """
    descriptors = np.asarray(descriptors, dtype=np.float32)
    l1 = np.abs(descriptors).sum(axis=1, keepdims=True)
    return np.sqrt(np.abs(descriptors) / np.maximum(l1, eps)).astype(np.float32)


def extract_sift(image: np.ndarray, max_keypoints: int = 1000, max_side: int | None = 1024,
                 root: bool = True, min_side: int = 0) -> LocalFeatures:
    """SIFT keypoints and descriptors of one image (RootSIFT unless ``root=False``).

    The image is turned to 8-bit grayscale and shrunk so its long side is at most
    `max_side` (extraction time and keypoint count grow with area), or enlarged so it is
    at least `min_side` (0: never): SIFT's smallest scales need a few pixels per stroke,
    which a logo 60 pixels wide in a photo does not give. Only the
    `max_keypoints` strongest keypoints by detector response are kept, strongest first,
    which bounds the index size per reference.
    """
    if max_keypoints < 1:
        raise ValueError(f"max_keypoints must be positive, got {max_keypoints}")
    gray, scale = resize_long_side(to_uint8(to_gray(image)), max_side)
    if min_side and max(gray.shape) < min_side:
        gray, scale = rescale(gray, min_side / max(gray.shape))
    # nfeatures makes OpenCV keep the best keypoints already; ties can leave a few more.
    sift = cv2.SIFT_create(nfeatures=max_keypoints)
    keypoints, descriptors = sift.detectAndCompute(gray, None)
    if descriptors is None or not keypoints:
        return LocalFeatures(np.zeros((0, 4), np.float32), np.zeros((0, SIFT_DIM), np.float32))
    responses = np.array([k.response for k in keypoints], np.float32)
    order = np.argsort(-responses, kind="stable")[:max_keypoints]
    points = np.array([(k.pt[0], k.pt[1], k.size, k.angle) for k in keypoints], np.float32)
    points = points[order]
    # Map back to the input frame: pixel centres scale about (-0.5, -0.5).
    points[:, :2] = (points[:, :2] + 0.5) / scale - 0.5
    points[:, 2] /= scale
    descriptors = descriptors[order].astype(np.float32)
    return LocalFeatures(points, root_sift(descriptors) if root else descriptors)
