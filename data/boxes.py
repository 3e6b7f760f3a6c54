"""Box overlap in NumPy: the small tables of a photo's boxes, where a TensorFlow call would
cost more than the arithmetic."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _areas(boxes_a: Sequence[Sequence[float]],
           boxes_b: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairwise intersections (N, M) and each box's area, broadcast to (N, 1) and (1, M)."""
    a = np.asarray(boxes_a, np.float64).reshape(-1, 4)[:, None, :]
    b = np.asarray(boxes_b, np.float64).reshape(-1, 4)[None, :, :]
    width = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0.0, None)
    height = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0.0, None)
    area_a = np.clip(a[..., 2] - a[..., 0], 0.0, None) * np.clip(a[..., 3] - a[..., 1], 0.0, None)
    area_b = np.clip(b[..., 2] - b[..., 0], 0.0, None) * np.clip(b[..., 3] - b[..., 1], 0.0, None)
    return width * height, area_a, area_b


def box_iou(boxes_a: Sequence[Sequence[float]], boxes_b: Sequence[Sequence[float]]) -> np.ndarray:
    """Pairwise intersection over union of (x1, y1, x2, y2) boxes, (N, M) float64; 0
    where either box is empty."""
    intersection, area_a, area_b = _areas(boxes_a, boxes_b)
    union = area_a + area_b - intersection
    return np.divide(intersection, union, out=np.zeros_like(intersection), where=union > 0)


def box_coverage(boxes_a: Sequence[Sequence[float]], boxes_b: Sequence[Sequence[float]]) -> np.ndarray:
    """Pairwise share of each `boxes_b` box's area that lies inside each `boxes_a` box,
    (N, M) float64; 0 where the `boxes_b` box is empty."""
    intersection, _, area_b = _areas(boxes_a, boxes_b)
    area_b = np.broadcast_to(area_b, intersection.shape)
    return np.divide(intersection, area_b, out=np.zeros_like(intersection), where=area_b > 0)
