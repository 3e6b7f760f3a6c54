"""The quiet command line (kyb/quiet.py): TensorFlow's and absl's chatter off, --verbose on."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from data.voc import VocAnnotation, VocObject
from data.voc_write import write_voc
from kyb import quiet
from kyb.cli import cli

REPO_ROOT = Path(__file__).resolve().parent.parent
#: Anything on stderr that looks like TensorFlow or absl talking.
CHATTER = re.compile(r"absl|tensorflow|oneDNN|cpu_feature_guard|cost_estimator|^[IWEF]\d{4} ",
                     re.IGNORECASE | re.MULTILINE)
NOTICES = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:1796401869.553638   11621 port.cc:153] oneDNN custom operations are on.\n"
    "W0000 00:00:1796401948.340454   11958 op_level_cost_estimator.cc:699] Error in PredictCost()\n"
)
KEPT = "E0000 00:00:17.5 1 loader.cc:12] a real error\nUserWarning: one of ours\n"


def test_filtered_stderr_drops_the_notices_and_keeps_everything_else(capfd):
    with quiet.filtered_stderr():
        os.write(2, NOTICES.encode())
        os.write(2, KEPT.encode())
    assert capfd.readouterr().err == KEPT


@pytest.fixture
def clean_process(monkeypatch):
    """Whatever `kyb` sets up is undone after the test."""
    for name in (quiet.TF_LOG_LEVEL_ENV, quiet.QUIET_ENV):
        monkeypatch.setenv(name, "")  # so that the test's end restores it, whatever kyb sets
        monkeypatch.delenv(name)
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))


def test_verbose_leaves_tensorflow_logging_alone(clean_process):
    assert CliRunner().invoke(cli, ["--verbose", "db", "--help"]).exit_code == 0
    assert quiet.TF_LOG_LEVEL_ENV not in os.environ and quiet.QUIET_ENV not in os.environ
    assert CliRunner().invoke(cli, ["db", "--help"]).exit_code == 0
    assert os.environ[quiet.TF_LOG_LEVEL_ENV] == quiet.TF_LOG_LEVEL
    assert CliRunner().invoke(cli, ["--verbose", "db", "--help"]).exit_code == 0
    assert quiet.QUIET_ENV not in os.environ  # its worker processes are not silenced


#: A worker script like the `kyb` console script: it imports kyb.cli, then runs a pool whose
#: task (a builtin, so that unpickling it imports nothing of ours) says whether TensorFlow
#: would be imported quietly in the worker.
WORKER_SCRIPT = """
import multiprocessing, sys
from kyb.cli import main
from kyb import quiet

SILENCED = "any(type(finder).__name__ == '_QuietImport' for finder in __import__('sys').meta_path)"
if __name__ == "__main__":
    quiet.configure(verbose=sys.argv[1] == "verbose")
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        print(pool.apply(eval, (SILENCED,)))
"""


def test_worker_processes_of_a_quiet_command_are_quiet_too(tmp_path):
    script = tmp_path / "kyb_like"
    script.write_text(WORKER_SCRIPT)
    env = {key: value for key, value in os.environ.items() if key != quiet.QUIET_ENV}
    env["PYTHONPATH"] = str(REPO_ROOT)
    for mode, expected in (("quiet", "True"), ("verbose", "False")):
        result = subprocess.run([sys.executable, str(script), mode], env=env, capture_output=True, text=True,
                                timeout=120)
        assert result.stdout.strip() == expected, result.stderr


@pytest.mark.slow
def test_a_command_that_runs_tensorflow_prints_none_of_its_chatter(tmp_path):
    """`kyb eval detector` on one photo: imports TensorFlow, builds the shipped detector
    and runs it (where TensorFlow's graph optimizer logs its cost-estimator warnings)."""
    for folder in ("photos", "annotations"):
        (tmp_path / folder).mkdir()
    image = np.full((240, 320, 3), 200, np.uint8)
    cv2.rectangle(image, (60, 40), (200, 160), (20, 20, 20), -1)
    cv2.imwrite(str(tmp_path / "photos" / "a.jpg"), image)
    write_voc(VocAnnotation("a.jpg", 320, 240, objects=[VocObject("album", (60, 40, 200, 160))]),
              tmp_path / "annotations" / "a.xml")
    env = {key: value for key, value in os.environ.items() if key != quiet.TF_LOG_LEVEL_ENV}
    result = subprocess.run(
        [sys.executable, "-m", "kyb", "eval", "detector", "--dataset", str(tmp_path), "--split", "all"],
        cwd=REPO_ROOT, env={**env, "KYB_NO_PROGRESS": "1"}, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "mAP" in result.stdout  # the detector really ran
    assert not CHATTER.search(result.stderr), result.stderr
