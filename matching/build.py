"""Build and extend bundles from dataset folders: what `kyb index build|add` and
`kyb eval retrieval` do, in one place.

Building is: extract and fit on the references, calibrate the open-set rejector on
held-out crops (`matching.calibration`: the annotated photos of the train and val splits
of the dataset, or of another dataset given for it; where there are none, renditions of
the references themselves, `matching.self_calibration`; or another bundle's rejectors
lent with `calibration_from`), then save a new generation atomically.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from data.dataset import Reference, load_dataset, read_references
from matching.bundle import LOCK, BundleError, is_bundle
from matching.calibration import CALIBRATION_SPLITS, calibrate, calibration_splits, copy_calibration
from matching.extraction import Extracted, ExtractionSetup, extract_references
from matching.index import RetrievalIndex
from matching.presets import PathConfig, preset
from matching.self_calibration import self_calibrate

CALIBRATIONS = ("auto", "photos", "gallery")
#: The work folder, inside the bundle's folder, of a build given none: a killed build's
#: extractions wait there for the same command to resume them; removed once it is saved.
WORK = ".build"


@dataclass
class BuildReport:
    index: RetrievalIndex
    calibration: dict


def check_target(out: Path, force: bool) -> None:
    """Refuse to write over anything but a bundle, and over a bundle without `force`."""
    if is_bundle(out):
        if not force:
            raise FileExistsError(f"{out} already holds an index bundle; use --force to replace it "
                                  "(readers of the old one keep working)")
    elif out.exists() and (not out.is_dir() or any(p.name not in (WORK, LOCK) for p in out.iterdir())):
        raise FileExistsError(f"{out} exists and is not an index bundle; choose another --out")


def build_bundle(dataset_root: str | Path, out: str | Path, preset_name: str = "default", *,
                 configs: dict[str, PathConfig] | None = None, force: bool = False,
                 calibration: str = "auto", calibration_dataset: str | Path | None = None,
                 calibration_from: str | Path | None = None, calibration_split: str = CALIBRATION_SPLITS,
                 max_wrong_acceptance: float = 0.02, seed: int = 0, progress: bool = True,
                 extraction: ExtractionSetup | None = None) -> BuildReport:
    """Build the index of a dataset's references, calibrate it, and save it at `out`.

    `calibration` (one of `CALIBRATIONS`): ``photos`` calibrates on the annotated photos
    of the calibration splits, ``gallery`` on renditions of the references themselves
    (`matching.self_calibration`), ``auto`` on photos where the splits hold any, else on
    the gallery; `calibration_from` lends another bundle's rejectors instead.
    `configs` replaces the named preset's path configurations (see `RetrievalIndex.build`);
    `extraction` who extracts and into which work folders (default: this process, into
    `WORK` inside `out`, so that the same call resumes a killed build).
    """
    if calibration not in CALIBRATIONS:
        raise ValueError(f"calibration must be one of {CALIBRATIONS}, got {calibration!r}")
    dataset = load_dataset(dataset_root)
    if calibration_from is None:  # a misnamed split is refused now, not after the build's minutes
        held_out = load_dataset(calibration_dataset) if calibration_dataset is not None else dataset
        splits = calibration_splits(held_out, calibration_split)
        has_photos = any(held_out.splits.get(name) for name in splits)
        if calibration == "photos" and not has_photos:
            raise ValueError(f"{held_out.root}: no annotated photos in the {calibration_split} split(s) to "
                             "calibrate on; calibrate on the gallery instead (--calibration gallery)")
        calibration = calibration if calibration != "auto" else ("photos" if has_photos else "gallery")
    if calibration_from is None and calibration == "photos":
        return _build_and_save(dataset.references, dataset.root, out, force, preset_name, configs, seed,
                               progress, lambda index: calibrate(index, held_out, calibration_split,
                                                                 max_wrong_acceptance, progress), extraction)
    return build_gallery_bundle(dataset.references, dataset.root, out, preset_name, configs=configs,
                                force=force, calibration_from=calibration_from,
                                max_wrong_acceptance=max_wrong_acceptance, seed=seed, progress=progress,
                                extraction=extraction)


def build_gallery_bundle(references: Sequence[Reference], root: str | Path, out: str | Path,
                         preset_name: str = "default", *, configs: dict[str, PathConfig] | None = None,
                         force: bool = False, calibration_from: str | Path | None = None,
                         max_wrong_acceptance: float = 0.02, seed: int = 0,
                         progress: bool = True, extraction: ExtractionSetup | None = None) -> BuildReport:
    """Build the index of `references` (paths relative to `root`), calibrated on renditions
    of the references themselves (or on `calibration_from`'s rejectors), and save it at
    `out`: what a scraped gallery without annotated photos gets."""
    if calibration_from is not None:
        def calibrate_index(index):
            return copy_calibration(index, RetrievalIndex.open(calibration_from))
    else:
        def calibrate_index(index):
            return self_calibrate(index, references, root, max_wrong_acceptance=max_wrong_acceptance,
                                  seed=seed, progress=progress)
    return _build_and_save(references, root, out, force, preset_name, configs, seed, progress,
                           calibrate_index, extraction)


def _build_and_save(references: Sequence[Reference], root: str | Path, out: str | Path, force: bool,
                    preset_name: str, configs: dict[str, PathConfig] | None, seed: int, progress: bool,
                    calibrate_index: Callable[[RetrievalIndex], dict],
                    extraction: ExtractionSetup | None) -> BuildReport:
    """Check `out` (`check_target`), extract and fit, calibrate, then write the bundle
    atomically (nothing at `out` changes if any step fails; extractions saved in the
    work folder are kept for the next try, and the default one is removed on success)."""
    check_target(Path(out), force)
    setup = extraction or ExtractionSetup()
    own_work = not setup.folders
    if own_work:
        setup = dataclasses.replace(setup, folders=[Path(out) / WORK])
    index = RetrievalIndex.build(references, root, preset_name, configs=configs, seed=seed, progress=progress,
                                 extraction=setup)
    report = calibrate_index(index)
    index.save(out)
    if own_work:
        shutil.rmtree(Path(out) / WORK, ignore_errors=True)
    return BuildReport(index, report)


def extract_shard(references: Sequence[Reference], root: str | Path, preset_name: str = "default", *,
                  configs: dict[str, PathConfig] | None = None, seed: int = 0,
                  extraction: ExtractionSetup, progress: bool = True) -> Extracted:
    """Only the extraction of `extraction.shard` into `extraction.folders[0]`, no bundle:
    a build given every shard's folder (`--work` each) then fits them as one."""
    if extraction.shard is None or not extraction.folders:
        raise ValueError("a shard run needs its shard (i/n) and a work folder to extract into")
    return extract_references(references, root, configs or preset(preset_name), seed, extraction, progress)


def read_new_references(dataset_root: str | Path | None = None,
                        references_csv: str | Path | None = None) -> tuple[list[Reference], Path]:
    """References to add, with the folder their paths are relative to."""
    if (dataset_root is None) == (references_csv is None):
        raise ValueError("give a dataset folder or a references CSV file (one of them)")
    if references_csv is not None:
        return read_references(Path(references_csv)), Path(references_csv).parent
    dataset = load_dataset(dataset_root)
    return dataset.references, dataset.root


def add_to_bundle(root: str | Path, references: list[Reference], reference_root: str | Path,
                  progress: bool = True) -> tuple[RetrievalIndex, int]:
    """Append new references to the bundle at `root` as a new generation; returns the
    updated index and how many references were new. Codebooks and PCA stay as they are."""
    if not is_bundle(root):
        raise BundleError(f"{root}: not an index bundle; build one with `kyb index build`")
    index = RetrievalIndex.open(root)
    added = index.add(references, reference_root, progress=progress)
    if added:
        index.save(root)
    return index, added
