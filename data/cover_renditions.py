"""Photographed copies of a cover reference: what a detector crop of a photo of it looks like.

A cover in a photo is seen small, tilted, lit unevenly, maybe partly hidden by a hand or
a price sticker or washed by glare, through a phone camera with JPEG, and boxed with a
margin of whatever lies around it. These renditions stand in for such photos where a
gallery has none (an index calibrated on its own references).
"""

from __future__ import annotations

import cv2
import numpy as np

from data.degrade import camera, jpeg_quality
from data.imaging import as_float, blend, random_colour, resize_to
from data.photo_library import photo_crop
from data.renditions import detector_box_crop


def render_cover_photo(cover: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One photographed rendition of `cover` (RGB or gray, uint8 or float) as uint8 RGB."""
    cover = as_float(cover)
    cover = cover[..., :3] if cover.ndim == 3 else np.repeat(cover[..., None], 3, axis=2)
    long_side = int(rng.integers(90, 360))
    scale = long_side / max(cover.shape[:2])
    width, height = max(8, int(cover.shape[1] * scale)), max(8, int(cover.shape[0] * scale))
    cover = resize_to(cover, width, height)
    pad = int(0.35 * long_side)
    canvas_w, canvas_h = width + 2 * pad, height + 2 * pad
    corners = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    jitter = rng.uniform(-0.12, 0.12, (4, 2)) * [width, height]
    placed = (corners + pad + jitter).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(corners, placed)
    warped = cv2.warpPerspective(cover, matrix, (canvas_w, canvas_h), flags=cv2.INTER_LINEAR)
    alpha = cv2.warpPerspective(np.ones((height, width), np.float32), matrix, (canvas_w, canvas_h))
    image = blend(photo_crop(rng, canvas_w, canvas_h), warped, alpha)
    if rng.random() < 0.25:
        _occlude(image, placed, rng)
    if rng.random() < 0.2:
        _glare(image, placed, rng)
    image = camera(image, rng)
    ok, encoded = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality(rng)])
    image = cv2.imdecode(encoded, cv2.IMREAD_COLOR)[..., ::-1] if ok else image
    # The cover's box grown or shrunk a little on each side, as a detector draws it.
    box = (*placed.min(axis=0), *placed.max(axis=0))
    return np.ascontiguousarray(detector_box_crop(image, box, rng, (-0.04, 0.12), (-0.04, 0.12)))


def _occlude(image: np.ndarray, quad: np.ndarray, rng: np.random.Generator) -> None:
    """A hand, a sticker or another record over one edge of the cover."""
    x1, y1 = quad.min(axis=0).astype(int)
    x2, y2 = quad.max(axis=0).astype(int)
    w, h = int((x2 - x1) * rng.uniform(0.1, 0.3)), int((y2 - y1) * rng.uniform(0.15, 0.5))
    x = x1 if rng.random() < 0.5 else max(x1, x2 - w)
    y = int(rng.integers(y1, max(y1 + 1, y2 - h)))
    image[y:y + h, x:x + w] = random_colour(rng, saturation=(0, 0.6), value=(0.1, 0.9))


def _glare(image: np.ndarray, quad: np.ndarray, rng: np.random.Generator) -> None:
    """A soft white reflection on the sleeve."""
    height, width = image.shape[:2]
    cx, cy = quad.mean(axis=0) + rng.uniform(-0.3, 0.3, 2) * (quad.max(axis=0) - quad.min(axis=0))
    sigma = rng.uniform(0.08, 0.25) * max(height, width)
    yy, xx = np.mgrid[0:height, 0:width]
    spot = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma ** 2)).astype(np.float32)
    image[:] = blend(image, np.ones_like(image), spot * rng.uniform(0.3, 0.7))
