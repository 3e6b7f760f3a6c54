"""What a phone camera does to a scene: light, shadow, blur, noise and JPEG.

Applied to the whole photo after composition, so every item in it shares the same
lighting and the same camera, as in a real photo.
"""

from __future__ import annotations

import cv2
import numpy as np

from data.imaging import gaussian_noise, smooth_field, soft_blur, to_uint8


def lighting(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A light gradient across the scene, colour temperature, and a vignette."""
    height, width = image.shape[:2]
    gradient = 1.0 + 0.35 * smooth_field(rng, (height, width), 2) * rng.uniform(0.3, 1.0)
    temperature = np.array([1 + rng.normal(0, 0.06), 1.0, 1 + rng.normal(0, 0.06)], np.float32)
    ys = np.linspace(-1, 1, height, dtype=np.float32)[:, None]
    xs = np.linspace(-1, 1, width, dtype=np.float32)[None, :]
    vignette = 1.0 - rng.uniform(0, 0.35) * (xs ** 2 + ys ** 2) / 2
    exposure = np.float32(rng.uniform(0.7, 1.2))
    return image * (gradient * vignette * exposure)[..., None] * temperature


def shadow(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A soft shadow cast across part of the photo (a person, a shelf, a hand)."""
    height, width = image.shape[:2]
    mask = np.zeros((height, width), np.float32)
    points = np.stack([rng.uniform(-0.2, 1.2, 5) * width, rng.uniform(-0.2, 1.2, 5) * height], 1)
    cv2.fillPoly(mask, [cv2.convexHull(points.astype(np.int32))], 1.0)
    mask = soft_blur(mask, max(width, height) * rng.uniform(0.01, 0.05))
    return image * (1 - rng.uniform(0.2, 0.55) * mask)[..., None]


def motion_blur(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    length = int(rng.integers(3, 12))
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0 / length
    rotation = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), rng.uniform(0, 180), 1.0)
    kernel = cv2.warpAffine(kernel, rotation, (length, length))
    return cv2.filter2D(image, -1, kernel / max(kernel.sum(), 1e-6))


def defocus_blur(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    radius = int(rng.integers(1, 4))
    kernel = np.zeros((2 * radius + 1, 2 * radius + 1), np.float32)
    cv2.circle(kernel, (radius, radius), radius, 1.0, -1)
    return cv2.filter2D(image, -1, kernel / kernel.sum())


def sensor_noise(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shot noise that grows with brightness, plus read noise and a little colour noise."""
    sigma = rng.uniform(0.004, 0.03)
    luminance_noise = gaussian_noise(rng, image.shape[:2])[..., None]
    colour_noise = gaussian_noise(rng, image.shape) * 0.3
    shot = np.sqrt(np.clip(image, 0, 1))
    return image + sigma * (luminance_noise + colour_noise) * (0.5 + shot)


def camera(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """All camera effects in order; returns uint8 RGB ready for JPEG."""
    image = lighting(image, rng)
    if rng.random() < 0.4:
        image = shadow(image, rng)
    roll = rng.random()
    if roll < 0.25:
        image = motion_blur(image, rng)
    elif roll < 0.5:
        image = defocus_blur(image, rng)
    image = sensor_noise(image, rng)
    return to_uint8(np.clip(image, 0, 1))


def jpeg_quality(rng: np.random.Generator) -> int:
    """Phone cameras and messaging apps: mostly good quality, sometimes heavily compressed."""
    return int(rng.choice([rng.integers(45, 70), rng.integers(70, 96)], p=[0.3, 0.7]))
