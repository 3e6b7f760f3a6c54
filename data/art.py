"""Real photographs and procedural art: the raw material of covers, prints and backgrounds.

Real photographs come from packages on every install (scikit-image's and scikit-learn's
bundled sample photos) plus, when present, photo folders of the machine (for example
Debian's mate-backgrounds, installed by `scripts/install-assets`) and `$KYB_PHOTO_PATH`.
Procedural art (clouds, flames, mountains, forests, sunbursts, geometry) fills the gap,
because a few dozen photographs alone would make every cover look alike.

Real album covers never share artwork, so covers take their photographs from
`photo_windows`: disjoint squares of the library, each given to at most one cover of a
dataset (once as it is, once mirrored, which SIFT cannot match to the original). Covers
beyond the windows get procedural art with sharp detail drawn over it (`cover_artwork`),
unique by its seed. Scenes, prints and posters still crop photographs freely.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from data.imaging import (
    fractal_noise,
    gaussian_noise,
    hsv_colour,
    random_colour,
    resize_to,
    to_float,
)

SYSTEM_PHOTO_DIRS = ("/usr/share/backgrounds/mate/nature", "/usr/share/backgrounds/gnome",
                     "/usr/share/wallpapers")
PHOTO_PATH_ENV = "KYB_PHOTO_PATH"
#: skimage sample images that are colour photographs of real scenes.
SKIMAGE_PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png",
                  "brick.png", "grass.png", "gravel.png", "hubble_deep_field.jpg", "ihc.png",
                  "retina.jpg", "color.png")
SKIMAGE_GREY_PHOTOS = ("camera.png", "moon.png", "page.png", "text.png", "coins.png")
PHOTO_LONG_SIDE = 1024
#: A cover window's side: half the photo's short side, but never below this many pixels.
MIN_WINDOW_SIDE = 192
COLORMAPS = ("inferno", "magma", "bone", "copper", "gray", "Reds", "Blues", "Purples", "twilight",
             "cividis", "hot", "afmhot", "gist_heat", "ocean", "pink", "winter", "autumn")


def _photo_files() -> list[Path]:
    import skimage
    import sklearn

    skimage_dir = Path(skimage.__file__).parent / "data"
    files = [skimage_dir / name for name in SKIMAGE_PHOTOS + SKIMAGE_GREY_PHOTOS]
    files += sorted((Path(sklearn.__file__).parent / "datasets" / "images").glob("*.jpg"))
    folders = [p for p in os.environ.get(PHOTO_PATH_ENV, "").split(os.pathsep) if p]
    for folder in list(SYSTEM_PHOTO_DIRS) + folders:
        if Path(folder).is_dir():
            files += sorted(p for p in Path(folder).rglob("*")
                            if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    return [p for p in files if p.exists()]


def without_png_profile(data: bytes) -> bytes:
    """PNG `data` without its iCCP chunk (the embedded colour profile).

    scikit-image's page.png carries a malformed one, and libpng then writes a warning to
    stderr in every process that reads it. OpenCV ignores profiles, so the pixels decoded
    are the same with or without it.
    """
    kept, position = [data[:8]], 8
    while position + 8 <= len(data):
        end = position + 12 + int.from_bytes(data[position:position + 4], "big")
        if data[position + 4:position + 8] != b"iCCP":
            kept.append(data[position:end])
        position = end
    return b"".join(kept)


def _load_photo(path: Path) -> np.ndarray | None:
    """Decode a photo downscaled to PHOTO_LONG_SIDE (huge wallpapers decode at reduced size)."""
    flags = cv2.IMREAD_COLOR
    if path.stat().st_size > 4_000_000:
        flags = cv2.IMREAD_REDUCED_COLOR_4
    if path.suffix.lower() == ".png":
        image = cv2.imdecode(np.frombuffer(without_png_profile(path.read_bytes()), np.uint8), flags)
    else:
        image = cv2.imread(str(path), flags)
    if image is None or min(image.shape[:2]) < 64:
        return None
    image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    scale = PHOTO_LONG_SIDE / max(image.shape[:2])
    if scale < 1:
        image = resize_to(image, int(image.shape[1] * scale), int(image.shape[0] * scale))
    return to_float(image)


@functools.lru_cache(maxsize=1)
def photo_library() -> tuple[np.ndarray, ...]:
    """Every usable photograph, decoded once per process, in a fixed order."""
    photos = (_load_photo(path) for path in _photo_files())
    return tuple(photo for photo in photos if photo is not None)


def photo_crop(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A random crop of a random photograph, flipped and rescaled to width x height."""
    library = photo_library()
    photo = library[rng.integers(len(library))]
    ph, pw = photo.shape[:2]
    aspect = width / height
    crop_w = int(min(pw, ph * aspect) * rng.uniform(0.35, 1.0))
    crop_h = max(8, int(crop_w / aspect))
    crop_w = max(8, crop_w)
    x = int(rng.integers(0, max(1, pw - crop_w + 1)))
    y = int(rng.integers(0, max(1, ph - crop_h + 1)))
    crop = photo[y:y + crop_h, x:x + crop_w]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    return resize_to(np.ascontiguousarray(crop), width, height)


