"""Printed text that names no band: tour dates, gig details, small print, price tags,
album titles and merch slogans.

Dense text is what a detector must learn to leave alone: it has the strokes and the
contrast of a logo, and sits right beside logos on shirts, flyers and merch tables.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from data.fonts import load_font, pick_font
from data.imaging import to_float, to_uint8
from data.names import CITIES, album_title

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
TOUR_TITLES = ("WORLD TOUR", "EUROPEAN TOUR", "NORTH AMERICAN TOUR", "TOUR", "LIVE IN EUROPE",
               "SUMMER FESTIVALS", "WINTER TOUR", "REIGN OF TERROR TOUR", "ON TOUR")
SMALL_PRINT = ("Doors 19:00", "Show 20:00", "Tickets at the door", "All ages", "18+ only",
               "Advance 15 / Door 20", "No refunds", "Free entry before 9pm", "Presale now",
               "Info & tickets online", "Limited capacity", "Cash only at the bar")

#: Words printed on merch beside the logo that are not a band's name.
SLOGANS = ("HAIL THE HORDE", "NO MERCY", "STAY HEAVY", "SUPPORT THE UNDERGROUND", "LOUD AS HELL",
           "NO FALSE METAL", "HEADBANGERS UNITE", "OFFICIAL MERCHANDISE", "CREW", "KILL THE SILENCE",
           "FROM THE ASHES", "BORN TO BANG", "METAL FOR LIFE", "OLD SCHOOL DEATH", "FOREVER TRUE")


def caption(rng: np.random.Generator) -> str:
    """A line printed under a logo that names no band: an album title, a slogan, or a
    year of founding."""
    roll = rng.random()
    if roll < 0.5:
        return album_title(rng).upper()
    if roll < 0.85:
        return SLOGANS[int(rng.integers(len(SLOGANS)))]
    return f"EST. {int(rng.integers(1970, 2020))}"


def tour_dates(rng: np.random.Generator, count: int) -> list[str]:
    """Lines like '12 MAR  Oslo' in date order."""
    month, day, lines = int(rng.integers(12)), int(rng.integers(1, 10)), []
    for _ in range(count):
        day += int(rng.integers(1, 4))
        if day > 28:
            month, day = (month + 1) % 12, day - 28
        city = CITIES[int(rng.integers(len(CITIES)))]
        lines.append(f"{day:02d} {MONTHS[month]}  {city.split(',')[0]}".upper())
    return lines


def draw_lines(canvas: np.ndarray, lines: list[str], box: tuple[int, int, int, int], colour: np.ndarray,
               rng: np.random.Generator, columns: int = 1, centred: bool = False,
               blackletter_share: float = 0.0) -> None:
    """Draw `lines` into box = (x1, y1, x2, y2) of `canvas` (float RGB, in place), in
    `columns` columns, at the largest size that fits (one face for all)."""
    x1, y1, x2, y2 = box
    if not lines or x2 - x1 < 10 or y2 - y1 < 6:
        return
    per_column = int(np.ceil(len(lines) / columns))
    column_w = (x2 - x1) / columns
    face = pick_font(rng, blackletter_share=blackletter_share)
    size = max(6, int((y2 - y1) / per_column / 1.25))
    font = load_font(face, size)
    while size > 6 and max(font.getlength(line) for line in lines) > column_w * 0.95:
        size = max(6, int(size * 0.85))
        font = load_font(face, size)
    image = Image.fromarray(to_uint8(canvas))
    draw = ImageDraw.Draw(image)
    fill = tuple(int(c * 255) for c in colour)
    for index, line in enumerate(lines):
        column, row = divmod(index, per_column)
        x = x1 + column * column_w
        if centred:
            x += (column_w - font.getlength(line)) / 2
        draw.text((x, y1 + row * size * 1.25), line, font=font, fill=fill)
    canvas[:] = to_float(np.asarray(image))
