"""COCO-style box AP of the same detections and ground truth, computed by pycocotools.

People compare detectors by COCO's AP@[.5:.95] (the mean over IoU thresholds 0.50, 0.55,
..., 0.95 of a 101-point interpolated AP) and AP@.75 as well as by VOC's AP@.5. COCO's
matching has its own rules (crowd regions, at most 100 detections per photo and class,
101 recall points), so the figures come from pycocotools, the reference implementation,
rather than from a rewrite of it: this module only turns our samples and detections into
its in-memory datasets and reads its accumulated precision table back.

A VOC ``difficult`` object becomes a COCO crowd region (``iscrowd``): the one way COCO has
to count an object neither as found nor as missed. Boxes keep their continuous corner
coordinates; COCO's [x, y, width, height] is made from them.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence

import numpy as np

#: The IoU thresholds of the per-threshold figures reported besides AP@[.5:.95].
REPORTED_IOUS = (0.5, 0.75)
#: Index of area range "all" and of the largest maxDets (100) in COCOeval's tables.
ALL_AREAS, MOST_DETECTIONS = 0, -1


def _coco(images: list[dict], categories: list[dict], annotations: list[dict]):
    from pycocotools.coco import COCO

    coco = COCO()
    coco.dataset = {"images": images, "categories": categories, "annotations": annotations}
    with contextlib.redirect_stdout(io.StringIO()):  # createIndex prints progress
        coco.createIndex()
    return coco


def _xywh(boxes) -> np.ndarray:
    """(N, 4) corners -> (N, 4) COCO [x, y, width, height] as float64."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    return np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)


def coco_datasets(predictions, samples, classes: Sequence[str]):
    """pycocotools' ground truth and detection datasets: images numbered from 1 in sample
    order, categories from 1 in `classes` order (samples count classes from 1, predictions
    from 0)."""
    images = [{"id": number, "file_name": sample.name} for number, sample in enumerate(samples, start=1)]
    categories = [{"id": number, "name": name} for number, name in enumerate(classes, start=1)]
    truths, detections = [], []
    pairs = zip(samples, predictions, strict=True)
    for number, (sample, (boxes, scores, labels)) in enumerate(pairs, start=1):
        for xywh, label, difficult in zip(_xywh(sample.boxes).tolist(), sample.classes.tolist(),
                                          sample.difficult.tolist(), strict=True):
            truths.append({"id": len(truths) + 1, "image_id": number, "category_id": label,
                           "bbox": xywh, "area": xywh[2] * xywh[3], "iscrowd": int(difficult)})
        for xywh, score, label in zip(_xywh(boxes).tolist(), np.asarray(scores, np.float64).tolist(),
                                      np.asarray(labels).tolist(), strict=True):
            detections.append({"id": len(detections) + 1, "image_id": number, "category_id": label + 1,
                               "bbox": xywh, "area": xywh[2] * xywh[3], "score": score, "iscrowd": 0})
    return _coco(images, categories, truths), _coco(images, categories, detections)


def _mean_defined(precision: np.ndarray) -> float | None:
    """COCOeval's average of a precision table: -1 marks "no ground truth", left out."""
    defined = precision[precision > -1]
    return float(defined.mean()) if defined.size else None


def coco_metrics(predictions, samples, classes: Sequence[str]) -> dict:
    """AP@[.5:.95], AP@.5 and AP@.75 overall and per class; None where a class has no
    ground truth (as pycocotools leaves it out).

    Only COCO's area range "all" is evaluated (the small/medium/large ranges would
    quadruple the work for figures we do not report); the overall figures are then
    COCOeval.summarize's own formula, the mean of the defined precisions of that range
    at 100 detections a photo, read from the same accumulated table.
    """
    from pycocotools.cocoeval import COCOeval

    truth, detected = coco_datasets(predictions, samples, classes)
    evaluation = COCOeval(truth, detected, iouType="bbox")
    evaluation.params.areaRng = [evaluation.params.areaRng[ALL_AREAS]]
    evaluation.params.areaRngLbl = [evaluation.params.areaRngLbl[ALL_AREAS]]
    with contextlib.redirect_stdout(io.StringIO()):  # evaluate and accumulate print progress
        evaluation.evaluate()
        evaluation.accumulate()
    precision = evaluation.eval["precision"][..., ALL_AREAS, MOST_DETECTIONS]  # (IoUs, recalls, classes)
    thresholds = evaluation.params.iouThrs
    at = {iou: int(np.argmin(np.abs(thresholds - iou))) for iou in REPORTED_IOUS}
    per_class = {name: {"ap": _mean_defined(precision[:, :, k]),
                        "ap50": _mean_defined(precision[at[0.5], :, k]),
                        "ap75": _mean_defined(precision[at[0.75], :, k])}
                 for k, name in enumerate(classes)}
    return {"ap": _mean_defined(precision), "ap50": _mean_defined(precision[at[0.5]]),
            "ap75": _mean_defined(precision[at[0.75]]), "classes": per_class}
