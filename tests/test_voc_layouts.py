"""VOC folder layouts (data/voc_layouts.py): each found by what it holds, its splits, its
photos; and the same SMVS photos scored in every layout give the same figures."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from data.voc_layouts import VocLayoutError, open_voc_folder, read_image_set
from detector.data import has_split, read_annotated
from kyb.cli import cli
from tests.voc_layout_support import (
    PHOTOS,
    cvat_export,
    fake_detections,
    figures_of,
    flat_folder,
    smvs_photos,
    vocdevkit_tree,
    write_csv,
)


@pytest.fixture(scope="module")
def smvs():
    return smvs_photos()[0]


@pytest.fixture(scope="module")
def names():
    return smvs_photos()[1]


@pytest.fixture(scope="module")
def layouts(smvs, names, tmp_path_factory):
    """folder -> (layout it must be found as, its split of the ten photos)."""
    out = tmp_path_factory.mktemp("layouts")
    return {smvs: ("dataset", "test"),
            vocdevkit_tree(smvs, names, out / "devkit"): ("vocdevkit", "test"),
            cvat_export(smvs, names, out): ("cvat", "default"),
            flat_folder(smvs, names, out / "labelimg"): ("flat", "all")}


def test_each_layout_is_found_and_finds_every_photo(layouts, names):
    for root, (layout, split) in layouts.items():
        folder = open_voc_folder(root)
        assert folder.layout == layout, root
        photos = read_annotated(folder, None if split == "all" else split, strict_split=True)
        if layout == "dataset":
            photos = photos[:PHOTOS]
        assert [photo.name for photo in photos] == (sorted(names) if layout == "flat" else names)
        assert all(photo.image_path.is_file() for photo in photos)


def test_the_same_photos_in_every_layout_give_identical_figures(layouts, smvs, names, tmp_path):
    predictions = write_csv(fake_detections(smvs, names), tmp_path / "detections.csv")
    figures = []
    for root, (_, split) in layouts.items():
        report = tmp_path / f"{len(figures)}.json"
        args = ["eval", "detector", "--dataset", str(root), "--split", split,
                "--predictions", str(predictions), "--json", str(report)]
        result = CliRunner().invoke(cli, args + (["--limit", str(PHOTOS)] if root == smvs else []))
        assert result.exit_code == 0, result.output
        figures.append(figures_of(report))
    assert figures[0]["photos"] == PHOTOS
    assert 0.2 < figures[0]["map_all_point"] < 0.95  # misses and false positives: a real test
    assert all(other == figures[0] for other in figures[1:])


def test_splits_of_a_devkit_set_leave_class_image_sets_out_but_read_them_on_request(layouts, smvs, names):
    devkit = next(root for root, (layout, _) in layouts.items() if layout == "vocdevkit")
    folder = open_voc_folder(devkit)
    assert folder.root.name == "VOC2007"  # found below VOCdevkit/
    assert folder.splits() == ["test"]
    assert folder.names("album_test") == names  # every photo shows a cover
    assert has_split(devkit, "test") and not has_split(devkit, "train")


def test_a_class_image_set_keeps_the_photos_showing_the_class(tmp_path):
    path = tmp_path / "logo_test.txt"
    path.write_text("000001 -1\n000002  1\n000003  0\n000002  1\n")
    assert read_image_set(path) == ["000002", "000003"]
    path.write_text("000001 maybe\n")
    with pytest.raises(VocLayoutError, match=r"logo_test.txt: line 1: expected a photo name"):
        read_image_set(path)


def test_a_split_the_folder_lacks_is_an_error_naming_those_it_has(layouts):
    cvat = next(root for root, (layout, _) in layouts.items() if layout == "cvat")
    with pytest.raises(VocLayoutError, match=r"no split 'test' \(its splits: default"):
        open_voc_folder(cvat).names("test", strict=True)
    assert len(open_voc_folder(cvat).names("test")) == PHOTOS  # lenient (training): every annotation


def test_a_folder_without_splits_means_every_annotation(layouts):
    flat = next(root for root, (layout, _) in layouts.items() if layout == "flat")
    assert open_voc_folder(flat).names("test", strict=True) == sorted(open_voc_folder(flat).all_names())


def test_several_sets_or_none_are_errors(tmp_path):
    for year in ("VOC2007", "VOC2012"):
        (tmp_path / "VOCdevkit" / year / "Annotations").mkdir(parents=True)
    with pytest.raises(VocLayoutError, match=r"several VOC sets \(VOC2007, VOC2012\)"):
        open_voc_folder(tmp_path / "VOCdevkit")
    (tmp_path / "empty").mkdir()
    with pytest.raises(VocLayoutError, match="no Pascal VOC annotations found"):
        open_voc_folder(tmp_path / "empty")
    with pytest.raises(VocLayoutError, match="not a folder"):
        open_voc_folder(tmp_path / "absent")


def test_image_paths_stay_inside_the_image_folder(tmp_path):
    (tmp_path / "a.xml").write_text("")
    (tmp_path / "a.png").write_bytes(b"")
    folder = open_voc_folder(tmp_path)
    assert folder.image_path("a", "/home/me/a.png") == tmp_path / "a.png"
    assert folder.image_path("a", "../../etc/a.png") == tmp_path / "a.png"
    assert folder.image_path("a", "other.jpg") == tmp_path / "a.png"  # NAME with an image extension
    assert folder.image_path("b", "b.jpg") is None
