"""Find the train-real photographs that show real marks, and write data/marked_backgrounds.txt.

A photograph is marked when the OCR models read a line of at least MIN_CHARACTERS
characters at confidence MIN_SCORE or more on it, or when its ImageNet class shows prints
(data.background_screen.PRINT_CLASSES). Run `python -m text.mark_screen` after the
train-real folder changes; why the list exists is said in data/background_screen.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2

from data.background_screen import MARKED_LIST, PRINT_CLASSES, image_class
from text.ocr import TextLine, load_reader

MIN_SCORE = 0.8
MIN_CHARACTERS = 3


def shows_text(lines: list[TextLine]) -> bool:
    """Whether a confident line of a few characters was read."""
    return any(line.score >= MIN_SCORE and len("".join(line.text.split())) >= MIN_CHARACTERS
               for line in lines)


def screen(photos: list[Path]) -> list[str]:
    """The names of the photographs that are marked, sorted."""
    reader = load_reader()
    marked = []
    for path in photos:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            continue
        if image_class(path.name) in PRINT_CLASSES or shows_text(reader.read(image[:, :, ::-1])):
            marked.append(path.name)
    return sorted(marked)


def main() -> int:
    from data.photo_library import all_real_photo_files

    photos = all_real_photo_files()
    if not photos:
        print("no train-real backgrounds here: nothing to screen", file=sys.stderr)
        return 1
    marked = screen(photos)
    MARKED_LIST.write_text("# train-real backgrounds left out of the photo library: "
                           "regenerate with `python -m text.mark_screen`\n" + "\n".join(marked) + "\n")
    print(f"{len(marked)} of {len(photos)} photographs marked; wrote {MARKED_LIST}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
