"""Logos in everyday photographs: on signs, vehicles, products and badges, or in close-up;
and album covers in close-up.

Brand marks in the wild (FlickrLogos-27 and the like) look nothing like a shirt print: a
mark fills the frame on a plain ground, sits on a metal or enamel badge, or is small on a
surface of a real photograph, lit by that photograph's light. A detector that saw only
prints and patches does not fire on them; this scene teaches it that a logo is a logo
wherever it is. The box is the mark as a viewer sees it: the ink, or the whole badge when
the ink sits on one (a crest is part of its mark), or the whole of a mark made of parts
(data/composite_marks.py).

A close-up of a mark (a patch or a print photographed alone) fills up to 60% of the
frame, and a detector that sees only those learns "whatever fills the frame is a logo".
A fan photographing a record or a DVD fills the frame with its cover (real cover photos:
half the frame and more), so close-ups show a cover as often as a mark, and the detector
learns the difference from the content.
"""

from __future__ import annotations

import cv2
import numpy as np

from data.compose import Item, Photo, Sheet, homography, paste, place
from data.composite_marks import composite_mark
from data.imaging import contrasting_colour, fill, random_colour, resize_to, smooth_field
from data.scenes import logo_patch, logo_region, target_width

#: Share of wild photos that are a close-up: one mark, or one cover when the photo has an
#: album to show (about half of them), filling much of the frame.
CLOSE_UP_SHARE = 0.4
#: Area of a mark, as a share of the photo: close-ups, and marks on surfaces.
CLOSE_UP_AREA = (0.15, 0.6)
#: Area of a cover in close-up, and the share of covers in a dark plastic case (a DVD, a CD).
COVER_AREA = (0.3, 0.85)
CASED_SHARE = 0.5
SURFACE_AREA = (0.004, 0.12)
BADGE_SHAPES = ("ellipse", "rounded", "shield")
#: Share of bare marks made of two parts (an emblem and the lettering, or two colours).
COMPOSITE_SHARE = 0.35


def _plain_ground(photo: Photo, rng: np.random.Generator) -> None:
    """A close-up's ground: paper, paint or a car's panel, with a soft light gradient."""
    width, height = photo.size
    colour = np.full(3, rng.uniform(0.85, 1.0), np.float32) if rng.random() < 0.45 else random_colour(
        rng, saturation=(0.0, 0.9), value=(0.1, 0.95))
    light = 1.0 + 0.25 * smooth_field(rng, (height, width), 2)
    photo.rgb[:] = np.clip(fill((height, width), colour) * light[..., None], 0, 1)


