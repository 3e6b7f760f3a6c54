"""Pascal VOC annotation files: their types, and reading them safely (writing:
`data.voc_write`).

One file describes one photo: its size and a list of boxed objects. Besides the standard
tags, objects may carry two extension tags of the dataset folder contract (ARCHITECTURE.md),
``<band_id>`` and ``<album_id>``; plain VOC readers ignore them, so our files still work
with other tools, and files from other tools (LabelImg, CVAT) work here without them.

Annotation files come from outside (downloads, labelling tools, other people's datasets),
so reading is hardened: no DTDs or entities at all (XXE and billion-laughs files are
refused before anything expands), no network, a size cap checked before the file is read.
Reading is lenient where real tools differ harmlessly (float coordinates, missing
``<difficult>``, extra tags, boxes a pixel over the edge) and strict where the data would
be wrong (missing or non-numeric values, empty boxes, boxes outside the image). Every
error is a `VocError` whose message starts with the file path and says what and where.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field

from lxml import etree

#: Largest annotation accepted, in bytes. Real VOC files are a few KiB; the cap keeps a
#: hostile or mistaken file (a video renamed .xml) from being read into memory.
MAX_BYTES = 1 << 20
#: Coordinates at most this far outside the image are clipped silently: LabelImg and
#: CVAT write boxes that touch the border as one pixel past it.
SLACK_PX = 1
BOX_TAGS = ("xmin", "ymin", "xmax", "ymax")
DEFAULT_DEPTH = 3

# DTD markup as bytes in every encoding whose detection libxml2 does not need a declaration
# for; a DOCTYPE in any other encoding is caught after parsing, before any use.
_DTD_MARKERS = tuple(markup.encode(encoding) for markup in ("<!DOCTYPE", "<!ENTITY")
                     for encoding in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"))
# Characters XML 1.0 cannot carry; lxml would refuse them halfway through building a tree.
NOT_XML_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_FLAGS = {"": False, "0": False, "false": False, "1": True, "true": True}


class VocError(ValueError):
    """An annotation that cannot be read or must not be written; the message says why."""


@dataclass
class VocObject:
    """One boxed object; `box` is (xmin, ymin, xmax, ymax) in pixels of the photo."""

    name: str
    box: tuple[int, int, int, int]
    difficult: bool = False
    truncated: bool = False
    band_id: int | None = None
    album_id: int | None = None


@dataclass
class VocAnnotation:
    """The content of one VOC file: the photo's name and size, and its objects."""

    filename: str
    width: int
    height: int
    depth: int = DEFAULT_DEPTH
    objects: list[VocObject] = field(default_factory=list)
    folder: str | None = None


# ---------------------------------------------------------------------------- reading


def read_voc(path: str | os.PathLike, *, clip: bool = False,
             max_bytes: int = MAX_BYTES) -> VocAnnotation:
    """Read a VOC file. With `clip`, boxes reaching outside the image are clipped to it
    instead of refused (boxes entirely outside are refused either way)."""
    source = os.fspath(path)
    return parse_voc(_read_capped(source, max_bytes), source, clip=clip, max_bytes=max_bytes)


