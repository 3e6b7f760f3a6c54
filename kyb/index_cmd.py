"""`kyb index build|add|info`: the retrieval index bundle (matching/)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from kyb.db_cmd import database_option, opened_store

PRESET_NAMES = ("thesis", "imagenet-cnn", "default")


def echo_calibration(calibration: dict) -> None:
    for kind, outcome in calibration.items():
        if not outcome.get("calibrated"):
            click.echo(f"  {kind:<6} not calibrated: {outcome['reason']}; it always answers 'match'")
        elif "copied_from" in outcome:
            click.echo(f"  {kind:<6} threshold {outcome['threshold']} (copied from {outcome['copied_from']})")
        else:
            from_gallery = outcome.get("source") == "gallery renditions"
            absent = ("windows of no object, the rest renditions" if from_gallery
                      else "of absent bands, the rest known crops")
            click.echo(f"  {kind:<6} threshold {outcome['threshold']}: on {outcome['known']} known / "
                       f"{outcome['unknown']} unknown crops ({outcome['absent_crops']} {absent} with their "
                       f"band left out; {outcome.get('source', 'photos')}) it rejects "
                       f"{outcome['known_rejected']:.1%} of known and "
                       f"{outcome['unknown_rejected']:.1%} of unknown")


def echo_index(index) -> None:
    counts = index.generation.manifest["counts"]
    sizes = index.bytes_per_reference()
    click.echo(f"{index.generation.root} ({index.generation.name}): preset {index.preset_name}, "
               f"{counts['references']} references ({counts['logo']} logos, {counts['album']} covers) "
               f"of {counts['bands']} bands")
    click.echo(f"  bytes per reference: {sizes['search']:.0f} in the search index, "
               f"{sizes['verification']:.0f} in the keypoint stores, {sizes['bundle']:.0f} in all")


def _extraction_setup(workers: int, dask_address: str | None, shard_text: str | None, work: tuple[Path, ...]):
    """The build's `ExtractionSetup` from the command's options, and the Dask client it
    opened (None without --dask; the caller closes it)."""
    from matching.build_work import parse_shard
    from matching.extraction import ExtractionSetup
    from matching.runners import process_runner, run_here

    shard = parse_shard(shard_text) if shard_text else None
    client, runner = None, run_here if workers == 1 else process_runner(workers)
    if dask_address:
        from matching.dask_runner import connect, dask_runner

        client = connect(dask_address, workers)
        runner = dask_runner(client)
    return ExtractionSetup(folders=list(work), runner=runner, shard=shard), client


@click.group()
def index():
    """Build, extend and inspect retrieval index bundles."""


@index.command("build")
@click.option("--dataset", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Dataset folder whose references.csv to index.")
@click.option("--from-db", is_flag=True,
              help="Index the references of the band database instead (what `kyb scrape` stored), "
                   "calibrated on renditions of them.")
@database_option
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Bundle folder to write.")
@click.option("--preset", type=click.Choice(PRESET_NAMES), default="default", show_default=True)
@click.option("--preset-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A custom preset instead: JSON {\"name\": ..., \"logo\": {...}, \"album\": {...}} "
                   "with the fields of matching.presets.PathConfig.")
@click.option("--calibration", type=click.Choice(["auto", "photos", "gallery"]), default="auto",
              show_default=True,
              help="What calibrates 'unknown': annotated photos of the calibration split(s), "
                   "renditions of the references themselves (gallery), or auto: photos where "
                   "there are any, else the gallery.")
@click.option("--calibration-dataset", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Dataset whose held-out split calibrates 'unknown' (default: --dataset).")
@click.option("--calibration-split",
              help="Split(s) of the calibration dataset whose crops calibrate 'unknown', "
                   "comma-separated and pooled (default: train,val).")
@click.option("--calibration-from", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Copy the open-set calibration of this bundle instead (for datasets without "
                   "crops of unknown bands).")
@click.option("--max-wrong-acceptance", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=0.02, show_default=True,
              help="Share of the calibration's wrong answers that may score high enough to stand.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--force", is_flag=True, help="Replace an existing bundle (as a new generation).")
@click.option("--workers", type=click.IntRange(1), default=1, show_default=True,
              help="Local processes extracting references (1: this process).")
@click.option("--dask", "dask_address",
              help="Extract on a Dask cluster instead: its scheduler's address, or 'local' for a local "
                   "cluster of --workers processes. Workers must see the reference images at the same path.")
@click.option("--shard", "shard_text", metavar="I/N",
              help="Only extract shard I of N into --work and stop (no bundle); a build given every "
                   "shard's folder (--work each) then fits them as one.")
@click.option("--work", "work", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="Work folder of the extractions (repeatable: the first is written, all are read). "
                   "Default: OUT/.build, removed once the bundle is saved. A killed build resumes from it.")
def build(dataset, from_db, url, out, preset, preset_file, calibration, calibration_dataset,
          calibration_split, calibration_from, max_wrong_acceptance, seed, force, workers, dask_address,
          shard_text, work):
    """Index a dataset's (or the band database's) reference logos and covers, calibrate the
    open-set threshold, and write the bundle atomically. Run again, the same command
    resumes a killed build where it stopped."""
    from data.dataset import load_dataset
    from matching.build import build_bundle, build_gallery_bundle, extract_shard
    from matching.presets import read_preset_file
    from retrieval.gallery import GALLERY_ROOT, stored_references

    if (dataset is None) == (not from_db):
        raise click.UsageError("give --dataset DIR or --from-db (one of them)")
    if shard_text and not work:
        raise click.UsageError("--shard extracts into a work folder: give --work DIR")
    client = None
    try:
        configs = None
        if preset_file is not None:
            preset, configs = read_preset_file(preset_file)
        setup, client = _extraction_setup(workers, dask_address, shard_text, work)
        if from_db:
            with opened_store(url, create=False) as store:
                references, root = stored_references(store), GALLERY_ROOT
        else:
            references, root = load_dataset(dataset).references, dataset
        if setup.shard is not None:
            extracted = extract_shard(references, root, preset, configs=configs, seed=seed, extraction=setup)
            click.echo(f"shard {shard_text}: extracted into {work[0]} "
                       f"({len(extracted.missing())} of {len(extracted.chunks)} chunks still missing there)")
            return
        if from_db:
            report = build_gallery_bundle(references, GALLERY_ROOT, out, preset, configs=configs, force=force,
                                          calibration_from=calibration_from,
                                          max_wrong_acceptance=max_wrong_acceptance, seed=seed,
                                          extraction=setup)
        else:
            splits = {"calibration_split": calibration_split} if calibration_split else {}
            report = build_bundle(dataset, out, preset, configs=configs, force=force, calibration=calibration,
                                  calibration_dataset=calibration_dataset, calibration_from=calibration_from,
                                  max_wrong_acceptance=max_wrong_acceptance, seed=seed, extraction=setup,
                                  **splits)
    except (FileExistsError, ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        if client is not None:
            client.close()
    echo_index(report.index)
    info = report.index.build_info
    click.echo(f"  built in {info['seconds']:.1f} s ({info['references_per_second']:.2f} references/s)")
    echo_calibration(report.calibration)


@index.command("add")
@click.option("--index", "root", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--dataset", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Dataset folder whose references.csv lists the references to add.")
@click.option("--references", "references_csv", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A references.csv (paths relative to its folder) instead of --dataset.")
@click.option("--from-db", is_flag=True,
              help="Add the references of the band database scraped since the bundle was built.")
@database_option
def add(root, dataset, references_csv, from_db, url):
    """Add references not yet in the bundle, without retraining its codebooks.

    The result is a new generation; readers that opened the old one (a running server)
    keep using it, unblocked, until they open the bundle again.
    """
    from data.dataset import DatasetError
    from matching.build import add_to_bundle, read_new_references
    from retrieval.gallery import GALLERY_ROOT, stored_references

    try:
        if from_db:
            if dataset is not None or references_csv is not None:
                raise click.UsageError("--from-db takes the references of the database: no --dataset "
                                       "or --references with it")
            with opened_store(url, create=False) as store:
                references, reference_root = stored_references(store), GALLERY_ROOT
        else:
            references, reference_root = read_new_references(dataset, references_csv)
        updated, added = add_to_bundle(root, references, reference_root)
    except (DatasetError, ValueError, OSError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"added {added} reference(s)" + ("" if added else " (all were already indexed)"))
    echo_index(updated)


@index.command("info")
@click.option("--index", "root", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
def info(root, as_json):
    """Check a bundle (every checksum) and describe it."""
    from matching.bundle import BundleError
    from matching.index import RetrievalIndex

    try:
        opened = RetrievalIndex.open(root)
    except BundleError as exc:
        raise click.ClickException(str(exc)) from exc
    manifest = opened.generation.manifest
    if as_json:
        click.echo(json.dumps({k: v for k, v in manifest.items() if k != "files"}, indent=1))
        return
    echo_index(opened)
    for kind, path in manifest["paths"].items():
        config = path["config"]
        click.echo(f"  {kind:<6} {path['references']} references, {path['dimension']}-D, "
                   f"{config['searcher']}, verify top {config['verify']}, "
                   f"{'calibrated' if kind in opened.rejectors else 'not calibrated'}")
    click.echo(f"  format version {manifest['format_version']}, created {manifest['created']}")
