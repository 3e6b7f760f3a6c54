"""Pascal VOC reading (data/voc.py): real tools' files, every refusal, hostile XML."""

import time
import tracemalloc
from pathlib import Path

import pytest

from data import voc
from data.voc import (
    VocAnnotation,
    VocError,
    VocObject,
    parse_voc,
    read_voc,
)
from tests.conftest import shared_path

PASSWD_MARKER = "root:"


def voc_file(tmp_path: Path, objects: str = "", size: str | None = None,
             name: str = "photo.xml") -> Path:
    """A hand-written VOC file with the given <object> elements and <size> element."""
    if size is None:
        size = "<size><width>640</width><height>480</height><depth>3</depth></size>"
    path = tmp_path / name
    path.write_text(f"<annotation>\n<filename>photo.jpg</filename>\n{size}\n{objects}\n"
                    "</annotation>\n", encoding="utf-8")
    return path


def box_object(xmin="10", ymin="20", xmax="200", ymax="120", name="logo", extra="") -> str:
    return (f"<object><name>{name}</name>{extra}<bndbox><xmin>{xmin}</xmin><ymin>{ymin}</ymin>"
            f"<xmax>{xmax}</xmax><ymax>{ymax}</ymax></bndbox></object>")


def refused(path: Path, *fragments: str, **kwargs) -> str:
    """Read `path`, expecting a VocError that starts with the path and names the problem."""
    with pytest.raises(VocError) as caught:
        read_voc(path, **kwargs)
    message = str(caught.value)
    assert message.startswith(str(path)), message
    for fragment in fragments:
        assert fragment in message, message
    return message


# --------------------------------------------------------------------- real tools' files


LABELIMG = """<annotation verified="yes">
\t<folder>images</folder>
\t<filename>jacket.jpg</filename>
\t<path>/home/me/images/jacket.jpg</path>
\t<source>
\t\t<database>Unknown</database>
\t</source>
\t<size>
\t\t<width>640</width>
\t\t<height>480</height>
\t\t<depth>3</depth>
\t</size>
\t<segmented>0</segmented>
\t<object>
\t\t<name>logo</name>
\t\t<pose>Unspecified</pose>
\t\t<truncated>1</truncated>
\t\t<difficult>0</difficult>
\t\t<bndbox>
\t\t\t<xmin>1</xmin>
\t\t\t<ymin>1</ymin>
\t\t\t<xmax>640</xmax>
\t\t\t<ymax>480</ymax>
\t\t</bndbox>
\t</object>
\t<object>
\t\t<name>album</name>
\t\t<pose>Unspecified</pose>
\t\t<difficult>1</difficult>
\t\t<bndbox>
\t\t\t<xmin>0</xmin>
\t\t\t<ymin>200</ymin>
\t\t\t<xmax>641</xmax>
\t\t\t<ymax>481</ymax>
\t\t</bndbox>
\t</object>
</annotation>
"""

CVAT = """<?xml version="1.0" encoding="utf-8"?>
<annotation>
  <folder></folder>
  <filename>frame_000042.png</filename>
  <source>
    <database>Unknown</database>
    <annotation>Unknown</annotation>
    <image>Unknown</image>
  </source>
  <size>
    <width>1920</width>
    <height>1080</height>
    <depth></depth>
  </size>
  <segmented>0</segmented>
  <object>
    <attributes>
      <attribute>
        <name>not-the-object-name</name>
        <value>printed</value>
      </attribute>
    </attributes>
    <name>logo</name>
    <truncated>0</truncated>
    <occluded>1</occluded>
    <difficult>0</difficult>
    <bndbox>
      <xmin>123.45</xmin>
      <ymin>67.5</ymin>
      <xmax>456.78</xmax>
      <ymax>300.0</ymax>
    </bndbox>
  </object>
  <object>
    <name>album</name>
    <bndbox>
      <xmin>-0.6</xmin>
      <ymin>10.49</ymin>
      <xmax>1920.9</xmax>
      <ymax>1080.0</ymax>
    </bndbox>
  </object>
</annotation>
"""


def test_reads_a_labelimg_file(tmp_path):
    path = tmp_path / "jacket.xml"
    path.write_text(LABELIMG, encoding="utf-8")
    assert read_voc(path) == VocAnnotation(
        filename="jacket.jpg", width=640, height=480, depth=3, folder="images",
        objects=[
            VocObject("logo", (1, 1, 640, 480), truncated=True),  # 1-based, xmax == width
            VocObject("album", (0, 200, 640, 480), difficult=True),  # 1 px over: clipped
        ],
    )


