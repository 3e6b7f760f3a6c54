"""Renditions of a logo reference: what a printed, worn, photographed copy of it looks like
once the detector has cropped it.

Why: the learned logo descriptor (features/logo_descriptor.py) must put a logo printed in
red on a black shirt, over artwork, folded and photographed, next to its clean
black-on-white reference, where SIFT finds almost nothing in common (ARCHITECTURE.md,
"What we already know"). These renditions are its training views. Only the reference
image is needed, not the design it was drawn from, so any reference can be rendered: a
synthetic one, or one scraped from Metal Archives.

Every step draws from the `rng` it is given, so a seed gives the same rendition.
"""

from __future__ import annotations

import cv2
import numpy as np

from data.art import artwork, fabric_texture, wall_texture
from data.compose import Sheet, cloth_warp
from data.degrade import camera, jpeg_quality
from data.imaging import (
    as_float,
    blend,
    contrasting_colour,
    ink_mask,
    random_colour,
    resize_to,
    tight_box,
    to_uint8,
    worn_print,
)
from data.logos import design_logo, render_reference
from data.names import band_name
from data.scenes import SHIRT_COLOURS


def _surface(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """What the logo is printed on: a shirt, a patch or poster, a wall, or artwork."""
    roll = rng.random()
    if roll < 0.45:
        colour = np.array(SHIRT_COLOURS[rng.integers(len(SHIRT_COLOURS))], np.float32)
        return fabric_texture(rng, width, height, colour)
    if roll < 0.65:
        return artwork(rng, width, height)
    if roll < 0.8:
        return wall_texture(rng, width, height)
    return fabric_texture(rng, width, height, random_colour(rng, saturation=(0, 0.8), value=(0.05, 1)))


def _stroke_change(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Ink bleed or thin print: strokes one or two pixels thicker or thinner."""
    size = int(rng.integers(1, 3)) * 2 + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    return cv2.dilate(mask, kernel) if rng.random() < 0.5 else cv2.erode(mask, kernel)


def _print(mask: np.ndarray, colours: np.ndarray, canvas: np.ndarray, x: int, y: int,
           rng: np.random.Generator) -> None:
    """Print `mask` onto `canvas` at (x, y), in its own `colours` or a contrasting ink,
    maybe with an outline in another colour, worn or faded."""
    height, width = mask.shape
    region = canvas[y:y + height, x:x + width]
    under = region[mask > 0.5].mean(axis=0) if (mask > 0.5).any() else region.mean(axis=(0, 1))
    own_colours = rng.random() < 0.2
    ink = colours if own_colours else np.broadcast_to(contrasting_colour(rng, under), region.shape)
    if rng.random() < 0.2:  # an outline around the letters, in a colour of its own
        size = int(rng.integers(2, 6)) * 2 + 1
        grown = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
        region[:] = blend(region, np.broadcast_to(contrasting_colour(rng, ink.reshape(-1, 3).mean(0)),
                                                  region.shape), grown)
    if rng.random() < 0.35:
        mask = worn_print(mask, rng, faded=0.7)
    region[:] = blend(region, ink, mask.astype(np.float32))


def _patch_edge(canvas: np.ndarray, box: tuple[int, int, int, int], rng: np.random.Generator) -> None:
    """The stitched border of a sewn-on patch around the logo."""
    x1, y1, x2, y2 = box
    pad = int(max(x2 - x1, y2 - y1) * rng.uniform(0.03, 0.1))
    thickness = int(rng.integers(2, 7))
    colour = tuple(float(c) for c in random_colour(rng, saturation=(0, 1), value=(0.1, 1)))
    cv2.rectangle(canvas, (x1 - pad, y1 - pad), (x2 + pad, y2 + pad), colour, thickness)


def _perspective(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator):
    """A small turn and a perspective tilt, as a camera held off-axis sees a print."""
    height, width = mask.shape
    source = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    jitter = rng.uniform(-1, 1, (4, 2)).astype(np.float32) * rng.uniform(0, 0.12) * [width, height]
    angle = np.deg2rad(rng.normal(0, 5))
    centre = np.float32([width / 2, height / 2])
    rotation = np.float32([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    target = (source + jitter - centre) @ rotation.T + centre
    matrix = cv2.getPerspectiveTransform(source, target.astype(np.float32))
    warp = {"dsize": (width, height), "flags": cv2.INTER_LINEAR, "borderMode": cv2.BORDER_REFLECT}
    return cv2.warpPerspective(image, matrix, **warp), cv2.warpPerspective(mask, matrix, **warp)


def _detector_crop(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Crop around the logo's ink the way a detector box would: loose, tight or shifted,
    sometimes cutting a little of the logo off."""
    box = tight_box(mask, 0.3) or (0, 0, mask.shape[1], mask.shape[0])
    return detector_box_crop(image, box, rng, (-0.06, 0.2), (-0.06, 0.25))


def detector_box_crop(image: np.ndarray, box, rng: np.random.Generator, grow_x: tuple[float, float],
                      grow_y: tuple[float, float]) -> np.ndarray:
    """`image` cropped to `box` (x1, y1, x2, y2) grown on each side by a random share of its
    size drawn from `grow_x` / `grow_y` (negative: shrunk), clipped to the image, at
    least 8 pixels a side: a box as a detector draws it."""
    x1, y1, x2, y2 = box
    width, height = x2 - x1, y2 - y1
    left, right = rng.uniform(*grow_x, 2) * width
    top, bottom = rng.uniform(*grow_y, 2) * height
    x1, x2 = int(max(0, x1 - left)), int(min(image.shape[1], x2 + right))
    y1, y2 = int(max(0, y1 - top)), int(min(image.shape[0], y2 + bottom))
    return image[y1:max(y2, y1 + 8), x1:max(x2, x1 + 8)]


def _occlude(crop: np.ndarray, rng: np.random.Generator) -> None:
    """Something in front of part of the logo: a hand, a strap, another patch."""
    height, width = crop.shape[:2]
    w, h = int(width * rng.uniform(0.1, 0.35)), int(height * rng.uniform(0.2, 0.7))
    x, y = int(rng.integers(0, max(1, width - w))), int(rng.integers(0, max(1, height - h)))
    crop[y:y + h, x:x + w] = random_colour(rng, saturation=(0, 0.6), value=(0.05, 0.9))


def render_print(reference: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One rendition of a reference logo as a detector crop of a photo: uint8 RGB.

    Printed in a new colour (or its own) on fabric, a wall or artwork, maybe with
    artwork right behind it, an outline, a patch border, wear; folded, tilted, cropped
    like a detector box, partly occluded, then through a phone camera at a low resolution
    with JPEG.
    """
    return _render_inked(*_inked(reference), rng)


def render_prints(reference: np.ndarray, rng: np.random.Generator, count: int) -> list[np.ndarray]:
    """`count` renditions (`render_print`, drawn one after the other from `rng`, so the
    same as `count` calls), the reference's ink found once: it is a third of a
    rendition's time."""
    inked = _inked(reference)
    return [_render_inked(*inked, rng) for _ in range(count)]


def _inked(reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The reference's ink mask and colours (float RGB), cropped to the ink."""
    reference = as_float(reference)
    reference = reference[..., :3] if reference.ndim == 3 else np.repeat(reference[..., None], 3, axis=2)
    mask = ink_mask(reference)
    box = tight_box(mask, 0.3) or (0, 0, mask.shape[1], mask.shape[0])
    return mask[box[1]:box[3], box[0]:box[2]], reference[box[1]:box[3], box[0]:box[2]]


def _render_inked(mask: np.ndarray, colours: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`render_print` of ink already found (`_inked`)."""
    width = int(rng.integers(140, 420))
    height = max(8, int(mask.shape[0] * width / mask.shape[1] * rng.uniform(0.85, 1.2)))
    mask, colours = resize_to(mask, width, height), resize_to(colours, width, height)
    if rng.random() < 0.3:
        mask = _stroke_change(mask, rng)

    pad_x, pad_y = int(width * 0.35), int(height * 0.6) + 8
    canvas = _surface(rng, width + 2 * pad_x, height + 2 * pad_y)
    if rng.random() < 0.4:  # artwork right behind the logo, fading out at its edges
        art_w, art_h = int(width * rng.uniform(0.9, 1.4)), int(height * rng.uniform(1.0, 2.5))
        art_w, art_h = min(art_w, canvas.shape[1]), min(art_h, canvas.shape[0])
        fade = np.minimum(np.linspace(0, 3, art_h)[:, None], np.linspace(0, 3, art_w)[None])
        fade = np.minimum(1.0, np.minimum(fade, fade[::-1, ::-1])) * rng.uniform(0.6, 1.0)
        ax, ay = (canvas.shape[1] - art_w) // 2, (canvas.shape[0] - art_h) // 2
        canvas[ay:ay + art_h, ax:ax + art_w] = blend(canvas[ay:ay + art_h, ax:ax + art_w],
                                                     artwork(rng, art_w, art_h), fade.astype(np.float32))
    _print(mask, colours, canvas, pad_x, pad_y, rng)
    full_mask = np.zeros(canvas.shape[:2], np.float32)
    full_mask[pad_y:pad_y + height, pad_x:pad_x + width] = mask
    if rng.random() < 0.2:
        _patch_edge(canvas, (pad_x, pad_y, pad_x + width, pad_y + height), rng)

    if rng.random() < 0.6:
        sheet = cloth_warp(Sheet(canvas, full_mask), rng, rng.uniform(0.004, 0.02))
        canvas, full_mask = sheet.rgb, sheet.alpha
    canvas, full_mask = _perspective(canvas, full_mask, rng)
    crop = np.ascontiguousarray(_detector_crop(canvas, full_mask, rng))
    if rng.random() < 0.2:
        _occlude(crop, rng)
    crop = camera(crop, rng)

    long_side = int(rng.integers(48, 320))
    scale = min(1.0, long_side / max(crop.shape[:2]))
    if scale < 1:
        crop = cv2.resize(crop, (max(8, int(crop.shape[1] * scale)), max(8, int(crop.shape[0] * scale))),
                          interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality(rng)])
    return cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)


def render_part(reference: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A rendition (`render_print`) of part of the logo only: a window over 50-85% of its
    ink's width, or of its height, at a random place.

    Why: a photo often shows less than the reference: a patch folded or cut by the frame,
    a symbol printed without the wordmark the reference stacks under it.
    """
    reference = as_float(reference)
    x1, y1, x2, y2 = tight_box(ink_mask(reference), 0.3) or (0, 0, reference.shape[1], reference.shape[0])
    if rng.random() < 0.7:
        keep = int((x2 - x1) * rng.uniform(0.5, 0.85))
        x1 = x1 + int(rng.integers(0, x2 - x1 - keep + 1))
        x2 = x1 + max(keep, 8)
    else:
        keep = int((y2 - y1) * rng.uniform(0.5, 0.85))
        y1 = y1 + int(rng.integers(0, y2 - y1 - keep + 1))
        y2 = y1 + max(keep, 8)
    return render_print(np.ascontiguousarray(reference[y1:y2, x1:x2]), rng)


def render_beside(reference: np.ndarray, other: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A rendition (`render_print`) of the logo printed with another mark beside, above or
    below it (the ink of `other`, in the logo's own ink colour).

    Why: a photo often shows more than the reference: a wordmark beside the symbol the
    reference shows alone, a tagline, another band's logo on the same print.
    """
    reference = as_float(reference)
    other = as_float(other)
    mask = ink_mask(reference)
    x1, y1, x2, y2 = tight_box(mask, 0.3) or (0, 0, reference.shape[1], reference.shape[0])
    logo, mask = reference[y1:y2, x1:x2], mask[y1:y2, x1:x2]
    other_mask = ink_mask(other)
    ox1, oy1, ox2, oy2 = tight_box(other_mask, 0.3) or (0, 0, other.shape[1], other.shape[0])
    other_mask = other_mask[oy1:oy2, ox1:ox2]
    height, width = mask.shape
    beside = rng.random() < 0.5
    size = rng.uniform(0.4, 1.0) * (height if beside else width)
    scale = size / (other_mask.shape[0] if beside else other_mask.shape[1])
    other_mask = resize_to(other_mask, max(4, int(other_mask.shape[1] * scale)),
                           max(4, int(other_mask.shape[0] * scale)))
    gap = int(rng.uniform(0.05, 0.3) * (height if beside else width) / 2)
    oh, ow = other_mask.shape
    canvas_h = max(height, oh) if beside else height + gap + oh
    canvas_w = width + gap + ow if beside else max(width, ow)
    background = np.median(np.concatenate([reference[0], reference[-1]]), axis=0)
    ink = logo[mask > 0.5].mean(axis=0) if (mask > 0.5).any() else 1 - background
    canvas = np.broadcast_to(background, (canvas_h, canvas_w, 3)).copy()
    first = rng.random() < 0.5  # the other mark left of (or above) the logo
    if beside:
        lx, ox = (ow + gap, 0) if first else (0, width + gap)
        ly, oy = (canvas_h - height) // 2, (canvas_h - oh) // 2
    else:
        ly, oy = (oh + gap, 0) if first else (0, height + gap)
        lx, ox = (canvas_w - width) // 2, (canvas_w - ow) // 2
    canvas[ly:ly + height, lx:lx + width] = logo
    region = canvas[oy:oy + oh, ox:ox + ow]
    region[:] = blend(region, np.broadcast_to(ink, region.shape), other_mask.astype(np.float32))
    return render_print(np.clip(canvas, 0, 1), rng)


def generated_mark(rng: np.random.Generator) -> np.ndarray:
    """The reference (uint8 RGB) of a generated band logo drawn from `rng`: another mark to
    print beside a logo (`render_beside`)."""
    return to_uint8(render_reference(design_logo(band_name(rng), rng), rng))


def render_as_seen(reference: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A rendition as photos show a logo: the whole print (`render_print`) half the time,
    part of it (`render_part`) or the logo beside a generated mark (`render_beside`) a
    quarter of the time each.

    Why: a real photo often shows less or more than the reference (another version of
    the mark, a wordmark beside it). A calibration on whole prints alone sees only easy
    right answers, and states too low a probability for the real crops that score below
    them.
    """
    roll = rng.random()
    if roll < 0.25:
        return render_part(reference, rng)
    if roll < 0.5:
        return render_beside(reference, generated_mark(rng), rng)
    return render_print(reference, rng)
