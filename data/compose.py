"""Placing flat items (a shirt, a patch, a cover) into a photo, and tracking what stays visible.

An item is built flat as a `Sheet`: colour, alpha, and a region mask for each annotated
object on it. Placing it warps all of them together (cloth folds, then a perspective
homography), so the ground-truth box follows the object exactly through every
distortion, and later sheets that cover it reduce its visible region (occlusion).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from data.imaging import blend, smooth_field, tight_box


@dataclass
class Item:
    """One annotated thing to show: a band's logo or one of its album covers."""

    kind: str                     # "logo" or "album"
    band_id: int                  # 0 for a band that is not among the references
    album_id: int | None
    image: np.ndarray             # float32 RGB: the cover, or the logo ink colour plane
    alpha: np.ndarray | None = None  # logo ink alpha (None for covers: opaque)


@dataclass
class Sheet:
    """A flat item before placement: RGB, alpha, and (item, region mask) pairs."""

    rgb: np.ndarray
    alpha: np.ndarray
    regions: list[tuple[Item, np.ndarray]] = field(default_factory=list)


@dataclass
class Placed:
    """An annotated object in photo coordinates, with its visible region so far."""

    item: Item
    visible: np.ndarray           # bool HxW
    full_area: int                # region pixels inside the photo before any occlusion
    truncated: bool


@dataclass
class Photo:
    """A photo under construction: its pixels and the objects placed on it."""

    rgb: np.ndarray
    objects: list[Placed] = field(default_factory=list)

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.shape[1], self.rgb.shape[0]

    def occlude(self, alpha: np.ndarray, origin: tuple[int, int] = (0, 0)) -> None:
        """Anything opaque drawn now (alpha placed at `origin`) hides the objects underneath it."""
        x, y = origin
        height, width = alpha.shape
        uncovered = alpha <= 0.5
        for placed in self.objects:
            placed.visible[y:y + height, x:x + width] &= uncovered


def region_rect(shape: tuple[int, int], box: tuple[int, int, int, int]) -> np.ndarray:
    """A float mask of `shape` that is 1 inside box = (x1, y1, x2, y2)."""
    mask = np.zeros(shape, np.float32)
    x1, y1, x2, y2 = box
    mask[max(0, y1):y2, max(0, x1):x2] = 1.0
    return mask


def paste(sheet: Sheet, rgb: np.ndarray, alpha: np.ndarray, x: int, y: int,
          item: Item | None = None, region: np.ndarray | None = None) -> None:
    """Paste an (rgb, alpha) patch onto a sheet at (x, y), optionally as an annotated object.

    The patch is clipped to the sheet. Objects already on the sheet lose what it covers.
    """
    height, width = alpha.shape
    sx1, sy1 = max(0, x), max(0, y)
    sx2, sy2 = min(sheet.alpha.shape[1], x + width), min(sheet.alpha.shape[0], y + height)
    if sx2 <= sx1 or sy2 <= sy1:
        return
    patch_alpha = alpha[sy1 - y:sy2 - y, sx1 - x:sx2 - x]
    target = sheet.rgb[sy1:sy2, sx1:sx2]
    target[:] = blend(target, rgb[sy1 - y:sy2 - y, sx1 - x:sx2 - x], patch_alpha)
    np.maximum(sheet.alpha[sy1:sy2, sx1:sx2], patch_alpha, out=sheet.alpha[sy1:sy2, sx1:sx2])
    for _, mask in sheet.regions:
        mask[sy1:sy2, sx1:sx2] *= patch_alpha < 0.5
    if item is not None:
        full = np.zeros(sheet.alpha.shape, np.float32)
        source = region if region is not None else (alpha > 0.05).astype(np.float32)
        full[sy1:sy2, sx1:sx2] = source[sy1 - y:sy2 - y, sx1 - x:sx2 - x]
        sheet.regions.append((item, full))


def cloth_warp(sheet: Sheet, rng: np.random.Generator, strength: float) -> Sheet:
    """Non-rigid folds: a smooth displacement field plus the shading the folds cast."""
    height, width = sheet.alpha.shape
    amplitude = strength * max(height, width)
    cells = int(rng.integers(3, 7))
    dx = smooth_field(rng, (height, width), cells) * amplitude
    dy = smooth_field(rng, (height, width), cells) * amplitude
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    map_x, map_y = xs + dx, ys + dy

    def warp(image):
        return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)

    def warp_region(mask):
        """The same as warp(mask), computed only where the mask can land: within the
        displacement's reach of its support (a small patch on a big sheet costs its size)."""
        box = tight_box(mask, 0.0)
        if box is None:
            return np.zeros_like(mask)
        reach = int(np.ceil(amplitude)) + 2
        x1, y1 = max(0, box[0] - reach), max(0, box[1] - reach)
        x2, y2 = min(width, box[2] + reach), min(height, box[3] + reach)
        warped = np.zeros_like(mask)
        warped[y1:y2, x1:x2] = cv2.remap(mask, map_x[y1:y2, x1:x2], map_y[y1:y2, x1:x2], cv2.INTER_LINEAR,
                                         borderMode=cv2.BORDER_CONSTANT)
        return warped

    slope = np.gradient(dy, axis=0) + np.gradient(dx, axis=1)
    shading = np.clip(1.0 + slope * rng.uniform(1.5, 4.0), 0.55, 1.3)
    rgb = np.clip(warp(sheet.rgb) * shading[..., None], 0, 1)
    return Sheet(rgb, warp(sheet.alpha), [(item, warp_region(mask)) for item, mask in sheet.regions])


