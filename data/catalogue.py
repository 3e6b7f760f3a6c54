"""The first stage of `kyb synth`: band and album rows, and what each band's art is made of.

Known bands come first, then "unknown" bands, which appear in photos (VOC `band_id` 0)
but never among the references. Each cover may get a photo window of its own (no two
covers share artwork), and a share of the bands wear a real logo design instead of a
generated one (then the band takes that band's name too, so logo and name agree).

Every random choice comes from a generator seeded by (seed, stage, index); the real
designs have a stage of their own, so a dataset without them is drawn exactly as before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from data import names
from data.art import photo_windows
from data.logos import LOGO_STYLES
from data.real_logos import RealLogo, band_key, real_logo_designs

#: Share of covers whose artwork is a photograph, while unused photo windows last.
PHOTO_COVER_SHARE = 0.65
# Stage numbers that seed the random generators.
CATALOGUE, DESIGN, REFERENCE, COVER, PHOTO, SPLIT, ARTWORK, REAL, STYLE = range(9)
#: `Catalogue.logo_styles` of a band wearing a real design.
REAL_STYLE = "real"
#: Every style a dataset's logo_styles.csv may name.
ALL_LOGO_STYLES = (*LOGO_STYLES, REAL_STYLE)


def rng_for(seed: int, stage: int, *index: int) -> np.random.Generator:
    return np.random.default_rng([seed, stage, *index])


def unknown_band_count(bands: int, open_set: float) -> int:
    return max(3, math.ceil(bands * 0.2)) if open_set > 0 else 0


@dataclass
class Catalogue:
    """Band and album rows: known bands first, then the unknown ones."""

    bands: list[dict]
    albums: list[list[dict]]   # per band index
    known: int
    #: per band index and album: its own index into `data.art.photo_windows()`, or None
    #: for procedural artwork. No two covers share a window.
    cover_windows: list[list[int | None]]
    #: per band index: the real logo design it wears, or None for a generated design
    real_logos: list[RealLogo | None] = field(default_factory=list)
    #: per band index: how its generated logo reads (`data.logos.LOGO_STYLES`), or
    #: REAL_STYLE for a real design
    logo_styles: list[str] = field(default_factory=list)

    def real_logo(self, index: int) -> RealLogo | None:
        return self.real_logos[index] if index < len(self.real_logos) else None

    def logo_style(self, index: int) -> str:
        return self.logo_styles[index] if index < len(self.logo_styles) else "display"

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


def make_catalogue(config) -> Catalogue:
    """The catalogue of a `SynthConfig` (bands, open_set, seed, real_logos, real_split)."""
    rng = rng_for(config.seed, CATALOGUE)
    total = config.bands + unknown_band_count(config.bands, config.open_set)
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
    real = assign_real_logos(bands, getattr(config, "real_logos", 0.0) or 0.0, config.seed,
                             getattr(config, "real_split", "train"))
    styles = assign_logo_styles(real, getattr(config, "legible_logos", 0.0),
                                getattr(config, "illegible_logos", 0.0), config.seed)
    return Catalogue(bands, albums, config.bands, _assign_windows(albums, config.seed), real, styles)


def assign_logo_styles(real: list[RealLogo | None], legible: float, illegible: float, seed: int) -> list[str]:
    """Draw each generated design's style: `legible` and `illegible` are shares of the
    generated designs, the rest `display`; a real design's style is REAL_STYLE."""
    rolls = rng_for(seed, STYLE).random(len(real))
    return [REAL_STYLE if logo is not None else
            "legible" if roll < legible else "illegible" if roll < legible + illegible else "display"
            for logo, roll in zip(real, rolls, strict=True)]


def assign_real_logos(bands: list[dict], share: float, seed: int, split: str) -> list[RealLogo | None]:
    """Give `share` of the bands, at random, a real design of `split` (one per real band),
    and its band's name; the rest keep a generated design (None)."""
    assigned: list[RealLogo | None] = [None] * len(bands)
    if share <= 0:
        return assigned
    pool: dict[str, RealLogo] = {}
    for logo in real_logo_designs(split):
        pool.setdefault(band_key(logo.name), logo)
    designs = list(pool.values())
    rng = rng_for(seed, REAL)
    count = min(len(designs), int(round(len(bands) * share)))
    chosen = rng.permutation(len(bands))[:count].tolist()
    picks = rng.permutation(len(designs))[:count].tolist()
    taken = {band_key(band["name"]) for band in bands}
    for band_index, pick in zip(chosen, picks, strict=True):
        logo, band = designs[pick], bands[band_index]
        assigned[band_index] = logo
        if band_key(logo.name) not in taken:
            taken.add(band_key(logo.name))
            band["name"] = logo.name
            band["url"] = f"{names.ARCHIVES}/bands/{names.url_slug(logo.name)}/{band['band_id']}"
    return assigned


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
