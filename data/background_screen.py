"""Which train-real photographs show marks the detector must not learn as background.

A background, clutter or "no object" crop is a negative for the detector: every mark on it
is taught as "not a logo". Many of the real photographs carry real marks nobody annotated
(a beer label, a shop sign, a book jacket, a rack of comics, a printed shirt), and a
detector trained on them learns that real logos and covers are background. MARKED_LIST
names those photographs (one file name a line), and the photo library leaves them out.

`python -m text.mark_screen` makes the list with the OCR models after the train-real
folder changes: a photograph is marked when a confident line of text is read on it, or
when its ImageNet class is in PRINT_CLASSES.
"""

from __future__ import annotations

import functools
from pathlib import Path

MARKED_LIST = Path(__file__).with_name("marked_backgrounds.txt")
#: ImageNet classes whose photographs show pictures, packaging or screens without text
#: the OCR reads (a printed shirt, a menu's photographs, toys in blister packs, DVDs).
PRINT_CLASSES = ("jersey", "menu", "toyshop", "vending_machine", "home_theater", "punching_bag",
                 "shopping_basket", "desktop_computer", "comic_book", "book_jacket", "web_site",
                 "bookshop", "bookcase", "library", "cinema", "scoreboard")


def image_class(name: str) -> str:
    """The class of a train-real file name such as `n03595614_jersey.jpg`."""
    stem = Path(name).stem
    return stem.split("_", 1)[1] if "_" in stem else stem


@functools.lru_cache(maxsize=1)
def marked_names() -> frozenset[str]:
    """The file names in MARKED_LIST (empty where the list is missing)."""
    if not MARKED_LIST.is_file():
        return frozenset()
    return frozenset(line.strip() for line in MARKED_LIST.read_text().splitlines()
                     if line.strip() and not line.startswith("#"))
