"""Plausible band and album metadata in the bands/albums table columns.

Names are built from our own word lists and syllables so that thousands of bands get
distinct, metal-sounding names; ids and URLs follow Metal Archives' shapes
(`https://www.metal-archives.com/bands/Name_With_Underscores/12345`).
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np

ARCHIVES = "https://www.metal-archives.com"

ADJECTIVES = (
    "Black", "Frozen", "Eternal", "Unholy", "Rotting", "Burning", "Silent", "Iron", "Bleeding",
    "Forgotten", "Sacred", "Infernal", "Cursed", "Hollow", "Crimson", "Ancient", "Grim",
    "Funeral", "Savage", "Dying", "Fallen", "Putrid", "Morbid", "Dark", "Obscure", "Vile",
    "Necrotic", "Lunar", "Abyssal", "Astral", "Wretched", "Pale", "Molten", "Venomous",
    "Blind", "Ashen", "Primordial", "Chaotic", "Wolven", "Sepulchral", "Serpentine", "Cold",
)
NOUNS = (
    "Throne", "Tomb", "Winter", "Abyss", "Serpent", "Crypt", "Sorrow", "Storm", "Raven",
    "Void", "Altar", "Plague", "Wolf", "Flame", "Shadow", "Grave", "Dawn", "Temple", "Blade",
    "Horde", "Coffin", "Oath", "Chasm", "Fog", "Moon", "Pyre", "Cathedral", "Gallows",
    "Legion", "Dominion", "Carcass", "Wraith", "Tyrant", "Reaper", "Ruin", "Eclipse",
    "Harvest", "Citadel", "Maelstrom", "Requiem", "Sanctum", "Vortex", "Specter", "Glacier",
)
SYLLABLES_START = (
    "Mor", "Nec", "Kra", "Vel", "Dra", "Zar", "Gor", "Thra", "Ur", "Skel", "Bel", "Xan",
    "Az", "Kar", "Sar", "Mal", "Vor", "Ner", "Ith", "Grav", "Ob", "Sept", "Hel", "Tor",
)
SYLLABLES_MIDDLE = ("o", "a", "u", "e", "i", "ae", "y", "ou", "")
SYLLABLES_END = (
    "goth", "thar", "mith", "rax", "nox", "theon", "grim", "dor", "lith", "moth", "zul",
    "vath", "kros", "gul", "rath", "on", "ur", "ys", "oth", "ium", "ator", "eth", "ark",
)
COUNTRIES = (
    "Norway", "Sweden", "Finland", "Germany", "United States", "United Kingdom", "Poland",
    "Brazil", "Greece", "Italy", "France", "Netherlands", "Canada", "Japan", "Chile",
    "Australia", "Czechia", "Russia", "Spain", "Austria", "Mexico", "Colombia", "Portugal",
)
CITIES = (
    "Bergen", "Oslo", "Stockholm", "Gothenburg", "Helsinki", "Tampere", "Berlin", "Essen",
    "Tampa", "Florida", "Birmingham", "Krakow", "Belo Horizonte", "Athens", "Milan",
    "Paris", "Tilburg", "Montreal", "Tokyo", "Santiago", "Melbourne", "Prague", "Madrid",
)
GENRES = (
    "Black Metal", "Death Metal", "Thrash Metal", "Doom Metal", "Heavy Metal",
    "Melodic Death Metal", "Atmospheric Black Metal", "Brutal Death Metal", "Grindcore",
    "Power Metal", "Progressive Metal", "Sludge Metal", "Speed Metal", "Folk Metal",
    "Symphonic Black Metal", "Death/Doom Metal", "Blackened Thrash Metal", "Funeral Doom Metal",
    "Technical Death Metal", "Gothic Metal", "Post-Black Metal", "Stoner/Doom Metal",
)
THEMES = (
    "Death", "Satanism", "Darkness", "Nature", "Mythology", "War", "Occultism", "Gore",
    "Misanthropy", "Winter", "Philosophy", "History", "Horror", "Anti-religion", "Cosmos",
)
STATUSES = ("Active", "Active", "Active", "Split-up", "On hold", "Changed name", "Unknown")
LABEL_WORDS = ("Records", "Productions", "Music", "Recordings", "Prods.")
ALBUM_TYPES = ("Full-length", "Full-length", "Full-length", "EP", "Demo", "Split", "Single")


def _choice(rng: np.random.Generator, items):
    return items[rng.integers(len(items))]


def band_name(rng: np.random.Generator) -> str:
    """A metal-sounding band name from one of several common naming patterns."""
    pattern = rng.integers(6)
    if pattern == 0:
        return f"{_choice(rng, ADJECTIVES)} {_choice(rng, NOUNS)}"
    if pattern == 1:
        return f"{_choice(rng, NOUNS)} of {_choice(rng, NOUNS)}"
    if pattern == 2:
        return f"{_choice(rng, NOUNS)}{_choice(rng, NOUNS).lower()}"
    if pattern == 3:
        return f"The {_choice(rng, ADJECTIVES)} {_choice(rng, NOUNS)}"
    word = _choice(rng, SYLLABLES_START) + _choice(rng, SYLLABLES_MIDDLE) + _choice(rng, SYLLABLES_END)
    if pattern == 4:
        return word
    return f"{word} {_choice(rng, NOUNS)}"


def album_title(rng: np.random.Generator) -> str:
    pattern = rng.integers(3)
    if pattern == 0:
        return f"{_choice(rng, ADJECTIVES)} {_choice(rng, NOUNS)}"
    if pattern == 1:
        return f"{_choice(rng, NOUNS)}s of the {_choice(rng, ADJECTIVES)} {_choice(rng, NOUNS)}"
    return f"Under the {_choice(rng, NOUNS)}"


def url_slug(text: str) -> str:
    """Metal Archives' URL form of a name: ASCII-folded, spaces to underscores."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9_\-]", "", folded.replace(" ", "_")) or "_"


