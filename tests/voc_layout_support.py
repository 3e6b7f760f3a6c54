"""Shared pieces of the VOC layout and `kyb eval detector` tests (no tests of its own).

The other layouts are made from photos of one of our dataset folders with symbolic links,
so that a real set (../shared/real) is read in place and the same photos can be scored in
every layout; the fake detections are a fixed function of the ground truth.
"""

from __future__ import annotations

import json
from pathlib import Path

from data.voc import read_voc
from tests.conftest import shared_path

#: How many SMVS photos the layout and predictions tests score.
PHOTOS = 10


def smvs_photos() -> tuple[Path, list[str]]:
    """The real SMVS set (read in place) and the names of the first `PHOTOS` of its test split."""
    root = shared_path("real", "smvs-dvd-canon")
    return root, (root / "splits" / "test.txt").read_text().split()[:PHOTOS]


def link(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(source.resolve())


def vocdevkit_tree(dataset: Path, names: list[str], out: Path, split: str = "test") -> Path:
    """VOCdevkit/VOC2007 with the photos `names` as `split`, and a class-specific image set
    (album_SPLIT.txt) beside it. Returns the VOCdevkit folder (the parent of the set)."""
    voc = out / "VOCdevkit" / "VOC2007"
    for name in names:
        annotation = read_voc(dataset / "annotations" / f"{name}.xml")
        link(dataset / "annotations" / f"{name}.xml", voc / "Annotations" / f"{name}.xml")
        link(dataset / "photos" / annotation.filename, voc / "JPEGImages" / annotation.filename)
    main = voc / "ImageSets" / "Main"
    main.mkdir(parents=True)
    (main / f"{split}.txt").write_text("".join(f"{name}\n" for name in names))
    flags = [" 1" if any(o.name == "album" for o in read_voc(voc / "Annotations" / f"{n}.xml").objects)
             else "-1" for n in names]
    (main / f"album_{split}.txt").write_text("".join(f"{n} {f}\n" for n, f in zip(names, flags, strict=True)))
    return out / "VOCdevkit"


def cvat_export(dataset: Path, names: list[str], out: Path) -> Path:
    """CVAT's Pascal VOC 1.1 export of the photos: one split, default.txt, and labelmap.txt."""
    root = vocdevkit_tree(dataset, names, out / "cvat", split="default") / "VOC2007"
    (root / "ImageSets" / "Main" / "album_default.txt").unlink()
    (root / "labelmap.txt").write_text("# label:color_rgb:parts:actions\nalbum:0,0,255::\nlogo:255,0,0::\n")
    return root


def flat_folder(dataset: Path, names: list[str], out: Path) -> Path:
    """LabelImg's layout: each NAME.xml beside its image, no splits."""
    for name in names:
        annotation = read_voc(dataset / "annotations" / f"{name}.xml")
        link(dataset / "annotations" / f"{name}.xml", out / f"{name}.xml")
        link(dataset / "photos" / annotation.filename, out / annotation.filename)
    return out


def fake_detections(dataset: Path, names: list[str]) -> list[tuple[str, str, float, tuple]]:
    """A fixed detector's (image, class, score, box) rows: most objects found, some a few
    pixels off, every fourth photo's missed, a duplicate and a box on nothing now and then;
    scores all different, so that no order of ties matters."""
    rows = []
    for index, name in enumerate(names):
        for number, obj in enumerate(read_voc(dataset / "annotations" / f"{name}.xml", clip=True).objects):
            x1, y1, x2, y2 = obj.box
            shift = (index % 5) * (x2 - x1) * 0.06
            score = 0.95 - 0.031 * index - 0.003 * number
            if index % 4 != 3:
                rows.append((name, obj.name, score, (x1 + shift, y1, x2 + shift, y2 - shift)))
            if index % 3 == 0:
                rows.append((name, obj.name, score - 0.2, (x1 + 2, y1 + 2, x2 - 2, y2 - 2)))
        if index % 2 == 0:
            rows.append((name, "logo" if index % 4 else "album", 0.5 - 0.01 * index, (0, 0, 40, 30)))
    return rows


def write_csv(rows, path: Path) -> Path:
    lines = ["image,class,score,x1,y1,x2,y2"]
    lines += [f"{image},{kind},{score!r},{','.join(repr(float(v)) for v in box)}"
              for image, kind, score, box in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_results_files(rows, folder: Path) -> Path:
    """The VOC devkit's results files, comp4_det_test_CLASS.txt, one per class."""
    folder.mkdir(parents=True, exist_ok=True)
    for kind in sorted({row[1] for row in rows}):
        (folder / f"comp4_det_test_{kind}.txt").write_text("".join(
            f"{image} {score!r} {' '.join(repr(float(v)) for v in box)}\n"
            for image, row_kind, score, box in rows if row_kind == kind))
    return folder


def write_identify_json(rows, photos: dict[str, Path], path: Path) -> Path:
    """`kyb identify --json` output holding the rows as its detections."""
    outcomes = [{"photo": str(photo), "result": {
        "image": {"width": 1, "height": 1}, "bands": [], "timings_ms": {},
        "detections": [{"box": list(map(float, box)), "kind": kind, "score": score, "verdict": "unknown",
                        "matches": []} for image, kind, score, box in rows if image == name]}}
        for name, photo in photos.items()]
    path.write_text(json.dumps(outcomes))
    return path


def figures_of(report: Path) -> dict:
    """A --json report without what names the folder and its layout."""
    figures = json.loads(report.read_text())
    for key in ("dataset", "layout", "split", "predictions"):
        figures.pop(key, None)
    return figures
