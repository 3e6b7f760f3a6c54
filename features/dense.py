"""conv5 dense local descriptors: every cell of a backbone's last feature map.

The thesis's second descriptor: each of the H*W cells of conv5 is a C-dimensional local
descriptor of a 32-pixel patch (with a much larger receptive field), VLAD-encoded like
SIFT. Running a few image scales adds cells of other sizes, which helps logos that fill
a crop differently. Cells are returned in the `LocalFeatures` format of SIFT so both
kinds flow through the same codebook, VLAD and verification code.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from features.backbones import Backbone
from features.images import rescale, resize_long_side, to_gray, to_rgb_float
from features.local import LocalFeatures
from features.normalize import l2_normalize


def conv5_features(backbone: Backbone, image: np.ndarray, scales: Sequence[float] = (1.0,),
                   max_side: int | None = 512, grayscale: bool = False,
                   normalize: bool = True) -> LocalFeatures:
    """All conv5 cells of `image` at each of `scales`, as keypoints and descriptors.

    The image is first shrunk so its long side is at most `max_side` (CNN time grows with
    area), then resized by each scale. Keypoints are cell centres in the pixel frame of
    the image passed in, ``size`` is the cell's side in those pixels and ``angle`` is -1.
    ``grayscale=True`` feeds the luma replicated to three channels, which makes the
    features insensitive to a logo's colours (see ARCHITECTURE.md on real photos).
    ``normalize`` L2-normalises each descriptor, as VLAD of CNN features expects.
    """
    if not scales or any(scale <= 0 for scale in scales):
        raise ValueError(f"scales must be positive numbers, got {scales!r}")
    rgb = to_rgb_float(to_gray(image) if grayscale else image)
    base, base_scale = resize_long_side(rgb, max_side)
    keypoints, descriptors = [], []
    for scale in scales:
        scaled, applied = rescale(base, scale)
        total = base_scale * applied
        fmap = backbone.feature_map(scaled)[0]
        rows, cols = np.mgrid[0:fmap.shape[0], 0:fmap.shape[1]]
        cell = backbone.stride / total
        # A cell covers stride pixels of the scaled image; map its centre back about the
        # pixel-centre convention (coordinate c of the scaled image is (c + 0.5) / s - 0.5).
        points = np.stack([(cols.ravel() + 0.5) * cell - 0.5, (rows.ravel() + 0.5) * cell - 0.5,
                           np.full(cols.size, cell), np.full(cols.size, -1.0)], axis=1)
        keypoints.append(points.astype(np.float32))
        descriptors.append(fmap.reshape(-1, fmap.shape[-1]))
    stacked = np.concatenate(descriptors).astype(np.float32)
    return LocalFeatures(np.concatenate(keypoints),
                         l2_normalize(stacked) if normalize else stacked)
