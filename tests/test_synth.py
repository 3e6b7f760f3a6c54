"""The synthetic dataset generator: contract, determinism, atomicity, open set, realism knobs."""

import hashlib
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from data import synth
from data.art import photo_library, photo_windows, window_pixels
from data.check import check_dataset
from data.dataset import UNKNOWN_BAND_ID, load_dataset
from data.imaging import to_uint8
from data.synth import PHOTO_COVER_SHARE, SynthConfig, generate, make_catalogue
from data.voc import read_voc
from features.local import extract_sift
from matching.geometry import GeometricVerifier


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _objects(root: Path):
    dataset = load_dataset(root)
    for name in sum(dataset.splits.values(), []):
        annotation = read_voc(dataset.annotation_path(name))
        yield annotation, annotation.objects


def test_small_dataset_follows_the_contract(small_dataset):
    report = check_dataset(small_dataset)
    assert report.ok, report.problems
    assert report.counts["photos"] == 16
    assert report.counts["bands"] == 12
    assert report.counts["references_logo"] == 12
    assert report.counts["split_train"] + report.counts["split_val"] + report.counts["split_test"] == 16
    assert (small_dataset / "albums.csv").exists()


def test_every_photo_has_one_to_forty_items_inside_the_image(small_dataset):
    kinds = set()
    for annotation, objects in _objects(small_dataset):
        assert 1 <= len(objects) <= 40  # a battle vest carries up to 40, other scenes up to 12
        for obj in objects:
            x1, y1, x2, y2 = obj.box
            assert 0 <= x1 < x2 <= annotation.width and 0 <= y1 < y2 <= annotation.height
            kinds.add(obj.name)
            if obj.name == "album" and obj.band_id != UNKNOWN_BAND_ID:
                assert obj.album_id is not None
    assert kinds == {"logo", "album"}


def test_same_seed_same_bytes_whatever_the_worker_count(tmp_path):
    config = dict(bands=5, photos=6, seed=3)
    generate(tmp_path / "one", SynthConfig(**config, workers=1))
    generate(tmp_path / "two", SynthConfig(**config, workers=2))
    assert _digest(tmp_path / "one") == _digest(tmp_path / "two")


def test_another_seed_gives_another_dataset(tmp_path, small_dataset):
    generate(tmp_path / "other", SynthConfig(bands=12, photos=16, seed=8, open_set=0.2, workers=2))
    ours, theirs = _digest(small_dataset), _digest(tmp_path / "other")
    assert ours["bands.csv"] != theirs["bands.csv"]
    assert ours["photos/photo_000000.jpg"] != theirs["photos/photo_000000.jpg"]


def test_open_set_items_carry_band_id_zero_and_never_appear_in_references(tmp_path):
    root = tmp_path / "open"
    generate(root, SynthConfig(bands=4, photos=10, seed=5, open_set=0.8, workers=2))
    dataset = load_dataset(root)
    unknown = [obj for _, objects in _objects(root) for obj in objects if obj.band_id == UNKNOWN_BAND_ID]
    assert len(unknown) >= 5
    assert all(obj.album_id is None for obj in unknown)
    assert UNKNOWN_BAND_ID not in {ref.band_id for ref in dataset.references}


def test_no_open_set_means_every_item_is_a_known_band(tmp_path):
    root = tmp_path / "closed"
    generate(root, SynthConfig(bands=4, photos=6, seed=5, open_set=0.0, workers=2))
    known = {int(band["band_id"]) for band in load_dataset(root).bands}
    assert all(obj.band_id in known for _, objects in _objects(root) for obj in objects)


