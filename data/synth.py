"""`kyb synth`: a synthetic dataset folder of bands, references and real-life photos.

Three stages, each a plain function over plain data:
1. the catalogue: band and album rows for the known bands and for "unknown" bands,
   which appear in photos (VOC `band_id` 0) but never among the references;
2. the references: a logo per known band and its album covers, drawn in parallel;
3. the photos: scenes composed from references, camera effects, JPEG, VOC XML.

Every random choice comes from a generator seeded by (seed, stage, index), so the
output is the same for a seed whatever the number of worker processes. The folder is
built under a temporary name beside the target and renamed into place at the end: a
run killed half-way leaves no half-written dataset behind.
"""

from __future__ import annotations

import functools
import math
import multiprocessing
import os
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from data import degrade, names
from data.art import photo_windows
from data.compose import Item
from data.covers import render_cover
from data.dataset import (
    ALBUM_COLUMNS,
    BAND_COLUMNS,
    REFERENCE_COLUMNS,
    UNKNOWN_BAND_ID,
    write_csv,
    write_split,
)
from data.imaging import tight_box, to_float, to_uint8
from data.logos import design_logo, reference_colours, render_ink, render_reference
from data.progress import progress_bar
from data.scenes import SCENE_ITEMS, SCENE_WEIGHTS, SCENES, background
from data.voc import VocAnnotation, VocObject, write_voc

#: Phone-photo shapes at the long side the detector works at (larger adds time, not realism).
PHOTO_SIZES = ((1024, 768), (768, 1024), (960, 720), (720, 960), (1024, 576), (1024, 1024))
SPLIT_SHARES = (0.7, 0.15, 0.15)
MIN_VISIBLE_PIXELS = 60
#: Objects less visible than this, or smaller than DIFFICULT_SIDE px, are VOC "difficult".
DIFFICULT_VISIBLE = 0.35
DIFFICULT_SIDE = 14
#: Share of covers whose artwork is a photograph, while unused photo windows last.
PHOTO_COVER_SHARE = 0.65
# Stage numbers that seed the random generators (see the module docstring).
CATALOGUE, DESIGN, REFERENCE, COVER, PHOTO, SPLIT, ARTWORK = range(7)


@dataclass(frozen=True)
class SynthConfig:
    """Parameters of one generated dataset."""

    bands: int = 300
    photos: int = 1500
    seed: int = 0
    open_set: float = 0.1
    workers: int = 0  # 0: one per CPU core

    def __post_init__(self):
        if self.bands < 1:
            raise ValueError(f"bands must be >= 1, got {self.bands}")
        if self.photos < 1:
            raise ValueError(f"photos must be >= 1, got {self.photos}")
        if not 0.0 <= self.open_set < 1.0:
            raise ValueError(f"open_set must be in [0, 1), got {self.open_set}")
        if self.workers < 0:
            raise ValueError(f"workers must be >= 0, got {self.workers}")

    @property
    def unknown_bands(self) -> int:
        return max(3, math.ceil(self.bands * 0.2)) if self.open_set > 0 else 0


@dataclass
class Catalogue:
    """Band and album rows: known bands first, then the unknown ones."""

    bands: list[dict]
    albums: list[list[dict]]   # per band index
    known: int
    #: per band index and album: its own index into `data.art.photo_windows()`, or None
    #: for procedural artwork. No two covers share a window.
    cover_windows: list[list[int | None]]

    def references(self) -> list[dict]:
        """references.csv rows: a logo per known band, then every known cover."""
        rows = [{"ref_id": i + 1, "band_id": band["band_id"], "album_id": None, "kind": "logo",
                 "path": f"references/logos/{band['band_id']}.png"}
                for i, band in enumerate(self.bands[:self.known])]
        for albums in self.albums[:self.known]:
            for album in albums:
                rows.append({"ref_id": len(rows) + 1, "band_id": album["band_id"],
                             "album_id": album["album_id"], "kind": "album",
                             "path": f"references/covers/{album['album_id']}.jpg"})
        return rows


