"""Anchors, box encoding, IoU and NMS of the detector against hand-computed cases."""

import math

import numpy as np
import pytest

from detector import boxes as box_ops
from detector.anchors import base_anchors, grid_anchors


def test_base_anchors_keep_area_and_ratio():
    anchors = base_anchors(scales=(32.0,), ratios=(1.0, 4.0))
    # ratio 1: 32 x 32; ratio 4 (width / height): 64 x 16, same area.
    np.testing.assert_allclose(anchors, [[-16, -16, 16, 16], [-32, -8, 32, 8]])


def test_grid_anchors_are_centred_on_cells_in_reshape_order():
    base = base_anchors(scales=(32.0,), ratios=(1.0, 4.0))
    anchors = grid_anchors(2, 3, 16, base).numpy()
    assert anchors.shape == (2 * 3 * 2, 4)
    np.testing.assert_allclose(anchors[0], [-8, -8, 24, 24])  # cell (0, 0), centre (8, 8)
    np.testing.assert_allclose(anchors[1], [-24, 0, 40, 16])  # same cell, the wide anchor
    np.testing.assert_allclose(anchors[2], [8, -8, 40, 24])  # cell (0, 1), centre (24, 8)
    np.testing.assert_allclose(anchors[6], [-8, 8, 24, 40])  # cell (1, 0), centre (8, 24)


def test_iou_hand_computed():
    a = [[0, 0, 10, 10]]
    b = [[5, 5, 15, 15], [0, 0, 10, 10], [20, 20, 30, 30], [0, 0, 10, 5]]
    np.testing.assert_allclose(box_ops.iou(a, b).numpy(), [[25 / 175, 1.0, 0.0, 0.5]], rtol=1e-6)


def test_iou_of_empty_box_is_zero():
    assert box_ops.iou([[3, 3, 3, 3]], [[3, 3, 3, 3]]).numpy()[0, 0] == 0.0


def test_encode_hand_computed_and_decode_inverts():
    anchor = np.array([[0, 0, 10, 10]], np.float32)  # centre (5, 5), 10 x 10
    box = np.array([[2, 4, 12, 24]], np.float32)  # centre (7, 14), 10 x 20
    np.testing.assert_allclose(box_ops.encode(box, anchor).numpy(), [[0.2, 0.9, 0.0, math.log(2)]],
                               rtol=1e-6)
    head = box_ops.encode(box, anchor, box_ops.HEAD_WEIGHTS).numpy()
    np.testing.assert_allclose(head, [[2.0, 9.0, 0.0, 5 * math.log(2)]], rtol=1e-6)
    np.testing.assert_allclose(box_ops.decode(head, anchor, box_ops.HEAD_WEIGHTS).numpy(), box, atol=1e-4)


def test_decode_caps_the_scale():
    decoded = box_ops.decode([[0, 0, 100.0, 100.0]], [[0, 0, 16, 16]]).numpy()
    assert np.isfinite(decoded).all()
    assert decoded[0, 2] - decoded[0, 0] == pytest.approx(1000.0, rel=1e-4)


def test_clip():
    np.testing.assert_allclose(box_ops.clip([[-5, 2, 50, 70]], 60, 40).numpy(), [[0, 2, 40, 60]])


def test_nms_hand_computed():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], np.float32)
    scores = np.array([0.9, 0.8, 0.7], np.float32)
    # IoU of the first two is 81 / 119 = 0.68.
    assert box_ops.nms(boxes, scores, 0.5, 10).numpy().tolist() == [0, 2]
    assert box_ops.nms(boxes, scores, 0.7, 10).numpy().tolist() == [0, 1, 2]
    assert box_ops.nms(boxes, scores, 0.7, 2).numpy().tolist() == [0, 1]


def test_batched_nms_keeps_overlaps_of_different_classes():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 9]], np.float32)
    scores = np.array([0.9, 0.8, 0.7], np.float32)
    classes = np.array([0, 1, 0], np.int32)
    assert sorted(box_ops.batched_nms(boxes, scores, classes, 0.5, 10).numpy().tolist()) == [0, 1]
