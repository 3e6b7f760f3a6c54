"""Box arithmetic shared by training, inference and evaluation: IoU, the Faster R-CNN box
encoding, clipping and non-maximum suppression.

Boxes are ``(x1, y1, x2, y2)`` in continuous pixel coordinates (width is ``x2 - x1``, no
VOC "+1"), so that resizing an image scales its boxes exactly. Everything is written in
TensorFlow ops so that the same functions run inside the compiled training step and the
inference graph; they accept NumPy arrays too.
"""

from __future__ import annotations

import math

import tensorflow as tf

#: Scale of the second-stage regression targets (Detectron's (10, 10, 5, 5)): it brings
#: the small refinements of already good proposals to roughly unit variance.
HEAD_WEIGHTS = (10.0, 10.0, 5.0, 5.0)
RPN_WEIGHTS = (1.0, 1.0, 1.0, 1.0)
#: Largest log-scale change a decoded box may take, so an untrained head cannot produce
#: an overflowing exp() (Detectron's log(1000 / 16)).
MAX_LOG_SCALE = math.log(1000.0 / 16.0)


def area(boxes):
    boxes = tf.convert_to_tensor(boxes, tf.float32)
    return tf.maximum(boxes[..., 2] - boxes[..., 0], 0.0) * tf.maximum(boxes[..., 3] - boxes[..., 1], 0.0)


def iou(boxes_a, boxes_b):
    """Pairwise intersection over union, (N, 4) x (M, 4) -> (N, M); 0 where a box is empty."""
    a = tf.convert_to_tensor(boxes_a, tf.float32)[:, None, :]
    b = tf.convert_to_tensor(boxes_b, tf.float32)[None, :, :]
    width = tf.maximum(tf.minimum(a[..., 2], b[..., 2]) - tf.maximum(a[..., 0], b[..., 0]), 0.0)
    height = tf.maximum(tf.minimum(a[..., 3], b[..., 3]) - tf.maximum(a[..., 1], b[..., 1]), 0.0)
    intersection = width * height
    union = area(a) + area(b) - intersection
    return tf.math.divide_no_nan(intersection, union)


def _centre_size(boxes):
    width = boxes[..., 2] - boxes[..., 0]
    height = boxes[..., 3] - boxes[..., 1]
    return boxes[..., 0] + 0.5 * width, boxes[..., 1] + 0.5 * height, width, height


def encode(boxes, anchors, weights=RPN_WEIGHTS):
    """Regression targets that turn `anchors` into `boxes`: (dx, dy, dw, dh), scaled by `weights`.

    dx, dy are the centre shift in units of the anchor's size; dw, dh the log size ratio.
    """
    boxes = tf.convert_to_tensor(boxes, tf.float32)
    anchors = tf.convert_to_tensor(anchors, tf.float32)
    bx, by, bw, bh = _centre_size(boxes)
    ax, ay, aw, ah = _centre_size(anchors)
    wx, wy, ww, wh = weights
    return tf.stack([wx * (bx - ax) / aw, wy * (by - ay) / ah,
                     ww * tf.math.log(bw / aw), wh * tf.math.log(bh / ah)], axis=-1)


def decode(deltas, anchors, weights=RPN_WEIGHTS):
    """The inverse of `encode`: apply (dx, dy, dw, dh) to `anchors`."""
    deltas = tf.convert_to_tensor(deltas, tf.float32)
    anchors = tf.convert_to_tensor(anchors, tf.float32)
    ax, ay, aw, ah = _centre_size(anchors)
    wx, wy, ww, wh = weights
    cx = ax + deltas[..., 0] / wx * aw
    cy = ay + deltas[..., 1] / wy * ah
    width = aw * tf.exp(tf.minimum(deltas[..., 2] / ww, MAX_LOG_SCALE))
    height = ah * tf.exp(tf.minimum(deltas[..., 3] / wh, MAX_LOG_SCALE))
    return tf.stack([cx - 0.5 * width, cy - 0.5 * height, cx + 0.5 * width, cy + 0.5 * height], axis=-1)


def clip(boxes, height, width):
    """Clip boxes to an image of `height` x `width` pixels."""
    boxes = tf.convert_to_tensor(boxes, tf.float32)
    height = tf.cast(height, tf.float32)
    width = tf.cast(width, tf.float32)
    x1, y1, x2, y2 = tf.unstack(boxes, axis=-1)
    return tf.stack([tf.clip_by_value(x1, 0.0, width), tf.clip_by_value(y1, 0.0, height),
                     tf.clip_by_value(x2, 0.0, width), tf.clip_by_value(y2, 0.0, height)], axis=-1)


def nms(boxes, scores, iou_threshold, max_output):
    """Indices of the boxes kept by greedy NMS, best score first."""
    boxes = tf.convert_to_tensor(boxes, tf.float32)
    # TensorFlow's NMS wants (y1, x1, y2, x2); IoU does not depend on the axis order, but
    # keeping the documented layout avoids relying on that.
    yx = tf.gather(boxes, [1, 0, 3, 2], axis=-1)
    return tf.image.non_max_suppression(yx, scores, max_output, iou_threshold=iou_threshold)


def batched_nms(boxes, scores, classes, iou_threshold, max_output):
    """Per-class NMS in one call: boxes of different classes never suppress each other.

    Each class's boxes are shifted by a different offset larger than any coordinate, so
    that boxes of two classes never overlap, then one plain NMS runs over all of them.
    """
    boxes = tf.convert_to_tensor(boxes, tf.float32)
    offset = (tf.reduce_max(tf.abs(boxes)) + 1.0) * tf.cast(classes, tf.float32)[:, None]
    return nms(boxes + offset, scores, iou_threshold, max_output)
