"""VOC folders to detector inputs: samples, image preparation and training augmentation.

Any VOC folder works, in whichever layout it comes (`data.voc_layouts`: our dataset
folders, VOCdevkit sets, CVAT exports, LabelImg's flat folders), with the splits that
layout has. Class names that differ from ours are mapped with `class_map` (e.g.
``{"brand": "logo"}``); objects of other classes are left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import cv2
import numpy as np

from data.augment import colour_jitter
from data.image_io import read_image
from data.voc import VocAnnotation, read_voc
from data.voc_layouts import VocFolder, open_voc_folder


class DetectorDataError(ValueError):
    """A folder or file that cannot be used as detector data; the message says why."""


@dataclass(frozen=True)
class Sample:
    """One annotated photo: `boxes` (N, 4) pixels, `classes` (N,) from 1, `difficult` (N,)."""

    name: str
    image_path: Path
    boxes: np.ndarray
    classes: np.ndarray
    difficult: np.ndarray


@dataclass(frozen=True)
class Annotated:
    """One photo of a VOC folder with its annotation, before classes are chosen."""

    name: str
    image_path: Path
    annotation: VocAnnotation


def split_names(root: str | Path, split: str | None) -> list[str]:
    """Photo names of a split, or of every annotation when `split` is None or the folder
    has no such split."""
    return open_voc_folder(root).names(split)


def has_split(root: str | Path, split: str) -> bool:
    """Whether the folder has a split of that name with photos in it."""
    folder = open_voc_folder(root)
    return folder.split_file(split) is not None and bool(folder.names(split))


def read_annotated(root: str | Path | VocFolder, split: str | None, *, need_images: bool = True,
                   strict_split: bool = False) -> list[Annotated]:
    """Every photo of a VOC folder's split with its annotation (see `VocFolder.names`).

    With `need_images`, a photo that is not there is an error; without (scoring saved
    detections needs no pixels), its path is where the annotation says it would be.
    """
    folder = root if isinstance(root, VocFolder) else open_voc_folder(root)
    annotated = []
    for name in folder.names(split, strict=strict_split):
        path = folder.annotation_path(name)
        if not path.is_file():
            raise DetectorDataError(f"{path}: no such annotation file, although the {split} split "
                                    f"of {folder.root} lists {name}")
        annotation = read_voc(path, clip=True)
        image_path = folder.image_path(name, annotation.filename) if need_images else None
        if image_path is None:
            if need_images:
                raise DetectorDataError(f"{path}: its photo {annotation.filename} is not in {folder.images}")
            image_path = folder.images / PurePosixPath(annotation.filename.replace("\\", "/")).name
        annotated.append(Annotated(name, image_path, annotation))
    return annotated


def to_samples(annotated: list[Annotated], classes: tuple[str, ...],
               class_map: dict[str, str] | None = None) -> list[Sample]:
    """Samples of `classes` (numbered from 1); objects of other classes are left out."""
    class_map = class_map or {}
    index = {name: number for number, name in enumerate(classes, start=1)}
    samples = []
    for photo in annotated:
        kept = [obj for obj in photo.annotation.objects if class_map.get(obj.name, obj.name) in index]
        samples.append(Sample(
            name=photo.name, image_path=photo.image_path,
            boxes=np.array([obj.box for obj in kept], np.float32).reshape(-1, 4),
            classes=np.array([index[class_map.get(obj.name, obj.name)] for obj in kept], np.int32),
            difficult=np.array([obj.difficult for obj in kept], bool)))
    return samples


def load_samples(root: str | Path, split: str | None, classes: tuple[str, ...],
                 class_map: dict[str, str] | None = None) -> list[Sample]:
    """The samples of a VOC folder's split; see `split_names`."""
    return to_samples(read_annotated(root, split), classes, class_map)


def resize_scale(height: int, width: int, short_side: int, max_side: int) -> float:
    """The factor that brings the short side to `short_side`, unless the long side would
    then pass `max_side` (very wide panoramas)."""
    return min(short_side / min(height, width), max_side / max(height, width))


def prepare_image(image: np.ndarray, short_side: int, max_side: int, divisor: int
                  ) -> tuple[np.ndarray, float, tuple[int, int]]:
    """Resize (aspect ratio kept) and zero-pad bottom/right to multiples of `divisor`.

    Returns the float32 0..255 RGB network input, the scale applied, and the (height,
    width) of the image inside the padding.
    """
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    height, width = image.shape[:2]
    scale = resize_scale(height, width, short_side, max_side)
    new_h, new_w = max(1, round(height * scale)), max(1, round(width * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image[..., :3], (new_w, new_h), interpolation=interpolation)
    padded = np.zeros((math.ceil(new_h / divisor) * divisor, math.ceil(new_w / divisor) * divisor, 3),
                      np.float32)
    padded[:new_h, :new_w] = resized
    return padded, scale, (new_h, new_w)


def augment(image: np.ndarray, boxes: np.ndarray, rng: np.random.Generator
            ) -> tuple[np.ndarray, np.ndarray]:
    """Photometric jitter and a random horizontal flip (a mirrored logo is still a logo
    shape to the detector, and the flip doubles the layouts seen)."""
    if rng.random() < 0.8:
        image = (colour_jitter(image.astype(np.float32) / 255.0, rng, strength=0.2) * 255.0).astype(np.uint8)
    if rng.random() < 0.5:
        image = image[:, ::-1]
        width = image.shape[1]
        boxes = np.stack([width - boxes[:, 2], boxes[:, 1], width - boxes[:, 0], boxes[:, 3]], axis=1)
    return np.ascontiguousarray(image), boxes


def training_example(sample: Sample, short_side: int, max_side: int, divisor: int,
                     rng: np.random.Generator | None):
    """One prepared (image, valid size, boxes, classes) for a training step.

    With `rng`, the photo is augmented and its short side jittered by up to +-20 %, so the
    detector sees objects at more sizes than the dataset has. Difficult objects are left
    out of training, as in VOC practice.
    """
    image = read_image(sample.image_path)
    keep = ~sample.difficult
    boxes, classes = sample.boxes[keep], sample.classes[keep]
    if rng is None:
        prepared, scale, valid = prepare_image(image, short_side, max_side, divisor)
        return prepared, np.asarray(valid, np.int32), (boxes * scale).astype(np.float32), classes
    short_side = int(round(short_side * rng.uniform(0.8, 1.2)))
    # Resize first: the colour jitter then works on a quarter of the pixels.
    scale = resize_scale(*image.shape[:2], short_side, max_side)
    image = cv2.resize(image, (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale))),
                       interpolation=cv2.INTER_AREA)
    image, boxes = augment(image, boxes * scale, rng)
    prepared, _, valid = prepare_image(image, min(image.shape[:2]), max(image.shape[:2]), divisor)
    return prepared, np.asarray(valid, np.int32), boxes.astype(np.float32), classes
