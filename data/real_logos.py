"""Real band logo designs (`train-real/logos`): their split by band, and their ink.

Real logos are drawn by hand, which no font reproduces, so a share of the generated
bands wear a real design. A design becomes the generator's logo representation
(`LogoDesign`): ink alpha from each pixel's colour distance to the paper (the border
colour, usually black), plus its own ink colours for prints "in its own colours".

The designs are split by band into train and validation, deterministically (a stable
hash of the band's name, so every design of a band falls on one side and the split
never depends on the order of logos.csv): descriptor training can hold the validation
designs out, and the generator uses the train designs unless told otherwise.
"""

from __future__ import annotations

import csv
import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from data.imaging import ink_mask, resize_to, to_float
from data.logos import DESIGN_SIZE, LogoDesign
from data.train_real import train_real_dir, warn_missing_once

SPLITS = ("train", "validation", "all")
#: Share of the bands (not of the designs) whose designs are kept for validation.
VALIDATION_PERCENT = 15
#: Ink weaker than this (a colour close to the paper) counts as paper.
INK_FLOOR = 0.08
#: Ink at least this far from the paper is full ink: a logo's second, dimmer colour (grey
#: beside white on black) is part of its shape, and prints solid when recoloured.
INK_FULL = 0.5
#: Margin around the trimmed ink, as a share of the design's long side.
MARGIN = 0.06


@dataclass(frozen=True)
class RealLogo:
    """One row of logos.csv: a real band's logo design."""

    logo_id: int
    name: str
    path: Path

    @property
    def split(self) -> str:
        return split_of(self.name)


def band_key(name: str) -> str:
    """The band a design belongs to: its name, case and spacing folded."""
    return " ".join(name.casefold().split())


def split_of(name: str) -> str:
    """'validation' for VALIDATION_PERCENT of the bands, else 'train'; stable across runs."""
    digest = hashlib.sha256(band_key(name).encode("utf-8")).digest()
    return "validation" if int.from_bytes(digest[:8], "big") % 100 < VALIDATION_PERCENT else "train"


@functools.lru_cache(maxsize=4)
def _catalogue(folder: str) -> tuple[RealLogo, ...]:
    root = Path(folder)
    with open(root / "logos.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    logos = (RealLogo(int(row["logo_id"]), row["name"], root / row["path"]) for row in rows)
    return tuple(sorted((logo for logo in logos if logo.path.exists()), key=lambda logo: logo.logo_id))


def real_logo_designs(split: str = "train", root: str | Path | None = None) -> list[RealLogo]:
    """The real designs of one split ('train', 'validation' or 'all'), by logo_id.

    `root` is a train-real folder (default: `data.train_real.train_real_dir()`); where
    there is none, or it has no logos.csv, the answer is empty and a line says so once.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    folder = Path(root) if root is not None else train_real_dir()
    if folder is None or not (folder / "logos.csv").is_file():
        warn_missing_once()
        return []
    logos = _catalogue(str(folder))
    return [logo for logo in logos if split == "all" or logo.split == split]


def design_from_image(image: np.ndarray) -> LogoDesign:
    """A `LogoDesign` of a logo image (uint8 or float RGB) drawn on a plain paper colour.

    Ink is the colour distance to the paper (ink_mask), so light ink on black, dark ink on
    white and coloured ink all give the same shape; the ink's own colours are recovered by
    unmixing the paper out of anti-aliased edges.
    """
    rgb = to_float(image) if image.dtype == np.uint8 else image.astype(np.float32)
    height, width = rgb.shape[:2]
    edge = max(1, int(min(height, width) * 0.04))
    border = np.concatenate([rgb[:edge].reshape(-1, 3), rgb[-edge:].reshape(-1, 3),
                             rgb[:, :edge].reshape(-1, 3), rgb[:, -edge:].reshape(-1, 3)])
    paper = np.median(border, axis=0).astype(np.float32)
    alpha = np.clip((ink_mask(rgb) - INK_FLOOR) / (INK_FULL - INK_FLOOR), 0, 1)
    colours = paper + (rgb - paper) / np.maximum(alpha, 0.05)[..., None]
    strong = alpha > 0.5
    mean_ink = colours[strong].mean(axis=0) if strong.any() else 1 - paper
    colours = np.where((alpha > 0.2)[..., None], np.clip(colours, 0, 1), mean_ink).astype(np.float32)
    pad = int(max(height, width) * MARGIN)
    alpha = np.pad(alpha, pad)
    colours = np.pad(colours, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    scale = DESIGN_SIZE / max(alpha.shape)
    size = (max(1, int(alpha.shape[1] * scale)), max(1, int(alpha.shape[0] * scale)))
    alpha = np.clip(resize_to(alpha, *size), 0, 1).astype(np.float32)
    colours = np.clip(resize_to(colours, *size), 0, 1).astype(np.float32)
    return LogoDesign(fill=alpha, outline=None, colours=colours, paper=paper)


@functools.lru_cache(maxsize=256)
def load_real_design(logo: RealLogo) -> LogoDesign:
    """The `LogoDesign` of a real logo (cached: designs are reused across photos)."""
    image = cv2.imread(str(logo.path), cv2.IMREAD_COLOR)
    if image is None:
        raise OSError(f"{logo.path}: not a readable image")
    return design_from_image(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
