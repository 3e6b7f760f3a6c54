"""Our AP against the reference definitions on small hand-made cases.

VOC: the devkit's VOCevaldet.m and VOCap.m (VOC2010+ all-point) and the VOC2007 11-point
rule; the expected values below are worked by hand from those definitions. COCO: our
figures (detector/coco.py) equal pycocotools run directly, its usual way (ground truth
from a JSON file, detections through loadRes).
"""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from detector.coco import coco_metrics
from detector.data import Sample
from detector.evaluate import evaluate_detections

CLASSES = ("logo", "album")


def sample(name, objects):
    """objects: (box, class number from 1, difficult)."""
    return Sample(name, None, np.array([o[0] for o in objects], np.float32).reshape(-1, 4),
                  np.array([o[1] for o in objects], np.int32), np.array([o[2] for o in objects], bool))


def detections(rows):
    """rows: (box, score, class index from 0)."""
    return (np.array([r[0] for r in rows], np.float64).reshape(-1, 4), np.array([r[1] for r in rows]),
            np.array([r[2] for r in rows], np.int64))


# Photo A: two logos, a difficult logo and an album; photo B: one logo; photo C: nothing.
SAMPLES = [
    sample("A", [([0, 0, 10, 10], 1, False), ([20, 0, 30, 10], 1, False), ([40, 0, 50, 10], 1, True),
                 ([50, 50, 90, 90], 2, False)]),
    sample("B", [([0, 0, 20, 20], 1, False)]),
    sample("C", []),
]
PREDICTIONS = [
    detections([([40, 0, 50, 10], 0.95, 0),    # logo rank 1: on the difficult logo, ignored
                ([0, 0, 10, 10], 0.80, 0),     # rank 4: TP                 recall 2/3, precision 2/3
                ([0, 0, 10, 10], 0.70, 0),     # rank 5: duplicate, FP      recall 2/3, precision 1/2
                ([20, 0, 30, 15], 0.60, 0),    # rank 6: IoU 2/3, TP        recall 1,   precision 3/5
                ([50, 50, 90, 130], 0.90, 1)]),  # album: IoU exactly 0.5 (the devkit's >=): TP
    detections([([0, 0, 20, 20], 0.90, 0),     # logo rank 2: TP            recall 1/3, precision 1
                ([0, 0, 50, 50], 0.30, 1)]),   # album: nothing there, FP
    detections([([0, 0, 10, 10], 0.85, 0),     # logo rank 3: FP            recall 1/3, precision 1/2
                ([50, 50, 60, 60], 0.40, 0)]),  # logo rank 7: FP           recall 1,   precision 1/2
]


def test_voc_ap_equals_the_devkit_definitions_worked_by_hand():
    results = evaluate_detections(PREDICTIONS, SAMPLES, CLASSES)
    logo, album = results["classes"]["logo"], results["classes"]["album"]
    assert logo.positives == 3 and album.positives == 1
    # VOCap: the precision envelope is 1 to recall 1/3, 2/3 to 2/3 and 3/5 to 1.
    assert logo.ap["all"] == pytest.approx((1 + 2 / 3 + 3 / 5) / 3)  # 34/45
    # VOC2007: max precision at recall >= t: 1 for t = 0..0.3, 2/3 for 0.4..0.6, 3/5 for 0.7..1.
    assert logo.ap["voc07"] == pytest.approx((4 * 1 + 3 * 2 / 3 + 4 * 3 / 5) / 11)  # 8.4/11
    assert album.ap == {"all": pytest.approx(1.0), "voc07": pytest.approx(1.0)}
    np.testing.assert_allclose(logo.recall, [0, 1 / 3, 1 / 3, 2 / 3, 2 / 3, 1, 1])
    np.testing.assert_allclose(logo.precision, [0, 1, 1 / 2, 2 / 3, 1 / 2, 3 / 5, 1 / 2])
    assert results["map"]["all"] == pytest.approx((34 / 45 + 1) / 2)
    assert results["map"]["voc07"] == pytest.approx((8.4 / 11 + 1) / 2)


