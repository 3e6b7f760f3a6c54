"""The Faster R-CNN losses: RPN objectness and box regression, head classification and
class-specific box regression. Regression is smooth-L1 over positives only, normalised by
the sampled minibatch size, as in the original paper."""

from __future__ import annotations

import tensorflow as tf

#: Smooth-L1 transition points: 1/9 for the RPN (py-faster-rcnn's sigma = 3), 1 for the head.
RPN_BETA = 1.0 / 9.0
HEAD_BETA = 1.0


def smooth_l1(difference, beta: float):
    """Elementwise Huber-like loss: quadratic below `beta`, linear above."""
    absolute = tf.abs(difference)
    return tf.where(absolute < beta, 0.5 * absolute ** 2 / beta, absolute - 0.5 * beta)


def rpn_losses(objectness, deltas, positive, negative, targets):
    """(classification, regression) of the sampled anchors; `objectness` (A,) logits,
    `deltas` and `targets` (A, 4)."""
    index = tf.concat([positive, negative], axis=0)
    labels = tf.concat([tf.ones_like(positive, tf.float32), tf.zeros_like(negative, tf.float32)], axis=0)
    count = tf.maximum(tf.cast(tf.size(index), tf.float32), 1.0)
    classification = tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(
        labels=labels, logits=tf.gather(objectness, index))) / count
    error = tf.gather(deltas, positive) - tf.gather(targets, positive)
    regression = tf.reduce_sum(smooth_l1(error, RPN_BETA)) / count
    return classification, regression


def head_losses(scores, box_deltas, classes, targets):
    """(classification, regression) of the sampled RoIs; `scores` (R, C + 1) logits,
    `box_deltas` (R, 4C), `classes` (R,) with 0 for background, `targets` (R, 4)."""
    count = tf.maximum(tf.cast(tf.size(classes), tf.float32), 1.0)
    classification = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=classes, logits=scores)) / count
    foreground = tf.where(classes > 0)[:, 0]
    deltas = tf.reshape(tf.gather(box_deltas, foreground), (-1, box_deltas.shape[-1] // 4, 4))
    own_class = tf.gather(deltas, tf.gather(classes, foreground) - 1, batch_dims=1)
    error = own_class - tf.gather(targets, foreground)
    regression = tf.reduce_sum(smooth_l1(error, HEAD_BETA)) / count
    return classification, regression
