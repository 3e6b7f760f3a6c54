"""Anchor boxes: a few scales times a few aspect ratios at every cell of the feature map.

The ratios (width / height) reach far to the wide side because band logos are wide
lettering (up to about 7:1 in the synthetic photos) while album covers are square; the
scales span small patches on a jacket to a cover that fills the frame.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

DEFAULT_SCALES = (32.0, 64.0, 128.0, 256.0, 512.0)
DEFAULT_RATIOS = (0.5, 1.0, 2.0, 4.0, 7.0)


def base_anchors(scales=DEFAULT_SCALES, ratios=DEFAULT_RATIOS) -> np.ndarray:
    """(len(scales) * len(ratios), 4) anchors centred on (0, 0), ratio-major order.

    An anchor of scale s and ratio r has area s**2 and width / height r.
    """
    anchors = []
    for ratio in ratios:
        for scale in scales:
            width = scale * np.sqrt(ratio)
            height = scale / np.sqrt(ratio)
            anchors.append((-width / 2, -height / 2, width / 2, height / 2))
    return np.asarray(anchors, np.float32)


def grid_anchors(feature_height, feature_width, stride, base) -> tf.Tensor:
    """All anchors of a feature map, (H * W * K, 4), in the order of a (H, W, K) reshape.

    Cell (i, j) is centred on pixel ((j + 0.5) * stride, (i + 0.5) * stride).
    """
    stride = tf.cast(stride, tf.float32)
    xs = (tf.cast(tf.range(feature_width), tf.float32) + 0.5) * stride
    ys = (tf.cast(tf.range(feature_height), tf.float32) + 0.5) * stride
    grid_y, grid_x = tf.meshgrid(ys, xs, indexing="ij")
    shifts = tf.stack([grid_x, grid_y, grid_x, grid_y], axis=-1)  # (H, W, 4)
    anchors = shifts[:, :, None, :] + tf.convert_to_tensor(base, tf.float32)[None, None, :, :]
    return tf.reshape(anchors, (-1, 4))
