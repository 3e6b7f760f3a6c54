"""Procedural art and textures, with the photo library: the raw material of covers, prints
and backgrounds.

Photographs come from `data.photo_library` (re-exported here). Procedural art (clouds,
flames, mountains, forests, sunbursts, geometry) fills the gap, because photographs
alone would make every cover look alike. Covers beyond the photo windows get procedural
art with sharp detail drawn over it (`cover_artwork`), unique by its seed. Scenes,
prints and posters crop photographs freely.
"""

from __future__ import annotations

import cv2
import numpy as np

from data.imaging import (
    fractal_noise,
    gaussian_noise,
    hsv_colour,
    random_colour,
    resize_to,
)
from data.photo_library import (  # noqa: F401  (re-exported: the library's old home)
    SKIMAGE_GREY_PHOTOS,
    SKIMAGE_PHOTOS,
    PhotoWindow,
    photo_crop,
    photo_library,
    photo_windows,
    use_real_photos,
    window_pixels,
    without_png_profile,
)

COLORMAPS = ("inferno", "magma", "bone", "copper", "gray", "Reds", "Blues", "Purples", "twilight",
             "cividis", "hot", "afmhot", "gist_heat", "ocean", "pink", "winter", "autumn")


def colour_grade(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Moody grading typical of metal artwork: desaturate, tint, crush or lift contrast."""
    grey = image @ np.array([0.299, 0.587, 0.114], np.float32)
    saturation = rng.uniform(0.0, 1.2)
    graded = grey[..., None] + saturation * (image - grey[..., None])
    if rng.random() < 0.5:
        graded = graded * (0.6 + 0.6 * random_colour(rng, value=(0.6, 1.0)))
    gamma = rng.uniform(0.6, 1.8)
    return np.clip(graded, 0, 1) ** gamma


def _colormap(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    from matplotlib import colormaps

    cmap = colormaps[COLORMAPS[rng.integers(len(COLORMAPS))]]
    return cmap(values)[..., :3].astype(np.float32)


def _clouds(rng, width, height):
    return _colormap(fractal_noise(rng, (height, width), octaves=6), rng)


def _flames(rng, width, height):
    noise = fractal_noise(rng, (height // 4 + 1, width), octaves=5)
    noise = resize_to(noise, width, height)
    ramp = np.linspace(0.2, 1.0, height, dtype=np.float32)[:, None]
    return _colormap(np.clip(noise * ramp * 1.3, 0, 1), rng)


def _mountains(rng, width, height):
    """Layered ridges fading into fog: the classic black metal landscape."""
    sky = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    top, bottom = random_colour(rng, value=(0.1, 0.5)), random_colour(rng, value=(0.5, 0.9))
    image = top * (1 - sky) + bottom * sky + np.zeros((height, width, 3), np.float32)
    for layer in range(int(rng.integers(2, 5))):
        ridge = np.cumsum(rng.normal(0, height * 0.02, width)).astype(np.float32)
        ridge = cv2.GaussianBlur(ridge[None], (0, 0), 3)[0]
        ridge = ridge - ridge.min() + height * (0.3 + 0.15 * layer)
        shade = max(0.0, 0.5 - 0.15 * layer)
        below = np.arange(height)[:, None] > ridge[None, :]
        image[below] = image[below] * 0.3 + shade * 0.7 * bottom
    return image


def _forest(rng, width, height):
    image = _clouds(rng, width, height) * 0.7 + 0.2
    for _ in range(int(rng.integers(8, 30))):
        x = int(rng.integers(0, width))
        trunk = max(2, int(rng.uniform(0.005, 0.03) * width))
        top = (x + int(rng.normal(0, width * 0.02)), int(height * rng.uniform(0, 0.4)))
        cv2.line(image, (x, height), top, (0.02, 0.02, 0.02), trunk, cv2.LINE_AA)
    return image


def _sunburst(rng, width, height):
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy = width * rng.uniform(0.3, 0.7), height * rng.uniform(0.3, 0.7)
    angle = np.arctan2(ys - cy, xs - cx)
    rays = 0.5 + 0.5 * np.sign(np.sin(angle * int(rng.integers(6, 24))))
    radius = np.hypot(xs - cx, ys - cy) / max(width, height)
    values = np.clip(rays * 0.6 + (1 - radius) * 0.4, 0, 1)
    return _colormap(values, rng)


def _geometry(rng, width, height):
    image = np.zeros((height, width, 3), np.float32) + random_colour(rng, value=(0.0, 0.4))
    for _ in range(int(rng.integers(5, 25))):
        colour = tuple(float(c) for c in random_colour(rng))
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        if rng.random() < 0.5:
            cv2.circle(image, centre, int(rng.uniform(0.02, 0.3) * width), colour,
                       int(rng.choice([-1, 2, 5])), cv2.LINE_AA)
        else:
            points = rng.integers(0, max(width, height), size=(int(rng.integers(3, 6)), 2))
            cv2.fillPoly(image, [points.astype(np.int32)], colour, cv2.LINE_AA)
    return image


PROCEDURAL = (_clouds, _flames, _mountains, _forest, _sunburst, _geometry)


def procedural_art(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    painter = PROCEDURAL[rng.integers(len(PROCEDURAL))]
    return np.clip(painter(rng, width, height), 0, 1).astype(np.float32)


def artwork(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Cover-like artwork: a graded photograph, procedural art, or the two blended."""
    roll = rng.random()
    if roll < 0.4:
        return colour_grade(photo_crop(rng, width, height), rng)
    if roll < 0.75:
        return procedural_art(rng, width, height)
    photo = colour_grade(photo_crop(rng, width, height), rng)
    art = procedural_art(rng, width, height)
    mix = rng.uniform(0.3, 0.7)
    if rng.random() < 0.5:
        return photo * (1 - mix) + art * mix
    return np.clip(photo * (art * 1.5), 0, 1)


def draw_details(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sharp strokes over smooth art: branching lines, shards and specks.

    Clouds and flames alone give a cover almost no corners, and so almost no keypoints to
    verify against; painted covers are full of them.
    """
    height, width = image.shape[:2]
    canvas = image.copy()
    for _ in range(int(rng.integers(15, 60))):
        colour = tuple(float(c) for c in random_colour(rng, saturation=(0.0, 0.8), value=(0.0, 1.0)))
        roll = rng.random()
        if roll < 0.5:  # a branching line: a random walk with a drift
            steps = int(rng.integers(4, 12))
            start = rng.uniform(0, 1, 2) * (width, height)
            drift = rng.normal(0, 0.03, 2)
            moves = (rng.normal(0, 0.06, (steps, 2)) + drift) * (width, height)
            points = np.vstack([start, start + np.cumsum(moves, axis=0)]).astype(np.int32)
            cv2.polylines(canvas, [points], False, colour, int(rng.integers(1, 4)), cv2.LINE_AA)
        elif roll < 0.8:  # a shard
            centre = rng.uniform(0, 1, 2) * (width, height)
            points = centre + rng.normal(0, 0.05, (int(rng.integers(3, 6)), 2)) * (width, height)
            cv2.fillPoly(canvas, [points.astype(np.int32)], colour, cv2.LINE_AA)
        else:  # a cluster of specks
            for x, y in (rng.normal(0, 0.08, (20, 2)) + rng.uniform(0.1, 0.9, 2)) * (width, height):
                cv2.circle(canvas, (int(x), int(y)), int(rng.integers(1, 4)), colour, -1, cv2.LINE_AA)
    opacity = rng.uniform(0.5, 1.0)
    return np.clip(image * (1 - opacity) + canvas * opacity, 0, 1).astype(np.float32)


def cover_artwork(rng: np.random.Generator, size: int, window: PhotoWindow | None) -> np.ndarray:
    """A cover's own artwork: its photo window graded (sometimes blended with procedural
    art), or, without a window, procedural art with sharp detail over it."""
    if window is not None:
        photo = colour_grade(window_pixels(window, size), rng)
        if rng.random() < 0.6:
            return photo
        art, mix = procedural_art(rng, size, size), rng.uniform(0.3, 0.7)
        return np.clip(photo * (1 - mix) + art * mix, 0, 1).astype(np.float32)
    art = procedural_art(rng, size, size)
    return draw_details(art, rng) if rng.random() < 0.8 else art


def fabric_texture(rng: np.random.Generator, width: int, height: int, colour: np.ndarray) -> np.ndarray:
    """Cloth of a given colour: weave noise and slight mottling."""
    weave = gaussian_noise(rng, (height, width)) * 0.035
    coarse = fractal_noise(rng, (max(2, height // 4), max(2, width // 4)), octaves=3)
    mottle = (resize_to(coarse, width, height) - 0.5) * 0.12
    shade = 1 + weave + mottle
    cloth = colour[None, None, :] * shade[..., None]
    return np.clip(cloth, 0, 1, out=cloth)


def wall_texture(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A wall: a photograph of brick/gravel, or painted plaster."""
    if rng.random() < 0.5:
        return photo_crop(rng, width, height)
    colour = hsv_colour(rng.random(), rng.uniform(0, 0.3), rng.uniform(0.4, 0.95))
    return fabric_texture(rng, width, height, colour)
