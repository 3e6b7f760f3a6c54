"""`kyb eval`: evaluation commands, a lazy group that other subcommands join by one line.

`kyb eval retrieval` measures matching alone on the ground-truth crops of a dataset
split (matching/evaluate.py); with `--presets` it runs several presets side by side,
building the missing bundles first.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from kyb.cli import LazyGroup

#: subcommand name -> "module:attribute" of its click command (imported on first use).
EVAL_COMMANDS = {
    "retrieval": "kyb.eval_cmd:retrieval",
    "detector": "kyb.eval_detector_cmd:eval_detector",
    "e2e": "kyb.eval_e2e_cmd:eval_e2e",
}


@click.group("eval", cls=LazyGroup, lazy_commands=EVAL_COMMANDS)
def eval_group():
    """Measure the detector, the retrieval and the whole pipeline on a dataset."""


def bundles_to_compare(dataset: Path, root: Path, presets: str | None,
                       calibration_from: Path | None) -> dict[str, Path]:
    """preset name -> bundle path for an eval run.

    Without `presets`, `root` is one bundle, named by its manifest's preset. With them,
    `root` holds one bundle per preset (ROOT/PRESET); those missing are built from the
    dataset first, so one command compares presets side by side.
    """
    from matching.build import build_bundle
    from matching.bundle import is_bundle, open_generation

    if not presets:
        return {open_generation(root, verify=False).manifest["preset"]: root}
    indexes = {name.strip(): root / name.strip() for name in presets.split(",") if name.strip()}
    for name, path in indexes.items():
        if not is_bundle(path):
            click.echo(f"building the {name} bundle at {path}")
            try:
                build_bundle(dataset, path, name, calibration_from=calibration_from)
            except (FileExistsError, ValueError, OSError) as exc:
                raise click.ClickException(str(exc)) from exc
    return indexes


def write_json(report: dict, path: Path | None) -> None:
    """Write an eval report as JSON when --json was given."""
    if path is not None:
        path.write_text(json.dumps(report, indent=1), encoding="utf-8")
        click.echo(f"wrote {path}")


COLUMNS = (("top1", "top-1"), ("top5", "top-5"), ("top10", "top-10"), ("album_top1", "album"),
           ("unknown_recall", "unk-R"), ("unknown_precision", "unk-P"), ("known_rejected", "known-rej"),
           ("left_out_rejected", "left-out"), ("rejector_ap", "rej-AP"), ("ece", "ECE"),
           ("ece_with_left_out", "ECE+lo"),
           ("latency_ms_p50", "p50 ms"), ("latency_ms_p95", "p95 ms"), ("cpu_ms_p50", "cpu p50"))


def _cell(value) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) and value <= 1 else f"{value:.0f}"


def print_report(report: dict) -> None:
    click.echo(f"{report['dataset']} ({report['split']} split, {report['crops']} ground-truth crops"
               f"{', difficult included' if report['include_difficult'] else ''})")
    header = f"{'preset':<10} {'kind':<6} {'crops':>6} {'unknown':>7} " + " ".join(
        f"{title:>9}" for _, title in COLUMNS)
    click.echo(header)
    for name, result in report["results"].items():
        for kind, metrics in result["metrics"].items():
            click.echo(f"{name:<10} {kind:<6} {metrics['crops']:>6} {metrics['unknown']:>7} "
                       + " ".join(f"{_cell(metrics.get(key)):>9}" for key, _ in COLUMNS))
    for name, result in report["results"].items():
        facts = result["index"]
        sizes, build = facts["bytes_per_reference"], facts["build"]
        click.echo(f"{name}: {facts['references']} references, {sizes['search']:.0f} B/reference in the "
                   f"search index, {sizes['verification']:.0f} B in the keypoint stores "
                   f"({sizes['bundle']:.0f} B in the bundle), dimensions {facts['dimensions']}, "
                   f"built at {build.get('references_per_second', 0):.2f} references/s")


def dataset_options(command):
    """The options every evaluation over bundles shares: --dataset, --index, --presets, --split."""
    options = [
        click.option("--dataset", required=True,
                     type=click.Path(exists=True, file_okay=False, path_type=Path)),
        click.option("--index", "root", required=True, type=click.Path(path_type=Path),
                     help="A bundle; with --presets, a folder holding one bundle per preset (INDEX/PRESET)."),
        click.option("--presets", help="Comma-separated presets to compare (thesis,imagenet-cnn,default); "
                                       "bundles missing under INDEX are built from --dataset first."),
        click.option("--split", default="test", show_default=True),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.command("retrieval")
@dataset_options
@click.option("--include-difficult", is_flag=True, help="Also query VOC 'difficult' objects.")
@click.option("--top-k", type=click.IntRange(min=10), default=10, show_default=True)
@click.option("--calibration-from", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="When building missing bundles, copy this bundle's open-set calibration "
                   "(for datasets without crops of unknown bands).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the figures as JSON.")
@click.option("--reliability-plot", type=click.Path(dir_okay=False, path_type=Path),
              help="Also draw the reliability diagram of the calibrated confidence (PNG).")
@click.option("--rejector-plot", type=click.Path(dir_okay=False, path_type=Path),
              help="Also draw the open-set rejector's precision-recall curve (PNG): answers, and "
                   "each known crop's answer with its band left out, by the rejector's score.")
def retrieval(dataset, root, presets, split, include_difficult, top_k, calibration_from, json_path,
              reliability_plot, rejector_plot):
    """Top-1/5/10 band accuracy on the ground-truth crops of a split, open-set precision and
    recall of 'unknown', the calibration error of the stated confidence, latency per crop,
    index bytes per reference and build speed."""
    from matching.bundle import BundleError
    from matching.evaluate import evaluate_retrieval
    from matching.evaluate_plots import plot_rejector_curves, plot_reliability

    try:
        indexes = bundles_to_compare(dataset, root, presets, calibration_from)
        report = evaluate_retrieval(dataset, indexes, split, include_difficult, top_k)
    except BundleError as exc:
        raise click.ClickException(str(exc)) from exc
    print_report(report)
    write_json(report, json_path)
    for plot, draw in ((reliability_plot, plot_reliability), (rejector_plot, plot_rejector_curves)):
        if plot is not None:
            draw(report, plot)
            click.echo(f"wrote {plot}")