@dataclass
class Summary:
    """What a run produced, for the command line and the tests."""

    bands: int
    references: Counter
    photos: int
    objects: Counter = field(default_factory=Counter)
    unknown_objects: int = 0
    seconds: float = 0.0


def rng_for(seed: int, stage: int, *index: int) -> np.random.Generator:
    return np.random.default_rng([seed, stage, *index])


def make_catalogue(config: SynthConfig) -> Catalogue:
    rng = rng_for(config.seed, CATALOGUE)
    total = config.bands + config.unknown_bands
    band_names = names.unique_names(rng, total)
    ids = names.band_ids(rng, total)
    album_ids = iter(rng.choice(np.arange(1000, 1_400_000), size=total * 3, replace=False).tolist())
    bands, albums = [], []
    for index, (band_id, name) in enumerate(zip(ids, band_names, strict=True)):
        band = names.band_record(rng, band_id, name)
        count = int(rng.choice([0, 1, 2, 3], p=[0.3, 0.4, 0.18, 0.12]))
        if index >= config.bands:
            count = max(count, 1)  # unknown bands need covers to appear as open-set albums
        bands.append(band)
        albums.append([names.album_record(rng, int(next(album_ids)), band, names.album_title(rng))
                       for _ in range(count)])
    return Catalogue(bands, albums, config.bands, _assign_windows(albums, config.seed))


def _assign_windows(albums: list[list[dict]], seed: int) -> list[list[int | None]]:
    """Give PHOTO_COVER_SHARE of the covers, at random, a photo window of their own."""
    rng = rng_for(seed, ARTWORK)
    covers = [(band, album) for band, band_albums in enumerate(albums) for album in range(len(band_albums))]
    photo_covers = int(round(len(covers) * PHOTO_COVER_SHARE))
    windows = rng.permutation(len(photo_windows()))[:photo_covers].tolist()
    chosen = rng.permutation(len(covers))[:len(windows)]
    assigned = [[None] * len(band_albums) for band_albums in albums]
    for cover, window in zip(chosen.tolist(), windows, strict=True):
        band, album = covers[cover]
        assigned[band][album] = int(window)
    return assigned


# Worker state: set once per process by _init_worker, read by the cached asset builders.
_STATE: dict = {}


def _init_worker(catalogue: Catalogue, seed: int, root: str) -> None:
    _STATE.update(catalogue=catalogue, seed=seed, root=Path(root))
    cv2.setNumThreads(1)


@functools.lru_cache(maxsize=4096)
def _design(index: int):
    band = _STATE["catalogue"].bands[index]
    return design_logo(band["name"], rng_for(_STATE["seed"], DESIGN, index))


