"""Writing Pascal VOC annotation files atomically, after the checks reading applies."""

from __future__ import annotations

import contextlib
import operator
import os
import secrets
from pathlib import Path

from lxml import etree

from data.voc import (
    BOX_TAGS,
    NOT_XML_TEXT,
    VocAnnotation,
    VocError,
    VocObject,
    empty_box_problem,
    is_empty_box,
    is_inside,
)


def write_voc(annotation: VocAnnotation, path: str | os.PathLike) -> None:
    """Validate, then write atomically: a temp file in the same folder, renamed over
    `path`, so readers never see half a file and an invalid annotation writes nothing.

    No fsync: this guards against crashed or interrupted writers and concurrent readers,
    not against power loss, which is not worth a disk flush per photo in large datasets.
    """
    target = Path(path)
    data = voc_to_bytes(annotation, source=str(target))
    temp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temp, "xb") as handle:
            handle.write(data)
        os.replace(temp, target)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise VocError(f"{target}: cannot write the file: {exc.strerror or exc}") from exc


def voc_to_bytes(annotation: VocAnnotation, *, source: str = "<annotation>") -> bytes:
    """The annotation as pretty-printed UTF-8 VOC XML, after the checks reading applies;
    `source` names it in error messages."""
    _validate(annotation, source)
    return etree.tostring(_build_tree(annotation), pretty_print=True, xml_declaration=True,
                          encoding="UTF-8")


def _validate(annotation: VocAnnotation, source: str) -> None:
    """Refuse what reading would refuse, and anything that would not read back equal.

    Unlike reading, nothing is clipped: a box over the edge is a bug in the caller, and
    writing must not change the data silently.
    """
    _check_text(annotation.filename, "filename", source)
    if annotation.folder is not None:
        _check_text(annotation.folder, "folder", source, allow_empty=True)
    width, height, _ = (_positive_int(getattr(annotation, what), what, source)
                        for what in ("width", "height", "depth"))
    for index, obj in enumerate(annotation.objects, start=1):
        _validate_object(obj, index, width, height, source)


def _validate_object(obj: VocObject, index: int, width: int, height: int, source: str) -> None:
    label = f"object {index}"
    _check_text(obj.name, f"{label} name", source)
    label = f"object {index} ({obj.name})"
    if len(obj.box) != len(BOX_TAGS):
        raise VocError(f"{source}: {label}: box {obj.box!r} must have 4 coordinates")
    box = tuple(_as_int(value, f"{label} box {tag}", source)
                for value, tag in zip(obj.box, BOX_TAGS, strict=True))
    if is_empty_box(box):
        raise VocError(f"{source}: {label}: {empty_box_problem(box)}")
    if not is_inside(box, width, height):
        raise VocError(f"{source}: {label}: box {box} reaches outside the "
                       f"{width}x{height} image")
    for what in ("difficult", "truncated"):
        if getattr(obj, what) not in (False, True):
            raise VocError(f"{source}: {label}: {what} {getattr(obj, what)!r} is not a bool")
    for what in ("band_id", "album_id"):
        if getattr(obj, what) is not None:
            _as_int(getattr(obj, what), f"{label} {what}", source)


def _positive_int(value: object, what: str, source: str) -> int:
    number = _as_int(value, what, source)
    if number <= 0:
        raise VocError(f"{source}: {what} is {number}; it must be positive")
    return number


def _as_int(value: object, what: str, source: str) -> int:
    """`value` as an int; numpy integers pass, floats and bools do not."""
    if not isinstance(value, bool):
        with contextlib.suppress(TypeError):
            return operator.index(value)
    raise VocError(f"{source}: {what} {value!r} is not an integer")


def _check_text(value: object, what: str, source: str, *, allow_empty: bool = False) -> None:
    """Text that XML can carry and that reads back unchanged (reading strips spaces)."""
    if not isinstance(value, str):
        raise VocError(f"{source}: {what} {value!r} is not a string")
    if not value and not allow_empty:
        raise VocError(f"{source}: {what} is empty")
    if value != value.strip() or NOT_XML_TEXT.search(value):
        raise VocError(f"{source}: {what} {value!r} has surrounding spaces or characters "
                       "XML cannot hold")


def _build_tree(annotation: VocAnnotation) -> etree._Element:
    root = etree.Element("annotation")
    if annotation.folder is not None:
        _add(root, "folder", annotation.folder)
    _add(root, "filename", annotation.filename)
    size = _add(root, "size")
    for what in ("width", "height", "depth"):
        _add(size, what, operator.index(getattr(annotation, what)))
    _add(root, "segmented", 0)
    for obj in annotation.objects:
        _build_object(root, obj)
    return root


def _build_object(root: etree._Element, obj: VocObject) -> None:
    element = _add(root, "object")
    _add(element, "name", obj.name)
    _add(element, "pose", "Unspecified")
    _add(element, "truncated", int(obj.truncated))
    _add(element, "difficult", int(obj.difficult))
    for what in ("band_id", "album_id"):
        if getattr(obj, what) is not None:
            _add(element, what, operator.index(getattr(obj, what)))
    bndbox = _add(element, "bndbox")
    for tag, value in zip(BOX_TAGS, obj.box, strict=True):
        _add(bndbox, tag, operator.index(value))


def _add(parent: etree._Element, tag: str, text: object = None) -> etree._Element:
    element = etree.SubElement(parent, tag)
    if text is not None:
        element.text = str(text)
    return element
