"""Sew-on patches, pins and studs: the pieces of a battle vest or a merch table.

A band patch is a logo embroidered or woven on a cloth ground, or a cover woven in
colour, cut square, round, or along the logo's outline, with a merrowed (overlocked)
border whose diagonal stitches catch the light. Pins and studs are small and hard-edged.
Patches that show no band (patterns, words, bits of photographs: faces, animals) are
distractors: they look just as sewn on, and carry no VOC object.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw

from data.art import photo_crop, procedural_art
from data.compose import Item
from data.fonts import load_font, pick_font
from data.imaging import (
    blend,
    contrasting_colour,
    fill,
    gaussian_noise,
    hsv_colour,
    luminance,
    random_colour,
    resize_to,
    tight_box,
    to_float,
    to_uint8,
)
from data.scenes import cover_patch, logo_patch

SHAPES = ("rect", "rect", "rect", "rounded", "oval", "cutout")
WORDS = ("NO GODS", "FTW", "DIY", "HEAVY", "ANTI", "LOUD", "666", "FIGHT", "CHAOS", "1984",
         "KEEP IT TRUE", "NOISE", "UP THE IRONS", "VINYL", "PUNK", "SKATE", "LIVE")


def _ground(rng: np.random.Generator) -> np.ndarray:
    if rng.random() < 0.6:
        return np.full(3, rng.uniform(0.01, 0.07), np.float32)
    return random_colour(rng, saturation=(0.0, 0.8), value=(0.1, 0.95))


def _weave(rgb: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """A woven or embroidered surface: thread lines across the patch and fine grain."""
    height, width = rgb.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    period = rng.uniform(2.5, 4.5)
    angle = rng.uniform(0, np.pi)
    threads = np.sin((xs * np.cos(angle) + ys * np.sin(angle)) * 2 * np.pi / period)
    grain = gaussian_noise(rng, (height, width)) * 0.05
    return np.clip(rgb * (1 + strength * threads[..., None] + grain[..., None]), 0, 1)


def _shape_mask(shape: str, height: int, width: int, ink: np.ndarray | None,
                rng: np.random.Generator) -> np.ndarray:
    mask = np.zeros((height, width), np.float32)
    if shape == "oval":
        cv2.ellipse(mask, (width // 2, height // 2), (width // 2 - 1, height // 2 - 1), 0, 0, 360, 1.0, -1,
                    cv2.LINE_AA)
    elif shape == "rounded":
        radius = int(min(height, width) * rng.uniform(0.1, 0.3))
        cv2.rectangle(mask, (radius, 0), (width - radius, height), 1.0, -1)
        cv2.rectangle(mask, (0, radius), (width, height - radius), 1.0, -1)
        for x, y in ((radius, radius), (width - radius - 1, radius), (radius, height - radius - 1),
                     (width - radius - 1, height - radius - 1)):
            cv2.circle(mask, (x, y), radius, 1.0, -1, cv2.LINE_AA)
    elif shape == "cutout" and ink is not None:  # cut along the logo, a margin around the ink
        size = max(5, int(min(height, width) * 0.12)) | 1
        grown = cv2.dilate((ink > 0.3).astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE,
                                                                                    (size, size)))
        mask = cv2.morphologyEx(grown, cv2.MORPH_CLOSE, np.ones((size, size), np.uint8)).astype(np.float32)
    else:
        mask[:] = 1.0
    return mask


def _merrowed(rgb: np.ndarray, mask: np.ndarray, rng: np.random.Generator, ground: np.ndarray) -> None:
    """An overlocked border along the patch edge: a band of diagonal stitches."""
    width = max(2, int(min(mask.shape) * rng.uniform(0.035, 0.07)))
    inside = cv2.distanceTransform((mask > 0.5).astype(np.uint8), cv2.DIST_L2, 3)
    band = ((inside > 0) & (inside <= width)).astype(np.float32)
    if rng.random() < 0.5:
        colour = np.full(3, 0.03 if rng.random() < 0.4 else 0.9, np.float32)
    else:
        colour = contrasting_colour(rng, ground)
    ys, xs = np.mgrid[0:mask.shape[0], 0:mask.shape[1]].astype(np.float32)
    stitches = 0.7 + 0.3 * np.sin((xs + ys) * 2 * np.pi / max(2.0, width * 0.6))
    rgb[:] = blend(rgb, colour[None, None] * stitches[..., None], band)


def _embroider(ink_rgb: np.ndarray, ink_alpha: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Thread shading on the ink: raised stitches lit from one side."""
    relief = cv2.GaussianBlur(ink_alpha, (0, 0), 1.2)
    light = np.gradient(relief, axis=0) + np.gradient(relief, axis=1)
    return np.clip(_weave(ink_rgb, rng, 0.12) * (1 + 0.8 * light)[..., None], 0, 1)


