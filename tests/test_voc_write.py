"""Writing VOC files: round trips through reading, the standard layout, atomic writes,
and refusal of what reading would refuse."""

import os

import pytest

from data import voc_write
from data.voc import VocAnnotation, VocError, VocObject, parse_voc, read_voc
from data.voc_write import voc_to_bytes, write_voc


def annotation(**changes) -> VocAnnotation:
    fields = dict(
        filename="shirt.jpg", width=640, height=480, depth=3, folder="photos",
        objects=[
            VocObject("logo", (10, 20, 200, 120), band_id=186),
            VocObject("album", (300, 100, 640, 480), difficult=True, truncated=True,
                      band_id=186, album_id=5121),
        ],
    )
    fields.update(changes)
    return VocAnnotation(**fields)


# ------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("original", [
    annotation(),
    annotation(objects=[VocObject("logo", (0, 0, 640, 480))], folder=None),
    annotation(filename="Mötley Crüe – Ærø 🤘 金属.jpg", folder="Björk"),
    annotation(objects=[]),
    annotation(depth=1, folder=""),
], ids=["extension-tags", "plain-voc", "unicode", "no-objects", "grayscale-empty-folder"])
def test_write_then_read_gives_the_same_annotation(tmp_path, original):
    path = tmp_path / "a.xml"
    write_voc(original, path)
    assert read_voc(path) == original
    assert parse_voc(path.read_bytes()) == original
    assert parse_voc(path.read_text(encoding="utf-8")) == original


def test_extension_tags_are_written_only_when_set(tmp_path):
    text = voc_to_bytes(annotation(objects=[
        VocObject("logo", (1, 2, 3, 4)),
        VocObject("album", (1, 2, 3, 4), band_id=7, album_id=8),
    ])).decode("utf-8")
    assert text.count("<band_id>") == 1 and "<band_id>7</band_id>" in text
    assert text.count("<album_id>") == 1 and "<album_id>8</album_id>" in text


def test_written_file_has_the_standard_voc_layout(tmp_path):
    path = tmp_path / "a.xml"
    write_voc(annotation(filename="é.jpg"), path)
    data = path.read_bytes()
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<annotation>\n  <folder>")
    assert "<filename>é.jpg</filename>".encode() in data
    text = data.decode("utf-8")
    order = ["<folder>", "<filename>", "<size>", "<width>", "<height>", "<depth>",
             "<segmented>0</segmented>", "<object>", "<name>logo</name>",
             "<pose>Unspecified</pose>", "<truncated>0</truncated>", "<difficult>0</difficult>",
             "<band_id>186</band_id>", "<bndbox>", "<xmin>10</xmin>", "<ymin>20</ymin>",
             "<xmax>200</xmax>", "<ymax>120</ymax>"]
    positions = [text.index(tag) for tag in order]
    assert positions == sorted(positions)
    assert "\n      <xmin>10</xmin>\n" in text  # pretty printed


def test_write_replaces_an_existing_file(tmp_path):
    path = tmp_path / "a.xml"
    write_voc(annotation(), path)
    write_voc(annotation(width=1000), path)
    assert read_voc(path).width == 1000
    assert os.listdir(tmp_path) == ["a.xml"]


def test_numpy_style_integers_are_written(tmp_path):
    """Detectors hand over numpy integers; anything with __index__ is a valid coordinate."""

    class Index:
        def __init__(self, value):
            self.value = value

        def __index__(self):
            return self.value

    obj = VocObject("logo", tuple(Index(v) for v in (1, 2, 30, 40)), band_id=Index(9))
    read = parse_voc(voc_to_bytes(annotation(objects=[obj], width=Index(640))))
    assert read.objects == [VocObject("logo", (1, 2, 30, 40), band_id=9)]
    assert read.width == 640


# -------------------------------------------------------------------------------- writing


@pytest.mark.parametrize(("change", "fragments"), [
    ({"width": 0}, ["width is 0", "must be positive"]),
    ({"height": 480.0}, ["height 480.0 is not an integer"]),
    ({"depth": -1}, ["depth is -1"]),
    ({"filename": ""}, ["filename is empty"]),
    ({"filename": " a.jpg"}, ["surrounding spaces"]),
    ({"filename": "a\x00.jpg"}, ["characters XML cannot hold"]),
    ({"folder": 3}, ["folder 3 is not a string"]),
    ({"objects": [VocObject("", (1, 2, 3, 4))]}, ["object 1 name is empty"]),
    ({"objects": [VocObject("logo", (1, 2, 3))]}, ["object 1 (logo)", "4 coordinates"]),
    ({"objects": [VocObject("logo", (1, 2, 3.5, 4))]}, ["box xmax 3.5 is not an integer"]),
    ({"objects": [VocObject("logo", (1, 2, True, 4))]}, ["box xmax True is not an integer"]),
    ({"objects": [VocObject("logo", (5, 2, 3, 4))]}, ["empty or inverted"]),
    ({"objects": [VocObject("logo", (1, 2, 641, 4))]}, ["reaches outside the 640x480 image"]),
    ({"objects": [VocObject("logo", (-1, 2, 3, 4))]}, ["reaches outside"]),
    ({"objects": [VocObject("logo", (1, 2, 3, 4), difficult="yes")]},
     ["difficult 'yes' is not a bool"]),
    ({"objects": [VocObject("logo", (1, 2, 3, 4), band_id="186")]},
     ["band_id '186' is not an integer"]),
    ({"objects": [VocObject("ok", (1, 2, 3, 4)), VocObject("album", (1, 2, 3, 4),
                                                          album_id=1.0)]},
     ["object 2 (album) album_id 1.0 is not an integer"]),
], ids=["zero-width", "float-height", "negative-depth", "empty-filename", "spaced-filename",
        "nul-filename", "folder-not-str", "empty-name", "three-coordinates", "float-coordinate",
        "bool-coordinate", "inverted", "outside-right", "outside-left", "difficult-not-bool",
        "band-id-str", "album-id-float"])
def test_write_refuses_an_invalid_annotation_and_writes_nothing(tmp_path, change, fragments):
    path = tmp_path / "a.xml"
    with pytest.raises(VocError) as caught:
        write_voc(annotation(**change), path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    for fragment in fragments:
        assert fragment in message, message
    assert os.listdir(tmp_path) == []


def test_invalid_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "a.xml"
    write_voc(annotation(), path)
    before = path.read_bytes()
    with pytest.raises(VocError):
        write_voc(annotation(width=-1), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["a.xml"]


def test_a_failed_rename_leaves_no_temp_file(tmp_path, monkeypatch):
    def fail(source, target):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(voc_write.os, "replace", fail)
    path = tmp_path / "a.xml"
    with pytest.raises(VocError, match=r"cannot write the file: Permission denied"):
        write_voc(annotation(), path)
    assert os.listdir(tmp_path) == []


def test_write_into_a_missing_folder_says_so(tmp_path):
    path = tmp_path / "no" / "a.xml"
    with pytest.raises(VocError) as caught:
        write_voc(annotation(), path)
    assert str(caught.value).startswith(f"{path}: cannot write the file")


def test_voc_to_bytes_validates_too():
    with pytest.raises(VocError, match=r"^<annotation>: width is 0"):
        voc_to_bytes(annotation(width=0))
    with pytest.raises(VocError, match=r"^mine: width is 0"):
        voc_to_bytes(annotation(width=0), source="mine")
