"""Real-life scenes: a shirt print, a jacket of patches, posters on a wall, a cover held in a
hand, a record-shop shelf. Each builder takes the items to show and returns the photo.

Printed logos take a colour of the print, not of the reference (red on a black shirt,
white on denim), often with artwork behind them: the case a matcher must survive.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw

from data.art import artwork, fabric_texture, photo_crop, wall_texture
from data.compose import Item, Photo, Sheet, cloth_warp, homography, paste, place, region_rect
from data.fonts import load_font, pick_font
from data.imaging import (
    blend,
    contrasting_colour,
    fill,
    hsv_colour,
    luminance,
    resize_to,
    soft_blur,
    tight_box,
    to_float,
    to_uint8,
    worn_print,
)

SHIRT_COLOURS = ((0.05, 0.05, 0.05), (0.05, 0.05, 0.05), (0.05, 0.05, 0.05), (0.85, 0.85, 0.82),
                 (0.35, 0.35, 0.37), (0.08, 0.1, 0.25), (0.45, 0.05, 0.08), (0.1, 0.22, 0.1))
DISTRACTOR_WORDS = ("SALE", "OPEN", "COFFEE", "TICKETS", "Exit", "50% OFF", "Vinyl", "Records",
                    "Merch", "Rock Bar", "Tour 2024", "Live Tonight", "No Smoking", "Welcome",
                    "Books", "Fresh", "Menu", "Jazz", "Cash only", "Pop")


def as_colour(values) -> np.ndarray:
    return np.array(values, np.float32)


def logo_patch(item: Item, width: int, rng: np.random.Generator,
                background: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The logo as printed: resized ink in a print colour that contrasts with `background`."""
    scale = width / item.alpha.shape[1]
    height = max(4, int(item.alpha.shape[0] * scale))
    alpha = np.clip(resize_to(item.alpha, width, height), 0, 1)
    own_colours = resize_to(item.image, width, height)
    ink = own_colours[alpha > 0.5]
    legible = len(ink) and abs(luminance(ink.mean(axis=0)) - luminance(background)) > 0.35
    if legible and rng.random() < 0.35:  # printed in its own reference colours
        rgb = own_colours
    else:
        rgb = fill((height, width), contrasting_colour(rng, background))
    if rng.random() < 0.4:
        alpha = worn_print(alpha, rng)
    return rgb, alpha


def logo_region(alpha: np.ndarray) -> np.ndarray:
    """A logo's object region: the rectangle around its ink."""
    return region_rect(alpha.shape, tight_box(alpha, 0.3) or (0, 0, 0, 0))


def cover_patch(item: Item, width: int) -> tuple[np.ndarray, np.ndarray]:
    return resize_to(item.image, width, width), np.ones((width, width), np.float32)


def opaque_sheet(rgb: np.ndarray) -> Sheet:
    return Sheet(rgb, np.ones(rgb.shape[:2], np.float32))


def shirt_outline(width: int, height: int) -> np.ndarray:
    """A T-shirt silhouette (body, sleeves, neckline) as an alpha mask."""
    w, h = width, height
    points = np.array([[0.32, 0.02], [0.42, 0.06], [0.58, 0.06], [0.68, 0.02], [0.98, 0.16],
                       [0.9, 0.36], [0.78, 0.3], [0.8, 0.99], [0.2, 0.99], [0.22, 0.3],
                       [0.1, 0.36], [0.02, 0.16]]) * [w, h]
    mask = np.zeros((h, w), np.float32)
    cv2.fillPoly(mask, [points.astype(np.int32)], 1.0, cv2.LINE_AA)
    cv2.ellipse(mask, (w // 2, int(h * 0.05)), (int(w * 0.09), int(h * 0.05)), 0, 0, 180, 0.0, -1)
    return mask


def distractors(photo: Photo, rng: np.random.Generator) -> None:
    """Unannotated clutter: signs and words in plain faces, stickers and shapes."""
    width, height = photo.size
    image = Image.fromarray(to_uint8(photo.rgb))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(0, 6))):
        font = load_font(pick_font(rng, blackletter_share=0.0), int(height * rng.uniform(0.02, 0.07)))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.text((x, y), DISTRACTOR_WORDS[rng.integers(len(DISTRACTOR_WORDS))], font=font,
                      fill=colour)
        else:
            size = int(height * rng.uniform(0.03, 0.1))
            shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
            shape((x, y, x + size, y + size), fill=colour)
    photo.rgb[:] = to_float(np.asarray(image))


