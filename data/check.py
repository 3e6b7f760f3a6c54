"""Validate a dataset folder against the contract of ARCHITECTURE.md.

Every later issue's tests reuse this: a generator change that breaks the contract, a
hand-made folder with a typo, or a copy cut short all show up as named problems rather
than as a confusing failure deep inside training or evaluation.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from data.catalogue import ALL_LOGO_STYLES
from data.dataset import (
    KINDS,
    LOGO_STYLES_FILE,
    SPLITS,
    UNKNOWN_BAND_ID,
    DatasetError,
    load_dataset,
    read_logo_styles,
)
from data.voc import VocError, read_voc


@dataclass
class CheckReport:
    """The outcome of a check: problems (empty when valid) and what the folder holds."""

    root: Path
    problems: list[str] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not self.problems


def _image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the image header, verifying the file is a decodable image."""
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        return image.size


def _check_references(report: CheckReport, dataset) -> None:
    band_ids = {int(band["band_id"]) for band in dataset.bands}
    album_ids = {int(album["album_id"]) for album in dataset.albums}
    seen = set()
    for ref in dataset.references:
        where = f"references.csv ref_id {ref.ref_id}"
        if ref.ref_id in seen:
            report.problems.append(f"{where}: duplicate ref_id")
        seen.add(ref.ref_id)
        if ref.band_id not in band_ids:
            report.problems.append(f"{where}: band_id {ref.band_id} is not in bands.csv")
        if ref.kind == "album" and album_ids and ref.album_id not in album_ids:
            report.problems.append(f"{where}: album_id {ref.album_id} is not in albums.csv")
        path = dataset.reference_path(ref)
        try:
            _image_size(path)
        except (OSError, UnidentifiedImageError) as exc:
            report.problems.append(f"{where}: {ref.path}: not a readable image ({exc})")
        report.counts[f"references_{ref.kind}"] += 1


def _check_logo_styles(report: CheckReport, dataset, band_ids: set[int]) -> None:
    """logo_styles.csv, where present: one known style for each band of bands.csv."""
    try:
        styles = read_logo_styles(dataset.root)
    except DatasetError as exc:
        report.problems.append(str(exc))
        return
    for band_id, style in styles.items():
        if band_id not in band_ids:
            report.problems.append(f"{LOGO_STYLES_FILE}: band_id {band_id} is not in bands.csv")
        if style not in ALL_LOGO_STYLES:
            report.problems.append(f"{LOGO_STYLES_FILE}: band_id {band_id}: style {style!r} is not one of "
                                   f"{ALL_LOGO_STYLES}")
        report.counts[f"logos_{style}"] += 1


def _check_photo(report: CheckReport, dataset, name: str, band_ids: set[int], album_ids: set[int]) -> None:
    photo, xml = dataset.photo_path(name), dataset.annotation_path(name)
    try:
        width, height = _image_size(photo)
    except (OSError, UnidentifiedImageError) as exc:
        report.problems.append(f"photos/{name}.jpg: not a readable image ({exc})")
        return
    try:
        annotation = read_voc(xml)
    except VocError as exc:
        report.problems.append(str(exc))
        return
    if (annotation.width, annotation.height) != (width, height):
        report.problems.append(f"annotations/{name}.xml: size {annotation.width}x{annotation.height} "
                               f"differs from the photo's {width}x{height}")
    for index, obj in enumerate(annotation.objects):
        where = f"annotations/{name}.xml: object {index + 1}"
        if obj.name not in KINDS:
            report.problems.append(f"{where}: name {obj.name!r} is not one of {KINDS}")
        if obj.band_id is not None and obj.band_id != UNKNOWN_BAND_ID and obj.band_id not in band_ids:
            report.problems.append(f"{where}: band_id {obj.band_id} is not in bands.csv")
        if obj.album_id is not None and album_ids and obj.album_id not in album_ids:
            report.problems.append(f"{where}: album_id {obj.album_id} is not in albums.csv")
        report.counts[f"objects_{obj.name}"] += 1
        report.counts["objects_unknown_band"] += obj.band_id == UNKNOWN_BAND_ID
        report.counts["objects_difficult"] += obj.difficult
    report.counts["photos"] += 1


def check_dataset(root: str | Path) -> CheckReport:
    """Check every file of a dataset folder; never raises for a problem in the data."""
    report = CheckReport(Path(root))
    try:
        dataset = load_dataset(root)
    except DatasetError as exc:
        report.problems.append(str(exc))
        return report
    report.counts["bands"] = len(dataset.bands)
    band_ids = {int(band["band_id"]) for band in dataset.bands}
    if len(band_ids) != len(dataset.bands):
        report.problems.append("bands.csv: duplicate band_id")
    album_ids = {int(album["album_id"]) for album in dataset.albums}
    _check_references(report, dataset)
    _check_logo_styles(report, dataset, band_ids)

    photos = {p.stem for p in (dataset.root / "photos").glob("*.jpg")}
    annotations = {p.stem for p in (dataset.root / "annotations").glob("*.xml")}
    for name in sorted(photos - annotations):
        report.problems.append(f"photos/{name}.jpg: has no annotations/{name}.xml")
    for name in sorted(annotations - photos):
        report.problems.append(f"annotations/{name}.xml: has no photos/{name}.jpg")

    split_of: dict[str, str] = {}
    for split in SPLITS:
        for name in dataset.splits[split]:
            if name in split_of:
                report.problems.append(f"splits/{split}.txt: {name} is also in {split_of[name]}.txt")
            elif name not in photos:
                report.problems.append(f"splits/{split}.txt: {name} has no photo")
            split_of.setdefault(name, split)
        report.counts[f"split_{split}"] = len(dataset.splits[split])
    for name in sorted(photos - set(split_of)):
        report.problems.append(f"photos/{name}.jpg: is in no split")

    for name in sorted(photos & annotations):
        _check_photo(report, dataset, name, band_ids, album_ids)
    return report
