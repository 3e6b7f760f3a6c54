"""Shared pieces of the pipeline, `kyb identify` and e2e tests (no tests of its own).

The real pipeline needs a trained detector, an index and a band database. The index is
built from the `small_dataset` fixture with a tiny configuration (seconds, not minutes)
and the database is a SQLite file with that dataset imported, both cached per dataset so
that every test module shares them. The detector is the shipped model, else the file
named by $KYB_DETECTOR_MODEL; tests that need a *trained* one skip without it (fail
under CI). Tests that only need *a* model (the command line's plumbing) use an untrained
tiny one, and the stage tests use the annotated boxes as detections, so the index,
database and aggregation are exercised on every checkout.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

from data.dataset import UNKNOWN_BAND_ID, load_dataset
from data.voc import read_voc
from detector.inference import DEFAULT_MODEL, Detection
from matching.presets import PathConfig
from retrieval.pipeline import DETECTOR_MODEL_ENV
from tests.conftest import skip_or_fail

#: Fast stand-ins for the default preset's two paths, same kinds of features.
TINY_PATHS = {
    "logo": PathConfig(extractor={"gem_sizes": [224]}, encoder={"parts": ["gem"], "projection": None}),
    "album": PathConfig(extractor={"sift": "rootsift", "sift_keypoints": 300, "sift_max_side": 400},
                        encoder={"parts": ["sift_vlad"], "sift_clusters": 16, "projection": None},
                        verify=5, min_inliers=8, reference_blur=2.0),
}


@functools.cache
def tiny_bundle(dataset_root: Path) -> Path:
    """A calibrated index bundle of the dataset's references, next to the dataset."""
    from matching.calibration import calibrate
    from matching.index import RetrievalIndex

    out = dataset_root.parent / "tiny-index"
    dataset = load_dataset(dataset_root)
    index = RetrievalIndex.build(dataset.references, dataset.root, "tiny", configs=TINY_PATHS, progress=False)
    calibrate(index, dataset, "val", progress=False)
    index.save(out)
    return out


@functools.cache
def dataset_database(dataset_root: Path) -> str:
    """The URL of a SQLite database holding the dataset's bands, albums and references."""
    from retrieval.importers import import_dataset
    from retrieval.store import Store

    url = f"sqlite:///{dataset_root.parent / 'bands.sqlite'}"
    with Store.open(url, create=True) as store:
        import_dataset(store, dataset_root)
    return url


def trained_model() -> Path:
    """The trained detector to test with, or a skip (a fail under CI)."""
    configured = os.environ.get(DETECTOR_MODEL_ENV)
    path = Path(configured) if configured else DEFAULT_MODEL
    if not path.is_file():
        skip_or_fail(f"no trained detector: {path} is absent (ship one, or set {DETECTOR_MODEL_ENV})")
    return path


@functools.cache
def untrained_model(folder: Path) -> Path:
    """An untrained tiny detector saved in `folder`: for tests of the plumbing around the
    detector (the command line, the evaluation), which must not wait for a trained model
    and gain nothing from its 600-pixel inputs."""
    from detector.config import DetectorConfig
    from detector.io import save_model
    from detector.model import FasterRCNN

    config = DetectorConfig(short_side=128, max_side=192, feature_channels=16, head_units=32,
                            rpn_pre_nms_test=100, rpn_post_nms_test=20)
    return save_model(folder / "untrained-tiny.npz", FasterRCNN(config, weights="imagenet"))


class AnnotatedBoxes:
    """A detector that answers a dataset photo's annotated boxes: the pipeline downstream
    of detection, tested apart from how well the detector is trained."""

    def __init__(self, dataset_root: Path):
        self.dataset = load_dataset(dataset_root)
        self.photo = None

    def detect(self, image: np.ndarray) -> list[Detection]:
        objects = read_voc(self.dataset.annotation_path(self.photo), clip=True).objects
        return [Detection(tuple(float(v) for v in obj.box), obj.name, 1.0) for obj in objects]


def known_photos(dataset_root: Path, kind: str, split: str = "test") -> list[tuple[str, set[int]]]:
    """Photos of the split showing a known band's `kind` object, with those bands."""
    dataset = load_dataset(dataset_root)
    chosen = []
    for name in dataset.splits[split]:
        bands = {obj.band_id for obj in read_voc(dataset.annotation_path(name), clip=True).objects
                 if obj.name == kind and obj.band_id not in (None, UNKNOWN_BAND_ID)}
        if bands:
            chosen.append((name, bands))
    return chosen
