"""`kyb identify --json` saved and scored with `kyb eval detector --predictions` gives the
AP of `kyb eval detector` running the same model on the same photos; and the errors only
a model run meets (a photo that does not decode, no object of the model's classes) are
one line too. Slow: the shipped detector runs on a few generated photos."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from data.voc import VocAnnotation, VocObject
from data.voc_write import write_voc
from detector.data import read_annotated
from kyb.cli import cli
from tests.test_pipeline_support import dataset_database, tiny_bundle, trained_model

PHOTOS = 4


def figures(report) -> dict:
    """The figures two runs must share: mAP in both VOC variants and COCO, and per class
    with positives its AP, detections and positives."""
    data = json.loads(report.read_text())
    classes = {name: row for name, row in data["classes"].items() if row["positives"]}
    return {"map_voc07": data["map_voc07"], "map_all_point": data["map_all_point"], "coco": data["coco"],
            "classes": classes}


@pytest.mark.slow
def test_identify_json_scored_equals_the_model_run_on_the_same_photos(small_dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("KYB_NO_PROGRESS", "1")
    model = trained_model()
    photos = [photo.image_path for photo in read_annotated(small_dataset, None)[:PHOTOS]]
    identified = CliRunner().invoke(cli, [
        "identify", *map(str, photos), "--index", str(tiny_bundle(small_dataset)),
        "--database", dataset_database(small_dataset), "--model", str(model), "--json"])
    assert identified.exit_code == 0, identified.output
    saved = tmp_path / "identify.json"
    saved.write_text(identified.stdout)
    # At IoU 0.9 a few boxes miss: the AP then depends on the ranking, not only on what was found.
    common = ["eval", "detector", "--dataset", str(small_dataset), "--split", "all", "--limit", str(PHOTOS),
              "--iou", "0.9"]
    scored = CliRunner().invoke(cli, [*common, "--predictions", str(saved),
                                      "--json", str(tmp_path / "a.json")])
    assert scored.exit_code == 0, scored.output
    ran = CliRunner().invoke(cli, [*common, "--model", str(model), "--as-identify",
                                   "--json", str(tmp_path / "b.json")])
    assert ran.exit_code == 0, ran.output
    from_json, from_model = figures(tmp_path / "a.json"), figures(tmp_path / "b.json")
    assert 0.3 < from_json["map_all_point"] < 1  # objects found, and some missed at this IoU
    assert from_json == from_model


def voc_photo(root, name, objects, image):
    (root / "Annotations").mkdir(parents=True, exist_ok=True)
    (root / "JPEGImages").mkdir(exist_ok=True)
    write_voc(VocAnnotation(f"{name}.jpg", 320, 240, objects=objects), root / "Annotations" / f"{name}.xml")
    (root / "JPEGImages" / f"{name}.jpg").write_bytes(image)


@pytest.mark.slow
def test_errors_of_a_model_run_are_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("KYB_NO_PROGRESS", "1")
    model = str(trained_model())
    _, encoded = cv2.imencode(".jpg", np.full((240, 320, 3), 128, np.uint8))
    voc_photo(tmp_path / "cars", "a", [VocObject("car", (10, 10, 100, 100))], encoded.tobytes())
    result = CliRunner().invoke(cli, ["eval", "detector", "--dataset", str(tmp_path / "cars"),
                                      "--split", "all", "--model", model])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
    assert (f"Error: {tmp_path / 'cars'}: none of its objects is of class logo or album (its classes: car); "
            "map them with --class-map NAME=logo") == result.output.strip()
    voc_photo(tmp_path / "broken", "a", [VocObject("logo", (10, 10, 100, 100))], b"\xff\xd8\xff not a JPEG")
    result = CliRunner().invoke(cli, ["eval", "detector", "--dataset", str(tmp_path / "broken"),
                                      "--split", "all", "--model", model])
    assert result.exit_code == 2, result.output
    photo = tmp_path / "broken" / "JPEGImages" / "a.jpg"
    assert result.output.strip() == f"Error: {photo}: not a readable image"
