"""The battle vest: a sleeveless denim or leather vest's back covered in 12 to 40 patches.

The scene the Band Logo Identifier was made for, and the densest a photo gets: a big
back patch in the middle, rows of smaller patches packed around it (overlapping at their
edges, some cut by the vest's edge), non-band patches among them, pins, and rows of
studs. Every patch showing a logo or a cover is an annotated object; what overlaps or
folds hides part of it, and the existing difficult/truncated rules apply.
"""

from __future__ import annotations

import cv2
import numpy as np

from data.art import artwork, fabric_texture
from data.compose import Item, Photo, Sheet, cloth_warp, homography, paste, place
from data.imaging import hsv_colour
from data.patches import band_patch, pin, plain_patch, stud

VEST_SIZE = (800, 890)  # width, height of the flat vest sheet (about the photo's size)
#: Share of the vest's usable area that band patches take, before packing.
FILL = 0.85


def vest_outline(width: int, height: int) -> np.ndarray:
    """The back of a sleeveless vest: shoulders, deep armholes, a straight hem."""
    right = [[0.62, 0.02], [0.88, 0.05], [0.86, 0.12], [0.85, 0.2], [0.88, 0.28], [0.97, 0.36],
             [0.98, 1.0]]
    left = [[1 - x, y] for x, y in reversed(right)]
    points = np.array([[0.38, 0.02], [0.5, 0.035]] + right + left[:-1]) * [width - 1, height - 1]
    mask = np.zeros((height, width), np.float32)
    cv2.fillPoly(mask, [points.astype(np.int32)], 1.0, cv2.LINE_AA)
    return mask


def _vest_sheet(rng: np.random.Generator) -> tuple[Sheet, np.ndarray]:
    width, height = VEST_SIZE
    roll = rng.random()
    if roll < 0.55:
        colour = hsv_colour(rng.uniform(0.57, 0.63), rng.uniform(0.35, 0.6), rng.uniform(0.3, 0.65))
    elif roll < 0.85:
        colour = np.full(3, rng.uniform(0.04, 0.12), np.float32)
    else:
        colour = hsv_colour(0.6, rng.uniform(0.0, 0.15), rng.uniform(0.25, 0.5))
    outline = vest_outline(width, height)
    rgb = fabric_texture(rng, width, height, colour)
    seam = tuple(float(c) * 0.7 for c in colour)
    yoke = int(height * rng.uniform(0.17, 0.24))
    cv2.line(rgb, (0, yoke), (width, yoke), seam, 3)
    for x in (int(width * 0.3), int(width * 0.7)):
        cv2.line(rgb, (x, yoke), (x, height), seam, 3)
    cv2.rectangle(rgb, (0, int(height * 0.94)), (width, height), seam, 4)
    return Sheet(rgb, outline.copy()), outline


def _slots(usable: np.ndarray, back: tuple[int, int, int, int], count: int,
           rng: np.random.Generator) -> list[tuple[int, int, int, int]]:
    """Rectangles (x, y, w, h) packed in rows over the usable area, around the back patch;
    at least `count` of them, smaller patches when more are wanted."""
    height, width = usable.shape
    area = float(usable.sum()) - (back[2] - back[0]) * (back[3] - back[1])
    patch_h = np.sqrt(area * FILL / max(count, 1) / 1.7)
    slots: list[tuple[int, int, int, int]] = []
    for _ in range(8):
        slots = []
        y = int(height * 0.02)
        while y < height * 0.96:
            row_h = int(patch_h * rng.uniform(0.85, 1.15))
            x = 0
            while x < width:
                w = int(patch_h * rng.uniform(1.0, 2.4))
                rect = (x, y + int(rng.normal(0, patch_h * 0.05)), w, row_h)
                x += int(w * rng.uniform(0.9, 1.05))
                rx, ry, rw, rh = rect
                inside = usable[max(0, ry):ry + rh, max(0, rx):rx + rw]
                if inside.size == 0 or inside.mean() < 0.85:
                    continue
                cx, cy = rx + rw / 2, ry + rh / 2
                near_x = back[0] - rw * 0.35 < cx < back[2] + rw * 0.35
                if near_x and back[1] - rh * 0.35 < cy < back[3] + rh * 0.35:
                    continue
                slots.append(rect)
            y += int(row_h * rng.uniform(0.95, 1.08))
        if len(slots) >= count:
            return slots
        patch_h *= 0.88
    return slots


