"""`kyb synth`: a synthetic dataset folder of bands, references and real-life photos.

Three stages, each a plain function over plain data:
1. the catalogue (data/catalogue.py): band and album rows for the known bands and for
   "unknown" bands, which appear in photos (VOC `band_id` 0) but never among the
   references, and which bands wear a real logo design (`real_logos`);
2. the references: a logo per known band and its album covers, drawn in parallel;
3. the photos: scenes (data/scene_table.py; `scenes` picks some) composed from
   references, camera effects, JPEG, VOC XML.

Real material (`train-real`: photographs, logo designs) is used where it exists; a
plain clone falls back to the machine's photographs and generated designs.

Every random choice comes from a generator seeded by (seed, stage, index), so the
output is the same for a seed whatever the number of worker processes. The folder is
built under a temporary name beside the target and renamed into place at the end: a
run killed half-way leaves no half-written dataset behind.
"""

from __future__ import annotations

import functools
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

from data import degrade
from data.art import photo_windows, use_real_photos
from data.catalogue import (  # noqa: F401  (PHOTO_COVER_SHARE, make_catalogue: re-exported)
    COVER,
    DESIGN,
    PHOTO,
    PHOTO_COVER_SHARE,
    REFERENCE,
    SPLIT,
    Catalogue,
    make_catalogue,
    rng_for,
    unknown_band_count,
)
from data.compose import Item
from data.covers import render_cover
from data.dataset import (
    ALBUM_COLUMNS,
    BAND_COLUMNS,
    LOGO_STYLE_COLUMNS,
    LOGO_STYLES_FILE,
    REFERENCE_COLUMNS,
    UNKNOWN_BAND_ID,
    write_csv,
    write_split,
)
from data.imaging import tight_box, to_float, to_uint8
from data.logos import design_logo, reference_colours, render_ink, render_reference
from data.photo_library import real_photo_files
from data.progress import progress_bar
from data.real_logos import SPLITS, load_real_design, real_logo_designs
from data.scene_table import SCENE_ITEMS, SCENES, choose_scene, item_cap
from data.scenes import background
from data.train_real import silence_warnings
from data.voc import VocAnnotation, VocObject
from data.voc_write import write_voc

#: Phone-photo shapes at the long side the detector works at (larger adds time, not realism).
PHOTO_SIZES = ((1024, 768), (768, 1024), (960, 720), (720, 960), (1024, 576), (1024, 1024))
SPLIT_SHARES = (0.7, 0.15, 0.15)
MIN_VISIBLE_PIXELS = 60
#: Objects less visible than this, or smaller than DIFFICULT_SIDE px, are VOC "difficult".
DIFFICULT_VISIBLE = 0.35
DIFFICULT_SIDE = 14
#: Share of the bands that wear a real logo design, where train-real has them.
REAL_LOGO_SHARE = 0.4
#: Shares of the generated designs drawn legible and illegible (data.logos.LOGO_STYLES).
LEGIBLE_SHARE, ILLEGIBLE_SHARE = 0.35, 0.25


@dataclass(frozen=True)
class SynthConfig:
    """Parameters of one generated dataset.

    `real_logos`: share of the bands wearing a real logo design (None: REAL_LOGO_SHARE
    where train-real has logos, else 0; 0 draws every design as before). `real_split`:
    which real designs ('train', 'validation', 'all'). `real_photos`: add train-real's
    photographs to the photo library (None: where they exist). `scenes`: the scenes to
    draw (None: all, by their weights). `legible_logos`, `illegible_logos`: shares of the
    generated designs drawn in those styles, the rest `display` (0 and 0 draw every design
    as before the styles existed).
    """

    bands: int = 300
    photos: int = 1500
    seed: int = 0
    open_set: float = 0.1
    workers: int = 0  # 0: one per CPU core
    real_logos: float | None = None
    real_split: str = "train"
    real_photos: bool | None = None
    scenes: tuple[str, ...] | None = None
    legible_logos: float = LEGIBLE_SHARE
    illegible_logos: float = ILLEGIBLE_SHARE

    def __post_init__(self):
        if self.real_logos is None:
            object.__setattr__(self, "real_logos", REAL_LOGO_SHARE if real_logo_designs("all") else 0.0)
        if self.real_photos is None:
            object.__setattr__(self, "real_photos", bool(real_photo_files()))
        if self.scenes is not None:
            object.__setattr__(self, "scenes", tuple(self.scenes))
            unknown = sorted(set(self.scenes) - set(SCENES))
            if unknown or not self.scenes:
                raise ValueError(f"scenes must be among {sorted(SCENES)}, got {list(self.scenes)}")
        if not 0.0 <= self.real_logos <= 1.0:
            raise ValueError(f"real_logos must be in [0, 1], got {self.real_logos}")
        if min(self.legible_logos, self.illegible_logos) < 0 or self.legible_logos + self.illegible_logos > 1:
            raise ValueError("legible_logos and illegible_logos must be >= 0 with a sum <= 1, got "
                             f"{self.legible_logos} and {self.illegible_logos}")
        if self.real_split not in SPLITS:
            raise ValueError(f"real_split must be one of {SPLITS}, got {self.real_split!r}")
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
        return unknown_band_count(self.bands, self.open_set)


@dataclass
class Summary:
    """What a run produced, for the command line and the tests."""

    bands: int
    references: Counter
    photos: int
    objects: Counter = field(default_factory=Counter)
    unknown_objects: int = 0
    seconds: float = 0.0


# Worker state: set once per process by _init_worker, read by the cached asset builders.
_STATE: dict = {}


def _init_worker(catalogue: Catalogue, config: SynthConfig, root: str, main: bool = False) -> None:
    _STATE.update(catalogue=catalogue, seed=config.seed, root=Path(root), scenes=config.scenes)
    use_real_photos(config.real_photos)
    _design.cache_clear()  # per dataset: a second run in one process must not reuse the first's
    _cover.cache_clear()
    if not main:
        silence_warnings()
    cv2.setNumThreads(1)


@functools.lru_cache(maxsize=4096)
def _design(index: int):
    catalogue = _STATE["catalogue"]
    real = catalogue.real_logo(index)
    if real is not None:
        return load_real_design(real)
    return design_logo(catalogue.bands[index]["name"], rng_for(_STATE["seed"], DESIGN, index),
                       catalogue.logo_style(index))


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
    if design.colours is not None:  # a real design: its own colours, for prints that keep them
        rgb, alpha = design.colours, design.ink
    else:
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
    return items[:item_cap(scene)]


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
    scene = choose_scene(rng, _STATE["scenes"])
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
        _init_worker(*initargs, main=True)
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
        use_real_photos(config.real_photos)
        catalogue = make_catalogue(config)
        workers = config.workers or os.cpu_count() or 1
        initargs = (catalogue, config, str(work))
        _run_parallel(render_band_references, list(range(config.bands)), workers, initargs, "references")
        references = catalogue.references()
        results = _run_parallel(render_photo, [(i, config.open_set) for i in range(config.photos)],
                                workers, initargs, "photos")

        write_csv(work / "bands.csv", BAND_COLUMNS, catalogue.bands[:catalogue.known])
        write_csv(work / "albums.csv", ALBUM_COLUMNS,
                  [album for albums in catalogue.albums[:catalogue.known] for album in albums])
        write_csv(work / "references.csv", REFERENCE_COLUMNS, references)
        write_csv(work / LOGO_STYLES_FILE, LOGO_STYLE_COLUMNS,
                  [{"band_id": band["band_id"], "style": catalogue.logo_style(index)}
                   for index, band in enumerate(catalogue.bands[:catalogue.known])])
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