def pycocotools_directly(samples, predictions, tmp_path, category: int | None = None) -> list[float]:
    """COCOeval's AP@[.5:.95], AP@.5, AP@.75, run the usual way on a ground-truth file."""
    truths = []
    for number, photo in enumerate(samples, start=1):
        for b, label, difficult in zip(photo.boxes, photo.classes, photo.difficult, strict=True):
            truths.append({"id": len(truths) + 1, "image_id": number, "category_id": int(label),
                           "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])],
                           "area": float((b[2] - b[0]) * (b[3] - b[1])), "iscrowd": int(difficult)})
    path = tmp_path / "truth.json"
    path.write_text(json.dumps({"images": [{"id": n} for n in range(1, len(samples) + 1)],
                                "categories": [{"id": n, "name": c} for n, c in enumerate(CLASSES, start=1)],
                                "annotations": truths}))
    results = [{"image_id": number, "category_id": int(label) + 1, "score": float(score),
                "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]}
               for number, (boxes, scores, labels) in enumerate(predictions, start=1)
               for b, score, label in zip(boxes, scores, labels, strict=True)]
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO(str(path))
        evaluation = COCOeval(truth, truth.loadRes(results), "bbox")
        if category is not None:
            evaluation.params.catIds = [category]
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return [float(value) for value in evaluation.stats[:3]]


def assert_equal_to_pycocotools(samples, predictions, tmp_path):
    ours = coco_metrics(predictions, samples, CLASSES)
    assert [ours["ap"], ours["ap50"], ours["ap75"]] == pytest.approx(
        pycocotools_directly(samples, predictions, tmp_path), abs=1e-12)
    for number, name in enumerate(CLASSES, start=1):
        ap, _, ap75 = pycocotools_directly(samples, predictions, tmp_path, category=number)
        figures = ours["classes"][name]
        assert [figures["ap"], figures["ap75"]] == pytest.approx([ap, ap75], abs=1e-12)
    return ours


def test_coco_figures_equal_pycocotools_run_directly_on_the_hand_made_case(tmp_path):
    ours = assert_equal_to_pycocotools(SAMPLES, PREDICTIONS, tmp_path)
    # At IoU .75 the album (IoU .5) is missed, and so is the logo found at IoU 2/3.
    assert ours["classes"]["album"]["ap75"] == pytest.approx(0.0)
    assert 0 < ours["classes"]["logo"]["ap75"] < ours["classes"]["logo"]["ap50"]


def test_coco_figures_equal_pycocotools_run_directly_on_random_photos(tmp_path):
    rng = np.random.default_rng(23)
    samples, predictions = [], []
    for index in range(40):
        corners = rng.uniform(0, 400, (int(rng.integers(0, 6)), 2))
        boxes = np.concatenate([corners, corners + rng.uniform(10, 120, corners.shape)], axis=1)
        labels = rng.integers(1, 3, len(boxes))
        difficult = rng.random(len(boxes)) < 0.1
        samples.append(sample(f"p{index}", list(zip(boxes, labels, difficult, strict=True))))
        found = boxes[rng.random(len(boxes)) < 0.8]  # most objects, a few pixels off
        noise = rng.uniform(0, 400, (int(rng.integers(0, 3)), 2))  # and boxes on nothing
        made = np.concatenate([found + rng.normal(0, 8, found.shape),
                               np.concatenate([noise, noise + 50], axis=1)]).reshape(-1, 4)
        made[:, 2:] = np.maximum(made[:, 2:], made[:, :2] + 1)
        predictions.append(detections([(b, float(rng.random()), int(rng.integers(0, 2))) for b in made]))
    ours = assert_equal_to_pycocotools(samples, predictions, tmp_path)
    assert 0 < ours["ap"] < ours["ap50"] < 1