@dataclass(frozen=True)
class PhotoWindow:
    """A square of one library photograph, used at most once per dataset."""

    photo: int
    x: int
    y: int
    side: int
    mirrored: bool


@functools.lru_cache(maxsize=1)
def photo_windows() -> tuple[PhotoWindow, ...]:
    """Every window of the library: a grid of disjoint squares per photo, each twice
    (plain and mirrored), in a fixed order."""
    windows = []
    for index, photo in enumerate(photo_library()):
        height, width = photo.shape[:2]
        side = max(MIN_WINDOW_SIDE, min(height, width) // 2)
        for y in range(0, height - side + 1, side):
            for x in range(0, width - side + 1, side):
                windows += [PhotoWindow(index, x, y, side, mirrored) for mirrored in (False, True)]
    return tuple(windows)


def window_pixels(window: PhotoWindow, size: int) -> np.ndarray:
    """A window's pixels, mirrored if it says so, rescaled to size x size."""
    photo = photo_library()[window.photo]
    crop = photo[window.y:window.y + window.side, window.x:window.x + window.side]
    if window.mirrored:
        crop = crop[:, ::-1]
    return resize_to(np.ascontiguousarray(crop), size, size)


def colour_grade(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Moody grading typical of metal artwork: desaturate, tint, crush or lift contrast."""
    grey = image @ np.array([0.299, 0.587, 0.114], np.float32)
    saturation = rng.uniform(0.0, 1.2)
    graded = grey[..., None] + saturation * (image - grey[..., None])
    if rng.random() < 0.5:
        graded = graded * (0.6 + 0.6 * random_colour(rng, value=(0.6, 1.0)))
    gamma = rng.uniform(0.6, 1.8)
    return np.clip(graded, 0, 1) ** gamma


def _colormap(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    from matplotlib import colormaps

    cmap = colormaps[COLORMAPS[rng.integers(len(COLORMAPS))]]
    return cmap(values)[..., :3].astype(np.float32)


def _clouds(rng, width, height):
    return _colormap(fractal_noise(rng, (height, width), octaves=6), rng)


def _flames(rng, width, height):
    noise = fractal_noise(rng, (height // 4 + 1, width), octaves=5)
    noise = resize_to(noise, width, height)
    ramp = np.linspace(0.2, 1.0, height, dtype=np.float32)[:, None]
    return _colormap(np.clip(noise * ramp * 1.3, 0, 1), rng)


def _mountains(rng, width, height):
    """Layered ridges fading into fog: the classic black metal landscape."""
    sky = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    top, bottom = random_colour(rng, value=(0.1, 0.5)), random_colour(rng, value=(0.5, 0.9))
    image = top * (1 - sky) + bottom * sky + np.zeros((height, width, 3), np.float32)
    for layer in range(int(rng.integers(2, 5))):
        ridge = np.cumsum(rng.normal(0, height * 0.02, width)).astype(np.float32)
        ridge = cv2.GaussianBlur(ridge[None], (0, 0), 3)[0]
        ridge = ridge - ridge.min() + height * (0.3 + 0.15 * layer)
        shade = max(0.0, 0.5 - 0.15 * layer)
        below = np.arange(height)[:, None] > ridge[None, :]
        image[below] = image[below] * 0.3 + shade * 0.7 * bottom
    return image


def _forest(rng, width, height):
    image = _clouds(rng, width, height) * 0.7 + 0.2
    for _ in range(int(rng.integers(8, 30))):
        x = int(rng.integers(0, width))
        trunk = max(2, int(rng.uniform(0.005, 0.03) * width))
        top = (x + int(rng.normal(0, width * 0.02)), int(height * rng.uniform(0, 0.4)))
        cv2.line(image, (x, height), top, (0.02, 0.02, 0.02), trunk, cv2.LINE_AA)
    return image


def _sunburst(rng, width, height):
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy = width * rng.uniform(0.3, 0.7), height * rng.uniform(0.3, 0.7)
    angle = np.arctan2(ys - cy, xs - cx)
    rays = 0.5 + 0.5 * np.sign(np.sin(angle * int(rng.integers(6, 24))))
    radius = np.hypot(xs - cx, ys - cy) / max(width, height)
    values = np.clip(rays * 0.6 + (1 - radius) * 0.4, 0, 1)
    return _colormap(values, rng)


def _geometry(rng, width, height):
    image = np.zeros((height, width, 3), np.float32) + random_colour(rng, value=(0.0, 0.4))
    for _ in range(int(rng.integers(5, 25))):
        colour = tuple(float(c) for c in random_colour(rng))
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        if rng.random() < 0.5:
            cv2.circle(image, centre, int(rng.uniform(0.02, 0.3) * width), colour,
                       int(rng.choice([-1, 2, 5])), cv2.LINE_AA)
        else:
            points = rng.integers(0, max(width, height), size=(int(rng.integers(3, 6)), 2))
            cv2.fillPoly(image, [points.astype(np.int32)], colour, cv2.LINE_AA)
    return image


PROCEDURAL = (_clouds, _flames, _mountains, _forest, _sunburst, _geometry)


def procedural_art(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    painter = PROCEDURAL[rng.integers(len(PROCEDURAL))]
    return np.clip(painter(rng, width, height), 0, 1).astype(np.float32)


def artwork(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Cover-like artwork: a graded photograph, procedural art, or the two blended."""
    roll = rng.random()
    if roll < 0.4:
        return colour_grade(photo_crop(rng, width, height), rng)
    if roll < 0.75:
        return procedural_art(rng, width, height)
    photo = colour_grade(photo_crop(rng, width, height), rng)
    art = procedural_art(rng, width, height)
    mix = rng.uniform(0.3, 0.7)
    if rng.random() < 0.5:
        return photo * (1 - mix) + art * mix
    return np.clip(photo * (art * 1.5), 0, 1)


def draw_details(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sharp strokes over smooth art: branching lines, shards and specks.

    Clouds and flames alone give a cover almost no corners, and so almost no keypoints to
    verify against; painted covers are full of them.
    """
    height, width = image.shape[:2]
    canvas = image.copy()
    for _ in range(int(rng.integers(15, 60))):
        colour = tuple(float(c) for c in random_colour(rng, saturation=(0.0, 0.8), value=(0.0, 1.0)))
        roll = rng.random()
        if roll < 0.5:  # a branching line: a random walk with a drift
            steps = int(rng.integers(4, 12))
            start = rng.uniform(0, 1, 2) * (width, height)
            drift = rng.normal(0, 0.03, 2)
            moves = (rng.normal(0, 0.06, (steps, 2)) + drift) * (width, height)
            points = np.vstack([start, start + np.cumsum(moves, axis=0)]).astype(np.int32)
            cv2.polylines(canvas, [points], False, colour, int(rng.integers(1, 4)), cv2.LINE_AA)
        elif roll < 0.8:  # a shard
            centre = rng.uniform(0, 1, 2) * (width, height)
            points = centre + rng.normal(0, 0.05, (int(rng.integers(3, 6)), 2)) * (width, height)
            cv2.fillPoly(canvas, [points.astype(np.int32)], colour, cv2.LINE_AA)
        else:  # a cluster of specks
            for x, y in (rng.normal(0, 0.08, (20, 2)) + rng.uniform(0.1, 0.9, 2)) * (width, height):
                cv2.circle(canvas, (int(x), int(y)), int(rng.integers(1, 4)), colour, -1, cv2.LINE_AA)
    opacity = rng.uniform(0.5, 1.0)
    return np.clip(image * (1 - opacity) + canvas * opacity, 0, 1).astype(np.float32)


def cover_artwork(rng: np.random.Generator, size: int, window: PhotoWindow | None) -> np.ndarray:
    """A cover's own artwork: its photo window graded (sometimes blended with procedural
    art), or, without a window, procedural art with sharp detail over it."""
    if window is not None:
        photo = colour_grade(window_pixels(window, size), rng)
        if rng.random() < 0.6:
            return photo
        art, mix = procedural_art(rng, size, size), rng.uniform(0.3, 0.7)
        return np.clip(photo * (1 - mix) + art * mix, 0, 1).astype(np.float32)
    art = procedural_art(rng, size, size)
    return draw_details(art, rng) if rng.random() < 0.8 else art


def fabric_texture(rng: np.random.Generator, width: int, height: int, colour: np.ndarray) -> np.ndarray:
    """Cloth of a given colour: weave noise and slight mottling."""
    weave = gaussian_noise(rng, (height, width)) * 0.035
    coarse = fractal_noise(rng, (max(2, height // 4), max(2, width // 4)), octaves=3)
    mottle = (resize_to(coarse, width, height) - 0.5) * 0.12
    shade = 1 + weave + mottle
    cloth = colour[None, None, :] * shade[..., None]
    return np.clip(cloth, 0, 1, out=cloth)


def wall_texture(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A wall: a photograph of brick/gravel, or painted plaster."""
    if rng.random() < 0.5:
        return photo_crop(rng, width, height)
    colour = hsv_colour(rng.random(), rng.uniform(0, 0.3), rng.uniform(0.4, 0.95))
    return fabric_texture(rng, width, height, colour)