def parse_voc(data: bytes | str, source: str = "<string>", *, clip: bool = False,
              max_bytes: int = MAX_BYTES) -> VocAnnotation:
    """Parse VOC XML held in memory; `source` names it in error messages.

    A str is parsed as the text it is, whatever encoding its declaration names.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    _check_size(len(raw), max_bytes, source)
    root = _parse_xml(raw, source, from_text=isinstance(data, str))
    return _read_annotation(root, source, clip)


def _read_capped(source: str, max_bytes: int) -> bytes:
    """The file's bytes, refusing a large file by its stat size before reading it, and
    reading at most one byte past the cap in case the file grew or stat lied (a pipe)."""
    try:
        with open(source, "rb") as handle:
            _check_size(os.fstat(handle.fileno()).st_size, max_bytes, source)
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise VocError(f"{source}: cannot read the file: {exc.strerror or exc}") from exc
    _check_size(len(data), max_bytes, source)
    return data


def _check_size(size: int, max_bytes: int, source: str) -> None:
    if size > max_bytes:
        raise VocError(f"{source}: file is too large for a VOC annotation "
                       f"({size} bytes, the limit is {max_bytes})")


def _parse_xml(raw: bytes, source: str, *, from_text: bool) -> etree._Element:
    """Parse with every libxml2 feature that could reach outside the text turned off, and
    refuse DTDs outright: VOC never uses one, and entity tricks all need one."""
    if any(marker in raw for marker in _DTD_MARKERS):
        raise _dtd_error(source)
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
        huge_tree=False, remove_comments=True, encoding="utf-8" if from_text else None,
    )
    try:
        root = etree.fromstring(raw, parser)
    except etree.XMLSyntaxError as exc:
        raise VocError(f"{source}: malformed XML: {exc.msg}") from exc
    docinfo = root.getroottree().docinfo
    # The byte scan above misses a DOCTYPE in other encodings, such as UTF-7.
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise _dtd_error(source)
    return root


def _dtd_error(source: str) -> VocError:
    return VocError(f"{source}: refused: the document has a DOCTYPE/ENTITY declaration, "
                    "which VOC files never need (possible XXE or entity-expansion attack)")


def _read_annotation(root: etree._Element, source: str, clip: bool) -> VocAnnotation:
    if root.tag != "annotation":
        raise _error(source, root, f"root element is <{root.tag}>, expected <annotation>")
    width, height, depth = _read_size(_child(root, "size", "<annotation>", source), source)
    folder = root.find("folder")
    return VocAnnotation(
        filename=_read_filename(root, source),
        width=width,
        height=height,
        depth=depth,
        objects=[_read_object(element, index, width, height, source, clip)
                 for index, element in enumerate(root.iterfind("object"), start=1)],
        folder=None if folder is None else _text(folder),
    )


def _read_filename(root: etree._Element, source: str) -> str:
    element = _child(root, "filename", "<annotation>", source)
    filename = _text(element)
    if not filename:
        raise _error(source, element, "<filename> is empty")
    return filename


def _read_size(size: etree._Element, source: str) -> tuple[int, int, int]:
    """Width, height and depth; depth defaults to 3 because CVAT leaves it empty."""
    width, height = (_positive(_child(size, tag, "<size>", source), f"<size><{tag}>", source)
                     for tag in ("width", "height"))
    depth = size.find("depth")
    if depth is None or not _text(depth):
        return width, height, DEFAULT_DEPTH
    return width, height, _positive(depth, "<size><depth>", source)


def _positive(element: etree._Element, what: str, source: str) -> int:
    value = _number(element, what, source)
    if value <= 0:
        raise _error(source, element, f"{what} is {value}; it must be positive "
                                      "(some tools write 0 when they did not record the size)")
    return value


def _read_object(element: etree._Element, index: int, width: int, height: int,
                 source: str, clip: bool) -> VocObject:
    name_element = _child(element, "name", f"object {index}", source)
    name = _text(name_element)
    if not name:
        raise _error(source, name_element, f"object {index} has an empty <name>")
    label = f"object {index} ({name})"
    bndbox = _child(element, "bndbox", label, source)
    raw = tuple(_number(_child(bndbox, tag, f"{label} <bndbox>", source),
                        f"{label} <bndbox><{tag}>", source) for tag in BOX_TAGS)
    return VocObject(
        name=name,
        box=_fit_box(raw, width, height, clip, f"{_place(source, bndbox)}: {label}"),
        difficult=_flag(element, "difficult", label, source),
        truncated=_flag(element, "truncated", label, source),
        band_id=_optional_int(element, "band_id", label, source),
        album_id=_optional_int(element, "album_id", label, source),
    )


def _fit_box(raw: tuple[int, int, int, int], width: int, height: int, clip: bool,
             where: str) -> tuple[int, int, int, int]:
    """The box clipped as far as allowed (one pixel, or anything with `clip`), or an
    error whose message starts with `where`."""
    if is_empty_box(raw):
        raise VocError(f"{where}: {empty_box_problem(raw)}")
    box = _clip_box(raw, width, height, math.inf if clip else SLACK_PX)
    if is_empty_box(box):
        raise VocError(f"{where}: box {raw} lies entirely outside the {width}x{height} image")
    if not is_inside(box, width, height):
        raise VocError(f"{where}: box {raw} reaches outside the {width}x{height} image "
                       "(read with clip=True to clip it)")
    return box


def _clip_box(box: tuple[int, int, int, int], width: int, height: int,
              slack: float) -> tuple[int, int, int, int]:
    limits = (width, height, width, height)
    return tuple(_clip(value, limit, slack) for value, limit in zip(box, limits, strict=True))


def _clip(value: int, limit: int, slack: float) -> int:
    """Move `value` onto the border of [0, limit] if it is at most `slack` outside it."""
    if -slack <= value < 0:
        return 0
    if limit < value <= limit + slack:
        return limit
    return value


def _flag(element: etree._Element, tag: str, label: str, source: str) -> bool:
    """A 0/1 tag; absent means False, as in LabelImg files without <truncated>."""
    child = element.find(tag)
    if child is None:
        return False
    text = _text(child)
    if text.lower() not in _FLAGS:
        raise _error(source, child, f"{label} <{tag}> {text!r} is not 0 or 1")
    return _FLAGS[text.lower()]


def _optional_int(element: etree._Element, tag: str, label: str, source: str) -> int | None:
    child = element.find(tag)
    text = "" if child is None else _text(child)
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise _error(source, child, f"{label} <{tag}> {text!r} is not an integer") from None


def _child(parent: etree._Element, tag: str, owner: str, source: str) -> etree._Element:
    """The first direct child `tag` (so <attributes><attribute><name> never stands in for
    an object's <name>), or an error naming what is missing and where."""
    child = parent.find(tag)
    if child is None:
        raise _error(source, parent, f"{owner} has no <{tag}>")
    return child


def _number(element: etree._Element, what: str, source: str) -> int:
    """A coordinate or size, rounded half up: CVAT writes floats such as "45.67"."""
    text = _text(element)
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise _error(source, element, f"{what} {text!r} is not a number")
    return math.floor(value + 0.5)


def _text(element: etree._Element) -> str:
    return (element.text or "").strip()


def _error(source: str, element: etree._Element, message: str) -> VocError:
    return VocError(f"{_place(source, element)}: {message}")


def _place(source: str, element: etree._Element) -> str:
    return f"{source}: line {element.sourceline}"


# ----------------------------------------------------------------------- shared checks


def is_empty_box(box: tuple[int, int, int, int]) -> bool:
    xmin, ymin, xmax, ymax = box
    return xmax <= xmin or ymax <= ymin


def is_inside(box: tuple[int, int, int, int], width: int, height: int) -> bool:
    xmin, ymin, xmax, ymax = box
    return xmin >= 0 and ymin >= 0 and xmax <= width and ymax <= height


def empty_box_problem(box: tuple[int, int, int, int]) -> str:
    return f"box {box} is empty or inverted (needs xmin < xmax and ymin < ymax)"
