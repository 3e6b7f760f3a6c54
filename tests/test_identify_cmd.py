"""`kyb identify`: JSON and annotated output through a real subprocess, the readable table
in process, and photos that cannot be read reported one by one while the others run."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import cv2
import pytest
from click.testing import CliRunner

from data.dataset import load_dataset
from kyb.identify_cmd import identify
from tests.conftest import REPO_ROOT
from tests.test_pipeline_support import any_model, dataset_database, tiny_bundle


@pytest.fixture(scope="module")
def setup(small_dataset, tmp_path_factory):
    model = any_model(tmp_path_factory.mktemp("model"))
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


def test_table_by_default(setup, monkeypatch):
    monkeypatch.setenv("KYB_DATABASE_URL", setup["database"])
    outcome = CliRunner().invoke(identify, [str(setup["photo"]), "--index", str(setup["bundle"]),
                                            "--model", str(setup["model"])])
    assert outcome.exit_code == 0, outcome.output
    first = outcome.output.splitlines()[0]
    assert first.startswith(f"{setup['photo']}: ") and "ms: detect" in first


def test_an_unusable_index_is_one_clear_error(setup, tmp_path, monkeypatch):
    monkeypatch.setenv("KYB_DATABASE_URL", setup["database"])
    outcome = CliRunner().invoke(identify, [str(setup["photo"]), "--index", str(tmp_path),
                                            "--model", str(setup["model"])])
    assert outcome.exit_code != 0
    assert "Error:" in outcome.output and "Traceback" not in outcome.output
