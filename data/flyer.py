"""A gig flyer or poster on a wall: several bands' logos stacked, and dense text around.

The headliner's logo is big, the support acts' smaller, between "+" signs; around them
the venue, the date, door times and prices, often over a photograph or artwork, some
flyers photocopied black on coloured paper. Older flyers pasted around it carry only
text and pictures (no band objects), partly covered by the new one.
"""

from __future__ import annotations

import numpy as np

from data.art import artwork, photo_crop, wall_texture
from data.compose import Item, Photo, Sheet, cloth_warp, homography, paste, place
from data.imaging import contrasting_colour, fill, luminance, random_colour
from data.names import CITIES
from data.print_text import SMALL_PRINT, caption, draw_lines, tour_dates
from data.scenes import logo_patch, logo_region

FLYER_SIZE = (600, 850)
HEADINGS = ("LIVE", "IN CONCERT", "ONE NIGHT ONLY", "FESTIVAL", "TONIGHT", "PRESENTS", "RELEASE SHOW")


def _paper(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    roll = rng.random()
    if roll < 0.35:
        return artwork(rng, width, height) * np.float32(rng.uniform(0.4, 0.9))
    if roll < 0.55:
        return photo_crop(rng, width, height) * np.float32(rng.uniform(0.4, 0.9))
    return fill((height, width), random_colour(rng, saturation=(0.0, 0.7), value=(0.05, 1.0)))


def _text_block(sheet: Sheet, rng: np.random.Generator, box, lines: list[str], columns: int = 1) -> None:
    x1, y1, x2, y2 = box
    under = sheet.rgb[y1:y2, x1:x2].reshape(-1, 3).mean(axis=0)
    draw_lines(sheet.rgb, lines, box, contrasting_colour(rng, under), rng, columns=columns,
               centred=rng.random() < 0.7, blackletter_share=0.1)


def _details(rng: np.random.Generator) -> list[str]:
    city = CITIES[int(rng.integers(len(CITIES)))]
    lines = [f"{tour_dates(rng, 1)[0].split('  ')[0]} {int(rng.integers(1990, 2026))}",
             f"{city.upper()} - {('CLUB', 'HALL', 'BAR', 'ARENA', 'CELLAR')[rng.integers(5)]}"]
    picks = rng.choice(len(SMALL_PRINT), size=int(rng.integers(2, 5)), replace=False)
    lines += [SMALL_PRINT[i] for i in picks]
    if rng.random() < 0.4:  # an album title or slogan that names no band
        lines.insert(0, caption(rng))
    return lines


def flyer_sheet(items: list[Item], rng: np.random.Generator) -> Sheet:
    """One flyer: a heading, the logos in order of billing, the details below."""
    width, height = FLYER_SIZE
    sheet = Sheet(_paper(rng, width, height), np.ones((height, width), np.float32))
    _text_block(sheet, rng, (40, 20, width - 40, 70), [HEADINGS[rng.integers(len(HEADINGS))]])
    y = 85
    bottom = int(height * rng.uniform(0.7, 0.8))
    for index, item in enumerate(items):
        share = rng.uniform(0.7, 0.9) if index == 0 else rng.uniform(0.4, 0.65)
        logo_w = int(width * share)
        room = bottom - y - 22 * (len(items) - index - 1)
        aspect = item.alpha.shape[1] / item.alpha.shape[0]
        logo_w = max(30, min(logo_w, int(room / max(1, len(items) - index) * aspect)))
        under = sheet.rgb[y:y + 40, 60:width - 60].reshape(-1, 3).mean(axis=0)
        rgb, alpha = logo_patch(item, logo_w, rng, under)
        if y + alpha.shape[0] > height - 10:
            break
        paste(sheet, rgb, alpha, (width - logo_w) // 2, y, item, logo_region(alpha))
        y += alpha.shape[0] + 4
        if index < len(items) - 1:
            _text_block(sheet, rng, (width // 2 - 30, y, width // 2 + 30, y + 18), ["+"])
            y += 22
    _text_block(sheet, rng, (30, max(y + 10, bottom), width - 30, height - 20), _details(rng),
                columns=int(rng.integers(1, 3)))
    if rng.random() < 0.3:  # a photocopy: one ink on coloured paper
        grey = sheet.rgb @ np.array([0.299, 0.587, 0.114], np.float32)
        paper = random_colour(rng, saturation=(0.2, 0.8), value=(0.7, 1.0))
        ink = (grey < luminance(paper) * 0.6).astype(np.float32)[..., None]
        sheet.rgb[:] = paper * (1 - ink) + 0.05 * ink
    return sheet


def _old_flyer(rng: np.random.Generator) -> Sheet:
    width, height = FLYER_SIZE
    sheet = Sheet(_paper(rng, width, height), np.ones((height, width), np.float32))
    _text_block(sheet, rng, (40, 40, width - 40, int(height * 0.3)), [HEADINGS[rng.integers(len(HEADINGS))]])
    _text_block(sheet, rng, (40, int(height * 0.35), width - 40, height - 40),
                _details(rng) + tour_dates(rng, int(rng.integers(2, 8))))
    return sheet


def flyer(photo: Photo, items: list[Item], rng: np.random.Generator) -> None:
    """A flyer (sometimes among older ones) pasted on a wall, seen at an angle."""
    width, height = photo.size
    if rng.random() < 0.6:
        photo.rgb[:] = wall_texture(rng, width, height)
    target = min(width, height) * rng.uniform(0.55, 0.85)
    for _ in range(int(rng.integers(0, 4))):
        centre = (width * rng.uniform(0, 1), height * rng.uniform(0, 1))
        old = cloth_warp(_old_flyer(rng), rng, rng.uniform(0.0, 0.008))
        place(photo, old, homography(FLYER_SIZE, centre, target * rng.uniform(0.6, 0.9), rng.normal(0, 6),
                                      0.04, rng))
    sheet = cloth_warp(flyer_sheet(items, rng), rng, rng.uniform(0.0, 0.008))
    centre = (width * rng.uniform(0.4, 0.6), height * rng.uniform(0.42, 0.58))
    place(photo, sheet, homography(FLYER_SIZE, centre, target * FLYER_SIZE[0] / FLYER_SIZE[1] * 1.3,
                                   rng.normal(0, 4), 0.06, rng))
