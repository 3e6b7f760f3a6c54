"""`kyb eval detector`: VOC AP of a detector model on any VOC folder, and its latency."""

from __future__ import annotations

import json
from pathlib import Path

import click

from kyb.detector_cmd import parse_class_map


@click.command("detector")
@click.option("--dataset", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="VOC folder: annotations/*.xml and photos/ (a dataset folder or any VOC export).")
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Model file (default: the shipped detector/models/kyb-detector-lite0.npz).")
@click.option("--split", default="test", show_default=True,
              help="splits/SPLIT.txt to evaluate; 'all' (or a folder without it) means every annotation.")
@click.option("--iou", "iou_threshold", type=click.FloatRange(0, 1, min_open=True), default=0.5,
              show_default=True)
@click.option("--class-map", multiple=True, metavar="NAME=logo|album",
              help="Map the folder's class names to ours; other classes are left out.")
@click.option("--limit", type=click.IntRange(min=1), help="Evaluate only the first N photos.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the figures as JSON.")
@click.option("--pr-plot", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the precision-recall curves as PNG.")
def eval_detector(dataset, model_path, split, iou_threshold, class_map, limit, json_path, pr_plot):
    """Per-class AP and mAP (VOC2007 11-point and VOC2010+ all-point), difficult objects
    ignored, with inference latency p50/p95 per photo."""
    from data.image_io import read_image
    from data.progress import progress_bar
    from detector import evaluate
    from detector.data import load_samples
    from detector.inference import Detector
    from detector.io import ModelFileError

    try:
        detector = Detector.load(model_path)
    except ModelFileError as exc:
        raise click.ClickException(str(exc)) from exc
    samples = load_samples(dataset, None if split == "all" else split, detector.classes,
                           parse_class_map(class_map))
    samples = samples[:limit] if limit else samples
    if not samples:
        raise click.ClickException(f"{dataset}: no photos to evaluate")
    with progress_bar(total=len(samples), unit="photo", dynamic_ncols=True, leave=True) as bar:
        predictions, latencies = evaluate.run_detector(detector, samples, read_image, progress=bar.update)
    results = evaluate.evaluate_detections(predictions, samples, detector.classes, iou_threshold)
    figures = {"dataset": str(dataset), "split": split, "photos": len(samples), "iou": iou_threshold,
               "model": str(model_path or "shipped"), **evaluate.summary(results, latencies)}
    click.echo(f"{'class':<8} {'positives':>9} {'AP VOC07':>9} {'AP all':>9} {'max recall':>10}")
    for name, row in figures["classes"].items():
        if row["positives"] == 0:
            click.echo(f"{name:<8} {0:>9} {'n/a':>9} {'n/a':>9} {'n/a':>10}  "
                       f"({row['detections']} detections, no positives)")
            continue
        click.echo(f"{name:<8} {row['positives']:>9} {row['ap_voc07']:>9.4f} {row['ap_all_point']:>9.4f} "
                   f"{row['max_recall']:>10.4f}")
    click.echo(f"{'mAP':<8} {'':>9} {figures['map_voc07']:>9.4f} {figures['map_all_point']:>9.4f}")
    latency = figures["latency_ms"]
    click.echo(f"latency per photo: p50 {latency['p50']:.0f} ms, p95 {latency['p95']:.0f} ms wall clock; "
               f"CPU time p50 {latency['cpu_p50']:.0f} ms, p95 {latency['cpu_p95']:.0f} ms "
               f"({len(samples)} photos)")
    if json_path:
        json_path.write_text(json.dumps(figures, indent=1))
    if pr_plot:
        evaluate.plot_pr_curves(results, pr_plot, title=f"{Path(dataset).name}: mAP@{iou_threshold} "
                                f"{figures['map_all_point']:.3f} (all-point)")
