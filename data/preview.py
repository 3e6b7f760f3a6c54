"""Contact sheets to judge realism: a dataset's photos with their ground-truth boxes drawn,
and its reference logos, one row per logo style."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from data.catalogue import ALL_LOGO_STYLES
from data.dataset import UNKNOWN_BAND_ID, load_dataset, read_logo_styles
from data.voc import read_voc

#: Box colours (BGR): logos orange, albums cyan, open-set (unknown band) objects magenta.
COLOURS = {"logo": (0, 140, 255), "album": (255, 200, 0), "unknown": (255, 0, 255)}
#: JPEG sheets are for the README: small enough to commit, sharp enough to judge.
JPEG_QUALITY = 82


def _thumbnail(photo_path: Path, annotation_path: Path, size: int) -> np.ndarray:
    image = cv2.imread(str(photo_path))
    if image is None:
        raise ValueError(f"{photo_path}: not a readable image")
    annotation = read_voc(annotation_path)
    scale = size / max(image.shape[:2])
    image = cv2.resize(image, (int(image.shape[1] * scale), int(image.shape[0] * scale)),
                       interpolation=cv2.INTER_AREA)
    for obj in annotation.objects:
        unknown = obj.band_id == UNKNOWN_BAND_ID
        colour = COLOURS["unknown" if unknown else obj.name]
        x1, y1, x2, y2 = (int(v * scale) for v in obj.box)
        cv2.rectangle(image, (x1, y1), (x2, y2), colour, 1 if obj.difficult else 2, cv2.LINE_AA)
        label = f"{obj.name} {'?' if unknown else obj.band_id}"
        cv2.putText(image, label, (x1 + 2, max(10, y1 - 3)), cv2.FONT_HERSHEY_SIMPLEX, 0.35, colour, 1,
                    cv2.LINE_AA)
    tile = np.full((size, size, 3), 32, np.uint8)
    tile[:image.shape[0], :image.shape[1]] = image
    return tile


def contact_sheet(root: str | Path, out: str | Path, count: int = 12, columns: int = 4,
                  size: int = 320, seed: int = 0) -> Path:
    """Write a grid of `count` randomly chosen photos (boxes drawn) to `out` (PNG or JPEG)."""
    dataset = load_dataset(root)
    names = sorted(p.stem for p in (dataset.root / "photos").glob("*.jpg"))
    if not names:
        raise ValueError(f"{root}: no photos to preview")
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(names, size=min(count, len(names)), replace=False))
    tiles = [_thumbnail(dataset.photo_path(n), dataset.annotation_path(n), size) for n in chosen]
    return _write_grid(tiles, columns, size, out)


def logo_sheet(root: str | Path, out: str | Path, per_style: int = 5, size: int = 240, seed: int = 0) -> Path:
    """Write `per_style` reference logos of each style in logo_styles.csv, one row a style
    (ALL_LOGO_STYLES), each tile labelled with its style."""
    dataset = load_dataset(root)
    styles = read_logo_styles(root)
    if not styles:
        raise ValueError(f"{root}: no logo_styles.csv (made by kyb synth) to group the logos by")
    logos = {ref.band_id: dataset.reference_path(ref) for ref in dataset.references if ref.kind == "logo"}
    rng = np.random.default_rng(seed)
    tiles = []
    for style in ALL_LOGO_STYLES:
        bands = sorted(band for band, drawn in styles.items() if drawn == style and band in logos)
        picked = rng.choice(bands, size=min(per_style, len(bands)), replace=False) if bands else []
        row = [_logo_tile(logos[band], style, size) for band in picked]
        tiles += row + [np.full((size // 2, size, 3), 32, np.uint8)] * (per_style - len(row))
    return _write_grid(tiles, per_style, size, out)


def _logo_tile(path: Path, label: str, size: int) -> np.ndarray:
    image = cv2.imread(str(path))
    if image is None:
        raise ValueError(f"{path}: not a readable image")
    height = size // 2
    scale = min((size - 8) / image.shape[1], (height - 20) / image.shape[0])
    image = cv2.resize(image, (max(1, int(image.shape[1] * scale)), max(1, int(image.shape[0] * scale))),
                       interpolation=cv2.INTER_AREA)
    tile = np.full((height, size, 3), 32, np.uint8)
    tile[16:16 + image.shape[0], 4:4 + image.shape[1]] = image
    cv2.putText(tile, label, (4, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (200, 200, 200), 1, cv2.LINE_AA)
    return tile


def _write_grid(tiles: list[np.ndarray], columns: int, size: int, out: str | Path) -> Path:
    """Tiles (all of one height) in rows of `columns`, padded, written to `out` (PNG or JPEG)."""
    while len(tiles) % columns:
        tiles.append(np.full((tiles[0].shape[0], size, 3), 32, np.uint8))
    grid = np.vstack([np.hstack(tiles[i:i + columns]) for i in range(0, len(tiles), columns)])
    out = Path(out)
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if out.suffix.lower() in (".jpg", ".jpeg") else []
    if not cv2.imwrite(str(out), grid, params):
        raise OSError(f"{out}: could not write the contact sheet")
    return out