def _badge_mask(shape: str, width: int, height: int) -> np.ndarray:
    mask = np.zeros((height, width), np.float32)
    if shape == "ellipse":
        cv2.ellipse(mask, (width // 2, height // 2), (width // 2 - 1, height // 2 - 1), 0, 0, 360, 1.0, -1,
                    cv2.LINE_AA)
    elif shape == "rounded":
        radius = min(width, height) // 4
        cv2.rectangle(mask, (radius, 0), (width - radius, height), 1.0, -1)
        cv2.rectangle(mask, (0, radius), (width, height - radius), 1.0, -1)
        for x, y in ((radius, radius), (width - radius, radius), (radius, height - radius),
                     (width - radius, height - radius)):
            cv2.circle(mask, (x, y), radius, 1.0, -1, cv2.LINE_AA)
    else:  # a crest: flat top, pointed bottom
        points = np.array([[0, 0], [width, 0], [width, height * 0.6], [width / 2, height],
                           [0, height * 0.6]], np.int32)
        cv2.fillPoly(mask, [points], 1.0, cv2.LINE_AA)
    return mask


def _metallic(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Chrome or brushed metal: a bright band of reflection across the piece."""
    height, width = rgb.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    along = (xs * np.cos(angle) + ys * np.sin(angle)) / max(width, height)
    sheen = 0.75 + 0.45 * np.cos(along * rng.uniform(4, 9) + rng.uniform(0, 6.3))
    return np.clip(rgb * sheen[..., None], 0, 1)


def _mark_sheet(item: Item, width: int, rng: np.random.Generator, ground: np.ndarray) -> Sheet:
    """The mark as made: bare ink on the surface, or ink on a badge with a rim."""
    if rng.random() < 0.4:  # a badge, plate or sticker carrying the ink
        plate_colour = random_colour(rng, saturation=(0.0, 0.9), value=(0.05, 1.0))
        inner = int(width * rng.uniform(0.6, 0.8))
        ink_rgb, ink_alpha = logo_patch(item, inner, rng, plate_colour)
        shape = BADGE_SHAPES[rng.integers(len(BADGE_SHAPES))]
        height = max(ink_alpha.shape[0] + width - inner, int(width * rng.uniform(0.45, 1.1)))
        mask = _badge_mask(shape, width, height)
        sheet = Sheet(fill((height, width), plate_colour), np.zeros((height, width), np.float32))
        paste(sheet, fill((height, width), plate_colour), mask, 0, 0)
        rim = tuple(float(c) for c in contrasting_colour(rng, plate_colour))
        contours, _ = cv2.findContours((mask > 0.5).astype(np.uint8), cv2.RETR_EXTERNAL,
                                       cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(sheet.rgb, contours, -1, rim, max(2, width // 30), cv2.LINE_AA)
        ink_h = min(ink_alpha.shape[0], height)
        oy, ox = (height - ink_h) // 2, (width - inner) // 2
        paste(sheet, ink_rgb[:ink_h], ink_alpha[:ink_h] * mask[oy:oy + ink_h, ox:ox + inner], ox, oy)
        sheet.regions.append((item, (mask > 0.5).astype(np.float32)))
    else:
        rgb, alpha = logo_patch(item, width, rng, ground)
        if rng.random() < COMPOSITE_SHARE:
            rgb, alpha = composite_mark(rgb, alpha, rng, ground)
        sheet = Sheet(np.zeros((*alpha.shape, 3), np.float32), np.zeros(alpha.shape, np.float32))
        paste(sheet, rgb, alpha, 0, 0, item, logo_region(alpha))
    if rng.random() < 0.3:
        sheet.rgb[:] = _metallic(sheet.rgb, rng)
    return sheet


def _ground_under(photo: Photo, centre: tuple[float, float], reach: float) -> np.ndarray:
    width, height = photo.size
    x, y, r = int(centre[0]), int(centre[1]), max(2, int(reach))
    window = photo.rgb[max(0, y - r):min(height, y + r), max(0, x - r):min(width, x + r)]
    return window.reshape(-1, 3).mean(axis=0) if window.size else np.full(3, 0.5, np.float32)


def _cover_sheet(item: Item, rng: np.random.Generator) -> Sheet:
    """A cover as held or laid down: square (a record, a CD) or portrait (a DVD's sleeve),
    bare or in a dark case with a rim; the box is the whole front."""
    art_w = 600
    art_h = art_w if rng.random() < 0.5 else int(art_w / rng.uniform(0.68, 0.75))
    art = resize_to(item.image, art_w, art_h)
    border = int(art_w * rng.uniform(0.02, 0.06)) if rng.random() < CASED_SHARE else 0
    plastic = np.full(3, rng.uniform(0.02, 0.15), np.float32)
    rgb = fill((art_h + 2 * border, art_w + 2 * border), plastic)
    rgb[border:border + art_h, border:border + art_w] = art
    sheet = Sheet(rgb, np.ones(rgb.shape[:2], np.float32))
    sheet.regions.append((item, np.ones(rgb.shape[:2], np.float32)))
    if rng.random() < 0.5:  # the sheen of the case's plastic or the sleeve's gloss
        sheet.rgb[:] = np.clip(0.85 * rgb + 0.15 * _metallic(np.ones_like(rgb), rng), 0, 1)
    return sheet


def _cover_close_up(photo: Photo, item: Item, rng: np.random.Generator) -> None:
    """One cover filling half the frame or more, on a table, a floor or a plain ground."""
    width, height = photo.size
    if rng.random() < 0.4:
        _plain_ground(photo, rng)
    sheet = _cover_sheet(item, rng)
    sheet_size = (sheet.alpha.shape[1], sheet.alpha.shape[0])
    aspect = sheet_size[0] / sheet_size[1]
    cover_w = min(target_width(photo, rng, COVER_AREA, aspect), width * 0.95, height * 0.95 * aspect)
    centre = (width * rng.uniform(0.42, 0.58), height * rng.uniform(0.42, 0.58))
    place(photo, sheet, homography(sheet_size, centre, cover_w, rng.normal(0, 10), 0.08, rng))


def wild(photo: Photo, items: list[Item], rng: np.random.Generator) -> None:
    """One mark or cover in close-up, or a few marks on the surfaces of the photograph."""
    width, height = photo.size
    logos = [item for item in items if item.kind == "logo"]
    covers = [item for item in items if item.kind == "album"]
    close_up = rng.random() < CLOSE_UP_SHARE
    if close_up and covers:
        _cover_close_up(photo, covers[0], rng)
        return
    if close_up:
        _plain_ground(photo, rng)
        logos = logos[:1]
    for index, item in enumerate(logos):
        aspect = item.alpha.shape[1] / max(item.alpha.shape[0], 1)
        area = CLOSE_UP_AREA if close_up else SURFACE_AREA
        mark_w = min(width * 0.95, target_width(photo, rng, area, aspect))
        if close_up:
            centre = (width * rng.uniform(0.4, 0.6), height * rng.uniform(0.4, 0.6))
        else:
            slot = (index + rng.uniform(0.2, 0.8)) / len(logos)
            centre = (width * slot, height * rng.uniform(0.2, 0.8))
        ground = _ground_under(photo, centre, mark_w / 2)
        sheet = _mark_sheet(item, 400, rng, ground)
        sheet_size = (sheet.alpha.shape[1], sheet.alpha.shape[0])
        tilt = 0.03 if close_up else 0.12
        place(photo, sheet, homography(sheet_size, centre, mark_w, rng.normal(0, 8), tilt, rng))
