"""A band shirt laid flat, front or back: the print fans photograph most.

The back print carries the logo above a tour title and a list of city dates (dense text
that is not a logo), sometimes over faded artwork; the front, a big logo over artwork or
the cover, often above a caption (an album title, a slogan) that text reading must not
take for a band. Print colours follow the shirt, as screen prints do.
"""

from __future__ import annotations

import numpy as np

from data.art import artwork, fabric_texture
from data.compose import Item, Photo, Sheet, paste
from data.imaging import contrasting_colour, worn_print
from data.names import album_title
from data.print_text import TOUR_TITLES, caption, draw_lines, tour_dates
from data.scenes import SHIRT_COLOURS, lay_shirt, logo_patch, logo_region, print_cover, shirt_outline

SIZE = 760
#: Share of front prints without a cover that carry a caption under the logo, and of back
#: prints whose tour is named after an album.
CAPTION_SHARE, ALBUM_TOUR_SHARE = 0.5, 0.35


def _faded_art(rng: np.random.Generator, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Artwork with soft edges, as printed behind or under a logo."""
    art = artwork(rng, width, height)
    fade = np.minimum(1.0, np.linspace(0, 4, height)[:, None] * np.linspace(0, 4, width)[None])
    fade = np.minimum(fade, fade[::-1, ::-1]).astype(np.float32)
    return art, worn_print(fade * np.float32(rng.uniform(0.6, 1.0)), rng, 0.9)


def tee(photo: Photo, items: list[Item], rng: np.random.Generator) -> None:
    """A shirt's back print (logo, tour title, city dates) or front print (logo, art or a
    cover, or a caption)."""
    colour = np.array(SHIRT_COLOURS[rng.integers(len(SHIRT_COLOURS))], np.float32)
    sheet = Sheet(fabric_texture(rng, SIZE, SIZE, colour), shirt_outline(SIZE, SIZE))
    logo = next(item for item in items if item.kind == "logo")
    cover = next((item for item in items if item.kind == "album"), None)
    back = rng.random() < 0.6
    logo_w = int(SIZE * (rng.uniform(0.36, 0.5) if back else rng.uniform(0.45, 0.58)))
    rgb, alpha = logo_patch(logo, logo_w, rng, colour)
    x, y = (SIZE - logo_w) // 2, int(SIZE * rng.uniform(0.14, 0.2))
    if not back and cover is None and rng.random() < 0.6:
        art_h = int(SIZE * 0.42)
        art, fade = _faded_art(rng, int(SIZE * 0.5), art_h)
        paste(sheet, art, fade, (SIZE - art.shape[1]) // 2, y + alpha.shape[0] // 2)
    paste(sheet, rgb, alpha, x, y, logo, logo_region(alpha))
    y += alpha.shape[0] + int(SIZE * 0.02)
    ink = contrasting_colour(rng, colour)
    if back:
        mask = np.zeros((SIZE, SIZE, 3), np.float32)
        tour = (album_title(rng).upper() + " TOUR" if rng.random() < ALBUM_TOUR_SHARE
                else TOUR_TITLES[rng.integers(len(TOUR_TITLES))])
        title = f"{tour} {int(rng.integers(1988, 2026))}"
        draw_lines(mask, [title], (int(SIZE * 0.3), y, int(SIZE * 0.7), y + int(SIZE * 0.05)),
                   np.ones(3, np.float32), rng, centred=True, blackletter_share=0.3)
        y += int(SIZE * 0.07)
        columns = int(rng.integers(1, 3))
        count = int(rng.integers(8, 16)) * columns
        bottom = int(SIZE * rng.uniform(0.82, 0.92))
        draw_lines(mask, tour_dates(rng, count), (int(SIZE * 0.3), y, int(SIZE * 0.7), bottom),
                   np.ones(3, np.float32), rng, columns=columns, centred=columns == 1)
        _print_text(sheet, mask, ink, rng)
    elif cover is not None:
        print_cover(sheet, cover, y, rng, share=(0.34, 0.46), bottom=0.93)
    elif y < SIZE * 0.84 and rng.random() < CAPTION_SHARE:
        top = max(y, int(SIZE * 0.78))
        mask = np.zeros((SIZE, SIZE, 3), np.float32)
        draw_lines(mask, [caption(rng)], (int(SIZE * 0.25), top, int(SIZE * 0.75), top + int(SIZE * 0.06)),
                   np.ones(3, np.float32), rng, centred=True, blackletter_share=0.3)
        _print_text(sheet, mask, ink, rng)
    lay_shirt(photo, sheet, rng, scale=(0.85, 1.2), across=(0.4, 0.6), down=(0.42, 0.6))


def _print_text(sheet: Sheet, mask: np.ndarray, ink: np.ndarray, rng: np.random.Generator) -> None:
    """Screen-print the white text of `mask` (SIZE x SIZE x 3) onto the shirt in `ink`."""
    paste(sheet, np.zeros((SIZE, SIZE, 3), np.float32) + ink, worn_print(mask[..., 0], rng, 0.85), 0, 0)
