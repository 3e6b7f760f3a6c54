"""Reference augmentation as in the Band Logo Identifier: colour jitter, skew, stretch, and for
black-and-white logos the white replaced by a random colour.

Used to multiply the few references a band has when training a descriptor or building
an index, so that a match does not depend on the reference's exact colours or geometry.
"""

from __future__ import annotations

import cv2
import numpy as np

from data.imaging import random_colour


def is_black_and_white(image: np.ndarray, tolerance: float = 0.08) -> bool:
    """True when (nearly) every pixel is grey: no colour channel departs from the others."""
    spread = image.max(axis=2) - image.min(axis=2)
    return float(np.percentile(spread, 99)) < tolerance


def replace_white(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Tint the light part of a black-and-white logo with a random colour, keeping the ink."""
    lightness = image.mean(axis=2, keepdims=True)
    return image * (1 - lightness) + random_colour(rng) * lightness


def colour_jitter(image: np.ndarray, rng: np.random.Generator, strength: float = 0.25) -> np.ndarray:
    """Random brightness, contrast, saturation and hue, as a camera or printer shifts them."""
    hsv = cv2.cvtColor(np.clip(image, 0, 1).astype(np.float32), cv2.COLOR_RGB2HSV)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(-180, 180) * strength) % 360
    hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(1 - strength, 1 + strength), 0, 1)
    image = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    contrast = rng.uniform(1 - strength, 1 + strength)
    brightness = rng.uniform(-strength, strength) * 0.5
    return np.clip((image - 0.5) * contrast + 0.5 + brightness, 0, 1)


def skew_and_stretch(image: np.ndarray, rng: np.random.Generator, skew: float = 0.2,
                     stretch: float = 0.25) -> np.ndarray:
    """Shear by up to `skew` and scale each axis by up to +-`stretch`, filling with the border."""
    height, width = image.shape[:2]
    sx, sy = rng.uniform(1 - stretch, 1 + stretch, 2)
    shear = rng.uniform(-skew, skew)
    matrix = np.array([[sx, shear * sx, 0], [0, sy, 0]], np.float32)
    corners = np.array([[0, 0, 1], [width, 0, 1], [0, height, 1], [width, height, 1]], np.float32)
    mapped = corners @ matrix.T
    matrix[:, 2] = -mapped.min(axis=0)
    out_w, out_h = (mapped.max(axis=0) - mapped.min(axis=0)).astype(int) + 1
    return cv2.warpAffine(image, matrix, (int(out_w), int(out_h)), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def augment_reference(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One augmented copy of a reference image (float32 RGB in [0, 1])."""
    if is_black_and_white(image) and rng.random() < 0.5:
        image = replace_white(image, rng)
    image = colour_jitter(image, rng)
    return skew_and_stretch(image, rng)