def homography(sheet_size: tuple[int, int], centre: tuple[float, float], width: float,
               angle_deg: float, perspective: float, rng: np.random.Generator) -> np.ndarray:
    """Map a w x h sheet to a quad of the given centre and width, turned, in perspective.

    `perspective` is the corner jitter as a fraction of the quad size (0 = affine).
    """
    sheet_w, sheet_h = sheet_size
    height = width * sheet_h / sheet_w
    corners = np.array([[-width / 2, -height / 2], [width / 2, -height / 2],
                        [width / 2, height / 2], [-width / 2, height / 2]], np.float32)
    theta = np.deg2rad(angle_deg)
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]], np.float32)
    quad = corners @ rotation.T + np.array(centre, np.float32)
    quad += rng.uniform(-1, 1, size=(4, 2)).astype(np.float32) * perspective * max(width, height)
    source = np.array([[0, 0], [sheet_w, 0], [sheet_w, sheet_h], [0, sheet_h]], np.float32)
    return cv2.getPerspectiveTransform(source, quad)


def place(photo: Photo, sheet: Sheet, matrix: np.ndarray) -> None:
    """Warp a sheet into the photo with `matrix`, composite it, and register its objects.

    Only the photo window the sheet lands in is warped and blended: a patch on a jacket
    or a cover on a shelf costs its own size, not the photo's.
    """
    width, height = photo.size
    sheet_h, sheet_w = sheet.alpha.shape
    outline = np.array([[[0, 0], [sheet_w, 0], [sheet_w, sheet_h], [0, sheet_h]]], np.float32)
    corners = cv2.perspectiveTransform(outline, matrix)[0]
    x1, y1 = np.clip(np.floor(corners.min(axis=0)).astype(int) - 1, 0, [width, height])
    x2, y2 = np.clip(np.ceil(corners.max(axis=0)).astype(int) + 1, 0, [width, height])
    if x2 <= x1 or y2 <= y1:
        return
    to_window = np.array([[1, 0, -x1], [0, 1, -y1], [0, 0, 1]], np.float64) @ matrix

    def warp(image):
        return cv2.warpPerspective(image, to_window, (int(x2 - x1), int(y2 - y1)), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_CONSTANT, borderValue=0)

    alpha = np.clip(warp(sheet.alpha), 0, 1)
    window = photo.rgb[y1:y2, x1:x2]
    window[:] = blend(window, warp(sheet.rgb), alpha)
    photo.occlude(alpha, (int(x1), int(y1)))
    for item, mask in sheet.regions:
        support = tight_box(mask, 0.0)
        if support is None:
            continue
        # warp the region within the window only where its support lands (patches are small)
        ring = np.array([[[support[0] - 2, support[1] - 2], [support[2] + 2, support[1] - 2],
                          [support[2] + 2, support[3] + 2], [support[0] - 2, support[3] + 2]]], np.float32)
        landed = cv2.perspectiveTransform(ring, matrix)[0]
        rx1, ry1 = np.clip(np.floor(landed.min(axis=0)).astype(int) - 1, [x1, y1], [x2, y2])
        rx2, ry2 = np.clip(np.ceil(landed.max(axis=0)).astype(int) + 1, [x1, y1], [x2, y2])
        if rx2 <= rx1 or ry2 <= ry1:
            continue
        to_region = np.array([[1, 0, -rx1], [0, 1, -ry1], [0, 0, 1]], np.float64) @ matrix
        inside = cv2.warpPerspective(mask, to_region, (int(rx2 - rx1), int(ry2 - ry1)),
                                     flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT) > 0.5
        area = int(inside.sum())
        if area == 0:
            continue
        visible = np.zeros((height, width), bool)
        visible[ry1:ry2, rx1:rx2] = inside
        box = tight_box(mask)
        corners = np.array([[box[0], box[1]], [box[2], box[1]], [box[2], box[3]], [box[0], box[3]]],
                           np.float32)[None]
        projected = cv2.perspectiveTransform(corners, matrix)[0]
        truncated = bool((projected < -1).any() or (projected[:, 0] > width + 1).any()
                         or (projected[:, 1] > height + 1).any())
        photo.objects.append(Placed(item, visible, area, truncated))
