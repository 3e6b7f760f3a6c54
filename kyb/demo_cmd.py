"""`kyb demo`: the whole system on a fresh clone, in a few minutes on a laptop.

It generates a small synthetic dataset, builds its index and band database in the demo
folder (never the user's database), identifies a handful of test photos with the real
pipeline, and prints each answer beside the ground truth, with annotated photos and a
contact sheet to look at. The index is the default preset's, as `kyb index build` makes
it, and the answers are what `kyb identify` gives.
"""

from __future__ import annotations

import shlex
import shutil
import sys
import time
from pathlib import Path

import click

from kyb.index_cmd import echo_calibration
from kyb.synth_cmd import print_check, print_summary


def kyb_program() -> list[str]:
    """How to run `kyb` again as this process was run: `.venv/bin/kyb` after `make demo`,
    `kyb` when that is the same program on PATH, else this Python with `-m kyb`."""
    program = Path(sys.argv[0])
    if program.name != "kyb":
        return [sys.executable, "-m", "kyb"]
    on_path = shutil.which("kyb")
    return ["kyb"] if on_path and Path(on_path).resolve() == program.resolve() else [str(program)]


def next_steps(out: Path, database: Path, photo: Path) -> dict[str, list[str]]:
    """The commands to go on with on the demo's index and database, by what they do."""
    kyb = kyb_program()
    on_demo = ["--index", str(out / "index"), "--database", f"sqlite:///{database.resolve()}"]
    return {"name the bands in a photo": [*kyb, "identify", str(photo), *on_demo],
            "the web page, at http://127.0.0.1:8000/ (Ctrl-C stops it)": [*kyb, "serve", *on_demo]}


def build_demo_index(dataset, out: Path):
    """The demo bundle at `out` and its calibration report.

    The open-set threshold is calibrated on the train split's crops: the demo trains no
    detector, and the val split of so small a dataset holds too few crops of unknown
    bands to place a threshold (a kind left uncalibrated answers ``match`` to anything).
    """
    from matching.calibration import calibrate
    from matching.index import RetrievalIndex

    index = RetrievalIndex.build(dataset.references, dataset.root, "default")
    calibration = calibrate(index, dataset, "train")
    index.save(out)
    return index, calibration


def truth_for(box, objects, band_names: dict[int, str]) -> str:
    """The annotated band of the object `box` covers best (IoU >= 0.5), else of the
    largest object lying (at least 0.8 of it) inside `box`, for the table. Why the second:
    the detector sometimes boxes a whole print, a logo with the art around it, and the
    logo in it is what the box's answer names."""
    from data.boxes import box_coverage, box_iou
    from data.dataset import UNKNOWN_BAND_ID

    if not objects:
        return "(nothing there)"
    boxes = [obj.box for obj in objects]
    overlaps = box_iou([box], boxes)[0]
    if overlaps.max() >= 0.5:
        best = int(overlaps.argmax())
    else:
        inside = [i for i, share in enumerate(box_coverage([box], boxes)[0]) if share >= 0.8]
        if not inside:
            return "(nothing there)"
        best = max(inside, key=lambda i: (boxes[i][2] - boxes[i][0]) * (boxes[i][3] - boxes[i][1]))
    band_id = objects[best].band_id
    return "(not in the database)" if band_id == UNKNOWN_BAND_ID else band_names.get(band_id, "?")


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("kyb-demo"),
              show_default=True, help="Folder for the demo's dataset, index, database and pictures.")
@click.option("--bands", type=click.IntRange(min=2), default=24, show_default=True)
@click.option("--photos", type=click.IntRange(min=8), default=30, show_default=True)
@click.option("--identify", "count", type=click.IntRange(min=1), default=6, show_default=True,
              help="Test photos to identify.")
@click.option("--model", "model_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Detector model file (default: $KYB_DETECTOR_MODEL, else the shipped model).")
@click.option("--seed", type=int, default=2018, show_default=True)
def demo(out, bands, photos, count, model_path, seed):
    """Generate a small synthetic band database, index it, and identify a few of its photos."""
    from data.check import check_dataset
    from data.dataset import load_dataset
    from data.image_io import read_image
    from data.preview import contact_sheet
    from data.synth import SynthConfig, generate
    from data.voc import read_voc
    from retrieval.annotate import write_annotated
    from retrieval.importers import import_dataset
    from retrieval.pipeline import Pipeline, load_detector
    from retrieval.store import Store
    from retrieval.text_stage import TextStage

    started = time.perf_counter()
    try:
        detector = load_detector(model_path)
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"{exc} (train one with `kyb detector train`, or pass --model)") from exc
    dataset_dir = out / "dataset"
    click.echo(f"1/4 generating {bands} bands and {photos} photos in {dataset_dir} ...")
    print_summary(generate(dataset_dir, SynthConfig(bands=bands, photos=photos, seed=seed), force=True))
    print_check(check_dataset(dataset_dir))
    dataset = load_dataset(dataset_dir)

    click.echo(f"2/4 indexing {len(dataset.references)} reference logos and covers ...")
    index, calibration = build_demo_index(dataset, out / "index")
    echo_calibration(calibration)
    database = out / "kyb.sqlite"
    for stale in (database, database.with_name("kyb.sqlite-wal"), database.with_name("kyb.sqlite-shm")):
        stale.unlink(missing_ok=True)  # the bands of an earlier demo run
    store = Store.open(f"sqlite:///{database.resolve()}", create=True)
    report = import_dataset(store, dataset_dir)
    click.echo(f"3/4 band database {database}: {report.bands} bands, {report.albums} albums, "
               f"{report.references} references")
    pipeline = Pipeline(detector, index, store, text=TextStage.load(store))  # as `kyb identify` answers
    band_names = {int(band["band_id"]): band["name"] for band in dataset.bands}
    names = dataset.splits["test"][:count]
    click.echo(f"4/4 identifying {len(names)} test photos (annotated copies in {out / 'annotated'}) ...\n")
    click.echo(f"{'photo':<14} {'kind':<6} {'found':<28} {'verdict':<8} {'score':>6}  truth")
    right = total = 0
    try:
        for name in names:
            image = read_image(dataset.photo_path(name))
            result = pipeline.identify(image)
            write_annotated(image, result, out / "annotated" / f"{name}.jpg")
            objects = read_voc(dataset.annotation_path(name), clip=True).objects
            if not result["detections"]:
                click.echo(f"{name:<14} {'-':<6} {'(nothing detected)':<28} {'':<8} {'':>6}  "
                           f"{len(objects)} object(s)")
            for detection in result["detections"]:
                best = detection["matches"][0] if detection["matches"] else None
                found = best["name"] if best and detection["verdict"] == "match" else "-"
                truth = truth_for(detection["box"], objects, band_names)
                total += 1
                right += found == truth or (found == "-" and truth.startswith("("))
                score = f"{best['score']:.3f}" if best else ""
                click.echo(f"{name:<14} {detection['kind']:<6} {found[:28]:<28} {detection['verdict']:<8} "
                           f"{score:>6}  {truth}")
    finally:
        pipeline.close()
    click.echo(f"\n{right} of {total} detections answered as the ground truth says")
    sheet = contact_sheet(dataset_dir, out / "contact-sheet.png", count=12)
    click.echo(f"contact sheet with the ground-truth boxes: {sheet}")
    click.echo(f"done in {time.perf_counter() - started:.0f} s\n")
    for what, command in next_steps(out, database, dataset.photo_path(names[0])).items():
        click.echo(f"{what}:\n  {shlex.join(command)}")
