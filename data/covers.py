"""Album covers: artwork with the band's logo and, usually, the album title.

Covers are square, as on Metal Archives. The logo on a cover is the band's own design
in a colour chosen for the artwork, so a cover shares the logo's shape but not its
reference colours.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from data.art import PhotoWindow, cover_artwork
from data.fonts import load_font, pick_font
from data.imaging import blend, contrasting_colour, resize_to, to_float, to_uint8
from data.logos import LogoDesign, render_ink

COVER_SIZE = 600


def _place_ink(canvas: np.ndarray, rgb: np.ndarray, alpha: np.ndarray, x: int, y: int) -> None:
    height, width = alpha.shape
    region = canvas[y:y + height, x:x + width]
    region[:] = blend(region, rgb[:region.shape[0], :region.shape[1]],
                      alpha[:region.shape[0], :region.shape[1]])


def _title(canvas: np.ndarray, title: str, rng: np.random.Generator) -> None:
    """Draw the album title in a plain or decorative face near the bottom or top."""
    size = int(COVER_SIZE * rng.uniform(0.04, 0.08))
    font = load_font(pick_font(rng, blackletter_share=0.15), size)
    text = title.upper() if rng.random() < 0.5 else title
    image = Image.fromarray(to_uint8(canvas))
    draw = ImageDraw.Draw(image)
    width = draw.textlength(text, font=font)
    if width > COVER_SIZE * 0.9:
        return
    x = (COVER_SIZE - width) / 2 if rng.random() < 0.7 else COVER_SIZE * 0.06
    y = COVER_SIZE * (rng.uniform(0.82, 0.9) if rng.random() < 0.75 else rng.uniform(0.25, 0.32))
    y_index = min(COVER_SIZE - 1, int(y))
    colour = contrasting_colour(rng, canvas[y_index, int(COVER_SIZE / 2)])
    draw.text((x, y), text, font=font, fill=tuple(int(c * 255) for c in colour))
    canvas[:] = to_float(np.asarray(image))


def render_cover(design: LogoDesign, title: str, rng: np.random.Generator,
                 window: PhotoWindow | None = None) -> np.ndarray:
    """A square cover (float32 RGB, COVER_SIZE px): artwork, the band logo, the title.

    `window` is the cover's own photograph window (see `data.art.photo_windows`); without
    one the artwork is procedural.
    """
    canvas = cover_artwork(rng, COVER_SIZE, window)
    if rng.random() < 0.3:  # a vignette, common on dark covers
        ys, xs = np.mgrid[-1:1:COVER_SIZE * 1j, -1:1:COVER_SIZE * 1j].astype(np.float32)
        canvas *= np.clip(1.2 - 0.5 * (xs ** 2 + ys ** 2), 0, 1)[..., None]
    if rng.random() < 0.9:
        width = int(COVER_SIZE * rng.uniform(0.45, 0.9))
        scale = width / design.shape[1]
        height = int(design.shape[0] * scale)
        if height > COVER_SIZE * 0.45:
            height = int(COVER_SIZE * 0.45)
            width = int(design.shape[1] * height / design.shape[0])
        x = int((COVER_SIZE - width) / 2 + rng.normal(0, COVER_SIZE * 0.03))
        y = int(COVER_SIZE * rng.uniform(0.03, 0.12))
        x = int(np.clip(x, 0, COVER_SIZE - width))
        under = canvas[y:y + height, x:x + width].reshape(-1, 3).mean(axis=0)
        ink_colour = contrasting_colour(rng, under)
        rgb, alpha = render_ink(design, ink_colour, contrasting_colour(rng, ink_colour))
        alpha = np.clip(resize_to(alpha, width, height), 0, 1)
        _place_ink(canvas, resize_to(rgb, width, height), alpha, x, y)
    if rng.random() < 0.8:
        _title(canvas, title, rng)
    if rng.random() < 0.15:  # a thin frame
        thickness = int(COVER_SIZE * rng.uniform(0.01, 0.04))
        colour = contrasting_colour(rng, canvas.mean(axis=(0, 1)))
        canvas[:thickness], canvas[-thickness:] = colour, colour
        canvas[:, :thickness], canvas[:, -thickness:] = colour, colour
    return np.clip(canvas, 0, 1)
