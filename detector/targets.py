"""Training targets: which anchors and which proposals are objects, and where the boxes are.

Both stages label by IoU with the ground truth and then sample a fixed-size, balanced
minibatch, because a photo has tens of thousands of background anchors for a handful of
objects; without sampling the losses would learn "background" and little else.
"""

from __future__ import annotations

import tensorflow as tf

from detector import boxes as box_ops


def sample(positive, negative, batch: int, positive_fraction: float):
    """Random subsets of the index vectors: at most `batch * positive_fraction` positives,
    negatives filling the rest of `batch`."""
    positive = tf.random.shuffle(positive)[: int(batch * positive_fraction)]
    negative = tf.random.shuffle(negative)[: batch - tf.size(positive)]
    return positive, negative


def rpn_targets(anchors, gt_boxes, config):
    """Sampled positive and negative anchor indices and every anchor's regression target.

    Positive: IoU >= `rpn_positive_iou` with some object, or the best anchor of an object
    (so that every object, however oddly shaped, gets at least one). Negative: IoU below
    `rpn_negative_iou` with all objects. Anchors in between are not trained on.
    """
    overlaps = box_ops.iou(anchors, gt_boxes)  # (A, G), G >= 1
    best_iou = tf.reduce_max(overlaps, axis=1)
    best_gt = tf.argmax(overlaps, axis=1)
    best_per_gt = tf.reduce_max(overlaps, axis=0)
    is_best = tf.reduce_any((overlaps >= best_per_gt[None, :] - 1e-6) & (best_per_gt[None, :] > 0), axis=1)
    positive = tf.where((best_iou >= config.rpn_positive_iou) | is_best)[:, 0]
    negative = tf.where((best_iou < config.rpn_negative_iou) & ~is_best)[:, 0]
    positive, negative = sample(positive, negative, config.rpn_batch, config.rpn_positive_fraction)
    targets = box_ops.encode(tf.gather(gt_boxes, best_gt), anchors)
    return positive, negative, targets


def roi_targets(proposals, gt_boxes, gt_classes, config):
    """A sampled minibatch of RoIs with their classes (0 = background, 1.. = `classes`)
    and regression targets. The ground-truth boxes join the proposals, so that the head
    sees perfect positives from the first step, while the RPN is still poor."""
    rois = tf.concat([proposals, gt_boxes], axis=0)
    overlaps = box_ops.iou(rois, gt_boxes)
    best_iou = tf.reduce_max(overlaps, axis=1)
    best_gt = tf.argmax(overlaps, axis=1)
    positive = tf.where(best_iou >= config.roi_positive_iou)[:, 0]
    negative = tf.where(best_iou < config.roi_positive_iou)[:, 0]
    positive, negative = sample(positive, negative, config.roi_batch, config.roi_positive_fraction)
    index = tf.concat([positive, negative], axis=0)
    rois = tf.gather(rois, index)
    matched = tf.gather(best_gt, index)
    classes = tf.concat([tf.gather(gt_classes, tf.gather(best_gt, positive)),
                         tf.zeros_like(negative, tf.int32)], axis=0)
    targets = box_ops.encode(tf.gather(gt_boxes, matched), rois, box_ops.HEAD_WEIGHTS)
    return rois, classes, targets
