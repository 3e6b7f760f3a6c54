"""Build and extend bundles from dataset folders: what `kyb index build|add` and
`kyb eval retrieval` do, in one place.

Building is: extract and fit on the references, calibrate the open-set rejector on
held-out crops (`matching.calibration`: the annotated photos of the train and val splits
of the dataset, or of another dataset given for it; where there are none, renditions of
the references themselves, `matching.self_calibration`; or another bundle's rejectors
lent with `calibration_from`), then save a new generation atomically.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from data.dataset import Reference, load_dataset, read_references
from matching.bundle import BundleError, is_bundle
from matching.calibration import CALIBRATION_SPLITS, calibrate, calibration_splits, copy_calibration
from matching.index import RetrievalIndex
from matching.presets import PathConfig
from matching.self_calibration import self_calibrate

CALIBRATIONS = ("auto", "photos", "gallery")


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
    elif out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} exists and is not an index bundle; choose another --out")


def build_bundle(dataset_root: str | Path, out: str | Path, preset_name: str = "default", *,
                 configs: dict[str, PathConfig] | None = None, force: bool = False,
                 calibration: str = "auto", calibration_dataset: str | Path | None = None,
                 calibration_from: str | Path | None = None, calibration_split: str = CALIBRATION_SPLITS,
                 max_known_rejection: float = 0.04, seed: int = 0, progress: bool = True) -> BuildReport:
    """Build the index of a dataset's references, calibrate it, and save it at `out`.

    `calibration` (one of `CALIBRATIONS`): ``photos`` calibrates on the annotated photos
    of the calibration splits, ``gallery`` on renditions of the references themselves
    (`matching.self_calibration`), ``auto`` on photos where the splits hold any, else on
    the gallery; `calibration_from` lends another bundle's rejectors instead.
    `configs` replaces the named preset's path configurations (see `RetrievalIndex.build`).
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
                                                                 max_known_rejection, progress))
    return build_gallery_bundle(dataset.references, dataset.root, out, preset_name, configs=configs,
                                force=force, calibration_from=calibration_from,
                                max_known_rejection=max_known_rejection, seed=seed, progress=progress)


def build_gallery_bundle(references: Sequence[Reference], root: str | Path, out: str | Path,
                         preset_name: str = "default", *, configs: dict[str, PathConfig] | None = None,
                         force: bool = False, calibration_from: str | Path | None = None,
                         max_known_rejection: float = 0.04, seed: int = 0,
                         progress: bool = True) -> BuildReport:
    """Build the index of `references` (paths relative to `root`), calibrated on renditions
    of the references themselves (or on `calibration_from`'s rejectors), and save it at
    `out`: what a scraped gallery without annotated photos gets."""
    if calibration_from is not None:
        def calibrate_index(index):
            return copy_calibration(index, RetrievalIndex.open(calibration_from))
    else:
        def calibrate_index(index):
            return self_calibrate(index, references, root, max_known_rejection=max_known_rejection,
                                  seed=seed, progress=progress)
    return _build_and_save(references, root, out, force, preset_name, configs, seed, progress,
                           calibrate_index)


def _build_and_save(references: Sequence[Reference], root: str | Path, out: str | Path, force: bool,
                    preset_name: str, configs: dict[str, PathConfig] | None, seed: int, progress: bool,
                    calibrate_index: Callable[[RetrievalIndex], dict]) -> BuildReport:
    """Check `out` (`check_target`), extract and fit, calibrate, then write the bundle
    atomically (nothing at `out` changes if any step fails)."""
    check_target(Path(out), force)
    index = RetrievalIndex.build(references, root, preset_name, configs=configs, seed=seed, progress=progress)
    report = calibrate_index(index)
    index.save(out)
    return BuildReport(index, report)


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