def test_reads_a_cvat_pascal_voc_1_1_export(tmp_path):
    path = tmp_path / "frame_000042.xml"
    path.write_text(CVAT, encoding="utf-8")
    assert read_voc(path) == VocAnnotation(
        filename="frame_000042.png", width=1920, height=1080, depth=3, folder="",
        objects=[
            VocObject("logo", (123, 68, 457, 300)),  # floats rounded half up
            VocObject("album", (0, 10, 1920, 1080)),  # under a pixel outside: clipped
        ],
    )


def test_a_declared_encoding_other_than_utf8_is_honoured():
    data = LABELIMG.replace("jacket.jpg", "jäcket.jpg").replace(
        "<annotation", '<?xml version="1.0" encoding="ISO-8859-1"?>\n<annotation', 1)
    assert parse_voc(data.encode("latin-1")).filename == "jäcket.jpg"
    assert parse_voc(data).filename == "jäcket.jpg"  # str: its declaration is moot


def test_comments_are_ignored():
    data = LABELIMG.replace("<name>logo</name>", "<name><!-- c -->logo<!-- d --></name>")
    assert parse_voc(data).objects[0].name == "logo"


def test_reads_the_shared_real_datasets():
    """Every annotation of ../shared/real reads, so our reader fits files made elsewhere."""
    paths = sorted(shared_path("real").glob("*/annotations/*.xml"))
    assert len(paths) > 100
    annotations = [read_voc(path) for path in paths]
    assert sum(len(a.objects) for a in annotations) >= len(paths)
    assert all(obj.band_id is not None for a in annotations for obj in a.objects)


# ---------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(("body", "fragments"), [
    ("<annotation><filename>a.jpg</filename><size>", ["malformed XML", "line 1"]),
    ("<annotation>\n<filename>a</filename>\n<size><width>1</wdth></size></annotation>",
     ["malformed XML", "line 3"]),
    ("", ["malformed XML", "empty"]),
    ("<annotation><filename>&nbsp;</filename></annotation>", ["malformed XML", "nbsp"]),
    ("<voc><filename>a.jpg</filename></voc>", ["root element is <voc>", "<annotation>"]),
], ids=["unclosed", "mismatched-tag", "empty-file", "undefined-entity", "wrong-root"])
def test_refuses_malformed_xml(tmp_path, body, fragments):
    path = tmp_path / "bad.xml"
    path.write_text(body, encoding="utf-8")
    refused(path, *fragments)


@pytest.mark.parametrize(("size", "fragments"), [
    ("", ["<annotation> has no <size>"]),
    ("<size><height>480</height></size>", ["<size> has no <width>"]),
    ("<size><width>640</width></size>", ["<size> has no <height>"]),
    ("<size><width>640px</width><height>480</height></size>",
     ["<size><width>", "'640px' is not a number"]),
    ("<size><width>0</width><height>0</height><depth>3</depth></size>",
     ["<size><width> is 0", "must be positive"]),
    ("<size><width>640</width><height>-5</height></size>", ["<size><height> is -5"]),
    ("<size><width>640</width><height>480</height><depth>three</depth></size>",
     ["<size><depth>", "'three' is not a number"]),
    ("<size><width>nan</width><height>480</height></size>", ["'nan' is not a number"]),
], ids=["no-size", "no-width", "no-height", "width-not-number", "zero-size", "negative-height",
        "depth-not-number", "nan"])
def test_refuses_a_bad_size(tmp_path, size, fragments):
    refused(voc_file(tmp_path, box_object(), size=size), *fragments)


def test_missing_depth_means_three(tmp_path):
    path = voc_file(tmp_path, size="<size><width>640</width><height>480</height></size>")
    assert read_voc(path).depth == 3


