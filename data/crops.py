"""Ground-truth crops of a dataset's photos: the annotated boxes, cut out.

Retrieval is evaluated (and the open-set threshold calibrated) on the boxes of the
annotations, cropped from the photos: this measures matching alone, apart from the
detector. Objects with band_id 0 are crops of bands absent from the references.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from data.dataset import UNKNOWN_BAND_ID, Dataset
from data.image_io import read_image
from data.voc import read_voc


@dataclass(frozen=True)
class GroundTruthCrop:
    """One annotated object of a photo; `band_id` is 0 for a band not in the references."""

    photo: str
    kind: str
    box: tuple[int, int, int, int]
    band_id: int | None
    album_id: int | None
    difficult: bool

    @property
    def known(self) -> bool:
        return self.band_id != UNKNOWN_BAND_ID


def ground_truth_crops(dataset: Dataset, split: str,
                       include_difficult: bool = False) -> list[GroundTruthCrop]:
    """The boxes of the split's photos that carry a band_id, in photo order."""
    crops = []
    for name in dataset.splits.get(split, []):
        for obj in read_voc(dataset.annotation_path(name), clip=True).objects:
            if obj.band_id is None or (obj.difficult and not include_difficult):
                continue
            crops.append(GroundTruthCrop(name, obj.name, obj.box, obj.band_id, obj.album_id, obj.difficult))
    return crops


def iter_crop_images(dataset: Dataset,
                     crops: list[GroundTruthCrop]) -> Iterator[tuple[GroundTruthCrop, np.ndarray]]:
    """Each crop with its pixels; a photo is decoded once for all its consecutive crops."""
    photo_name, photo = None, None
    for crop in crops:
        if crop.photo != photo_name:
            photo_name, photo = crop.photo, read_image(dataset.photo_path(crop.photo))
        x1, y1, x2, y2 = crop.box
        yield crop, photo[y1:y2, x1:x2]