def vest(photo: Photo, items: list[Item], rng: np.random.Generator) -> None:
    """A battle vest photographed flat or hanging, from the back."""
    sheet, outline = _vest_sheet(rng)
    width, height = VEST_SIZE
    usable = cv2.erode(outline, np.ones((15, 15), np.uint8))
    pick = int(rng.integers(len(items)))
    back_item, small = items[pick], items[:pick] + items[pick + 1:]
    back_w = int(width * rng.uniform(0.42, 0.56))
    back_h = back_w if back_item.kind == "album" else int(back_w * rng.uniform(0.55, 0.8))
    bx, by = (width - back_w) // 2, int(height * rng.uniform(0.38, 0.5))
    back = (bx, by, bx + back_w, by + back_h)
    slots = _slots(usable, back, len(small), rng)
    order = rng.permutation(len(slots)).tolist()
    extras = [i for i in order[len(small):] if rng.random() < 0.45]
    # (slot, item or None), drawn in a random order so that overlaps go both ways
    pieces = [(slots[i], item) for i, item in zip(order, small, strict=False)]
    pieces += [(slots[i], None) for i in extras]
    pieces.append((None, back_item))
    for index in rng.permutation(len(pieces)).tolist():
        slot, item = pieces[index]
        if slot is None:
            _back_patch(sheet, item, back, rng)
            continue
        x, y, w, h = slot
        if item is None:
            rgb, alpha = plain_patch(w, h, rng)
            paste(sheet, rgb, alpha * outline_cut(outline, x, y, alpha.shape), x, y)
            continue
        rgb, alpha, region = band_patch(item, w, h, rng)
        alpha = alpha * outline_cut(outline, x, y, alpha.shape)
        dx = (w - alpha.shape[1]) // 2
        paste(sheet, rgb, alpha, x + dx, y, item, region * alpha)
    _hardware(sheet, outline, rng)
    sheet = cloth_warp(sheet, rng, rng.uniform(0.003, 0.01))
    pw, ph = photo.size
    size = min(pw / width, ph / height) * rng.uniform(0.85, 1.1) * width
    centre = (pw * rng.uniform(0.42, 0.58), ph * rng.uniform(0.45, 0.55))
    place(photo, sheet, homography(VEST_SIZE, centre, size, rng.normal(0, 4), 0.05, rng))


def outline_cut(outline: np.ndarray, x: int, y: int, shape: tuple[int, int]) -> np.ndarray:
    """The vest's outline under a patch at (x, y): a patch never hangs off the vest."""
    cut = np.zeros(shape, np.float32)
    window = outline[max(0, y):y + shape[0], max(0, x):x + shape[1]]
    cut[max(0, -y):max(0, -y) + window.shape[0], max(0, -x):max(0, -x) + window.shape[1]] = window
    return cut


def _back_patch(sheet: Sheet, item: Item, back: tuple[int, int, int, int], rng: np.random.Generator) -> None:
    """The big back patch: a cover, or the logo over artwork."""
    x1, y1, x2, y2 = back
    width, height = x2 - x1, y2 - y1
    art = None
    if item.kind == "logo" and rng.random() < 0.5:  # a printed back patch: artwork behind the logo
        art = artwork(rng, width, height) * np.float32(rng.uniform(0.35, 0.8))
    shape = "rect" if rng.random() < 0.7 else None
    rgb, alpha, region = band_patch(item, width, height, rng, shape=shape, art=art)
    paste(sheet, rgb, alpha, x1 + (width - rgb.shape[1]) // 2, y1, item, region * alpha)


def _hardware(sheet: Sheet, outline: np.ndarray, rng: np.random.Generator) -> None:
    """Pins here and there, and rows of studs along the shoulders or the hem."""
    height, width = outline.shape
    for _ in range(int(rng.integers(2, 9))):
        diameter = int(width * rng.uniform(0.035, 0.07))
        x, y = int(rng.integers(0, width - diameter)), int(rng.integers(0, height - diameter))
        if outline[y + diameter // 2, x + diameter // 2] < 0.5:
            continue
        rgb, alpha = pin(diameter, rng)
        paste(sheet, rgb, alpha, x, y)
    if rng.random() < 0.7:
        size = int(width * rng.uniform(0.014, 0.024))
        pyramid = rng.random() < 0.6
        rgb, alpha = stud(size, rng, pyramid)
        for y in (int(height * 0.955),) if rng.random() < 0.5 else (int(height * 0.955), int(height * 0.065)):
            for x in range(int(width * 0.05), int(width * 0.95), int(size * 1.8)):
                if outline[y, x] > 0.5:
                    paste(sheet, rgb, alpha, x, y)
