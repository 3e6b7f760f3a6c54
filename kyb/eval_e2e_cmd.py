"""`kyb eval e2e`: photo-level band precision and recall of the whole pipeline
(retrieval/evaluate_e2e.py does the work; this parses and prints)."""

from __future__ import annotations

from pathlib import Path

import click

from kyb.eval_cmd import bundles_to_compare, dataset_options, write_json

COLUMNS = (("band_precision", "band-P"), ("band_recall", "band-R"), ("exact_photo_accuracy", "exact"),
           ("open_set_rejection", "unk-rej"))
LATENCY = ("total", "detect", "features", "match", "verify", "lookup", "text")


def _cell(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def print_report(report: dict) -> None:
    click.echo(f"{report['dataset']} ({report['split']} split, {report['photos']} photos, "
               f"detector {report['model']}, text reading {'on' if report['text_reading'] else 'off'})")
    click.echo(f"{'preset':<10} {'TP':>5} {'FP':>5} {'FN':>5} {'unk':>5} "
               + " ".join(f"{title:>8}" for _, title in COLUMNS))
    for name, figures in report["results"].items():
        click.echo(f"{name:<10} {figures['true_positives']:>5} {figures['false_positives']:>5} "
                   f"{figures['missed']:>5} {figures['unknown_objects']:>5} "
                   + " ".join(f"{_cell(figures[key]):>8}" for key, _ in COLUMNS))
    click.echo("latency per photo, ms p50/p95: " + " ".join(f"{stage:>13}" for stage in LATENCY))
    for name, figures in report["results"].items():
        latency = figures["latency_ms"]
        click.echo(f"{name:<31}" + " ".join(
            f"{latency[s]['p50']:>6.0f}/{latency[s]['p95']:<6.0f}" if latency[s] else f"{'-':>13}"
            for s in LATENCY))


@click.command("e2e")
@dataset_options
@click.option("--model", "model_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Detector model file (default: $KYB_DETECTOR_MODEL, else the shipped model).")
@click.option("--calibration-from", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="When building missing bundles, copy this bundle's open-set calibration "
                   "(for datasets without crops of unknown bands).")
@click.option("--limit", type=click.IntRange(min=1), help="Only the split's first N photos.")
@click.option("--whole-photo/--no-whole-photo", default=True, show_default=True,
              help="Where the detector keeps no box, query the whole photo "
                   "(retrieval.pipeline.PipelineConfig.whole_photo).")
@click.option("--other-kind/--no-other-kind", default=True, show_default=True,
              help="In an index of both kinds, ask a box answered 'unknown' as the other kind too "
                   "(retrieval.pipeline.PipelineConfig.other_kind).")
@click.option("--text/--no-text", "read_text", default=True, show_default=True,
              help="Read the text on each photo as a second witness (where the OCR model is installed).")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A band roster CSV (`kyb db import` format) imported beside the dataset's bands: "
                   "distractor names for the text witness.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the figures as JSON.")
def eval_e2e(dataset, root, presets, split, model_path, calibration_from, limit, whole_photo, other_kind,
             read_text, roster, json_path):
    """Per photo, the bands the pipeline reports against the annotated ones: band precision
    and recall, exact-photo accuracy, open-set rejection of unknown bands, and per-stage
    latency p50/p95. The band database is a throwaway copy of the dataset's bands."""
    from matching.bundle import BundleError
    from retrieval.evaluate_e2e import evaluate_e2e
    from retrieval.pipeline import PipelineConfig

    try:
        indexes = bundles_to_compare(dataset, root, presets, calibration_from)
        config = PipelineConfig(whole_photo=whole_photo, other_kind=other_kind, text=read_text)
        report = evaluate_e2e(dataset, indexes, split, model_path, config, limit=limit, roster=roster)
    except (BundleError, ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    print_report(report)
    write_json(report, json_path)
