"""The scenes a fan photographs (battle vest, shirt back print, flyer, merch table) and
marks in everyday photos (wild): the dataset contract, determinism per seed, the vest's
12 to 40 objects, and the wild scene's close-ups beside small marks."""

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from data.check import check_dataset
from data.dataset import load_dataset
from data.scene_table import SCENE_WEIGHTS, SCENES
from data.synth import SynthConfig, generate
from data.voc import read_voc

NEW_SCENES = tuple(name for name in ("vest", "tee", "flyer", "merch", "wild") if name in SCENES)


def _digests(root: Path, folder: str) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((root / folder).iterdir())}


@pytest.fixture(scope="module")
def new_scenes(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("scenes") / "dataset"
    generate(root, SynthConfig(bands=30, photos=len(NEW_SCENES) * 2, seed=11, workers=2, scenes=NEW_SCENES))
    return root


def test_every_new_scene_is_in_the_table_with_a_weight():
    assert NEW_SCENES == ("vest", "tee", "flyer", "merch", "wild")
    assert all(SCENE_WEIGHTS[name] > 0 for name in NEW_SCENES)


def test_new_scenes_follow_the_dataset_contract(new_scenes):
    report = check_dataset(new_scenes)
    assert report.ok, report.problems
    assert report.counts["photos"] == len(NEW_SCENES) * 2


def test_new_scenes_are_deterministic_per_seed(tmp_path, new_scenes):
    again = tmp_path / "again"
    generate(again, SynthConfig(bands=30, photos=len(NEW_SCENES) * 2, seed=11, workers=1, scenes=NEW_SCENES))
    assert _digests(again, "annotations") == _digests(new_scenes, "annotations")
    assert _digests(again, "photos") == _digests(new_scenes, "photos")


def test_a_vest_photo_carries_12_to_40_objects(tmp_path):
    root = tmp_path / "vests"
    generate(root, SynthConfig(bands=40, photos=4, seed=21, workers=2, scenes=("vest",)))
    dataset = load_dataset(root)
    for name in sum(dataset.splits.values(), []):
        objects = read_voc(dataset.annotation_path(name)).objects
        assert 12 <= len(objects) <= 40, (name, len(objects))
        assert sum(not obj.difficult for obj in objects) >= 10


def test_wild_photos_show_marks_or_covers_in_close_up_and_marks_small_on_surfaces(tmp_path):
    root = tmp_path / "wild"
    generate(root, SynthConfig(bands=30, photos=16, seed=4, workers=2, scenes=("wild",)))
    dataset = load_dataset(root)
    shares = {"logo": [], "album": []}
    for name in sum(dataset.splits.values(), []):
        annotation = read_voc(dataset.annotation_path(name))
        kinds = [obj.name for obj in annotation.objects]
        assert 1 <= len(kinds) <= 3 and (set(kinds) == {"logo"} or kinds == ["album"])
        area = annotation.width * annotation.height
        for obj in annotation.objects:
            shares[obj.name].append((obj.box[2] - obj.box[0]) * (obj.box[3] - obj.box[1]) / area)
    assert max(shares["logo"]) >= 0.12, "no close-up of a mark filling the frame"
    assert min(shares["logo"]) <= 0.02, "no small mark on a surface"
    assert shares["album"] and min(shares["album"]) >= 0.25, "no cover in close-up filling the frame"


def test_cli_scenes_option_draws_only_those(tmp_path):
    out = tmp_path / "vest-set"
    command = [sys.executable, "-m", "kyb", "synth", "--out", str(out), "--bands", "20", "--photos", "2",
               "--seed", "3", "--workers", "1", "--scenes", "vest"]
    run = subprocess.run(command, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert all(len(read_voc(path).objects) >= 12 for path in (out / "annotations").glob("*.xml"))
    command = [sys.executable, "-m", "kyb", "synth", "--out", str(tmp_path / "x"), "--scenes", "moon"]
    bad = subprocess.run(command, capture_output=True, text=True)
    assert bad.returncode != 0 and "scenes must be among" in bad.stderr