@pytest.mark.parametrize(("obj", "fragments"), [
    ("<object><bndbox/></object>", ["object 1 has no <name>"]),
    ("<object><name> </name></object>", ["object 1 has an empty <name>"]),
    ("<object><name>logo</name></object>", ["object 1 (logo) has no <bndbox>"]),
    ("<object><name>logo</name><bndbox><ymin>1</ymin><xmax>9</xmax><ymax>9</ymax></bndbox>"
     "</object>", ["object 1 (logo) <bndbox> has no <xmin>"]),
    (box_object(ymax=""), ["object 1 (logo) <bndbox><ymax>", "'' is not a number"]),
    (box_object(xmax="2OO"), ["<bndbox><xmax>", "'2OO' is not a number"]),
    (box_object(xmin="200", xmax="10"), ["object 1 (logo)", "empty or inverted"]),
    (box_object(xmin="10", xmax="10"), ["empty or inverted"]),
    (box_object(ymin="10.2", ymax="10.4"), ["empty or inverted"]),
    (box_object(xmax="700"), ["box (10, 20, 700, 120) reaches outside the 640x480 image"]),
    (box_object(ymin="-5"), ["reaches outside the 640x480 image", "clip=True"]),
    (box_object(extra="<difficult>maybe</difficult>"), ["<difficult> 'maybe' is not 0 or 1"]),
    (box_object(extra="<truncated>2</truncated>"), ["<truncated> '2' is not 0 or 1"]),
    (box_object(extra="<band_id>abc</band_id>"), ["<band_id> 'abc' is not an integer"]),
    (box_object(extra="<album_id>1.5</album_id>"), ["<album_id> '1.5' is not an integer"]),
], ids=["no-name", "empty-name", "no-bndbox", "no-xmin", "empty-ymax", "xmax-not-number",
        "inverted", "zero-width", "zero-height-after-rounding", "right-of-image",
        "above-image", "bad-difficult", "bad-truncated", "bad-band-id", "bad-album-id"])
def test_refuses_a_bad_object(tmp_path, obj, fragments):
    refused(voc_file(tmp_path, obj), *fragments)


def test_errors_name_the_object_and_its_line(tmp_path):
    path = voc_file(tmp_path, box_object() + "\n" + box_object(name="album", xmin="x"))
    message = refused(path, "object 2 (album)", "<bndbox><xmin> 'x' is not a number")
    assert message.startswith(f"{path}: line 5: "), message


def test_refuses_a_missing_or_unreadable_file(tmp_path):
    refused(tmp_path / "absent.xml", "cannot read the file")
    refused(tmp_path, "cannot read the file")


def test_parse_voc_names_its_source_in_errors():
    with pytest.raises(VocError, match=r"^upload\.xml: malformed XML"):
        parse_voc(b"<annotation>", source="upload.xml")
    with pytest.raises(VocError, match=r"^<string>: line 1: .*has no <size>"):
        parse_voc("<annotation><filename>a.jpg</filename></annotation>")


def test_refuses_an_empty_filename(tmp_path):
    path = tmp_path / "a.xml"
    path.write_text("<annotation><filename> </filename><size><width>1</width><height>1"
                    "</height></size></annotation>", encoding="utf-8")
    refused(path, "<filename> is empty")


# ------------------------------------------------------------------------------ clipping


def test_clip_clips_boxes_reaching_outside(tmp_path):
    path = voc_file(tmp_path, box_object(xmin="-40", ymin="-3", xmax="700.4", ymax="100"))
    assert read_voc(path, clip=True).objects[0].box == (0, 0, 640, 100)


def test_clip_still_refuses_a_box_entirely_outside(tmp_path):
    path = voc_file(tmp_path, box_object(xmin="700", xmax="800"))
    refused(path, "lies entirely outside the 640x480 image", clip=True)


def test_clip_still_refuses_an_inverted_box(tmp_path):
    refused(voc_file(tmp_path, box_object(xmin="300", xmax="-50")), "empty or inverted",
            clip=True)


def test_one_pixel_outside_is_clipped_silently_but_two_is_not(tmp_path):
    one = voc_file(tmp_path, box_object(xmin="-1", ymin="-1", xmax="641", ymax="481"))
    assert read_voc(one).objects[0].box == (0, 0, 640, 480)
    two = voc_file(tmp_path, box_object(xmin="-2"), name="two.xml")
    refused(two, "reaches outside")


# ------------------------------------------------------------------- hostile documents