@functools.lru_cache(maxsize=512)
def _cover(index: int, album: int) -> np.ndarray:
    """A cover: read back from the references when known, drawn again when unknown."""
    catalogue = _STATE["catalogue"]
    record = catalogue.albums[index][album]
    if index < catalogue.known:
        image = cv2.imread(str(_STATE["root"] / "references" / "covers" / f"{record['album_id']}.jpg"))
        return to_float(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    return _draw_cover(index, album)


def _draw_cover(index: int, album: int) -> np.ndarray:
    catalogue = _STATE["catalogue"]
    window = catalogue.cover_windows[index][album]
    return render_cover(_design(index), catalogue.albums[index][album]["title"],
                        rng_for(_STATE["seed"], COVER, index, album),
                        None if window is None else photo_windows()[window])


def _logo_item(index: int) -> Item:
    catalogue = _STATE["catalogue"]
    design = _design(index)
    fill_colour, outline_colour, _ = reference_colours(rng_for(_STATE["seed"], REFERENCE, index))
    rgb, alpha = render_ink(design, fill_colour, outline_colour)
    band_id = catalogue.bands[index]["band_id"] if index < catalogue.known else UNKNOWN_BAND_ID
    return Item("logo", band_id, None, rgb, alpha)


def _album_item(index: int, album: int) -> Item:
    catalogue = _STATE["catalogue"]
    known = index < catalogue.known
    record = catalogue.albums[index][album]
    return Item("album", record["band_id"] if known else UNKNOWN_BAND_ID,
                record["album_id"] if known else None, _cover(index, album))


def _write_image(path: Path, image: np.ndarray, quality: int = 92) -> None:
    bgr = cv2.cvtColor(to_uint8(image), cv2.COLOR_RGB2BGR)
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if path.suffix == ".jpg" else []
    if not cv2.imwrite(str(path), bgr, params):
        raise OSError(f"{path}: could not write image")


def render_band_references(index: int) -> None:
    """Stage 2 for one known band: its logo reference and its covers, written to disk."""
    root, seed = _STATE["root"], _STATE["seed"]
    band = _STATE["catalogue"].bands[index]
    logo = render_reference(_design(index), rng_for(seed, REFERENCE, index))
    _write_image(root / "references" / "logos" / f"{band['band_id']}.png", logo)
    for album, record in enumerate(_STATE["catalogue"].albums[index]):
        _write_image(root / "references" / "covers" / f"{record['album_id']}.jpg",
                     _draw_cover(index, album))


def _pick_items(rng: np.random.Generator, scene: str, open_set: float) -> list[Item]:
    """Choose the bands (known or, with probability open_set, unknown) a scene shows."""
    catalogue = _STATE["catalogue"]
    with_albums = [i for i, albums in enumerate(catalogue.albums) if albums]
    known_with_albums = [i for i in with_albums if i < catalogue.known]
    unknown_with_albums = [i for i in with_albums if i >= catalogue.known]
    items = []
    for kind, low, high in SCENE_ITEMS[scene]:
        for _ in range(int(rng.integers(low, high + 1))):
            unknown = len(catalogue.bands) > catalogue.known and rng.random() < open_set
            if kind == "logo":
                pool = range(catalogue.known, len(catalogue.bands)) if unknown else range(catalogue.known)
                items.append(_logo_item(int(rng.choice(pool))))
            else:
                pool = unknown_with_albums if unknown else known_with_albums
                if not pool:
                    continue
                index = int(rng.choice(pool))
                items.append(_album_item(index, int(rng.integers(len(catalogue.albums[index])))))
    if not items:  # every scene shows at least one thing: a logo of a known band
        items.append(_logo_item(int(rng.integers(catalogue.known))))
    return items[:6]


def _annotation(name: str, photo, width: int, height: int) -> VocAnnotation:
    objects = []
    for placed in photo.objects:
        pixels = int(placed.visible.sum())
        if pixels < MIN_VISIBLE_PIXELS:
            continue
        box = tight_box(placed.visible)
        visible = pixels / max(placed.full_area, 1)
        small = min(box[2] - box[0], box[3] - box[1]) < DIFFICULT_SIDE
        item = placed.item
        objects.append(VocObject(name=item.kind, box=box, difficult=visible < DIFFICULT_VISIBLE or small,
                                 truncated=placed.truncated, band_id=item.band_id,
                                 album_id=item.album_id))
    return VocAnnotation(filename=f"{name}.jpg", width=width, height=height, objects=objects,
                         folder="photos")


def render_photo(task: tuple[int, float]) -> tuple[str, list[tuple[str, int]]]:
    """Stage 3 for one photo: compose a scene, pass it through the camera, write JPEG + XML."""
    index, open_set = task
    root, seed = _STATE["root"], _STATE["seed"]
    rng = rng_for(seed, PHOTO, index)
    width, height = PHOTO_SIZES[rng.integers(len(PHOTO_SIZES))]
    scene = str(rng.choice(list(SCENE_WEIGHTS), p=list(SCENE_WEIGHTS.values())))
    items = _pick_items(rng, scene, open_set)
    photo = background(rng, width, height)
    SCENES[scene](photo, items, rng)
    name = f"photo_{index:06d}"
    pixels = degrade.camera(photo.rgb, rng)
    bgr = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
    quality = degrade.jpeg_quality(rng)
    if not cv2.imwrite(str(root / "photos" / f"{name}.jpg"), bgr, [cv2.IMWRITE_JPEG_QUALITY, quality]):
        raise OSError(f"could not write photo {name}")
    annotation = _annotation(name, photo, width, height)
    write_voc(annotation, root / "annotations" / f"{name}.xml")
    return name, [(obj.name, obj.band_id) for obj in annotation.objects]


def _run_parallel(function, tasks, workers: int, initargs, description: str):
    """Map `function` over `tasks` in worker processes (or inline for one worker), with a bar."""
    bar = dict(total=len(tasks), desc=description, unit="img")
    if workers <= 1:
        _init_worker(*initargs)
        return [function(task) for task in progress_bar(tasks, **bar)]
    # Fresh interpreters, not fork: a parent that has used OpenCV (whose worker threads do
    # not survive fork) would leave forked children deadlocked on its thread pool.
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=_init_worker, initargs=initargs) as pool:
        return list(progress_bar(pool.imap(function, tasks, chunksize=4), **bar))


