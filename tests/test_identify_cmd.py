"""`kyb identify`: JSON and annotated output through a real subprocess, the readable table
in process, and photos that cannot be read reported one by one while the others run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
from click.testing import CliRunner

from data.dataset import load_dataset
from kyb.identify_cmd import identify
from tests.conftest import REPO_ROOT
from tests.test_pipeline_support import dataset_database, tiny_bundle, untrained_model


@pytest.fixture(scope="module")
def setup(small_dataset, tmp_path_factory):
    model = untrained_model(tmp_path_factory.mktemp("model"))
    photo = load_dataset(small_dataset).photo_path(load_dataset(small_dataset).splits["test"][0])
    return {"bundle": tiny_bundle(small_dataset), "database": dataset_database(small_dataset),
            "model": model, "photo": photo}


def test_json_and_annotate_in_a_subprocess_with_a_corrupt_and_a_missing_photo(setup, tmp_path):
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
    missing = tmp_path / "missing.jpg"
    annotated = tmp_path / "annotated"
    env = {**os.environ, "KYB_DATABASE_URL": setup["database"], "KYB_NO_PROGRESS": "1"}
    completed = subprocess.run(
        [sys.executable, "-m", "kyb", "identify", str(corrupt), str(setup["photo"]), str(missing),
         "--index", str(setup["bundle"]), "--model", str(setup["model"]), "--json",
         "--annotate", str(annotated)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 1, completed.stderr[-2000:]
    outcomes = json.loads(completed.stdout)
    assert [o["photo"] for o in outcomes] == [str(corrupt), str(setup["photo"]), str(missing)]
    assert "cannot be decoded" in outcomes[0]["error"]
    assert "No such file" in outcomes[2]["error"]
    assert f"{corrupt}: error:" in completed.stderr and f"{missing}: error:" in completed.stderr
    result = outcomes[1]["result"]
    assert set(result) >= {"image", "detections", "bands", "timings_ms"}
    written = cv2.imread(str(annotated / f"{setup['photo'].stem}.jpg"))
    assert written is not None
    assert written.shape[:2] == (result["image"]["height"], result["image"]["width"])


def test_table_lists_each_detection_with_its_answer(capsys):
    from kyb.identify_cmd import print_result

    match = {"band_id": 7, "name": "Malrax Crypt", "url": None, "country": None, "genre": None,
             "album": "Under the Abyss", "ref_id": 3, "score": 0.61, "inliers": 33}
    result = {"image": {"width": 640, "height": 480}, "bands": [{"band_id": 7, "name": "Malrax Crypt"}],
              "detections": [{"box": [1, 2, 3, 4], "kind": "album", "score": 0.99, "verdict": "match",
                              "matches": [match]},
                             {"box": [5, 6, 7, 8], "kind": "logo", "score": 0.8, "verdict": "unknown",
                              "matches": [{**match, "album": None, "score": 0.2, "inliers": None}]}],
              "timings_ms": {"detect": 100.0, "features": 50.0, "match": 1.0, "verify": 9.0, "lookup": 1.0}}
    print_result(Path("p.jpg"), result)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "p.jpg: Malrax Crypt  (161 ms: detect 100, features 50, match 1, verify 9, lookup 1)"
    assert "Malrax Crypt - Under the Abyss" in lines[1] and "match" in lines[1] and "33 inliers" in lines[1]
    assert lines[2].split()[:4] == ["logo", "det", "0.80", "-"] and "unknown" in lines[2]


def test_table_says_which_witnesses_named_the_band_and_the_text_read(capsys):
    from kyb.identify_cmd import print_result

    match = {"band_id": 7, "name": "Iron Maiden", "url": None, "country": None, "genre": None,
             "album": None, "ref_id": None, "score": 1.0, "inliers": None, "evidence": ["text"]}
    text = {"lines": ["IRON MAIDEN"], "read": "IRON MAIDEN", "score": 1.0, "ocr_score": 0.97,
            "candidates": []}
    result = {"image": {"width": 640, "height": 480}, "bands": [{"band_id": 7, "name": "Iron Maiden"}],
              "detections": [{"box": [1, 2, 3, 4], "kind": "logo", "score": 0.0, "verdict": "match",
                              "matches": [match], "text": text}],
              "timings_ms": {"detect": 100.0, "text": 60.0}}
    print_result(Path("p.jpg"), result)
    line = capsys.readouterr().out.splitlines()[1]
    assert "Iron Maiden" in line and "by text" in line and "read 'IRON MAIDEN' (1.00)" in line


def test_an_unusable_index_is_one_clear_error(setup, tmp_path, monkeypatch):
    monkeypatch.setenv("KYB_DATABASE_URL", setup["database"])
    outcome = CliRunner().invoke(identify, [str(setup["photo"]), "--index", str(tmp_path),
                                            "--model", str(setup["model"])])
    assert outcome.exit_code != 0
    assert "Error:" in outcome.output and "Traceback" not in outcome.output


def test_the_database_option_wins_and_a_database_without_bands_says_so(setup, tmp_path, monkeypatch):
    monkeypatch.setenv("KYB_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite'}")
    common = [str(setup["photo"]), "--index", str(setup["bundle"]), "--model", str(setup["model"])]
    outcome = CliRunner().invoke(identify, common)
    assert outcome.exit_code == 1 and "Traceback" not in outcome.output
    lines = outcome.output.strip().splitlines()
    assert len(lines) == 1 and "no Know Your Bands schema" in lines[0] and "--database" in lines[0]
    outcome = CliRunner().invoke(identify, [*common, "--database", setup["database"]])
    assert outcome.exit_code == 0, outcome.output
    assert outcome.output.startswith(f"{setup['photo']}: ")
