"""The photo library: real photographs for backgrounds, prints and cover art.

Photographs come from packages on every install (scikit-image's and scikit-learn's
bundled sample photos) plus, when present, photo folders of the machine (for example
Debian's mate-backgrounds, installed by `scripts/install-assets`), `$KYB_PHOTO_PATH`, and
the 1,000 real photographs of `train-real/backgrounds` (people, animals, rooms, streets:
the variety real backgrounds have). Those are small (long side <= 512 px) and many, so
they are decoded on demand, cropped wide, and give covers one centred window each.

Real album covers never share artwork, so covers take their photographs from
`photo_windows`: disjoint squares of the library, each given to at most one cover of a
dataset (once as it is, once mirrored, which SIFT cannot match to the original; the small
real photographs give their centred square once).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from data.background_screen import marked_names
from data.image_io import IMAGE_SUFFIXES
from data.imaging import resize_to, to_float
from data.train_real import train_real_dir, warn_missing_once

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
                            if p.suffix.lower() in IMAGE_SUFFIXES)
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


#: Whether the library includes train-real/backgrounds (see `use_real_photos`).
_SETTINGS = {"real_photos": True}
#: Decoded train-real photos kept per process (small photos: about 2 MB each as float).
REAL_CACHE = 96
#: Crops of a small real photo keep at least this share of its short side.
REAL_MIN_CROP = 0.6


def use_real_photos(enabled: bool) -> None:
    """Include (default) or leave out the train-real photographs from now on in this process."""
    if _SETTINGS["real_photos"] != enabled:
        _SETTINGS["real_photos"] = enabled
        photo_library.cache_clear()
        photo_windows.cache_clear()


def all_real_photo_files() -> list[Path]:
    """Every train-real background photograph in a fixed order ([] where the folder is absent)."""
    folder = train_real_dir()
    if folder is None or not (folder / "backgrounds").is_dir():
        warn_missing_once()
        return []
    return sorted(p for p in (folder / "backgrounds").iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def real_photo_files() -> list[Path]:
    """The train-real photographs the library uses: those that show no real mark
    (data.background_screen), as the detector learns every background as "no object"."""
    marked = marked_names()
    return [path for path in all_real_photo_files() if path.name not in marked]


@functools.lru_cache(maxsize=REAL_CACHE)
def _real_photo(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise OSError(f"{path}: not a readable image")
    return to_float(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))


class PhotoLibrary:
    """The machine's photographs (decoded up front) then the train-real ones (decoded on
    demand: a thousand of them would cost each worker gigabytes), in a fixed order."""

    def __init__(self, photos: tuple[np.ndarray, ...], real: list[tuple[Path, tuple[int, int]]]):
        self.photos, self.real = photos, real

    def __len__(self) -> int:
        return len(self.photos) + len(self.real)

    def __getitem__(self, index: int) -> np.ndarray:
        if index < len(self.photos):
            return self.photos[index]
        return _real_photo(self.real[index - len(self.photos)][0])

    def shape(self, index: int) -> tuple[int, int]:
        """(height, width) without decoding."""
        if index < len(self.photos):
            return self.photos[index].shape[:2]
        return self.real[index - len(self.photos)][1]

    def is_real(self, index: int) -> bool:
        return index >= len(self.photos)


def _header_shape(path: Path) -> tuple[int, int] | None:
    try:
        with Image.open(path) as image:
            width, height = image.size
    except OSError:
        return None
    return (height, width) if min(height, width) >= 64 else None


@functools.lru_cache(maxsize=1)
def photo_library() -> PhotoLibrary:
    """Every usable photograph, in a fixed order (the machine's, then train-real's)."""
    photos = (_load_photo(path) for path in _photo_files())
    real = []
    if _SETTINGS["real_photos"]:
        real = [(path, shape) for path in real_photo_files()
                if (shape := _header_shape(path)) is not None]
    return PhotoLibrary(tuple(photo for photo in photos if photo is not None), real)


def photo_crop(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A random crop of a random photograph, flipped and rescaled to width x height."""
    library = photo_library()
    index = int(rng.integers(len(library)))
    photo = library[index]
    ph, pw = photo.shape[:2]
    aspect = width / height
    crop_w = int(min(pw, ph * aspect) * rng.uniform(REAL_MIN_CROP if library.is_real(index) else 0.35, 1.0))
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
    """Every window of the library in a fixed order: a grid of disjoint squares per large
    photo, each twice (plain and mirrored), and the centred square of a small real one,
    once (real photos often show one symmetric object, whose mirror image verifies)."""
    windows = []
    library = photo_library()
    for index in range(len(library)):
        height, width = library.shape(index)
        if library.is_real(index):  # one object photographed: its mirror may match it
            side = min(height, width)
            windows.append(PhotoWindow(index, (width - side) // 2, (height - side) // 2, side, False))
            continue
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
