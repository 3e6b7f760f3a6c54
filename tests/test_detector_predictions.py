"""Scoring detections made elsewhere (detector/predictions.py, `kyb eval detector
--predictions`): every format gives the same figures, missing photos are misses, and a
file that does not fit is one clear error."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from detector.predictions import PredictionsError, read_predictions
from kyb.cli import cli
from tests.voc_layout_support import (
    PHOTOS,
    fake_detections,
    figures_of,
    smvs_photos,
    write_csv,
    write_identify_json,
    write_results_files,
)


@pytest.fixture(scope="module")
def smvs():
    """The SMVS set, read in place (the tests score its first `PHOTOS` test photos)."""
    return smvs_photos()[0]


@pytest.fixture(scope="module")
def rows(smvs):
    return fake_detections(*smvs_photos())


def score(smvs, predictions, tmp_path, *extra) -> dict:
    report = tmp_path / "report.json"
    result = CliRunner().invoke(cli, ["eval", "detector", "--dataset", str(smvs), "--limit", str(PHOTOS),
                                      "--predictions", str(predictions), "--json", str(report), *extra])
    assert result.exit_code == 0, result.output
    return figures_of(report)


def error_line(smvs, predictions) -> str:
    result = CliRunner().invoke(cli, ["eval", "detector", "--dataset", str(smvs), "--limit", str(PHOTOS),
                                      "--predictions", str(predictions)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def test_every_format_gives_the_same_figures(smvs, rows, tmp_path):
    names = smvs_photos()[1]
    photos = {name: smvs / "photos" / f"{name}.jpg" for name in names}
    headless = tmp_path / "headless.csv"
    headless.write_text("".join(line + "\n" for line in write_csv(rows, tmp_path / "d.csv").read_text()
                                .splitlines()[1:]))
    reordered = tmp_path / "reordered.csv"
    reordered.write_text("score,x1,y1,x2,y2,class,image\n" + "".join(
        f"{s},{b[0]},{b[1]},{b[2]},{b[3]},{k},photos/{i}.jpg\n" for i, k, s, b in rows))
    sources = [write_csv(rows, tmp_path / "with-header.csv"), headless, reordered,
               write_results_files(rows, tmp_path / "results"),
               write_identify_json(rows, photos, tmp_path / "identify.json")]
    figures = [score(smvs, source, tmp_path) for source in sources]
    assert figures[0]["classes"]["album"]["detections"] == sum(1 for row in rows if row[1] == "album")
    assert all(other == figures[0] for other in figures[1:])


def test_one_results_file_scores_its_class(smvs, rows, tmp_path):
    results = write_results_files(rows, tmp_path / "results")
    albums_only = [row for row in rows if row[1] == "album"]
    assert (score(smvs, results / "comp4_det_test_album.txt", tmp_path)
            == score(smvs, write_csv(albums_only, tmp_path / "albums.csv"), tmp_path))


def test_photos_without_detections_are_misses(smvs, tmp_path):
    two = [row for row in fake_detections(smvs, smvs_photos()[1][:2]) if row[1] == "album"]  # both found
    figures = score(smvs, write_csv(two, tmp_path / "two.csv"), tmp_path)
    album = figures["classes"]["album"]
    assert album["positives"] == PHOTOS and album["max_recall"] == pytest.approx(2 / PHOTOS)


def test_detections_for_photos_past_the_limit_are_dropped_but_unknown_photos_are_an_error(smvs, tmp_path):
    names = (smvs / "splits" / "test.txt").read_text().split()
    rows = [row for row in fake_detections(smvs, names[:PHOTOS + 2]) if row[1] == "album"]
    assert score(smvs, write_csv(rows, tmp_path / "more.csv"), tmp_path)["photos"] == PHOTOS
    stranger = write_csv([*rows, ("Canon_999", "album", 0.5, (0, 0, 9, 9))], tmp_path / "stranger.csv")
    line = error_line(smvs, stranger)
    assert f"{stranger}: line {len(rows) + 2}: image 'Canon_999' is not in the test photos of" in line


def test_the_whole_photo_answer_and_unreadable_photos_of_identify_are_not_detections(tmp_path):
    path = tmp_path / "identify.json"
    path.write_text(json.dumps([
        {"photo": "a.jpg", "error": "cannot be decoded"},
        {"photo": "b.jpg", "result": {"detections": [
            {"box": [0, 0, 640, 480], "kind": "album", "score": 0.0},
            {"box": [1, 2, 3, 4], "kind": "logo", "score": 0.7}]}}]))
    assert [(p.image, p.kind, p.score, p.box) for p in read_predictions(path)] == [
        ("b.jpg", "logo", 0.7, (1.0, 2.0, 3.0, 4.0))]


@pytest.mark.parametrize(("name", "text", "fragment"), [
    ("comp4_det_test_album.txt", "Canon_001 0.9 1 2 3\n",
     "line 1: expected 'IMAGE_ID SCORE X1 Y1 X2 Y2', got 5"),
    ("comp4_det_test_album.txt", "Canon_001 high 1 2 3 4\n", "line 1: score 'high' is not a number"),
    ("comp4_det_test_album.txt", "Canon_001 0.9 10 10 5 20\n", "line 1: box (10, 10, 5, 20) has x2 < x1"),
    ("comp4_det_test_album.txt", "Canon_001 0.9 1 2 nan 4\n", "line 1: x2 'nan' is not a number"),
    ("comp4_det_test_album.txt", b"\xff\xfe\x00", "not a UTF-8 text file"),
    ("detections.txt", "Canon_001 0.9 1 2 3 4\n", "cannot tell the class from the file name"),
    ("d.csv", "image,class,score,x1,y1,x2\nCanon_001,album,1,2,3,4\n",
     "line 1: header lacks the column(s) y2"),
    ("d.csv", "Canon_001,album,0.9,1,2,3\n", "line 1: expected the columns image,class,score"),
    ("d.csv", ",album,0.9,1,2,3,4\n", "line 1: the image is empty"),
    ("d.json", "[{\"photo\": \"Canon_001.jpg\", \"result\": {}}", "line 1: not valid JSON"),
    ("d.json", "{\"detections\": []}", "entry 1: expected an object with a \"photo\" path"),
    ("d.json", "[{\"photo\": \"Canon_001.jpg\", \"result\": {}}]", "has no \"detections\" list"),
    ("d.json", "[{\"photo\": \"Canon_001.jpg\", \"result\": {\"detections\": [{\"box\": [1, 2, 3], "
               "\"kind\": \"album\", \"score\": 1}]}}]", "detection 1: \"box\" must be [x1, y1, x2, y2]"),
    ("d.json", "[{\"photo\": \"Canon_001.jpg\", \"result\": {\"detections\": [{\"box\": [1, 2, 3, 4]}]}}]",
     "detection 1: expected \"box\", \"kind\" and \"score\""),
    ("d.json", "\"a string\"", "expected the output of `kyb identify --json`"),
    ("d.xml", "<a/>", "unknown predictions format"),
    ("d.csv", "image,class,score,x1,y1,x2,y2\nCanon_001,brand,0.9,1,2,3,4\n",
     "its classes (brand) are none of the ground truth's (album); map them with --class-map"),
])
def test_a_bad_predictions_file_is_one_line_naming_it(smvs, tmp_path, name, text, fragment):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    line = error_line(smvs, path)
    assert line.startswith(f"Error: {path}") and fragment in line, line


def test_a_folder_without_results_files_or_of_two_image_sets_is_an_error(smvs, tmp_path):
    (tmp_path / "notes.txt").write_text("nothing\n")
    assert "no VOC results files (comp4_det_test_CLASS.txt)" in error_line(smvs, tmp_path)
    (tmp_path / "comp4_det_test_album.txt").write_text("")
    (tmp_path / "comp4_det_val_album.txt").write_text("")
    assert "results for several image sets (test, val)" in error_line(smvs, tmp_path)
    with pytest.raises(PredictionsError, match="no such file or folder"):
        read_predictions(tmp_path / "absent.csv")


def test_class_names_are_mapped_like_the_ground_truth(smvs, rows, tmp_path):
    renamed = [(image, "cover" if kind == "album" else kind, s, box) for image, kind, s, box in rows]
    mapped = score(smvs, write_csv(renamed, tmp_path / "renamed.csv"), tmp_path, "--class-map", "cover=album")
    assert mapped == score(smvs, write_csv(rows, tmp_path / "plain.csv"), tmp_path)


def test_predictions_and_a_model_together_are_a_usage_error(smvs, tmp_path):
    result = CliRunner().invoke(cli, ["eval", "detector", "--dataset", str(smvs), "--model", "m.npz",
                                      "--predictions", str(write_csv([], tmp_path / "none.csv"))])
    assert result.exit_code == 2 and "--predictions scores saved detections" in result.output