def band_patch(item: Item, width: int, height: int, rng: np.random.Generator,
               shape: str | None = None, art: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rgb, alpha, region) of a patch of about width x height showing `item`, on a plain
    cloth ground or on `art` (an image of width x height: a printed back patch)."""
    ground = _ground(rng) if art is None else art.reshape(-1, 3).mean(axis=0)
    if item.kind == "album":
        side = min(width, height)
        rgb = _weave(cover_patch(item, side)[0].copy(), rng, rng.uniform(0.03, 0.1))
        mask = np.ones((side, side), np.float32)
        border = max(2, int(side * 0.06))
        region = np.zeros((side, side), np.float32)
        region[border:side - border, border:side - border] = 1.0
        _merrowed(rgb, mask, rng, rgb[side // 2, side // 2])
        return rgb, mask, region
    inner_w, inner_h = int(width * 0.82), int(height * 0.72)
    aspect = item.alpha.shape[1] / item.alpha.shape[0]
    ink_w = max(8, min(inner_w, int(inner_h * aspect)))
    ink_rgb, ink_alpha = logo_patch(item, ink_w, rng, ground)
    inked = ink_rgb[ink_alpha > 0.5] @ np.array([0.299, 0.587, 0.114], np.float32)
    if len(inked) and np.percentile(np.abs(inked - luminance(ground)), 25) < 0.3:  # a dim colour
        ink_rgb = fill(ink_alpha.shape, np.full(3, 0.95 if luminance(ground) < 0.5 else 0.05, np.float32))
    base = fill((height, width), ground) if art is None else art
    rgb = _weave(base, rng, rng.uniform(0.05, 0.12))
    oy, ox = max(0, (height - ink_alpha.shape[0]) // 2), (width - ink_w) // 2
    ink_alpha = ink_alpha[:height - oy]
    ink_rgb = _embroider(ink_rgb[:ink_alpha.shape[0]], ink_alpha, rng)
    window = rgb[oy:oy + ink_alpha.shape[0], ox:ox + ink_w]
    window[:] = blend(window, ink_rgb, ink_alpha)
    full_ink = np.zeros((height, width), np.float32)
    full_ink[oy:oy + ink_alpha.shape[0], ox:ox + ink_w] = ink_alpha
    shape = shape or SHAPES[rng.integers(len(SHAPES))]
    mask = _shape_mask(shape, height, width, full_ink, rng)
    _merrowed(rgb, mask, rng, ground)
    box = tight_box(full_ink * mask, 0.3) or (0, 0, 1, 1)
    region = np.zeros((height, width), np.float32)
    region[box[1]:box[3], box[0]:box[2]] = 1.0
    return rgb, mask, region


def _pattern(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A patch face that names no band: stripes, checks, a flag, a word, a photo, art."""
    roll = rng.random()
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    one, two = random_colour(rng), random_colour(rng, value=(0.0, 0.4))
    if roll < 0.2:
        stripes = (np.sin((xs + ys * rng.uniform(-1, 1)) / rng.uniform(3, 12)) > 0).astype(np.float32)
        return blend(fill((height, width), two), fill((height, width), one), stripes)
    if roll < 0.35:
        cell = max(3, int(rng.uniform(0.1, 0.3) * min(width, height)))
        checks = ((xs // cell + ys // cell) % 2).astype(np.float32)
        return blend(fill((height, width), two), fill((height, width), one), checks)
    if roll < 0.6:
        return photo_crop(rng, width, height)  # faces, animals, things: real content, no band
    if roll < 0.8:
        image = Image.fromarray(to_uint8(fill((height, width), two)))
        draw = ImageDraw.Draw(image)
        word = WORDS[rng.integers(len(WORDS))]
        font = load_font(pick_font(rng, blackletter_share=0.2), max(8, int(height * 0.4)))
        draw.text((width / 2, height / 2), word, font=font, anchor="mm",
                  fill=tuple(int(c * 255) for c in one))
        return to_float(np.asarray(image))
    return procedural_art(rng, width, height)


def plain_patch(width: int, height: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(rgb, alpha) of a patch that shows no band logo: a distractor."""
    rgb = _weave(_pattern(rng, width, height).copy(), rng, rng.uniform(0.04, 0.1))
    shape = SHAPES[rng.integers(len(SHAPES) - 1)]
    mask = _shape_mask(shape, height, width, None, rng)
    _merrowed(rgb, mask, rng, rgb[height // 2, width // 2])
    return rgb, mask


def pin(diameter: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A round pin-back button: a printed face under a glossy highlight, a thin metal rim."""
    face = resize_to(_pattern(rng, 64, 64), diameter, diameter)
    mask = np.zeros((diameter, diameter), np.float32)
    centre = (diameter // 2, diameter // 2)
    cv2.circle(mask, centre, diameter // 2 - 1, 1.0, -1, cv2.LINE_AA)
    highlight = np.zeros_like(mask)
    cv2.circle(highlight, (int(diameter * 0.35), int(diameter * 0.32)), max(1, diameter // 5), 1.0, -1)
    highlight = cv2.GaussianBlur(highlight, (0, 0), max(1.0, diameter / 10))
    rim = np.zeros_like(mask)
    cv2.circle(rim, centre, diameter // 2 - 1, 1.0, max(1, diameter // 16), cv2.LINE_AA)
    rgb = blend(face, np.ones(3, np.float32) * 0.95, highlight * 0.6)
    rgb = blend(rgb, np.full(3, 0.75, np.float32), rim)
    return np.clip(rgb, 0, 1), mask


def stud(size: int, rng: np.random.Generator, pyramid: bool) -> tuple[np.ndarray, np.ndarray]:
    """A metal stud: a cone (radial shine) or a pyramid (four lit faces)."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) - (size - 1) / 2
    metal = hsv_colour(0.12, rng.uniform(0.0, 0.15), rng.uniform(0.6, 0.85))
    if pyramid:
        faces = np.where(np.abs(xs) > np.abs(ys), np.where(xs < 0, 1.25, 0.6), np.where(ys < 0, 1.1, 0.45))
        mask = np.ones((size, size), np.float32)
    else:
        radius = np.hypot(xs + size * 0.15, ys + size * 0.15) / (size / 2)
        faces = np.clip(1.4 - radius * 0.9, 0.35, 1.4)
        mask = (np.hypot(xs, ys) <= size / 2).astype(np.float32)
    return np.clip(metal * faces[..., None], 0, 1).astype(np.float32), mask
