"""A merch table at a gig, seen from above at an angle: folded shirts, CDs, patches.

Folded shirts show their chest print (a logo, sometimes over artwork); CDs are covers
in jewel cases with a hinge and a glare; patches lie in rows; hand-written price cards
and the table's own cloth or wood fill the gaps. Every logo and cover is an object.
"""

from __future__ import annotations

import cv2
import numpy as np

from data.art import fabric_texture
from data.compose import Item, Photo, Sheet, homography, paste, place
from data.imaging import blend, contrasting_colour, fill, hsv_colour
from data.patches import band_patch
from data.print_text import draw_lines
from data.scenes import SHIRT_COLOURS, cover_patch, logo_patch, logo_region

TABLE_SIZE = (1200, 800)


def _table(rng: np.random.Generator) -> np.ndarray:
    width, height = TABLE_SIZE
    if rng.random() < 0.5:
        colour = np.full(3, rng.uniform(0.02, 0.1), np.float32)  # black table cloth
    else:
        colour = hsv_colour(rng.uniform(0.05, 0.1), rng.uniform(0.4, 0.7), rng.uniform(0.25, 0.6))
    return fabric_texture(rng, width, height, colour)


Piece = tuple[np.ndarray, np.ndarray, np.ndarray]  # rgb, alpha, object region


def _folded_shirt(item: Item, width: int, rng: np.random.Generator) -> Piece:
    height = int(width * rng.uniform(1.1, 1.3))
    colour = np.array(SHIRT_COLOURS[rng.integers(len(SHIRT_COLOURS))], np.float32)
    rgb = fabric_texture(rng, width, height, colour)
    shade = tuple(float(c) * 0.6 for c in colour)
    cv2.ellipse(rgb, (width // 2, 0), (width // 6, width // 10), 0, 0, 180, shade, 3, cv2.LINE_AA)
    for x in (int(width * 0.12), int(width * 0.88)):  # the folded-in sleeves
        cv2.line(rgb, (x, 0), (x, height), shade, 2, cv2.LINE_AA)
    ink_rgb, ink_alpha = logo_patch(item, int(width * 0.7), rng, colour)
    ink_alpha = ink_alpha[:int(height * 0.6)]
    y, x = int(height * 0.18), int(width * 0.15)
    window = rgb[y:y + ink_alpha.shape[0], x:x + ink_alpha.shape[1]]
    window[:] = blend(window, ink_rgb[:ink_alpha.shape[0]], ink_alpha)
    region = np.zeros((height, width), np.float32)
    region[y:y + ink_alpha.shape[0], x:x + ink_alpha.shape[1]] = logo_region(ink_alpha)
    return rgb, np.ones((height, width), np.float32), region


def _cd(item: Item, side: int, rng: np.random.Generator) -> Piece:
    case = int(side * 1.08)
    rgb = fill((case, case), np.full(3, 0.12, np.float32))
    spine = int(case * 0.07)
    top = (case - side) // 2
    rgb[top:top + side, spine:spine + side] = cover_patch(item, side)[0]
    cv2.line(rgb, (spine // 2, 0), (spine // 2, case), (0.4, 0.4, 0.4), 1)
    ys, xs = np.mgrid[0:case, 0:case].astype(np.float32)
    streak = np.abs(xs - ys * rng.uniform(0.5, 1.5) - case * rng.uniform(0, 0.5))
    glare = np.clip(1 - streak / (case * 0.1), 0, 1)
    rgb = blend(rgb, np.ones(3, np.float32), glare * rng.uniform(0.1, 0.35))
    region = np.zeros((case, case), np.float32)
    region[top:top + side, spine:spine + side] = 1.0
    return rgb, np.ones((case, case), np.float32), region


def _price_card(rng: np.random.Generator, background: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    card = fill((60, 110), np.array([0.95, 0.94, 0.88], np.float32))
    price = f"{('€', '$', '£', '')[rng.integers(4)]}{int(rng.choice([5, 10, 15, 20, 25, 30]))}"
    draw_lines(card, [price], (6, 8, 104, 54), contrasting_colour(rng, card[0, 0]), rng, centred=True)
    return card, np.ones((60, 110), np.float32)


def merch(photo: Photo, items: list[Item], rng: np.random.Generator) -> None:
    """Items laid out in rows on the table, then the table seen in perspective."""
    width, height = TABLE_SIZE
    sheet = Sheet(_table(rng), np.ones((height, width), np.float32))
    order = rng.permutation(len(items)).tolist()
    columns = int(np.ceil(len(items) / 2)) if len(items) > 3 else len(items)
    cell_w, cell_h = width / columns, height / int(np.ceil(len(items) / columns))
    for slot, index in enumerate(order):
        item = items[index]
        row, column = divmod(slot, columns)
        size = int(min(cell_w, cell_h) * rng.uniform(0.8, 0.95))
        if item.kind == "album":
            rgb, alpha, region = _cd(item, int(size * 0.85), rng)
        elif rng.random() < 0.55:
            rgb, alpha, region = _folded_shirt(item, int(size * 0.8), rng)
        else:
            rgb, alpha, region = band_patch(item, size, int(size * rng.uniform(0.55, 0.8)), rng)
        x = int(column * cell_w + (cell_w - rgb.shape[1]) / 2 + rng.normal(0, cell_w * 0.04))
        y = int(row * cell_h + (cell_h - rgb.shape[0]) / 2 + rng.normal(0, cell_h * 0.04))
        paste(sheet, rgb, alpha, x, y, item, region * alpha)
        if rng.random() < 0.35:
            card, card_alpha = _price_card(rng, sheet.rgb[0, 0])
            paste(sheet, card, card_alpha, x + int(rng.integers(0, max(1, rgb.shape[1] - 60))),
                  y + rgb.shape[0] - 30)
    pw, ph = photo.size
    centre = (pw * rng.uniform(0.45, 0.55), ph * rng.uniform(0.45, 0.6))
    matrix = homography(TABLE_SIZE, centre, pw * rng.uniform(1.0, 1.35), rng.normal(0, 3), 0.12, rng)
    place(photo, sheet, matrix)