def band_record(rng: np.random.Generator, band_id: int, name: str) -> dict:
    """A bands-table row for a generated band."""
    formed = int(rng.integers(1979, 2022))
    status = _choice(rng, STATUSES)
    end = "present" if status == "Active" else str(int(rng.integers(formed, 2025)))
    themes = sorted({_choice(rng, THEMES) for _ in range(int(rng.integers(1, 4)))})
    label = f"{_choice(rng, ADJECTIVES)} {_choice(rng, NOUNS)} {_choice(rng, LABEL_WORDS)}"
    return {
        "band_id": band_id,
        "name": name,
        "url": f"{ARCHIVES}/bands/{url_slug(name)}/{band_id}",
        "country": _choice(rng, COUNTRIES),
        "location": _choice(rng, CITIES),
        "status": status,
        "formed_in": formed,
        "genre": _choice(rng, GENRES),
        "themes": ", ".join(themes),
        "label": label if rng.random() < 0.7 else "Unsigned/independent",
        "years_active": f"{formed}-{end}",
        "logo_url": f"{ARCHIVES}/images/{band_id % 10}/{band_id}_logo.png",
        "photo_url": f"{ARCHIVES}/images/{band_id % 10}/{band_id}_photo.jpg",
        "comment": "",
    }


def album_record(rng: np.random.Generator, album_id: int, band: dict, title: str) -> dict:
    """An albums-table row for a generated album of `band`."""
    year = int(rng.integers(int(band["formed_in"]), 2026))
    return {
        "album_id": album_id,
        "band_id": band["band_id"],
        "title": title,
        "type": _choice(rng, ALBUM_TYPES),
        "year": year,
        "url": f"{ARCHIVES}/albums/{url_slug(band['name'])}/{url_slug(title)}/{album_id}",
        "cover_url": f"{ARCHIVES}/images/{album_id % 10}/{album_id}.jpg",
    }


def unique_names(rng: np.random.Generator, count: int) -> list[str]:
    """`count` distinct band names (case-insensitively distinct)."""
    names, seen = [], set()
    while len(names) < count:
        name = band_name(rng)
        if name.casefold() not in seen:
            seen.add(name.casefold())
            names.append(name)
    return names


def band_ids(rng: np.random.Generator, count: int) -> list[int]:
    """Distinct Metal Archives-like ids: small ones for old bands, 10-digit for new ones."""
    small = rng.choice(np.arange(1, 120_000), size=count // 2, replace=False)
    large = 3_540_000_000 + rng.choice(np.arange(1, 600_000), size=count - count // 2, replace=False)
    ids = np.concatenate([small, large])
    rng.shuffle(ids)
    return [int(i) for i in ids]
