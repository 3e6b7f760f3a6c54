"""`kyb eval detector`: VOC and COCO AP of a detector on any VOC folder, and its latency.

The detections are our model's, run here, or another detector's read from a file
(`--predictions`, detector/predictions.py). The ground truth is any VOC folder in the
layouts of data/voc_layouts.py. Errors are the project's own (VocError, VocLayoutError,
DetectorDataError, PredictionsError, ModelFileError): kyb/cli.py turns them into one line.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from kyb.detector_cmd import parse_class_map

#: Our classes, listed first and in this order wherever they are scored.
OUR_CLASSES = ("logo", "album")


def class_order(names) -> tuple[str, ...]:
    """`names` with ours first (in our order), the others sorted after them."""
    return tuple(sorted(set(names), key=lambda name: (OUR_CLASSES.index(name) if name in OUR_CLASSES
                                                      else len(OUR_CLASSES), name)))


def object_classes(annotated, class_map: dict[str, str]) -> set[str]:
    return {class_map.get(obj.name, obj.name) for photo in annotated for obj in photo.annotation.objects}


def score_predictions(path: Path, annotated, evaluated, class_map, dataset: Path, split: str):
    """The samples, classes and per-sample detections of a predictions file."""
    from detector.data import to_samples
    from detector.predictions import PredictionsError, fit_to_samples, image_keys, read_predictions

    rows = read_predictions(path)
    truth = object_classes(annotated, class_map)
    predicted = {class_map.get(row.kind, row.kind) for row in rows}
    if truth and predicted and not truth & predicted:
        raise PredictionsError(f"{path}: its classes ({', '.join(sorted(predicted))}) are none of the "
                               f"ground truth's ({', '.join(sorted(truth))}); map them with --class-map")
    classes = class_order(truth | predicted) or OUR_CLASSES
    samples = to_samples(evaluated, classes, class_map)
    skipped = {key for photo in annotated[len(evaluated):]
               for key in image_keys(photo.name, photo.image_path)}
    predictions = fit_to_samples(rows, samples, classes, class_map, known=skipped,
                                 source=f"the {split} photos of {dataset}")
    return samples, classes, predictions


def kept_by_identify(detector, predictions):
    """The detections as `kyb identify` reports them: those it keeps
    (retrieval.pipeline.keep_detections), rounded as its result JSON rounds them
    (retrieval.pipeline.assemble)."""
    import numpy as np

    from detector.inference import Detection
    from retrieval.pipeline import PipelineConfig, assemble, keep_detections

    config, kept = PipelineConfig(), []
    for boxes, scores, labels in predictions:
        made = [Detection(tuple(map(float, box)), detector.classes[int(label)], float(score))
                for box, score, label in zip(boxes, scores, labels, strict=True)]
        chosen = keep_detections(made, config)
        entries = assemble((0, 0), chosen, [None] * len(chosen), {}, {}, {})["detections"]
        kept.append((np.array([entry["box"] for entry in entries], np.float64).reshape(-1, 4),
                     np.array([entry["score"] for entry in entries], np.float64),
                     np.array([detector.classes.index(entry["kind"]) for entry in entries], np.int64)))
    return kept


def print_table(figures: dict) -> None:
    def cell(value, width):
        return f"{'n/a':>{width}}" if value is None else f"{value:>{width}.4f}"

    click.echo(f"{'class':<8} {'positives':>9} {'AP VOC07':>9} {'AP all':>9} {'AP COCO':>9} {'AP@.75':>9} "
               f"{'max recall':>10}")
    for name, row in figures["classes"].items():
        line = (f"{name:<8} {row['positives']:>9} {cell(row['ap_voc07'], 9)} {cell(row['ap_all_point'], 9)} "
                f"{cell(row['coco_ap'], 9)} {cell(row['coco_ap75'], 9)} "
                f"{cell(row['max_recall'] if row['positives'] else None, 10)}")
        note = "" if row["positives"] else f"  ({row['detections']} detections, no positives)"
        click.echo(line + note)
    coco = figures["coco"]
    click.echo(f"{'mAP':<8} {'':>9} {cell(figures['map_voc07'], 9)} {cell(figures['map_all_point'], 9)} "
               f"{cell(coco['ap'], 9)} {cell(coco['ap75'], 9)}")
    if "latency_ms" in figures:
        latency = figures["latency_ms"]
        click.echo(f"latency per photo: p50 {latency['p50']:.0f} ms, p95 {latency['p95']:.0f} ms wall clock; "
                   f"CPU time p50 {latency['cpu_p50']:.0f} ms, p95 {latency['cpu_p95']:.0f} ms "
                   f"({latency['photos']} photos)")


@click.command("detector")
@click.option("--dataset", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="VOC folder in any common layout: a dataset folder (annotations/, photos/, splits/), "
                   "a VOCdevkit set (Annotations/, JPEGImages/, ImageSets/Main/), a CVAT Pascal VOC "
                   "export, or XML files beside their images (LabelImg).")
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Model file (default: the shipped detector/models/kyb-detector-lite0.npz).")
@click.option("--predictions", "predictions_path", type=click.Path(exists=True, path_type=Path),
              help="Score these detections instead of running a model: a folder or file of VOC results "
                   "(comp4_det_test_CLASS.txt), the output of `kyb identify --json`, or a CSV "
                   "(image,class,score,x1,y1,x2,y2). Photos without detections count as misses.")
@click.option("--split", default="test", show_default=True,
              help="The layout's split to evaluate (splits/SPLIT.txt, ImageSets/Main/SPLIT.txt; a class's "
                   "image set such as logo_test by name); 'all' (or a folder without splits) means every "
                   "annotation.")
@click.option("--iou", "iou_threshold", type=click.FloatRange(0, 1, min_open=True), default=0.5,
              show_default=True, help="IoU of a VOC match (the COCO figures use their own thresholds).")
@click.option("--class-map", multiple=True, metavar="NAME=logo|album",
              help="Map the folder's (and the predictions') class names to ours.")
@click.option("--as-identify", is_flag=True,
              help="Score the detections as `kyb identify` reports them (score >= 0.5, no cross-kind "
                   "duplicates, rounded as in its JSON), to compare with its saved --json output.")
@click.option("--limit", type=click.IntRange(min=1), help="Evaluate only the first N photos.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the figures as JSON.")
@click.option("--pr-plot", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the precision-recall curves as PNG.")
def eval_detector(dataset, model_path, predictions_path, split, iou_threshold, class_map, as_identify, limit,
                  json_path, pr_plot):
    """Per-class AP and mAP: VOC2007 11-point and VOC2010+ all-point at --iou (difficult
    objects ignored), and COCO's AP@[.5:.95] and AP@.75 (pycocotools); with a model, its
    latency p50/p95 per photo."""
    from data.voc_layouts import open_voc_folder
    from detector import evaluate
    from detector.coco import coco_metrics
    from detector.data import DetectorDataError, read_annotated, to_samples

    if predictions_path and (model_path or as_identify):
        raise click.UsageError("--predictions scores saved detections; --model and --as-identify run one")
    class_map = parse_class_map(class_map)
    folder = open_voc_folder(dataset)
    annotated = read_annotated(folder, None if split == "all" else split, need_images=not predictions_path,
                               strict_split=True)
    evaluated = annotated[:limit] if limit else annotated
    if not evaluated:
        raise DetectorDataError(f"{dataset}: no photos to evaluate in split {split}")
    if split != "all" and folder.split_file(split) is None:
        click.echo(f"{dataset}: no splits ({folder.layout} layout); evaluating every annotation", err=True)
    latencies = None
    if predictions_path:
        samples, classes, predictions = score_predictions(predictions_path, annotated, evaluated, class_map,
                                                          dataset, split)
    else:
        from data.image_io import read_image
        from data.progress import progress_bar
        from detector.inference import Detector

        detector = Detector.load(model_path)
        classes = detector.classes
        truth = object_classes(evaluated, class_map)
        if truth and not truth & set(classes):
            raise DetectorDataError(f"{dataset}: none of its objects is of class {' or '.join(classes)} "
                                    f"(its classes: {', '.join(sorted(truth))}); map them with "
                                    "--class-map NAME=logo")
        samples = to_samples(evaluated, classes, class_map)
        with progress_bar(total=len(samples), unit="photo", dynamic_ncols=True, leave=True) as bar:
            predictions, latencies = evaluate.run_detector(detector, samples, read_image, progress=bar.update)
        if as_identify:
            predictions = kept_by_identify(detector, predictions)
    results = evaluate.evaluate_detections(predictions, samples, classes, iou_threshold)
    figures = {"dataset": str(dataset), "layout": folder.layout, "split": split, "photos": len(samples),
               "iou": iou_threshold,
               **({"predictions": str(predictions_path)} if predictions_path
                  else {"model": str(model_path or "shipped"), "as_identify": as_identify}),
               **evaluate.summary(results, latencies, coco_metrics(predictions, samples, classes))}
    print_table(figures)
    if json_path:
        json_path.write_text(json.dumps(figures, indent=1))
    if pr_plot:
        evaluate.plot_pr_curves(results, pr_plot, title=f"{Path(dataset).name}: mAP@{iou_threshold} "
                                f"{figures['map_all_point']:.3f} (all-point)")
