"""Find TrueType/OpenType fonts at run time for drawing band logos and cover titles.

Metal logos are drawn in blackletter and display faces; Debian packages a number of them
(`scripts/install-fonts`). Whatever the machine has is used; matplotlib's bundled DejaVu
fonts (always installed with our dependencies) and Pillow's built-in font are the
fallback that always works, so generation never fails for want of fonts.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts")
FONT_SUFFIXES = (".ttf", ".otf")
#: Substrings of file names that mark a face as blackletter, the signature metal look.
BLACKLETTER_HINTS = ("blankenburg", "gotico", "fraktur", "textura", "blackletter", "unifraktur")
#: Faces whose glyphs are symbols, not Latin letters, or too thin to print as a logo.
EXCLUDED_HINTS = (
    "math", "symbol", "awesome", "dingbat", "emoji", "mono", "hairline", "thin", "keyboard",
)
#: Substrings of file names of plain text faces (sans and serif book faces) that a reader
#: reads at a glance: the faces of legible logos. DejaVu ships with matplotlib, so one
#: always exists.
LEGIBLE_HINTS = (
    "dejavusans", "dejavuserif", "liberation", "freesans", "freeserif", "gilliusadf",
    "linbiolinum", "linlibertine", "oldstandard", "yanonekaffeesatz", "mekanusadf",
)
#: Weights too faint to print as a logo.
FAINT_HINTS = ("light", "oblique", "italic")
#: Extra font folders, separated by os.pathsep, searched before the system folders.
FONT_PATH_ENV = "KYB_FONT_PATH"


@dataclass(frozen=True)
class FontFace:
    """A usable font file, its family name, and whether it looks like blackletter."""

    path: str
    family: str
    blackletter: bool


def _candidate_files() -> list[Path]:
    folders = [Path(p) for p in os.environ.get(FONT_PATH_ENV, "").split(os.pathsep) if p]
    folders += [Path(p).expanduser() for p in FONT_DIRS]
    files = set()
    for folder in folders:
        if folder.is_dir():
            files.update(p for p in folder.rglob("*") if p.suffix.lower() in FONT_SUFFIXES)
    return sorted(files)


def _bundled_fallbacks() -> list[Path]:
    """matplotlib ships DejaVu; it is a dependency, so these files always exist."""
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return sorted(p for p in folder.glob("DejaVu*.ttf") if "Mono" not in p.name)


def _latin_family(path: Path) -> str | None:
    """The face's family name when it draws distinct, inked Latin glyphs, else None.

    Symbol fonts and fonts missing Latin glyphs draw the same box for every letter.
    """
    try:
        font = ImageFont.truetype(str(path), 40)
    except OSError:
        return None
    masks = []
    for text in ("A", "R", "g", "k"):
        image = Image.new("L", (80, 80))
        ImageDraw.Draw(image).text((10, 5), text, font=font, fill=255)
        masks.append(np.asarray(image) > 127)
    if any(mask.sum() < 30 for mask in masks):
        return None
    if any(np.array_equal(masks[i], masks[j]) for i in range(4) for j in range(i + 1, 4)):
        return None
    return font.getname()[0] or path.stem


@functools.lru_cache(maxsize=1)
def available_fonts() -> tuple[FontFace, ...]:
    """All usable faces, one per file name, sorted by file name so that a seed picks the
    same face every run and on every install.

    Not by full path: matplotlib's DejaVu lives inside the virtual environment, and
    sorting by path put it before or after the system fonts depending on where the
    environment was created (/tmp/... or /work/...), so the same seed drew different
    fonts, and different datasets, in two checkouts. A file present both in the system
    and in matplotlib is taken from the system.
    """
    faces = []
    for path in _candidate_files() + _bundled_fallbacks():
        lowered = path.name.lower()
        if any(hint in lowered for hint in EXCLUDED_HINTS):
            continue
        family = _latin_family(path)
        if family is None or any(hint in family.lower() for hint in EXCLUDED_HINTS):
            continue
        blackletter = any(hint in str(path).lower() for hint in BLACKLETTER_HINTS)
        faces.append(FontFace(str(path), family, blackletter))
    unique: dict[str, FontFace] = {}
    for face in faces:  # system fonts come first, matplotlib's fallbacks last
        unique.setdefault(Path(face.path).name, face)
    return tuple(unique[name] for name in sorted(unique))


def load_font(face: FontFace | None, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A Pillow font at `size` px; Pillow's built-in font when no face is available."""
    if face is not None:
        try:
            return ImageFont.truetype(face.path, size)
        except OSError:
            pass
    return ImageFont.load_default(size=size)


def pick_font(rng: np.random.Generator, blackletter_share: float = 0.3) -> FontFace | None:
    """Pick a family, then a face of it; blackletter is favoured, as in metal logos.

    Choosing the family first keeps a family shipped in forty weights from dominating.
    Returns None when the machine has no usable face (then `load_font` falls back).
    """
    faces = available_fonts()
    if not faces:
        return None
    blackletter = [face for face in faces if face.blackletter]
    pool = blackletter if blackletter and rng.random() < blackletter_share else faces
    return _family_first(pool, rng)


def pick_legible_font(rng: np.random.Generator) -> FontFace | None:
    """Pick a plain text face (LEGIBLE_HINTS, upright, not light), family first as in
    `pick_font`; any face where the machine has none of them."""
    faces = [face for face in available_fonts()
             if any(hint in Path(face.path).name.lower() for hint in LEGIBLE_HINTS)
             and not any(hint in Path(face.path).name.lower() for hint in FAINT_HINTS)]
    if not faces:
        return pick_font(rng, blackletter_share=0.0)
    return _family_first(faces, rng)


def _family_first(faces: list[FontFace] | tuple[FontFace, ...], rng: np.random.Generator) -> FontFace:
    """A family of `faces` at random, then one of its faces: a family shipped in forty
    weights counts once."""
    families = sorted({face.family for face in faces})
    family = families[rng.integers(len(families))]
    members = [face for face in faces if face.family == family]
    return members[rng.integers(len(members))]
