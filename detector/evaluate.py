"""Pascal VOC detection metrics: per-class AP and mAP at an IoU threshold, in both VOC
variants, precision-recall curves, and the detector's latency on the way (COCO's
figures of the same detections: `detector.coco`).

- VOC2007 "11-point": the mean, over recall levels 0, 0.1, ..., 1, of the highest
  precision reached at that recall or beyond.
- VOC2010+ "all-point": the area under the precision-recall curve after making precision
  monotonically decreasing (the precision envelope), summed at every recall change.

As in the VOC devkit, detections are matched greedily in descending score; a detection
is a true positive if its best-overlapping ground truth of the same class has IoU >=
the threshold and was not matched yet; a duplicate is a false positive. Ground truths
marked `difficult` count neither way: they are left out of the positives, and a
detection whose best match is one is ignored. (IoU here uses continuous coordinates, the
devkit adds one pixel to widths; at IoU 0.5 the difference is negligible for boxes of
the sizes we detect.)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from data.boxes import box_iou

METHODS = ("voc07", "all")


def average_precision(recall: np.ndarray, precision: np.ndarray, method: str) -> float:
    """AP from a precision-recall curve (points in detection order)."""
    recall = np.asarray(recall, np.float64)
    precision = np.asarray(precision, np.float64)
    if method == "voc07":
        return float(np.mean([precision[recall >= t].max(initial=0.0) for t in np.linspace(0, 1, 11)]))
    if method != "all":
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    recall = np.concatenate([[0.0], recall, [1.0]])
    precision = np.concatenate([[0.0], precision, [0.0]])
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    changes = np.flatnonzero(recall[1:] != recall[:-1])
    return float(np.sum((recall[changes + 1] - recall[changes]) * envelope[changes + 1]))


@dataclass
class ClassResult:
    name: str
    positives: int
    detections: int
    ap: dict[str, float]
    recall: np.ndarray = field(repr=False)
    precision: np.ndarray = field(repr=False)


def match_class(detections, ground_truth, iou_threshold: float):
    """True/false positive flags of one class's detections in descending score.

    `detections`: list of (image index, score, box); `ground_truth`: image index ->
    (boxes (G, 4), difficult (G,)). Returns (tp, fp, number of non-difficult positives).
    A detection's fate depends only on the better detections of its own photo, so each
    photo's overlaps are computed in one call and its detections matched in rank order.
    """
    positives = sum(int((~difficult).sum()) for _, difficult in ground_truth.values())
    order = sorted(range(len(detections)), key=lambda i: -detections[i][1])
    by_image: dict[int, list[tuple[int, int]]] = {}
    for rank, i in enumerate(order):
        by_image.setdefault(detections[i][0], []).append((rank, i))
    tp = np.zeros(len(order))
    fp = np.zeros(len(order))
    for image, ranked in by_image.items():
        boxes, difficult = ground_truth.get(image, (np.zeros((0, 4)), np.zeros(0, bool)))
        ranks = [rank for rank, _ in ranked]
        if len(boxes) == 0:
            fp[ranks] = 1
            continue
        overlaps = box_iou([detections[i][2] for _, i in ranked], boxes)
        best = overlaps.argmax(axis=1)
        best_overlap = overlaps[np.arange(len(ranked)), best]
        matched = np.zeros(len(boxes), bool)
        for rank, truth, overlap in zip(ranks, best.tolist(), best_overlap.tolist(), strict=True):
            if overlap < iou_threshold:
                fp[rank] = 1
            elif difficult[truth]:
                continue
            elif not matched[truth]:
                matched[truth] = True
                tp[rank] = 1
            else:
                fp[rank] = 1
    return tp, fp, positives


def evaluate_detections(predictions, samples, classes: tuple[str, ...], iou_threshold: float = 0.5) -> dict:
    """Per-class AP and mAP in both VOC variants.

    `predictions[i]` is (boxes, scores, class indices from 0) for `samples[i]`, whose
    classes count from 1. Returns {"classes": {name: ClassResult}, "map": {method: value}}.
    """
    results = {}
    for number, name in enumerate(classes, start=1):
        detections = []
        ground_truth = {}
        for image, (sample, (boxes, scores, labels)) in enumerate(zip(samples, predictions, strict=True)):
            mine = sample.classes == number
            ground_truth[image] = (sample.boxes[mine], sample.difficult[mine])
            detections += [(image, float(s), b) for b, s, c in zip(boxes, scores, labels, strict=True)
                           if c == number - 1]
        tp, fp, positives = match_class(detections, ground_truth, iou_threshold)
        tp, fp = np.cumsum(tp), np.cumsum(fp)
        recall = tp / max(positives, 1)
        precision = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
        results[name] = ClassResult(name, positives, len(detections),
                                    {m: average_precision(recall, precision, m) for m in METHODS},
                                    recall, precision)
    # Classes without a single positive have no defined AP and stay out of the mean.
    scored = [r for r in results.values() if r.positives > 0]
    mean = {m: float(np.mean([r.ap[m] for r in scored])) if scored else float("nan") for m in METHODS}
    return {"classes": results, "map": mean}


def run_detector(detector, samples, read_image, progress=None):
    """Detector outputs for every sample and the per-photo latency: an (N, 2) array of
    wall-clock and process CPU milliseconds.

    Latency is the `detect_arrays` call on the decoded photo (resize, networks, NMS,
    mapping back), not the file read; the first photo is run once more untimed first so
    that graph tracing is not counted. The CPU time (all threads) is reported beside the
    wall time because on a shared machine the wall time mostly measures the other load.
    """
    predictions, latencies = [], []
    for index, sample in enumerate(samples):
        image = read_image(sample.image_path)
        if index == 0:
            detector.detect_arrays(image)
        wall, cpu = time.perf_counter(), time.process_time()
        predictions.append(detector.detect_arrays(image))
        latencies.append(((time.perf_counter() - wall) * 1000.0, (time.process_time() - cpu) * 1000.0))
        if progress is not None:
            progress(1)
    return predictions, np.asarray(latencies).reshape(-1, 2)


def summary(results: dict, latencies: np.ndarray | None = None, coco: dict | None = None) -> dict:
    """JSON-ready figures of `evaluate_detections` (with the COCO figures of
    `detector.coco.coco_metrics` and the latency, when given); an undefined AP (a class
    without positives, left out of the mean; a mean of no class) is None."""
    def defined(r, method):
        return r.ap[method] if r.positives else None

    def mean(method):
        value = results["map"][method]
        return None if np.isnan(value) else value

    out = {"map_voc07": mean("voc07"), "map_all_point": mean("all"),
           "classes": {name: {"ap_voc07": defined(r, "voc07"), "ap_all_point": defined(r, "all"),
                              "positives": r.positives, "detections": r.detections,
                              "max_recall": float(r.recall[-1]) if len(r.recall) else 0.0}
                       for name, r in results["classes"].items()}}
    if coco is not None:
        out["coco"] = {"ap": coco["ap"], "ap50": coco["ap50"], "ap75": coco["ap75"]}
        for name, row in out["classes"].items():
            row.update(coco_ap=coco["classes"][name]["ap"], coco_ap75=coco["classes"][name]["ap75"])
    if latencies is not None and len(latencies):
        wall, cpu = latencies[:, 0], latencies[:, 1]
        out["latency_ms"] = {"p50": float(np.percentile(wall, 50)), "p95": float(np.percentile(wall, 95)),
                             "mean": float(wall.mean()), "cpu_p50": float(np.percentile(cpu, 50)),
                             "cpu_p95": float(np.percentile(cpu, 95)), "photos": len(wall)}
    return out


def plot_pr_curves(results: dict, path, title: str = "") -> None:
    """Precision-recall curve of every class, its all-point AP in the legend, as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(5, 4.5), dpi=120)
    for name, result in results["classes"].items():
        if result.positives:
            axes.plot(result.recall, result.precision, label=f"{name} (AP {result.ap['all']:.3f})")
    axes.set(xlabel="recall", ylabel="precision", xlim=(0, 1.01), ylim=(0, 1.01),
             title=title or f"mAP@0.5 {results['map']['all']:.3f} (all-point)")
    axes.grid(alpha=0.3)
    axes.legend(loc="lower left")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
