"""Image conversions shared by the extractors: one place for dtype, channels and size.

Images are NumPy arrays in the project's convention: RGB channel order (what Pillow and
scikit-image give), uint8 or float in 0..255, shape (H, W) for grayscale or (H, W, 3|4).
"""

from __future__ import annotations

import cv2
import numpy as np


def _check(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        raise ValueError(f"expected an (H, W), (H, W, 3) or (H, W, 4) image, got {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"empty image of shape {image.shape}")
    return image


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Clip to 0..255 and convert to uint8 (OpenCV's SIFT wants 8-bit input)."""
    image = _check(image)
    if image.dtype == np.uint8:
        return image
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def to_gray(image: np.ndarray) -> np.ndarray:
    """(H, W) of the same dtype; colour uses the ITU-R 601 luma weights, alpha is dropped."""
    image = _check(image)
    if image.ndim == 2:
        return image
    if image.shape[2] == 1:
        return image[:, :, 0]
    rgb = image[:, :, :3].astype(np.float32)
    gray = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    return to_uint8(gray) if image.dtype == np.uint8 else gray.astype(image.dtype)


def to_rgb_float(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) float32 in 0..255: grayscale is replicated, alpha is dropped."""
    image = _check(image)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image[:, :, :3], dtype=np.float32)


def resize_long_side(image: np.ndarray, max_side: int | None) -> tuple[np.ndarray, float]:
    """Shrink so the long side is at most `max_side`; never enlarges.

    Returns the image and the scale applied (new / old), so coordinates found on the
    result map back with a division. `None` means no limit.
    """
    image = _check(image)
    if max_side is not None and max_side < 1:
        raise ValueError(f"max_side must be positive, got {max_side}")
    height, width = image.shape[:2]
    if max_side is None or max(height, width) <= max_side:
        return image, 1.0
    return rescale(image, max_side / max(height, width))


def rescale(image: np.ndarray, scale: float) -> tuple[np.ndarray, float]:
    """Resize by `scale` (area interpolation when shrinking); returns the exact scale used.

    The size is rounded to whole pixels (at least 1), so the returned scale is the mean of
    the two axes' true factors.
    """
    image = _check(image)
    height, width = image.shape[:2]
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    if (new_w, new_h) == (width, height):
        return image, 1.0
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    if image.ndim == 3 and resized.ndim == 2:  # OpenCV drops a single channel axis
        resized = resized[:, :, None]
    return resized, (new_w / width + new_h / height) / 2


def polarity_normalised(gray: np.ndarray, border: float = 0.08) -> np.ndarray:
    """`gray` (uint8, or float in 0..255) inverted when its border is darker than its inside,
    so that ink on a crop or a reference is dark on light whichever way round it was printed.
    An image too thin to have an inside (a sliver of a box) is returned as it is."""
    height, width = gray.shape
    by, bx = max(1, int(height * border)), max(1, int(width * border))
    mask = np.zeros(gray.shape, bool)
    mask[:by], mask[-by:], mask[:, :bx], mask[:, -bx:] = True, True, True, True
    if mask.all():
        return gray
    if gray[mask].mean() < gray[~mask].mean():
        return 255 - gray
    return gray
