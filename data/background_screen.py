"""Which train-real photographs show marks the detector must not learn as background.

A background, clutter or "no object" crop is a negative for the detector: every mark on it
is taught as "not a logo". Many of the real photographs carry real marks nobody annotated
(a beer label, a shop sign, a book jacket, a rack of comics, a printed shirt), and a
detector trained on them learns that real logos and covers are background. This module
lists those photographs, and the photo library leaves them out.

A photograph is marked when the OCR models (text.ocr) read a line of at least
MIN_CHARACTERS characters at confidence MIN_SCORE or more on it, or when its ImageNet
class is one whose photographs show prints, packaging or screens that carry no legible
text. The list is kept in MARKED_LIST (one file name a line); regenerate it with
`python -m data.background_screen` after the train-real folder changes.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

MARKED_LIST = Path(__file__).with_name("marked_backgrounds.txt")
MIN_SCORE = 0.8
MIN_CHARACTERS = 3
#: ImageNet classes whose photographs show pictures, packaging or screens without text
#: the OCR reads (a printed shirt, a menu's photographs, toys in blister packs, DVDs).
PRINT_CLASSES = ("jersey", "menu", "toyshop", "vending_machine", "home_theater", "punching_bag",
                 "shopping_basket", "desktop_computer", "comic_book", "book_jacket", "web_site",
                 "bookshop", "bookcase", "library", "cinema", "scoreboard")


def image_class(name: str) -> str:
    """The class of a train-real file name such as `n03595614_jersey.jpg`."""
    stem = Path(name).stem
    return stem.split("_", 1)[1] if "_" in stem else stem


def shows_text(lines) -> bool:
    """Whether text.ocr read a confident line of a few characters."""
    return any(line.score >= MIN_SCORE and len("".join(line.text.split())) >= MIN_CHARACTERS
               for line in lines)


def screen(photos: list[Path]) -> list[str]:
    """The names of the photographs that are marked, sorted."""
    import cv2

    from text.ocr import load_reader

    reader = load_reader()
    marked = []
    for path in photos:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            continue
        if image_class(path.name) in PRINT_CLASSES or shows_text(reader.read(image[:, :, ::-1])):
            marked.append(path.name)
    return sorted(marked)


@functools.lru_cache(maxsize=1)
def marked_names() -> frozenset[str]:
    """The file names in MARKED_LIST (empty where the list is missing)."""
    if not MARKED_LIST.is_file():
        return frozenset()
    return frozenset(line.strip() for line in MARKED_LIST.read_text().splitlines()
                     if line.strip() and not line.startswith("#"))


def main() -> int:
    from data.photo_library import all_real_photo_files

    photos = all_real_photo_files()
    if not photos:
        print("no train-real backgrounds here: nothing to screen", file=sys.stderr)
        return 1
    marked = screen(photos)
    MARKED_LIST.write_text("# train-real backgrounds left out of the photo library: "
                           "regenerate with `python -m data.background_screen`\n" + "\n".join(marked) + "\n")
    print(f"{len(marked)} of {len(photos)} photographs marked; wrote {MARKED_LIST}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