XXE_FILE = """<?xml version="1.0"?>
<!DOCTYPE annotation [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<annotation><filename>&xxe;</filename>
<size><width>640</width><height>480</height></size></annotation>
"""
XXE_HTTP = XXE_FILE.replace("file:///etc/passwd", "http://127.0.0.1:9/secret")
XXE_PARAMETER = """<?xml version="1.0"?>
<!DOCTYPE annotation [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>
<annotation><filename>a.jpg</filename></annotation>
"""
EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE annotation SYSTEM "file:///etc/passwd">
<annotation><filename>a.jpg</filename></annotation>
"""


def billion_laughs() -> str:
    entities = ['<!ENTITY lol0 "lol">']
    for i in range(1, 10):
        references = f"&lol{i - 1};" * 10
        entities.append(f'<!ENTITY lol{i} "{references}">')
    return (f"<?xml version=\"1.0\"?>\n<!DOCTYPE annotation [{''.join(entities)}]>\n"
            "<annotation><filename>&lol9;</filename>"
            "<size><width>1</width><height>1</height></size></annotation>")


@pytest.mark.parametrize("document", [XXE_FILE, XXE_HTTP, XXE_PARAMETER, EXTERNAL_DTD],
                         ids=["file-entity", "http-entity", "parameter-entity", "external-dtd"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_refuses_external_entities_without_expanding_them(tmp_path, document, encoding):
    if encoding == "utf-16":
        document = document.replace('<?xml version="1.0"?>', '<?xml version="1.0" '
                                    'encoding="UTF-16"?>')
    path = tmp_path / "xxe.xml"
    path.write_bytes(document.encode(encoding))
    message = refused(path, "DOCTYPE")
    assert PASSWD_MARKER not in message and "secret" not in message


@pytest.mark.parametrize(("document", "expected"), [
    (XXE_FILE, "refused: .*DOCTYPE"),
    (XXE_HTTP, "refused: .*DOCTYPE"),
    (XXE_PARAMETER, "refused: .*DOCTYPE"),
    (EXTERNAL_DTD, "refused: .*DOCTYPE"),
    # libxml2's own amplification guard may stop it first, depending on its version.
    (billion_laughs(), "(refused: .*DOCTYPE|malformed XML: .*amplification)"),
], ids=["file-entity", "http-entity", "parameter-entity", "external-dtd", "billion-laughs"])
def test_parsed_tree_check_refuses_what_the_byte_scan_misses(monkeypatch, document, expected):
    """An encoding the byte scan does not know (UTF-7, say) hides the DOCTYPE from it;
    the parser's settings and the check of the parsed tree must still refuse, unexpanded."""
    monkeypatch.setattr(voc, "_DTD_MARKERS", ())
    start = time.perf_counter()
    with pytest.raises(VocError, match=f"^in-memory: {expected}") as caught:
        parse_voc(document.encode("utf-8"), source="in-memory")
    assert time.perf_counter() - start < 1.0
    assert PASSWD_MARKER not in str(caught.value) and "lollol" not in str(caught.value)


def test_external_entities_do_not_expand_even_in_memory():
    with pytest.raises(VocError, match="DOCTYPE") as caught:
        parse_voc(XXE_FILE)
    assert PASSWD_MARKER not in str(caught.value)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_refuses_billion_laughs_quickly(tmp_path, encoding):
    path = tmp_path / "lol.xml"
    document = billion_laughs()
    if encoding == "utf-16":
        document = document.replace('<?xml version="1.0"?>',
                                    '<?xml version="1.0" encoding="UTF-16"?>')
    path.write_bytes(document.encode(encoding))
    start = time.perf_counter()
    message = refused(path, "DOCTYPE")
    assert time.perf_counter() - start < 1.0
    assert "lollol" not in message


def test_refuses_an_oversized_file_without_reading_it(tmp_path):
    """A 64 MiB sparse file: stat refuses it before any of it is read into memory."""
    path = tmp_path / "huge.xml"
    with open(path, "wb") as handle:
        handle.truncate(64 << 20)
    tracemalloc.start()
    try:
        refused(path, "too large", f"{64 << 20} bytes", f"limit is {voc.MAX_BYTES}")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_size_cap_applies_to_valid_files_and_bytes(tmp_path):
    padded = LABELIMG.replace("</annotation>", " " * voc.MAX_BYTES + "</annotation>")
    path = tmp_path / "padded.xml"
    path.write_text(padded, encoding="utf-8")
    refused(path, "too large")
    with pytest.raises(VocError, match=r"^<string>: file is too large"):
        parse_voc(padded)
    with pytest.raises(VocError, match=r"^mem: file is too large"):
        parse_voc(LABELIMG.encode(), source="mem", max_bytes=100)
    assert parse_voc(LABELIMG.encode(), max_bytes=len(LABELIMG)).filename == "jacket.jpg"
