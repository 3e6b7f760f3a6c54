"""Clean errors on the command line (kyb/cli.py): every refusal of the VOC reader, and of
the folder around it, through `kyb eval detector` is one line naming the file, exit
status 2, no traceback; --verbose adds the traceback; a bug keeps its own."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from data.voc import MAX_BYTES
from kyb.cli import cli
from tests.conftest import REPO_ROOT
from tests.test_voc import LABELIMG, XXE_FILE, billion_laughs, box_object

SIZE = "<size><width>640</width><height>480</height><depth>3</depth></size>"


def document(objects: str = box_object(), size: str = SIZE, filename: str = "<filename>a.jpg</filename>"):
    return f"<annotation>\n{filename}\n{size}\n{objects}\n</annotation>\n"


#: case -> (the annotation's text, what the error line must say).
MALFORMED = {
    "unclosed": ("<annotation><filename>a.jpg</filename><size>", "malformed XML"),
    "mismatched-tag": ("<annotation>\n<size><width>1</wdth></size></annotation>", "malformed XML"),
    "empty-file": ("", "malformed XML"),
    "undefined-entity": ("<annotation><filename>&nbsp;</filename></annotation>", "malformed XML"),
    "not-utf8": (b"<annotation><filename>\xff\xfe</filename></annotation>", "malformed XML"),
    "wrong-root": ("<voc><filename>a.jpg</filename></voc>", "root element is <voc>"),
    "xxe": (XXE_FILE, "DOCTYPE/ENTITY declaration"),
    "billion-laughs": (billion_laughs(), "DOCTYPE/ENTITY declaration"),
    "too-large": (LABELIMG.replace("</annotation>", " " * MAX_BYTES + "</annotation>"), "file is too large"),
    "no-filename": (document(filename=""), "<annotation> has no <filename>"),
    "empty-filename": (document(filename="<filename> </filename>"), "<filename> is empty"),
    "no-size": (document(size=""), "<annotation> has no <size>"),
    "no-width": (document(size="<size><height>480</height></size>"), "<size> has no <width>"),
    "width-not-number": (document(size="<size><width>640px</width><height>480</height></size>"),
                         "'640px' is not a number"),
    "zero-size": (document(size="<size><width>0</width><height>0</height></size>"), "must be positive"),
    "bad-depth": (document(size="<size><width>6</width><height>4</height><depth>x</depth></size>"),
                  "<size><depth> 'x' is not a number"),
    "no-name": (document("<object><bndbox/></object>"), "object 1 has no <name>"),
    "empty-name": (document("<object><name> </name></object>"), "object 1 has an empty <name>"),
    "no-bndbox": (document("<object><name>logo</name></object>"), "object 1 (logo) has no <bndbox>"),
    "no-xmin": (document("<object><name>logo</name><bndbox><ymin>1</ymin><xmax>9</xmax><ymax>9</ymax>"
                         "</bndbox></object>"), "<bndbox> has no <xmin>"),
    "coordinate-not-number": (document(box_object(xmax="2OO")), "'2OO' is not a number"),
    "inverted-box": (document(box_object(xmin="200", xmax="10")), "empty or inverted"),
    "box-outside-the-image": (document(box_object(xmin="700", xmax="800")), "lies entirely outside"),
    "bad-difficult": (document(box_object(extra="<difficult>maybe</difficult>")), "is not 0 or 1"),
    "bad-truncated": (document(box_object(extra="<truncated>2</truncated>")), "is not 0 or 1"),
    "bad-band-id": (document(box_object(extra="<band_id>abc</band_id>")), "is not an integer"),
    "bad-album-id": (document(box_object(extra="<album_id>1.5</album_id>")), "is not an integer"),
}


def one_error_line(args, *, expected_code: int = 2) -> str:
    result = CliRunner().invoke(cli, [str(arg) for arg in args])
    assert result.exit_code == expected_code, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


@pytest.fixture
def predictions(tmp_path):
    """No detections at all: scoring them needs the ground truth only."""
    path = tmp_path / "none.csv"
    path.write_text("image,class,score,x1,y1,x2,y2\n")
    return path


def score(dataset, predictions, *extra):
    return ["eval", "detector", "--dataset", dataset, "--split", "all", "--predictions", predictions, *extra]


@pytest.mark.parametrize("case", MALFORMED)
def test_every_malformed_annotation_is_one_line_naming_it(tmp_path, predictions, case):
    text, fragment = MALFORMED[case]
    (tmp_path / "set" / "annotations").mkdir(parents=True)
    path = tmp_path / "set" / "annotations" / "a.xml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    line = one_error_line(score(tmp_path / "set", predictions))
    assert line.startswith(f"Error: {path}: ") and fragment in line, line


def voc_set(root, names=("a",)):
    """A small VOCdevkit set whose annotations are well formed."""
    (root / "Annotations").mkdir(parents=True)
    (root / "JPEGImages").mkdir()
    (root / "ImageSets" / "Main").mkdir(parents=True)
    for name in names:
        (root / "Annotations" / f"{name}.xml").write_text(document().replace("a.jpg", f"{name}.jpg"))
    return root


def test_folder_problems_are_one_line_naming_the_folder_or_file(tmp_path, predictions):
    (tmp_path / "nothing").mkdir()
    assert "no Pascal VOC annotations found" in one_error_line(score(tmp_path / "nothing", predictions))
    voc_set(tmp_path / "two" / "VOC2007")
    voc_set(tmp_path / "two" / "VOC2012")
    assert "several VOC sets (VOC2007, VOC2012)" in one_error_line(score(tmp_path / "two", predictions))
    root = voc_set(tmp_path / "voc")
    (root / "ImageSets" / "Main" / "train.txt").write_text("a\n")
    line = one_error_line(["eval", "detector", "--dataset", root, "--predictions", predictions])
    assert f"Error: {root}: no split 'test' (its splits: train;" in line
    (root / "ImageSets" / "Main" / "test.txt").write_text("a\nb\n")
    line = one_error_line(["eval", "detector", "--dataset", root, "--predictions", predictions])
    assert line.startswith(f"Error: {root / 'Annotations' / 'b.xml'}: no such annotation file")
    (root / "ImageSets" / "Main" / "val.txt").write_text("a b c\n")
    line = one_error_line([*score(root, predictions), "--split", "val"])
    assert line.startswith(f"Error: {root / 'ImageSets' / 'Main' / 'val.txt'}: line 1: expected a photo name")
    (root / "ImageSets" / "Main" / "empty.txt").write_text("")
    line = one_error_line([*score(root, predictions), "--split", "empty"])
    assert line == f"Error: {root}: no photos to evaluate in split empty"


def test_a_missing_photo_is_one_line_when_a_model_needs_it(tmp_path):
    root = voc_set(tmp_path / "voc")
    line = one_error_line(["eval", "detector", "--dataset", root, "--split", "all",
                           "--model", tmp_path / "never-loaded.npz"])
    assert line == f"Error: {root / 'Annotations' / 'a.xml'}: its photo a.jpg is not in {root / 'JPEGImages'}"


def test_other_commands_stop_on_their_input_the_same_way(tmp_path):
    (tmp_path / "empty").mkdir()
    line = one_error_line(["index", "build", "--dataset", tmp_path / "empty", "--out", tmp_path / "index"])
    assert "bands.csv: file not found" in line
    assert "not an index bundle" in one_error_line(["index", "info", "--index", tmp_path / "empty"])


def test_verbose_adds_the_traceback(tmp_path, predictions):
    (tmp_path / "nothing").mkdir()
    result = CliRunner().invoke(cli, ["--verbose", *map(str, score(tmp_path / "nothing", predictions))])
    assert result.exit_code == 2
    assert "Traceback" in result.output and "VocLayoutError" in result.output
    assert result.output.strip().splitlines()[-1].startswith("Error: ")


def test_a_bug_is_not_dressed_as_an_input_error(tmp_path, predictions, monkeypatch):
    from detector import evaluate

    def broken(*args, **kwargs):
        raise ValueError("a bug, not the user's input")

    monkeypatch.setattr(evaluate, "evaluate_detections", broken)
    root = voc_set(tmp_path / "voc")
    result = CliRunner().invoke(cli, score(root, predictions))
    assert isinstance(result.exception, ValueError) and "Error:" not in result.output


def test_a_real_process_prints_one_line_on_stderr_and_exits_2(tmp_path):
    (tmp_path / "empty").mkdir()
    env = {**os.environ, "KYB_NO_PROGRESS": "1"}
    command = ["eval", "detector", "--dataset", tmp_path / "empty", "--predictions", tmp_path / "empty"]
    completed = subprocess.run([sys.executable, "-m", "kyb", *map(str, command)], cwd=REPO_ROOT, env=env,
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 2 and completed.stdout == ""
    assert completed.stderr.count("\n") == 1 and completed.stderr.startswith(f"Error: {tmp_path / 'empty'}: ")
