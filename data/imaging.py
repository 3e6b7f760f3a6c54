"""Small image primitives shared by the generator: noise fields, colours, compositing,
and the ink mask that logo verification also reads.

Images inside the generator are float32 RGB in [0, 1] with a separate float32 alpha
in [0, 1]; they become uint8 only when written to disk.
"""

from __future__ import annotations

import colorsys
import functools

import cv2
import numpy as np

NOISE_BANK_SIDE = 1088

#: Share of the shorter image side taken as its border when finding the background (`ink_mask`).
INK_BORDER = 0.04


def smooth_field(rng: np.random.Generator, shape: tuple[int, int], cells: int) -> np.ndarray:
    """A smooth random field in [-1, 1]: `cells` random values per side, bicubically upsampled."""
    height, width = shape
    aspect = width / max(height, 1)
    grid = rng.uniform(-1, 1, size=(cells, max(2, int(round(cells * aspect)))) ).astype(np.float32)
    return np.clip(cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC), -1, 1)


def fractal_noise(rng: np.random.Generator, shape: tuple[int, int], octaves: int = 5,
                  base_cells: int = 3, persistence: float = 0.55) -> np.ndarray:
    """Multi-octave value noise normalised to [0, 1]: clouds, smoke, stains, fabric."""
    total = np.zeros(shape, np.float32)
    amplitude, cells = 1.0, base_cells
    for _ in range(octaves):
        total += amplitude * smooth_field(rng, shape, cells)
        amplitude *= persistence
        cells *= 2
    low, high = float(total.min()), float(total.max())
    return (total - low) / max(high - low, 1e-6)


@functools.lru_cache(maxsize=1)
def _noise_bank() -> np.ndarray:
    """Standard normal noise, drawn once per process from a fixed seed.

    Per-pixel noise for a megapixel photo costs more to draw than the rest of the photo
    to compose; shifted and flipped windows of one bank are just as random to the eye
    and to a network, and stay deterministic.
    """
    return np.random.default_rng(20181).standard_normal((NOISE_BANK_SIDE,) * 2 + (3,), dtype=np.float32)


def gaussian_noise(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Standard normal noise of `shape` (H, W) or (H, W, C<=3), as a window of the bank."""
    height, width = shape[:2]
    if height > NOISE_BANK_SIDE or width > NOISE_BANK_SIDE:
        return rng.standard_normal(shape, dtype=np.float32)
    bank = _noise_bank()
    y = int(rng.integers(0, NOISE_BANK_SIDE - height + 1))
    x = int(rng.integers(0, NOISE_BANK_SIDE - width + 1))
    channels = shape[2] if len(shape) == 3 else 1
    c = int(rng.integers(0, 4 - channels))
    window = bank[y:y + height, x:x + width, c:c + channels]
    if rng.random() < 0.5:
        window = window[::-1]
    return window if len(shape) == 3 else window[..., 0]


def hsv_colour(hue: float, saturation: float, value: float) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(hue % 1.0, saturation, value), np.float32)


def random_colour(rng: np.random.Generator, saturation=(0.4, 1.0), value=(0.3, 1.0)) -> np.ndarray:
    return hsv_colour(rng.random(), rng.uniform(*saturation), rng.uniform(*value))


def luminance(colour: np.ndarray) -> float:
    """Perceived brightness of an RGB colour in [0, 1] (Rec. 601 weights)."""
    return float(np.asarray(colour, np.float32) @ np.array([0.299, 0.587, 0.114], np.float32))


def contrasting_colour(rng: np.random.Generator, background: np.ndarray) -> np.ndarray:
    """A colour clearly lighter or darker than `background`, so printed ink stays legible."""
    value = (0.75, 1.0) if luminance(background) < 0.45 else (0.0, 0.3)
    if rng.random() < 0.5:
        grey = rng.uniform(*value)
        return np.full(3, grey, np.float32)
    return random_colour(rng, saturation=(0.3, 1.0), value=value)


def blend(base: np.ndarray, top: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Alpha-blend `top` over `base` (alpha HxW in [0, 1])."""
    return base + (top - base) * alpha[..., None]


def fill(shape: tuple[int, int], colour: np.ndarray) -> np.ndarray:
    return np.broadcast_to(colour.astype(np.float32), (*shape, 3)).copy()


def to_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)


def to_float(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) / 255.0


def as_float(image: np.ndarray) -> np.ndarray:
    """An image as float32 in [0, 1]: uint8 images are scaled, float ones taken as they are."""
    return to_float(image) if image.dtype == np.uint8 else np.asarray(image, np.float32)


def resize_to(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize with area averaging when shrinking (no aliasing) and cubic when enlarging."""
    shrinking = width * height < image.shape[0] * image.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    return cv2.resize(image, (max(1, width), max(1, height)), interpolation=interpolation)


def worn_print(alpha: np.ndarray, rng: np.random.Generator, faded: float = 0.75) -> np.ndarray:
    """A print's ink `alpha` worn: cracks through 2-15% of it and an overall fade to
    between `faded` and full strength, as on an old shirt or poster."""
    cracks = rng.random(alpha.shape).astype(np.float32) > rng.uniform(0.02, 0.15)
    return alpha * cracks * rng.uniform(faded, 1.0)


def soft_blur(mask: np.ndarray, sigma: float) -> np.ndarray:
    """A wide Gaussian blur of a single-channel mask, computed at reduced resolution.

    Shadows and shading need blurs tens of pixels wide; at full resolution those cost more
    than composing the whole photo, and at an eighth of it they look the same.
    """
    height, width = mask.shape
    factor = int(max(1, min(8, sigma // 2)))
    if factor == 1:
        return cv2.GaussianBlur(mask, (0, 0), sigma)
    reduced = (max(1, width // factor), max(1, height // factor))
    small = cv2.resize(mask, reduced, interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / factor)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def tight_box(mask: np.ndarray, threshold: float = 0.5) -> tuple[int, int, int, int] | None:
    """(x1, y1, x2, y2) of the pixels of `mask` above `threshold`, exclusive end; None if empty."""
    binary = (mask > threshold).astype(np.uint8)
    if not cv2.countNonZero(binary):
        return None
    x, y, width, height = cv2.boundingRect(binary)
    return x, y, x + width, y + height


def ink_mask(reference: np.ndarray) -> np.ndarray:
    """Soft ink mask (float32 HxW in [0, 1]) of a reference drawn on a plain background.

    The background colour is the median of the image border; a pixel's ink is its colour
    distance from it, scaled so that the strongest ink (99th percentile) is 1. Outlines
    in a third colour count as ink, as a printer would print them. Verification also
    takes it of a crop, whose border is mostly the surface the logo is printed on
    (matching/extract.py, `ink`): it is the same mask whatever colours the print is in.
    """
    image = as_float(reference)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    image = image[..., :3]
    height, width = image.shape[:2]
    edge = max(1, int(min(height, width) * INK_BORDER))
    border = np.concatenate([image[:edge].reshape(-1, 3), image[-edge:].reshape(-1, 3),
                             image[:, :edge].reshape(-1, 3), image[:, -edge:].reshape(-1, 3)])
    distance = np.linalg.norm(image - np.median(border, axis=0), axis=2)
    scale = max(float(np.percentile(distance, 99)), 0.1)
    return np.clip(distance / scale, 0, 1).astype(np.float32)