def test_refuses_to_overwrite_unless_forced(tmp_path, small_dataset):
    target = tmp_path / "existing"
    target.mkdir()
    (target / "precious.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="--force"):
        generate(target, SynthConfig(bands=2, photos=2, seed=1, workers=1))
    assert (target / "precious.txt").read_text() == "keep me"
    generate(target, SynthConfig(bands=2, photos=2, seed=1, workers=1), force=True)
    assert not (target / "precious.txt").exists() and check_dataset(target).ok


def test_a_run_that_dies_half_way_leaves_nothing_behind(tmp_path, monkeypatch):
    calls = []

    def dying_render(task):
        calls.append(task)
        if len(calls) == 3:
            raise KeyboardInterrupt("killed half-way")
        return original(task)

    original = synth.render_photo
    monkeypatch.setattr(synth, "render_photo", dying_render)
    with pytest.raises(KeyboardInterrupt):
        generate(tmp_path / "dead", SynthConfig(bands=3, photos=6, seed=1, workers=1))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bad", [dict(bands=0), dict(photos=0), dict(open_set=1.0), dict(workers=-1)])
def test_invalid_parameters_are_refused(bad):
    with pytest.raises(ValueError):
        SynthConfig(**bad)


def test_check_names_each_broken_file(tmp_path, small_dataset):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(small_dataset, broken)
    dataset = load_dataset(broken)
    first, second = sorted(dataset.splits["train"])[:2]
    (broken / "photos" / f"{first}.jpg").write_bytes(b"not a jpeg")
    (broken / "annotations" / f"{second}.xml").unlink()
    with open(broken / "splits" / "test.txt", "a") as handle:
        handle.write(f"{first}\nghost_photo\n")
    problems = "\n".join(check_dataset(broken).problems)
    assert f"photos/{first}.jpg: not a readable image" in problems
    assert f"photos/{second}.jpg: has no annotations/{second}.xml" in problems
    assert f"{first} is also in train.txt" in problems
    assert "ghost_photo has no photo" in problems


def test_check_reports_unknown_band_ids_in_annotations(tmp_path, small_dataset):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(small_dataset, broken)
    name = load_dataset(broken).splits["train"][0]
    xml = broken / "annotations" / f"{name}.xml"
    text = xml.read_text()
    start = text.index("<band_id>") + len("<band_id>")
    xml.write_text(text[:start] + "999999999" + text[text.index("</band_id>"):])
    assert any("band_id 999999999 is not in bands.csv" in p for p in check_dataset(broken).problems)


def test_cli_check_and_preview(tmp_path, small_dataset):
    run = [sys.executable, "-m", "kyb", "synth"]
    ok = subprocess.run([*run, "--check", str(small_dataset)], capture_output=True, text=True)
    assert ok.returncode == 0 and "valid dataset folder" in ok.stdout
    empty = tmp_path / "empty"
    empty.mkdir()
    bad = subprocess.run([*run, "--check", str(empty)], capture_output=True, text=True)
    assert bad.returncode != 0 and "bands.csv: file not found" in bad.stderr
    sheet = tmp_path / "sheet.png"
    shown = subprocess.run([*run, "--preview", str(small_dataset), str(sheet)],
                           capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    import cv2

    image = cv2.imread(str(sheet))
    assert image is not None and image.shape[0] >= 320 and image.shape[1] == 4 * 320


def test_logos_are_printed_legibly(small_dataset):
    """An annotated logo must differ from what surrounds it, or the label would be a lie."""
    import cv2

    for annotation, objects in _objects(small_dataset):
        image = cv2.imread(str(small_dataset / "photos" / annotation.filename), cv2.IMREAD_GRAYSCALE)
        for obj in objects:
            if obj.name == "logo" and not obj.difficult:
                x1, y1, x2, y2 = obj.box
                assert image[y1:y2, x1:x2].std() > 8, (annotation.filename, obj.box)


def test_no_two_covers_share_a_photo_window():
    """Real covers never share artwork: each photo window goes to one cover at most, and
    the windows of one photograph do not overlap (mirrored copies aside)."""
    catalogue = make_catalogue(SynthConfig(bands=600, photos=1, seed=3))
    given = [w for band in catalogue.cover_windows for w in band if w is not None]
    covers = sum(len(albums) for albums in catalogue.albums)
    assert len(given) == len(set(given)) == min(len(photo_windows()), round(covers * PHOTO_COVER_SHARE))
    library = photo_library()
    coverage = [np.zeros(library.shape(index), np.int32) for index in range(len(library))]
    for window in photo_windows():
        coverage[window.photo][window.y:window.y + window.side, window.x:window.x + window.side] += 1
    assert max(int(c.max()) for c in coverage) == 2  # each square twice: plain and mirrored


def test_a_mirrored_window_never_verifies_against_its_original():
    """Mirroring is what lets a window serve two covers: verification refuses mirror
    homographies, so the two covers cannot be taken for one another."""
    verifier = GeometricVerifier()
    plain = [replace(w, mirrored=False) for w in photo_windows() if w.mirrored]  # those given twice
    textured = plain[::3]
    for window in textured:
        plain, mirrored = (to_uint8(window_pixels(replace(window, mirrored=m), 400)) for m in (False, True))
        reference = extract_sift(plain, max_keypoints=500)
        if len(reference) < 100:
            continue
        assert verifier.verify(extract_sift(plain), reference, (400, 400)).inliers >= 40
        # a junk fit on symmetric blobs scores a handful, as between unrelated photos
        assert verifier.verify(extract_sift(mirrored), reference, (400, 400)).inliers < 15