def _splits(config: SynthConfig, photo_names: list[str]) -> dict[str, list[str]]:
    order = rng_for(config.seed, SPLIT).permutation(len(photo_names))
    train_end = int(round(len(order) * SPLIT_SHARES[0]))
    val_end = train_end + int(round(len(order) * SPLIT_SHARES[1]))
    bounds = {"train": (0, train_end), "val": (train_end, val_end), "test": (val_end, len(order))}
    return {split: sorted(photo_names[i] for i in order[start:end]) for split, (start, end) in bounds.items()}


def generate(out: str | Path, config: SynthConfig, force: bool = False) -> Summary:
    """Write a complete dataset folder at `out`; refuses to overwrite one unless `force`."""
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not force:
        raise FileExistsError(f"{out} exists and is not empty (use --force to replace it)")
    started = time.perf_counter()
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        for folder in ("references/logos", "references/covers", "photos", "annotations", "splits"):
            (work / folder).mkdir(parents=True)
        catalogue = make_catalogue(config)
        workers = config.workers or os.cpu_count() or 1
        initargs = (catalogue, config.seed, str(work))
        _run_parallel(render_band_references, list(range(config.bands)), workers, initargs, "references")
        references = catalogue.references()
        results = _run_parallel(render_photo, [(i, config.open_set) for i in range(config.photos)],
                                workers, initargs, "photos")

        write_csv(work / "bands.csv", BAND_COLUMNS, catalogue.bands[:catalogue.known])
        write_csv(work / "albums.csv", ALBUM_COLUMNS,
                  [album for albums in catalogue.albums[:catalogue.known] for album in albums])
        write_csv(work / "references.csv", REFERENCE_COLUMNS, references)
        for split, split_names in _splits(config, [name for name, _ in results]).items():
            write_split(work / "splits" / f"{split}.txt", split_names)
        _replace_folder(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    objects = [obj for _, photo_objects in results for obj in photo_objects]
    return Summary(
        bands=config.bands,
        references=Counter(row["kind"] for row in references),
        photos=len(results),
        objects=Counter(kind for kind, _ in objects),
        unknown_objects=sum(1 for _, band_id in objects if band_id == UNKNOWN_BAND_ID),
        seconds=time.perf_counter() - started,
    )


def _replace_folder(new: Path, target: Path) -> None:
    """Move a finished folder onto `target`; an old one is removed only after the swap."""
    if not target.exists():
        new.rename(target)
        return
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)

