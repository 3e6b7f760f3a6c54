"""Marks made of parts, as brand marks in the wild often are: an emblem beside or above
the lettering, or lettering in two colours.

Such a mark is two pieces of ink with a gap or a change of colour between them, and its
box is the whole mark. A detector that has seen only one-piece logos boxes the pieces
(one word of two, the symbol without its name), which counts as a miss and a false alarm.
"""

from __future__ import annotations

import cv2
import numpy as np

from data.imaging import contrasting_colour, fill, luminance, random_colour

EMBLEMS = ("disc", "ring", "star", "swoosh", "polygon")
#: Share of composite marks that add an emblem; the rest recolour part of the lettering.
EMBLEM_SHARE = 0.6


def emblem(size: int, rng: np.random.Generator) -> np.ndarray:
    """A simple symbol's alpha (size x size): a disc, a ring, a star, a swoosh or a polygon."""
    mask = np.zeros((size, size), np.float32)
    centre, radius = (size // 2, size // 2), size // 2 - 1
    shape = EMBLEMS[int(rng.integers(len(EMBLEMS)))]
    if shape in ("disc", "ring"):
        cv2.circle(mask, centre, radius, 1.0, -1, cv2.LINE_AA)
        if shape == "ring":
            cv2.circle(mask, centre, int(radius * rng.uniform(0.55, 0.8)), 0.0, -1, cv2.LINE_AA)
    elif shape == "swoosh":  # a crescent: one disc less a shifted one
        cv2.ellipse(mask, centre, (radius, int(radius * rng.uniform(0.35, 0.7))), rng.uniform(-30, 30),
                    0, 360, 1.0, -1, cv2.LINE_AA)
        shift = (centre[0] + int(radius * 0.25), centre[1] - int(radius * rng.uniform(0.15, 0.35)))
        cv2.ellipse(mask, shift, (radius, int(radius * 0.55)), 0, 0, 360, 0.0, -1, cv2.LINE_AA)
    else:
        corners = int(rng.integers(3, 9)) if shape == "polygon" else 2 * int(rng.integers(5, 9))
        angles = np.linspace(0, 2 * np.pi, corners, endpoint=False) + rng.uniform(0, np.pi)
        radii = np.full(corners, radius, np.float64)
        if shape == "star":
            radii[1::2] *= rng.uniform(0.35, 0.6)
        points = np.stack([centre[0] + radii * np.cos(angles), centre[1] + radii * np.sin(angles)], axis=1)
        cv2.fillPoly(mask, [points.astype(np.int32)], 1.0, cv2.LINE_AA)
    return mask


def _with_emblem(rgb: np.ndarray, alpha: np.ndarray, rng: np.random.Generator,
                 ground: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The lettering with an emblem to its left or above it, a small gap between."""
    height, width = alpha.shape
    beside = rng.random() < 0.6
    size = max(8, int((height if beside else min(width, 3 * height)) * rng.uniform(0.8, 1.6)))
    symbol = emblem(size, rng)
    own = _ink_colour(rgb, alpha)
    colour = own if rng.random() < 0.5 and own is not None else contrasting_colour(rng, ground)
    gap = int(size * rng.uniform(0.05, 0.3))
    if beside:
        out_h, out_w = max(height, size), size + gap + width
        parts = (((out_h - size) // 2, 0), ((out_h - height) // 2, size + gap))
    else:
        out_h, out_w = size + gap + height, max(width, size)
        parts = ((0, (out_w - size) // 2), (size + gap, (out_w - width) // 2))
    out_rgb = fill((out_h, out_w), colour)
    out_alpha = np.zeros((out_h, out_w), np.float32)
    (sy, sx), (ly, lx) = parts
    out_alpha[sy:sy + size, sx:sx + size] = symbol
    out_rgb[ly:ly + height, lx:lx + width] = rgb
    out_alpha[ly:ly + height, lx:lx + width] = np.maximum(out_alpha[ly:ly + height, lx:lx + width], alpha)
    return out_rgb, out_alpha


def _two_coloured(rgb: np.ndarray, alpha: np.ndarray, rng: np.random.Generator,
                  ground: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The lettering recoloured right of its thinnest column in its middle part."""
    ink_per_column = alpha.sum(axis=0)
    width = len(ink_per_column)
    low, high = int(width * 0.3), max(int(width * 0.3) + 1, int(width * 0.7))
    split = low + int(np.argmin(ink_per_column[low:high]))
    out = rgb.copy()
    own = _ink_colour(rgb, alpha)
    out[:, split:] = _another_colour(ground if own is None else own, rng, ground)
    return out, alpha


def _ink_colour(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray | None:
    """The mean colour of the lettering's ink, None where there is none."""
    ink = alpha > 0.5
    return rgb[ink].mean(axis=0) if ink.any() else None


def _another_colour(ink: np.ndarray, rng: np.random.Generator, ground: np.ndarray) -> np.ndarray:
    """A saturated colour that stands out from `ground` and differs visibly from `ink` (the
    lettering's own colour), as the two colours of a brand's lettering do."""
    for _ in range(16):
        colour = random_colour(rng, saturation=(0.5, 1.0), value=(0.2, 1.0))
        if abs(luminance(colour) - luminance(ground)) > 0.3 and np.abs(colour - ink).max() > 0.3:
            return colour
    return contrasting_colour(rng, ground)


def composite_mark(rgb: np.ndarray, alpha: np.ndarray, rng: np.random.Generator,
                   ground: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A printed logo (RGB and alpha) made into a mark of two parts; `ground` is the colour
    the mark will sit on, which every added colour contrasts with."""
    if rng.random() < EMBLEM_SHARE:
        return _with_emblem(rgb, alpha, rng, ground)
    return _two_coloured(rgb, alpha, rng, ground)
