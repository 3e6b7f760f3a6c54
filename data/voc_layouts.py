"""The folder layouts Pascal VOC annotations come in, read as they are.

People bring VOC folders from many tools; each keeps the same XML files in another place:

- ``dataset``: our dataset folder (ARCHITECTURE.md): ``annotations/``, ``photos/``,
  ``splits/SPLIT.txt``.
- ``vocdevkit``: the VOC devkit's ``JPEGImages/``, ``Annotations/``,
  ``ImageSets/Main/SPLIT.txt``; named directly, or through a folder holding one such set
  (``VOCdevkit/`` holding ``VOC2007/``). Class-specific image sets (``CLASS_SPLIT.txt``,
  "image flag" lines) are not splits of their own, but can be asked for by name, and then
  mean the photos showing that class (flag 1, or 0: only difficult ones).
- ``cvat``: CVAT's "Pascal VOC 1.1" export: the devkit layout with one split,
  ``ImageSets/Main/default.txt``, and a ``labelmap.txt``; images may be left out.
- ``flat``: LabelImg's habit, each ``NAME.xml`` beside its image; no splits.

A photo's name is its annotation's path below the annotation folder, without ``.xml``
(``000005``, or ``sub/000005`` in a CVAT export of nested tasks). Errors are
`VocLayoutError`s whose message starts with the folder or file at fault.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from data.dataset import read_split

#: Extensions tried for a photo whose annotation names no file that exists.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".JPG", ".JPEG", ".PNG")
#: Flags of a class-specific image set line: 1 shows the class, 0 only difficult ones, -1 not.
CLASS_SET_FLAGS = ("-1", "0", "1")


class VocLayoutError(ValueError):
    """A folder that is no VOC layout we know, or a split it does not have."""


@dataclass(frozen=True)
class VocFolder:
    """Where one layout keeps its annotations, images and split files."""

    root: Path
    layout: str
    annotations: Path
    images: Path
    image_sets: Path | None
    nested: bool = False

    def splits(self) -> list[str]:
        """The split names this folder has (class-specific image sets left out)."""
        if self.image_sets is None or not self.image_sets.is_dir():
            return []
        stems = {path.stem for path in self.image_sets.glob("*.txt")}
        return sorted(stem for stem in stems
                      if not ("_" in stem and stem.rsplit("_", 1)[1] in stems))

    def split_file(self, split: str) -> Path | None:
        if self.image_sets is None:
            return None
        path = self.image_sets / f"{split}.txt"
        return path if path.is_file() else None

    def names(self, split: str | None, *, strict: bool = False) -> list[str]:
        """Photo names of `split`, or of every annotation when `split` is None.

        A split the folder lacks means every annotation when the folder has no splits at
        all, or unless `strict`; otherwise it is an error listing the splits there are.
        """
        if split is not None:
            path = self.split_file(split)
            if path is not None:
                return read_image_set(path)
            available = self.splits()
            if strict and available:
                raise VocLayoutError(f"{self.root}: no split {split!r} (its splits: {', '.join(available)}; "
                                     "'all' means every annotation)")
        return self.all_names()

    def all_names(self) -> list[str]:
        pattern = "**/*.xml" if self.nested else "*.xml"
        return sorted(path.relative_to(self.annotations).with_suffix("").as_posix()
                      for path in self.annotations.glob(pattern)
                      if path.is_file() and not path.name.startswith("."))

    def annotation_path(self, name: str) -> Path:
        return self.annotations / f"{name}.xml"

    def image_path(self, name: str, filename: str) -> Path | None:
        """The photo of annotation `name` whose ``<filename>`` is `filename`: that file in
        the image folder (or beside a nested annotation), else NAME with a usual image
        extension; None when none exists. A filename reaching outside the image folder
        (absolute, or with ``..``) counts by its last part only."""
        written = PurePosixPath(filename.replace("\\", "/"))
        if written.is_absolute() or ".." in written.parts or not written.parts:
            written = PurePosixPath(written.name or "_")
        parent = PurePosixPath(name).parent
        candidates = [self.images / written, self.images / parent / written.name]
        candidates += [self.images / f"{name}{extension}" for extension in IMAGE_EXTENSIONS]
        return next((path for path in candidates if path.is_file()), None)


def read_image_set(path: Path) -> list[str]:
    """Names of a split file, duplicates dropped. A class-specific image set (``NAME FLAG``
    lines) gives the photos that show its class."""
    names = []
    for number, line in enumerate(read_split(path), start=1):
        fields = line.split()
        if len(fields) == 2 and fields[1] in CLASS_SET_FLAGS:
            if fields[1] != "-1":
                names.append(fields[0])
        elif len(fields) == 1:
            names.append(fields[0])
        else:
            raise VocLayoutError(f"{path}: line {number}: expected a photo name (or 'NAME FLAG' with a "
                                 f"flag of {'/'.join(CLASS_SET_FLAGS)}), got {line!r}")
    return list(dict.fromkeys(names))


def open_voc_folder(root: str | os.PathLike) -> VocFolder:
    """The layout of the folder `root`, found by what it holds; see the module's docstring."""
    root = Path(root)
    if not root.is_dir():
        raise VocLayoutError(f"{root}: not a folder")
    if (root / "annotations").is_dir():
        return VocFolder(root, "dataset", root / "annotations", root / "photos", root / "splits")
    if (root / "Annotations").is_dir():
        return _devkit_folder(root)
    sets = [path for path in sorted(root.glob("*/Annotations")) + sorted(root.glob("*/*/Annotations"))
            if path.is_dir()]
    if len(sets) == 1:
        return _devkit_folder(sets[0].parent)
    if sets:
        listed = ", ".join(str(path.parent.relative_to(root)) for path in sets)
        raise VocLayoutError(f"{root}: holds several VOC sets ({listed}); name one of them")
    if any(path.is_file() for path in root.glob("*.xml")):
        return VocFolder(root, "flat", root, root, None)
    raise VocLayoutError(
        f"{root}: no Pascal VOC annotations found: expected annotations/ and photos/ (a dataset folder), "
        "Annotations/ and JPEGImages/ (a VOCdevkit set or a CVAT export), or NAME.xml files beside "
        "their images (LabelImg)")


def _devkit_folder(root: Path) -> VocFolder:
    main = root / "ImageSets" / "Main"
    cvat = (root / "labelmap.txt").is_file() or (main / "default.txt").is_file()
    return VocFolder(root, "cvat" if cvat else "vocdevkit", root / "Annotations", root / "JPEGImages",
                     main, nested=True)
