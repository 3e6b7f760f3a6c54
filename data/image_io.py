"""Reading image files: the one reader of references, photos and crops."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


class UnreadableImage(OSError):
    """An image file that is missing or cannot be decoded."""


def read_image(path: str | Path) -> np.ndarray:
    """An image file as (H, W, 3) uint8 RGB; `UnreadableImage` (an OSError) naming the
    file when it cannot be read or decoded."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise UnreadableImage(f"{path}: not a readable image")
    return np.ascontiguousarray(image[:, :, ::-1])


#: File suffixes taken for images where a folder is read whole.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def spread_sample(folders: list[Path], count: int) -> list[Path]:
    """Up to `count` images of each folder, spread evenly over its sorted file names:
    a fixed, reproducible choice for training the shipped models on part of a folder."""
    chosen = []
    for folder in folders:
        images = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        chosen += images[::max(1, len(images) // count)][:count]
    return chosen