def background(rng: np.random.Generator, width: int, height: int) -> Photo:
    """A cluttered real-life background: a photograph or a wall, with distractors."""
    rgb = photo_crop(rng, width, height) if rng.random() < 0.7 else wall_texture(rng, width, height)
    rgb = cv2.GaussianBlur(rgb, (0, 0), rng.uniform(0.5, 3.0))
    photo = Photo(np.ascontiguousarray(rgb, dtype=np.float32))
    distractors(photo, rng)
    return photo


def target_width(photo: Photo, rng: np.random.Generator, area_range, aspect: float) -> float:
    """A sheet width that makes an object of this aspect cover a fraction of the photo area.

    Item size, as in detection benchmarks, is sqrt(box area / photo area); the dataset
    keeps it within 3%-60%, so area fractions stay within about 0.1%-36%.
    """
    width, height = photo.size
    area = np.exp(rng.uniform(np.log(area_range[0]), np.log(area_range[1]))) * width * height
    return float(np.sqrt(area * aspect))


def shirt(photo: Photo, items: list[Item], rng: np.random.Generator) -> None:
    """A band shirt: the logo on the chest, maybe over artwork or above the cover art."""
    size = 720
    colour = as_colour(SHIRT_COLOURS[rng.integers(len(SHIRT_COLOURS))])
    sheet = Sheet(fabric_texture(rng, size, size, colour), shirt_outline(size, size))
    logo = next((item for item in items if item.kind == "logo"), None)
    cover = next((item for item in items if item.kind == "album"), None)
    y = int(size * 0.2)
    if logo is not None:
        logo_width = int(size * rng.uniform(0.4, 0.56))
        rgb, alpha = logo_patch(logo, logo_width, rng, colour)
        x = (size - logo_width) // 2
        if cover is None and rng.random() < 0.5:  # artwork behind the logo
            art_h = int(alpha.shape[0] * rng.uniform(1.5, 2.5))
            art = artwork(rng, logo_width, art_h)
            fade = np.minimum(1.0, np.linspace(0, 3, art_h)[:, None] * np.linspace(0, 3, logo_width)[None])
            fade = np.minimum(fade, fade[::-1, ::-1])
            paste(sheet, art, (fade * rng.uniform(0.7, 1.0)).astype(np.float32), x, y)
        paste(sheet, rgb, alpha, x, y, logo, logo_region(alpha))
        y += alpha.shape[0] + int(size * 0.03)
    if cover is not None:
        print_cover(sheet, cover, y, rng)
    lay_shirt(photo, sheet, rng)


def print_cover(sheet: Sheet, cover: Item, y: int, rng: np.random.Generator, share=(0.36, 0.5),
                bottom: float = 0.95) -> None:
    """A cover printed centred on a square shirt sheet, from `y` down (above `bottom`)."""
    size = sheet.alpha.shape[1]
    cover_width = int(size * rng.uniform(*share))
    rgb, alpha = cover_patch(cover, cover_width)
    paste(sheet, rgb, alpha, (size - cover_width) // 2, min(y, int(size * bottom) - cover_width), cover)


def lay_shirt(photo: Photo, sheet: Sheet, rng: np.random.Generator, scale=(0.8, 1.2), across=(0.35, 0.65),
              down=(0.4, 0.65)) -> None:
    """A square shirt sheet folded a little and laid in the photo, `scale` x its short side."""
    size = sheet.alpha.shape[1]
    sheet = cloth_warp(sheet, rng, rng.uniform(0.005, 0.02))
    width, height = photo.size
    shirt_width = min(width, height) * rng.uniform(*scale)
    centre = (width * rng.uniform(*across), height * rng.uniform(*down))
    place(photo, sheet, homography((size, size), centre, shirt_width, rng.normal(0, 6), 0.05, rng))


def jacket(photo: Photo, items: list[Item], rng: np.random.Generator) -> None:
    """A denim or leather jacket back with sewn-on patches, one item each."""
    width, height = 800, 880
    colour = hsv_colour(0.6, 0.5, 0.45) if rng.random() < 0.5 else as_colour((0.06, 0.05, 0.05))
    sheet = opaque_sheet(fabric_texture(rng, width, height, colour))
    for x in (int(width * 0.33), int(width * 0.67)):  # seams
        cv2.line(sheet.rgb, (x, 0), (x, height), tuple(float(c) * 0.7 for c in colour), 4)
    columns = 2 if len(items) > 2 else 1
    rows = int(np.ceil(len(items) / columns))
    cell_w, cell_h = width / columns, height / rows
    for index, item in enumerate(items):
        row, column = divmod(index, columns)
        patch_w = int(min(cell_w * rng.uniform(0.6, 0.85), width * 0.45))
        patch_colour = as_colour((0.02, 0.02, 0.02)) if rng.random() < 0.6 else hsv_colour(
            rng.random(), rng.uniform(0, 0.6), rng.uniform(0.1, 0.9))
        if item.kind == "album":
            rgb, alpha = cover_patch(item, patch_w)
            patch_h = patch_w
            region = None
        else:
            inner = int(patch_w * 0.85)
            ink_rgb, ink_alpha = logo_patch(item, inner, rng, patch_colour)
            patch_h = min(int(cell_h * 0.9), ink_alpha.shape[0] + int(patch_w * 0.15))
            rgb = fill((patch_h, patch_w), patch_colour)
            alpha = np.ones((patch_h, patch_w), np.float32)
            oy, ox = max(0, (patch_h - ink_alpha.shape[0]) // 2), (patch_w - inner) // 2
            ink_alpha = ink_alpha[:patch_h - oy]
            rgb[oy:oy + ink_alpha.shape[0], ox:ox + inner] = blend(
                rgb[oy:oy + ink_alpha.shape[0], ox:ox + inner], ink_rgb[:ink_alpha.shape[0]], ink_alpha)
            region = np.zeros((patch_h, patch_w), np.float32)
            region[oy:oy + ink_alpha.shape[0], ox:ox + inner] = logo_region(ink_alpha)
        border = max(3, patch_w // 40)  # an embroidered edge
        edge = tuple(float(c) for c in contrasting_colour(rng, patch_colour))
        cv2.rectangle(rgb, (0, 0), (patch_w - 1, patch_h - 1), edge, border)
        x = int(column * cell_w + (cell_w - patch_w) / 2 + rng.normal(0, cell_w * 0.03))
        y = int(row * cell_h + (cell_h - patch_h) / 2 + rng.normal(0, cell_h * 0.03))
        paste(sheet, rgb, alpha, x, y, item, region)
    sheet = cloth_warp(sheet, rng, rng.uniform(0.003, 0.012))
    pw, ph = photo.size
    centre = (pw * rng.uniform(0.4, 0.6), ph * rng.uniform(0.4, 0.6))
    place(photo, sheet, homography((width, height), centre, min(pw, ph) * rng.uniform(0.75, 1.1),
                                   rng.normal(0, 5), 0.06, rng))


def posters(photo: Photo, items: list[Item], rng: np.random.Generator) -> None:
    """Posters on a wall: covers printed large, or gig posters with the logo over artwork."""
    width, height = photo.size
    photo.rgb[:] = wall_texture(rng, width, height)
    slots = np.linspace(0, width, len(items) + 1)
    for index, item in enumerate(items):
        if item.kind == "album":
            rgb, alpha = cover_patch(item, 600)
            sheet = opaque_sheet(rgb.copy())
            sheet.regions.append((item, np.ones(alpha.shape, np.float32)))
        else:
            poster_w, poster_h = 600, int(600 * rng.uniform(1.2, 1.5))
            sheet = opaque_sheet(artwork(rng, poster_w, poster_h))
            logo_w = int(poster_w * rng.uniform(0.6, 0.9))
            under = sheet.rgb[: poster_h // 4].reshape(-1, 3).mean(axis=0)
            rgb, alpha = logo_patch(item, logo_w, rng, under)
            paste(sheet, rgb, alpha, (poster_w - logo_w) // 2, int(poster_h * 0.05), item,
                  logo_region(alpha))
        sheet = cloth_warp(sheet, rng, rng.uniform(0.0, 0.006))
        slot_w = slots[index + 1] - slots[index]
        target = min(slot_w * 0.95, target_width(photo, rng, (0.08, 0.22), 0.8))
        centre = ((slots[index] + slots[index + 1]) / 2, height * rng.uniform(0.35, 0.65))
        sheet_size = (sheet.alpha.shape[1], sheet.alpha.shape[0])
        place(photo, sheet, homography(sheet_size, centre, target, rng.normal(0, 4), 0.08, rng))


def _hand(photo: Photo, rng: np.random.Generator, anchor: tuple[float, float], scale: float) -> None:
    """A hand holding the item: palm and fingers in a skin tone, with soft shading."""
    width, height = photo.size
    alpha = np.zeros((height, width), np.float32)
    ax, ay = anchor
    angle = rng.uniform(0, 360)
    cv2.ellipse(alpha, (int(ax), int(ay)), (int(scale * 0.5), int(scale * 0.35)), angle, 0, 360, 1.0, -1)
    direction = np.deg2rad(angle)
    for finger in range(4):
        offset = (finger - 1.5) * scale * 0.18
        base = (ax + np.cos(direction + np.pi / 2) * offset, ay + np.sin(direction + np.pi / 2) * offset)
        tip = (base[0] + np.cos(direction) * scale * 0.75, base[1] + np.sin(direction) * scale * 0.75)
        cv2.line(alpha, tuple(int(v) for v in base), tuple(int(v) for v in tip), 1.0,
                 max(3, int(scale * 0.14)), cv2.LINE_AA)
    alpha = cv2.GaussianBlur(alpha, (0, 0), 1.5)
    skin = hsv_colour(rng.uniform(0.02, 0.08), rng.uniform(0.25, 0.6), rng.uniform(0.35, 0.95))
    shade = 0.75 + 0.25 * soft_blur(alpha, scale * 0.1)
    photo.rgb[:] = blend(photo.rgb, fill((height, width), skin) * shade[..., None], alpha)
    photo.occlude(alpha)


def in_hand(photo: Photo, items: list[Item], rng: np.random.Generator) -> None:
    """A cover (or a small logo sticker) held up to the camera, partly under the fingers."""
    width, height = photo.size
    for item in items:
        if item.kind == "album":
            rgb, _ = cover_patch(item, 600)
            sheet = opaque_sheet(rgb.copy())
            sheet.regions.append((item, np.ones((600, 600), np.float32)))
        else:
            paper = as_colour((0.95, 0.95, 0.92)) if rng.random() < 0.5 else as_colour((0.05, 0.05, 0.05))
            rgb, alpha = logo_patch(item, 560, rng, paper)
            sheet = opaque_sheet(fill((alpha.shape[0] + 40, 600), paper))
            paste(sheet, rgb, alpha, 20, 20, item, logo_region(alpha))
        sheet_size = (sheet.alpha.shape[1], sheet.alpha.shape[0])
        target = target_width(photo, rng, (0.1, 0.22), sheet_size[0] / sheet_size[1])
        target = min(target, width * 0.9)
        centre = (width * rng.uniform(0.3, 0.7), height * rng.uniform(0.3, 0.7))
        matrix = homography(sheet_size, centre, target, rng.normal(0, 15), 0.12, rng)
        place(photo, sheet, matrix)
        corner = cv2.perspectiveTransform(np.array([[[0, sheet_size[1]]]], np.float32), matrix)[0, 0]
        _hand(photo, rng, (float(corner[0]), float(corner[1])), target * rng.uniform(0.25, 0.4))


def shelf(photo: Photo, items: list[Item], rng: np.random.Generator) -> None:
    """Covers standing in a row on a record-shop shelf, overlapping, seen at an angle."""
    width, height = photo.size
    wood = fabric_texture(rng, width, height, hsv_colour(0.07, 0.6, rng.uniform(0.2, 0.6)))
    photo.rgb[:] = wood
    count = len(items)
    cover_w = min(width / (count * 0.8 + 0.4), min(width, height) * 0.5)
    row = homography((width, height), (width / 2, height / 2), width * rng.uniform(0.9, 1.05),
                     rng.normal(0, 3), 0.06, rng)
    y = height * rng.uniform(0.25, 0.45)
    for index, item in enumerate(items):
        size = int(cover_w * rng.uniform(0.85, 1.0))
        x = index * cover_w * 0.8 + rng.normal(0, cover_w * 0.04)
        rgb, alpha = cover_patch(item, 600) if item.kind == "album" else (None, None)
        if rgb is None:
            rgb = fill((600, 600), as_colour((0.04, 0.04, 0.04)))
            ink_rgb, ink_alpha = logo_patch(item, 520, rng, rgb[0, 0])
            sheet = opaque_sheet(rgb)
            paste(sheet, ink_rgb, ink_alpha, 40, 40, item, logo_region(ink_alpha))
        else:
            sheet = opaque_sheet(rgb.copy())
            sheet.regions.append((item, np.ones((600, 600), np.float32)))
        local = np.array([[size / 600, 0, x], [0, size / 600, y + rng.normal(0, size * 0.03)],
                          [0, 0, 1]], np.float64)
        place(photo, sheet, row @ local)


SCENES = {"shirt": shirt, "jacket": jacket, "posters": posters, "in_hand": in_hand, "shelf": shelf}
#: (kinds of items the scene shows) -> how many of each it takes, as (min, max).
SCENE_ITEMS = {
    "shirt": (("logo", 1, 1), ("album", 0, 1)),
    "jacket": (("logo", 1, 5), ("album", 0, 2)),
    "posters": (("logo", 0, 2), ("album", 0, 2)),
    "in_hand": (("album", 1, 1), ("logo", 0, 1)),
    "shelf": (("album", 2, 5),),
}
#: How often each scene is drawn: logo-heavy scenes more often, so that logos (the harder
#: kind) are at least as common as covers in the photos.
SCENE_WEIGHTS = {"shirt": 0.25, "jacket": 0.3, "posters": 0.17, "in_hand": 0.13, "shelf": 0.15}
